"""ivrflow: phone menus written as YAML flows, linted, compiled to Telesign v1, run live on v2."""

from __future__ import annotations

__version__ = "0.1.0"

from ivrflow.errors import FlowError, IvrflowError
from ivrflow.language.diagnostics import Diagnostic, Span
from ivrflow.language.lint import LintReport, lint
from ivrflow.language.loader import Checked, check_bytes, check_file, load_flow
from ivrflow.language.model import Flow
from ivrflow.language.v1plan import V1Plan, plan_v1

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
