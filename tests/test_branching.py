"""`branch` and `schedules`: opening hours on a time zone's wall clock (daylight-saving changes,
ranges across midnight, closed dates, special hours, yearly dates), `when` tests, the clock as an
input to the interpreter, journeys at each schedule state, `--at`, flow tests' `at:`, v1 branches
decided when compiled, and what GET /flows says about each schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, FLOWS, OPEN, ROOT
from inprocess import serving
from ivrflow.calls.branching import choose, number
from ivrflow.calls.events import CallStarted
from ivrflow.calls.interpreter import new_call, step
from ivrflow.calls.transcripts import transcript
from ivrflow.errors import NoTime
from ivrflow.language import rules_branches
from ivrflow.language.branches import Branch
from ivrflow.language.clock import moments, next_change, parse_at, status
from ivrflow.language.loader import check_bytes, load_flow
from ivrflow.language.schedules import Schedule, parse_hours, read_schedule
from ivrflow.language.yamlstrict import SourceMap
from ivrflow.tools.journeys import render, walk_all
from ivrflow.v1.compiler import CallOptions, compile_v1

CHICAGO = "America/Chicago"


def _schedule(**data: object) -> Schedule:
    schedule = read_schedule("s", {"timezone": CHICAGO, **data}, SourceMap())
    assert schedule.problems == ()
    return schedule


def _at(text: str, zone: str | None = CHICAGO) -> float:
    return parse_at(text, zone)


def _open(schedule: Schedule, text: str) -> bool:
    return status(schedule, _at(text)).open


# --- daylight saving: America/Chicago goes forward on 2026-03-08 and back on 2026-11-01, at 02:00 ---


def test_spring_forward_a_range_across_2am_is_one_hour_shorter() -> None:
    night = _schedule(open={"daily": "01:00-03:00"})
    assert _open(night, "2026-03-08 01:59")
    assert not _open(night, "2026-03-08 03:00")  # the next minute after 01:59 CST is 03:00 CDT
    assert _at("2026-03-08 03:00") - _at("2026-03-08 01:59") == 60  # one real minute later
    assert next_change(night, _at("2026-03-08 01:30")) == _at("2026-03-08 03:00")  # open for 1 real hour
    assert next_change(night, _at("2026-03-07 12:00")) == _at("2026-03-08 01:00")


def test_spring_forward_a_range_that_starts_in_the_missing_hour_opens_when_the_clocks_jump() -> None:
    early = _schedule(open={"sun": "02:30-05:00"})
    assert not _open(early, "2026-03-08 01:59")
    assert _open(early, "2026-03-08 03:00")
    assert next_change(early, _at("2026-03-08 01:00")) == _at("2026-03-08 03:00")  # the jump itself


def test_fall_back_a_range_across_2am_is_one_hour_longer() -> None:
    night = _schedule(open={"daily": "01:00-03:00"})
    opens = parse_at("2026-11-01T06:00Z", None)  # 01:00 CDT
    for hours_later in (0.5, 1.5, 2.5):  # 01:30 CDT, 01:30 CST (the hour seen twice), 02:30 CST
        assert status(night, opens + hours_later * 3600).open
    assert not status(night, opens + 3 * 3600).open  # 03:00 CST
    assert next_change(night, opens) == opens + 3 * 3600
    assert _at("2026-11-01 01:30") == opens + 1800  # a time seen twice is the first of the two


def test_weekly_hours_follow_the_local_clock_on_both_sides_of_each_change() -> None:
    office = _schedule(open={"mon-fri": "08:00-18:00"})
    # Friday before spring forward (CST, UTC-6) and the Monday after (CDT, UTC-5): 08:00 local both days.
    assert _open(office, "2026-03-06 08:00") and parse_at("2026-03-06T14:00Z", None) == _at("2026-03-06 08:00")
    assert _open(office, "2026-03-09 08:00") and parse_at("2026-03-09T13:00Z", None) == _at("2026-03-09 08:00")
    assert not status(office, parse_at("2026-03-09T12:59Z", None)).open
    assert next_change(office, _at("2026-10-30 18:00")) == _at("2026-11-02 08:00")  # over the fall-back weekend


def test_a_time_that_does_not_exist_is_refused_with_words() -> None:
    with pytest.raises(ValueError, match="does not exist in America/Chicago"):
        _at("2026-03-08 02:30")
    with pytest.raises(ValueError, match="no time zone"):
        parse_at("2026-03-08 10:00", None)
    with pytest.raises(ValueError, match="did you mean `America/Chicago`"):
        parse_at("2026-03-08 10:00 America/Chicgo", None)
    assert parse_at("2026-06-02 10:00 -05:00", None) == _at("2026-06-02 10:00") == parse_at("2026-06-02T15:00Z", None)


# --- ranges across midnight ---


def test_a_range_across_midnight_belongs_to_the_day_it_starts() -> None:
    late = _schedule(open={"fri": "22:00-02:00"})
    assert not _open(late, "2026-06-05 21:59")  # Friday
    assert _open(late, "2026-06-05 22:00") and _open(late, "2026-06-06 01:59")  # into Saturday
    assert not _open(late, "2026-06-06 02:00")
    assert not _open(late, "2026-06-04 23:00")  # Thursday has no hours
    assert not _open(late, "2026-06-07 01:00")  # nor does Saturday night
    assert next_change(late, _at("2026-06-05 23:00")) == _at("2026-06-06 02:00")


def test_sunday_night_runs_into_monday_and_a_closed_date_cuts_it_off() -> None:
    late = _schedule(open={"sun": "22:00-02:00"}, closed=["2026-06-08"])
    assert _open(late, "2026-06-01 01:00")  # Monday 1 June, from Sunday 31 May
    assert not _open(late, "2026-06-08 01:00")  # Monday 8 June is closed from its midnight
    assert _open(late, "2026-06-07 23:00")


def test_24_00_ends_the_day_and_several_ranges_a_day() -> None:
    day = _schedule(
        open={"mon": "00:00-24:00", "tue": "08:00-12:00, 13:00-17:00", "wed": ["09:00-10:00", "22:00-24:00"]}
    )
    assert _open(day, "2026-06-01 00:00") and _open(day, "2026-06-01 23:59")
    assert not _open(day, "2026-06-02 00:00") and not _open(day, "2026-06-02 12:30") and _open(day, "2026-06-02 13:00")
    assert _open(day, "2026-06-03 23:59") and not _open(day, "2026-06-04 00:00")
    assert parse_hours("08:00-08:00") == ([], ["08:00-08:00"])
    assert parse_hours("24:00-02:00") == ([], ["24:00-02:00"])


# --- closed dates and special hours ---


def test_yearly_and_single_closed_dates() -> None:
    office = _schedule(open={"daily": "08:00-18:00"}, closed=["12-25", "2027-01-01", "02-29"])
    assert not _open(office, "2026-12-25 10:00") and not _open(office, "2030-12-25 10:00")
    assert not _open(office, "2027-01-01 10:00") and _open(office, "2028-01-01 10:00")
    assert not _open(office, "2028-02-29 10:00")  # a leap day, every leap year
    assert status(office, _at("2026-12-25 10:00")).words == "closed date 12-25"


def test_special_hours_replace_the_weekday_on_their_date() -> None:
    office = _schedule(open={"mon-fri": "08:00-18:00"}, special={"12-24": "08:00-12:00", "2026-12-27": "10:00-14:00"})
    assert _open(office, "2026-12-24 11:59") and not _open(office, "2026-12-24 12:00")  # a Thursday, until noon
    assert status(office, _at("2026-12-24 12:00")).words == "special 12-24 closed"
    assert _open(office, "2027-12-24 11:00") and not _open(office, "2027-12-24 13:00")  # every year
    assert _open(office, "2026-12-27 10:00")  # a Sunday, open that day only
    assert not _open(office, "2027-12-26 10:00")
    assert next_change(office, _at("2026-12-24 09:00")) == _at("2026-12-24 12:00")


def test_moments_show_each_state_once() -> None:
    office = _schedule(open={"mon-fri": "08:00-18:00"}, closed=["12-25"], special={"12-24": "08:00-12:00"})
    assert [moment.label for moment in moments({"office": office})] == [
        "2026-01-05 08:00 America/Chicago (office: open)",
        "2026-01-05 18:00 America/Chicago (office: closed)",
        "2026-12-25 12:00 America/Chicago (office: closed date 12-25)",
        "2026-12-24 08:00 America/Chicago (office: special 12-24 open)",
        "2026-12-24 12:00 America/Chicago (office: special 12-24 closed)",
    ]


def test_a_schedule_never_open_never_changes() -> None:
    assert next_change(_schedule(open={}), _at("2026-06-02 10:00")) is None


# --- when tests and the interpreter ---

ROUTING = """flow: routing
vars:
  tier: ""
  age: 0
