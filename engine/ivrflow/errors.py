"""ivrflow's exceptions. Each carries what a person needs to act on it.

    IvrflowError
     └── FlowError      a flow file has errors; `.diagnostics` says where and why
"""

from __future__ import annotations

from ivrflow.language.diagnostics import Diagnostic


class IvrflowError(Exception):
    """Base of every error ivrflow raises on purpose."""


class FlowError(IvrflowError):
    """A flow file could not be loaded because it has errors."""

    def __init__(self, path: str, diagnostics: list[Diagnostic]) -> None:
        self.path = path
        self.diagnostics = diagnostics
        more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        super().__init__(f"{diagnostics[0]}{more}" if diagnostics else path)
