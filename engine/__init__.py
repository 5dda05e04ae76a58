"""ivrflow: phone menus written as YAML flows, linted, compiled to Telesign v1, run live on v2."""

from __future__ import annotations

__version__ = "0.1.0"

from engine.diagnostics import Diagnostic, Span
from engine.errors import FlowError, IvrflowError
from engine.lint import LintReport, lint
from engine.loader import Checked, check_bytes, check_file, load_flow
from engine.model import Flow
from engine.v1plan import V1Plan, plan_v1

__all__ = [
    "Checked",
    "Diagnostic",
    "Flow",
    "FlowError",
    "IvrflowError",
    "LintReport",
    "Span",
    "V1Plan",
    "__version__",
    "check_bytes",
    "check_file",
    "lint",
    "load_flow",
    "plan_v1",
]
