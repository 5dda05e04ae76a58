# The two commands of the README. Each sets up what it needs in .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check bench docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Main job: install ivrflow (a real, non-editable install) and serve the bundled flows on
# loopback, with call state in var/ivrflow.db (SQLite).
run: $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	$(BIN)/ivrflow serve --flows flows --store sqlite:///var/ivrflow.db

# Tests: install ivrflow editable with its test dependencies; check the code (format, lint, types,
# layers); test the bundled flows (journeys, cases); then run the whole suite.
test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(MAKE) check
	$(BIN)/ivrflow test flows/
	$(BIN)/python -m pytest

# The code's own checks, as pre-commit runs them: settings in pyproject.toml and .importlinter.
check:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/lint_speed.py
	$(BIN)/python bench/lint_scale.py
	$(BIN)/python bench/step_speed.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/webhook_load.py

# Regenerate docs/rules.md from the rule catalog (a test fails when it is out of date).
docs: $(BIN)/python
	$(BIN)/python -m ivrflow explain --all > docs/rules.md
