"""GitHub workflow commands: one writer for `lint --format github` and `test --format github`."""

from __future__ import annotations

from ivrflow.tools.annotations import annotation
from ivrflow.tools.flowtests import Failure, FlowResult, render_github


def test_message_and_properties_are_escaped() -> None:
    line = annotation("error", "100% wrong\nhint: fix it", file="flows/a,b:c.yaml", line=3, col=5, title="ivrflow rule")
    assert line == "::error file=flows/a%2Cb%3Ac.yaml,line=3,col=5,title=ivrflow rule::100%25 wrong%0Ahint: fix it"


def test_properties_left_out_when_none() -> None:
    assert annotation("warning", "m", file="f.yaml", line=None, title="t") == "::warning file=f.yaml,title=t::m"


def test_flow_test_annotations_escape_the_file_too() -> None:
    result = FlowResult("flows/a,b.yaml", failures=[Failure("flows/a,b.yaml", 2, 1, "says the wrong thing")])
    first = render_github([result], coverage=False).splitlines()[0]
    assert first == "::error file=flows/a%2Cb.yaml,line=2,col=1,title=ivrflow test::says the wrong thing"