schedules:
  office:
    timezone: America/Chicago
    open: { mon-fri: "08:00-18:00" }
nodes:
  route:
    type: branch
    cases:
      - when: { var: tier, in: [gold, platinum], open: office }
        go: gold
      - when: { var: age, between: [65, 120] }
        go: senior
      - when: { var: tier, empty: true }
        go: unknown
    otherwise: standard
  gold:
    type: hangup
    message: "Gold."
  senior:
    type: hangup
    message: "Senior."
  unknown:
    type: hangup
    message: "Who are you?"
  standard:
    type: hangup
    message: "Standard."
"""


def _routing() -> tuple[object, Branch]:
    checked = check_bytes(ROUTING.encode(), "routing.yaml")
    assert checked.ok and checked.flow is not None, checked.diagnostics
    branch = checked.flow.nodes["route"]
    assert isinstance(branch, Branch)
    return checked.flow, branch


def test_the_first_case_that_holds_wins() -> None:
    flow, branch = _routing()
    monday_noon, sunday = _at("2026-06-01 12:00"), _at("2026-06-07 12:00")
    assert choose(flow, branch, {"tier": "gold", "age": "70"}, monday_noon) == "gold"  # type: ignore[arg-type]
    assert choose(flow, branch, {"tier": "gold", "age": "70"}, sunday) == "senior"  # type: ignore[arg-type]
    assert choose(flow, branch, {"tier": "", "age": "0"}, sunday) == "unknown"  # type: ignore[arg-type]
    assert choose(flow, branch, {"tier": "silver", "age": "064"}, sunday) == "standard"  # type: ignore[arg-type]
    assert choose(flow, branch, {"tier": "silver", "age": "065"}, sunday) == "senior"  # type: ignore[arg-type]
    assert number("007") == 7 and number("7a") is None and number("nan") is None


def test_step_takes_the_time_of_the_event() -> None:
    flow, _ = _routing()
    started = CallStarted({"tier": "gold"})
    assert step(flow, new_call(flow), started, _at("2026-06-01 12:00"))[1].text == "Gold."  # type: ignore[arg-type,union-attr]
    assert step(flow, new_call(flow), started, _at("2026-06-01 19:00"))[1].text == "Standard."  # type: ignore[arg-type,union-attr]
    with pytest.raises(NoTime):
        step(flow, new_call(flow), started)  # type: ignore[arg-type]


def test_the_support_line_after_hours_and_on_a_holiday() -> None:
    support = load_flow(FLOWS / "support-menu.yaml")
    assert transcript(support, [], at=_at("2026-06-02 18:00"))[0]["say"].startswith(  # type: ignore[union-attr]
        "Thanks for calling Acme support. We are closed now."
    )
    assert "holiday" in str(transcript(support, [], at=_at("2026-07-04 10:00"))[0]["say"])
    assert {"dial": "15550001111"} in transcript(support, ["1"], at=OPEN)


# --- the linter ---


def test_holidays_outdated_uses_the_linters_now(monkeypatch: pytest.MonkeyPatch) -> None:
    text = ROUTING.replace(
        '    open: { mon-fri: "08:00-18:00" }\n', '    open: { mon-fri: "08:00-18:00" }\n    closed: ["2026-12-25"]\n'
    )
    monkeypatch.setattr(rules_branches, "CLOCK", lambda: _at("2026-06-01 12:00"))
    assert [d.rule for d in check_bytes(text.encode(), "r.yaml").diagnostics] == []
    monkeypatch.setattr(rules_branches, "CLOCK", lambda: _at("2027-01-02 12:00"))
    (outdated,) = check_bytes(text.encode(), "r.yaml").diagnostics
    assert outdated.rule == "holidays-outdated" and "from 2027-01-02" in outdated.message


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("{ var: tier, in: [gold, platinum] }", "{ var: tier, equals: gold }"),
        ("{ open: office }", "{ open: office, var: tier, equals: gold }"),
        ("{ var: age, between: [18, 120] }", "{ var: age, between: [65, 120] }"),
        ("{ var: age, between: [18, 120] }", "{ var: age, equals: 70 }"),
        ("{ var: tier, empty: true }", '{ var: tier, equals: "" }'),
    ],
)
def test_a_case_an_earlier_one_always_catches(earlier: str, later: str) -> None:
    text = ROUTING.replace("{ var: age, between: [65, 120] }", earlier).replace("{ var: tier, empty: true }", later)
    rules = [d.rule for d in check_bytes(text.encode(), "r.yaml").diagnostics]
    assert "case-never-taken" in rules


def test_a_narrower_case_first_is_fine() -> None:
    text = ROUTING.replace("{ var: age, between: [65, 120] }", "{ var: tier, equals: gold }").replace(
        "{ var: tier, empty: true }", "{ var: tier, in: [gold, platinum] }"
    )
    assert [d.rule for d in check_bytes(text.encode(), "r.yaml").diagnostics] == ["unused-variable"]  # age


# --- journeys, simulate --at, flow tests' at:, compile ---


def test_journeys_walk_each_state_of_the_schedules() -> None:
    flow = load_flow(EXAMPLES / "good" / "opening-hours.yaml")
    walked = walk_all(flow)
    assert [journey.ends_at for journey in walked.journeys] == ["welcome", "closed", "night"]
    text = render(flow, walked)
    assert '- "2026-12-24 12:00 America/Chicago (office: special 12-24 closed, night-desk: closed)"' in text
    assert '  at: "2026-01-05 22:00 America/Chicago (office: closed, night-desk: open)"' in text
    assert render(flow, walk_all(flow)) == text  # stable


def _ivrflow(*args: str, at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IVRFLOW_AT" and not k.startswith("TELESIGN_")}
    if at is not None:
        env["IVRFLOW_AT"] = at
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


def test_simulate_at_a_time_in_the_schedules_zone() -> None:
    holiday = _ivrflow("simulate", "flows/support-menu.yaml", "--keys", "", "--json", "--at", "2026-12-25 10:00")
    assert holiday.returncode == 0, holiday.stderr
    assert "closed today for the holiday" in json.loads(holiday.stdout)[0]["say"]
    eve = _ivrflow("simulate", "flows/support-menu.yaml", "--keys", "1", "--json", "--at", "2026-12-24 11:00")
    assert {"dial": "15550001111"} in json.loads(eve.stdout)
    from_env = _ivrflow("simulate", "flows/support-menu.yaml", "--keys", "", "--json", at="2026-06-06 10:00")
    assert json.loads(from_env.stdout)[0]["say"].startswith("Thanks for calling Acme support. We are closed now.")
    wrong = _ivrflow("simulate", "flows/support-menu.yaml", "--keys", "", "--at", "2026-03-08 02:30")
    assert wrong.returncode == 2 and "--at: 2026-03-08 02:30 does not exist in America/Chicago" in wrong.stderr


def test_a_flow_test_without_at_on_a_flow_with_schedules_says_to_give_it(tmp_path: Path) -> None:
    flow = tmp_path / "opening-hours.yaml"
    flow.write_text((EXAMPLES / "good" / "opening-hours.yaml").read_text())
    assert _ivrflow("journeys", str(flow)).returncode == 0
    (tmp_path / "opening-hours.tests.yaml").write_text(
        'tests:\n  - name: no time\n    keys: ""\n  - name: night\n    at: "2026-06-05 23:30"\n    keys: ""\n    ends_at: night\n'
        '  - name: bad time\n    at: "tomorrow"\n    keys: ""\n'
    )
    result = _ivrflow("test", str(tmp_path), "--format", "json")
    failures = [f["message"] for f in json.loads(result.stdout)["flows"][0]["failures"]]
    assert result.returncode == 1 and len(failures) == 2
    assert "give the case `at:" in failures[0] and "`at`: `tomorrow` is not a date and time" in failures[1]


def test_compile_decides_branches_at_the_time_it_is_sent() -> None:
    flow = load_flow(EXAMPLES / "good" / "vip-routing.yaml")
    open_, closed = parse_at("2026-06-01 10:00 Europe/London", None), parse_at("2026-12-25 10:00 Europe/London", None)
    params, _ = compile_v1(flow, CallOptions(to="15550100200", variables={"tier": "gold"}, at=open_))
    assert params is not None and params["message"] == "Your statement is ready. Press 1 to hear your offer."
    assert params["tts_message_1"] == "As a gold customer, your adviser will call you today."
    params, _ = compile_v1(flow, CallOptions(to="15550100200", variables={"balance": "5000"}, at=open_))
    assert params is not None and params["tts_message_1"] == "Your balance earns a better rate this month."
    params, _ = compile_v1(flow, CallOptions(to="15550100200", at=closed))
    assert params is not None and params["message"] == "Our office is closed. We will call you back."
    result = _ivrflow(
        "compile", str(EXAMPLES / "good" / "vip-routing.yaml"), "--to", "15550100200", "--at", "2026-12-26 10:00"
    )
    assert (
        result.returncode == 0
        and json.loads(result.stdout)["message"] == "Our office is closed. We will call you back."
    )


# --- GET /flows ---


def test_get_flows_says_whether_each_schedule_is_open_and_when_that_changes(tmp_path: Path) -> None:
    with serving(tmp_path / "calls.db") as app:  # IVRFLOW_AT: Tuesday 2 June 2026, 10:00 in Chicago
        flows = {flow["id"]: flow for flow in app.get("/flows").json()["flows"]}
    assert flows["support-menu"]["schedules"] == {
        "support-hours": {
            "timezone": "America/Chicago",
            "open": True,
            "state": "open",
            "changes_at": "2026-06-02T18:00-05:00",
        },
        "holidays": {
            "timezone": "America/Chicago",
            "open": True,
            "state": "open",
            "changes_at": "2026-07-04T00:00-05:00",
        },
    }
    assert flows["appointment-reminder"]["schedules"] == {}
