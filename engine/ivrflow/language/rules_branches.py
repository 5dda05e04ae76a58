"""Semantic rules for `branch` nodes and `schedules`. Each rule is one function of the checker, as
in rules.py, which runs them with its own.

`holidays-outdated` compares closed dates with today: `CLOCK` gives the linter's "now" (tests set it)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING

from ivrflow.language.branches import VAR_TESTS, Branch, When, case_key
from ivrflow.language.dataflow import missing_path, must_be_set, path_words
from ivrflow.language.diagnostics import Diagnostic, suggestion
from ivrflow.language.model import BUILTIN_VARS
from ivrflow.language.schedules import DAYS, Schedule, day_overlaps, week_overlaps

if TYPE_CHECKING:
    from ivrflow.language.rules import Checker

CLOCK: Callable[[], float] = time.time  # the linter's "now", for holidays-outdated


def _branches(check: Checker) -> Iterator[Branch]:
    return (node for node in check.flow.nodes.values() if isinstance(node, Branch))


def _whens(check: Checker) -> Iterator[tuple[Branch, int, When]]:
    for node in _branches(check):
        for index, case in enumerate(node.cases):
            yield node, index, case.when


def schedule_problems(check: Checker) -> Iterator[Diagnostic]:
    for schedule in check.flow.schedules.values():
        yield from schedule.problems


def schedule_overlap(check: Checker) -> Iterator[Diagnostic]:
    for schedule in check.flow.schedules.values():
        span = schedule.span
        days: dict[tuple[str, str], list[str]] = {}  # each pair once, with the days it happens on
        for day, first, second in week_overlaps(schedule):
            days.setdefault((first.text, second.text), []).append(DAYS[day])
        for (first_text, second_text), on in days.items():
            yield Diagnostic(
                "schedule-overlap",
                span,
                f"the hours `{first_text}` and `{second_text}` of schedule `{schedule.name}` overlap (on {', '.join(on)})",
                "merge them into one range, or correct the one that is wrong",
            )
        for when, ranges in schedule.special.items():
            for first, second in day_overlaps(ranges):
                yield Diagnostic(
                    "schedule-overlap",
                    span,
                    f"the special hours `{first.text}` and `{second.text}` of `{when.text}` in schedule `{schedule.name}` overlap",
                    "merge them into one range, or correct the one that is wrong",
                )
        for when in schedule.special:
            if when in schedule.closed:
                yield Diagnostic(
                    "schedule-overlap",
                    span,
                    f"`{when.text}` of schedule `{schedule.name}` is both a closed date and a date with special hours",
                    "a closed date is closed all day: remove it from `special`, or from `closed` if it has those hours",
                )


def unknown_schedule(check: Checker) -> Iterator[Diagnostic]:
    names = check.flow.schedules
    for node, _, when in _whens(check):
        for name in when.schedules():
            if name not in names:
                hint = suggestion(name, names) + (
                    f"the schedules are: {', '.join(names)}"
                    if names
                    else "add it under `schedules:` with a `timezone` and `open` hours"
                )
                yield Diagnostic(
                    "unknown-schedule",
                    when.span,
                    f"branch `{node.name}` tests the schedule `{name}`, but there is no schedule `{name}`",
                    hint,
                )


def unused_schedule(check: Checker) -> Iterator[Diagnostic]:
    used = {name for _, _, when in _whens(check) for name in when.schedules()}
    for schedule in check.flow.schedules.values():
        if schedule.name not in used:
            yield Diagnostic(
                "unused-schedule",
                schedule.span,
                f"the schedule `{schedule.name}` is never tested, so its hours change nothing callers hear",
                f"test it in a branch, such as `when: {{ closed: {schedule.name} }}`, or remove it",
            )


def _next_year_has(schedule: Schedule, today: date) -> bool:
    for closed in schedule.closed:
        if closed.year is None:
            return True
        when = date(closed.year, closed.month, closed.day)
        if today <= when <= date(today.year + 1, today.month, min(today.day, 28)):
            return True
    return False


def holidays_outdated(check: Checker) -> Iterator[Diagnostic]:
    for schedule in check.flow.schedules.values():
        if not schedule.closed or schedule.problems:
            continue
        today = datetime.fromtimestamp(CLOCK(), schedule.zone).date()
        if not _next_year_has(schedule, today):
            yield Diagnostic(
                "holidays-outdated",
                check.flow.schedules[schedule.name].span,
                f"none of the closed dates of schedule `{schedule.name}` falls in the next 12 months (from {today:%Y-%m-%d})",
                f'add this year\'s holidays, such as "{today.year}-12-25", or write a date that comes back every year as "MM-DD" ("12-25")',
                severity="warning",
            )


def _known(check: Checker) -> list[str]:
    return [*check.flow.vars, *BUILTIN_VARS, *check.flow.saved()]


def branch_tests(check: Checker) -> Iterator[Diagnostic]:
    known = _known(check)
    for node, index, when in _whens(check):
        where = f"the `when` of {case_key(index)} of branch `{node.name}`"
        tests = [key for key in VAR_TESTS if key in when.keys]
        if when.var is None and tests:
            yield Diagnostic(
                "branch-test",
                when.span,
                f"{where} has `{tests[0]}` but no `var` to test",
                f"say which variable, such as `{{ var: tier, {tests[0]}: ... }}`",
            )
        elif when.var is not None and not tests:
            yield Diagnostic(
                "branch-test",
                when.span,
                f"{where} names `var: {when.var}` but no test of it",
                f"add one: `equals: gold`, `in: [gold, platinum]`, `between: [1, 100]` or `empty: true`, as in `{{ var: {when.var}, equals: gold }}`",
            )
        if when.var is not None and when.var not in known:
            yield Diagnostic(
                "undeclared-variable",
                when.span,
                f"the variable `{when.var}` tested by branch `{node.name}` is not declared",
                suggestion(when.var, known) + f'declare it under `vars:` with a default, such as `{when.var}: ""`',
            )
        if when.between is not None:
            low, high = when.between
            if low > high:
                yield Diagnostic(
                    "branch-test",
                    when.span,
                    f"{where}: `between` goes from {low:g} down to {high:g}, so it never holds",
                    f"write the low number first: [{high:g}, {low:g}]",
                )
            default = check.flow.vars.get(when.var or "")
            if default is not None and not _is_number(default):
                yield Diagnostic(
                    "branch-test",
                    when.span,
                    f"{where} tests `{when.var}` with `between`, but its default `{default}` is not a number",
                    f"give `{when.var}` a number default under `vars:`, such as `{when.var}: 0`, or test it with `equals` or `in`",
                )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def unset_when_variable(check: Checker) -> Iterator[Diagnostic]:
    """A variable saved during the call is tested only where every way there has saved it."""
    flow = check.flow
    saved = {name: node for name, node in flow.saved().items() if name not in flow.vars and name not in BUILTIN_VARS}
    if not saved or not any(True for _ in _branches(check)):
        return
    arriving = must_be_set(flow)
    for node, _, when in _whens(check):
        name = when.var
        if name is None or name not in saved or node.name not in arriving or name in arriving[node.name]:
            continue
        path = missing_path(flow, name, node.name)
        way = f": for example {path_words(path)}" if path else ""
        yield Diagnostic(
            "unset-variable",
            when.span,
            f"`{name}` may have no value when branch `{node.name}` tests it: a call can get here without an entry saved by `{saved[name].name}`{way}",
            f"test `{name}` only after `{saved[name].name}` on every way here (its `on_fail` way saves nothing)",
        )


def _complete(when: When) -> bool:
    """Whether a `when` has a var exactly when it has a test of one (branch-test reports the rest)."""
    return (when.var is None) == (not any(key in when.keys for key in VAR_TESTS))


def _implies(later: When, earlier: When) -> bool:
    """Whether `later` can only hold when `earlier` holds too (so a case with `later` after one with
    `earlier` is never taken). Each test of `earlier` must follow from a test of `later`."""
    if not _complete(later) or not _complete(earlier):
        return False
    if earlier.open is not None and earlier.open != later.open:
        return False
    if earlier.closed is not None and earlier.closed != later.closed:
        return False
    if earlier.language is not None and earlier.language != later.language:
        return False
    if earlier.var is None:
        return True
    if later.var != earlier.var:
        return False
    values = {later.equals} if later.equals is not None else set(later.within) if later.within is not None else None
    if earlier.equals is not None and values != {earlier.equals}:
        return False
    if earlier.within is not None and (values is None or not values <= set(earlier.within)):
        return False
    if earlier.between is not None:
        low, high = earlier.between
        if later.between is not None:
            inside = low <= later.between[0] and later.between[1] <= high
        else:
            inside = values is not None and all(_is_number(v) and low <= float(v) <= high for v in values)
        if not inside:
            return False
    if earlier.empty is not None:
        if later.empty is not None:
            return later.empty == earlier.empty
        return values is not None and all((v == "") == earlier.empty for v in values)
    return True


def case_never_taken(check: Checker) -> Iterator[Diagnostic]:
    for node in _branches(check):
        for index, case in enumerate(node.cases):
            earlier = next((i for i, before in enumerate(node.cases[:index]) if _implies(case.when, before.when)), None)
            if earlier is not None:
                yield Diagnostic(
                    "case-never-taken",
                    case.span,
                    f"{case_key(index)} of branch `{node.name}` is never taken: whenever it holds, {case_key(earlier)} ({node.cases[earlier].when.words()}) holds first",
                    f"move it above {case_key(earlier)} if it is the narrower one, or remove it",
                )


BRANCH_CHECKS = (
    schedule_problems,
    schedule_overlap,
    unknown_schedule,
    unused_schedule,
    holidays_outdated,
    branch_tests,
    unset_when_variable,
    case_never_taken,
)
