"""The rules about `branch` nodes and `schedules`, as rows of the rule catalog (language/catalog.py
turns each row into a Rule: id, severity, group, title, what it catches, why, how to fix, example)."""

from __future__ import annotations

BRANCH_RULES: list[tuple[str, ...]] = [
    (
        "unknown-timezone",
        "error",
        "Meaning",
        "A schedule's time zone that does not exist",
        "A `timezone` that is not an IANA time zone name (`America/Chicago`, `Europe/London`), such as "
        "`CST`, `Chicago` or a misspelt name.",
        "The engine could not tell what time it is for the schedule, so it could not say whether it is open.",
        "Write the IANA name of the place whose clocks the hours follow; the message suggests the nearest one.",
        "timezone: America/Chicgo    # bad\ntimezone: America/Chicago   # good",
    ),
    (
        "schedule-time",
        "error",
        "Meaning",
        "Hours, days or dates of a schedule that do not read",
        "Hours not written `HH:MM-HH:MM` on the 24-hour clock (`8am-6pm`, `08:00-08:00`, `25:00-26:00`), a day "
        "that is not `mon` … `sun`, a range like `mon-fri`, a list like `sat,sun` or `daily`, or a date that is "
        "not `MM-DD` (every year) or `YYYY-MM-DD` (one day).",
        "A range that cannot be read would silently leave the line closed (or open) when the author meant otherwise.",
        'Write hours as "08:00-18:00" (several: "08:00-12:00, 13:00-17:00"; across midnight: "22:00-02:00"), '
        'and dates as "12-25" or "2026-12-24".',
        'open:\n  mon-fri: "8am-6pm"         # bad\n  mon-fri: "08:00-18:00"    # good',
    ),
    (
        "schedule-overlap",
        "warning",
        "Meaning",
        "Opening hours that overlap, or a date both closed and special",
        "Two ranges of the same day (or a range across midnight and the next day's first) that cover the "
        "same time, such as `mon-fri: 08:00-18:00` and `fri: 17:00-20:00`, or a date listed under both "
        "`closed` and `special`.",
        "The line is open whenever any range says so, which is rarely what two overlapping lines meant: "
        "usually one of them is a typo or an old line left behind.",
        "Merge the ranges into one, or correct the one that is wrong. A closed date is closed all day: drop "
        "it from `special`, or from `closed` if it has special hours.",
    ),
    (
        "unknown-schedule",
        "error",
        "Meaning",
        "A branch tests a schedule that does not exist",
        "`open:` or `closed:` in a `when` naming a schedule that is not under `schedules:`.",
        "The engine would not know which hours to test.",
        "Use the name of a schedule under `schedules:` (the message suggests the nearest), or add that schedule.",
    ),
    (
        "unused-schedule",
        "warning",
        "Meaning",
        "A schedule no branch tests",
        "A schedule under `schedules:` that no `when` names with `open:` or `closed:`.",
        "Its hours change nothing a caller hears; the author may believe the line closes at night when it does not.",
        "Add a `branch` whose case tests it, such as `when: { closed: opening-hours }`, or remove the schedule.",
    ),
    (
        "holidays-outdated",
        "warning",
        "Meaning",
        "No closed date in the next 12 months",
        "A schedule with `closed` dates, none of which falls in the next 12 months: they are all one-off dates "
        "(`2025-12-25`) in the past, or more than a year ahead.",
        "A holiday list nobody updated: the line would answer as open on this year's holidays.",
        'Add this year\'s dates, or write a holiday that falls on the same date every year as "MM-DD" ("12-25").',
    ),
    (
        "case-never-taken",
        "error",
        "Meaning",
        "A case that an earlier case always catches",
        "A case of a `branch` whose `when` can only hold when an earlier case's `when` holds too, such as "
        "`{ var: tier, in: [gold, platinum] }` before `{ var: tier, equals: gold }`, or the same test twice.",
        "The first case that holds wins, so the later one is never taken: its callers go elsewhere.",
        "Put the narrower case first, or remove the one that is never taken.",
        "cases:\n  - when: { open: office }\n    go: menu\n  - when: { open: office, var: tier, equals: gold }   # never taken\n    go: priority",
    ),
    (
        "branch-test",
        "error",
        "Meaning",
        "A `when` test that is incomplete or cannot hold",
        "`var` without a test (`equals`, `in`, `between`, `empty`) or a test without `var`; `between` whose "
        "low number is above its high one; `between` on a variable whose default is not a number.",
        "A test that is half written, or that compares text as a number, would send every caller the same way.",
        "Write `var` and one test together, such as `{ var: tier, equals: gold }`; give a variable tested "
        "with `between` a number default, such as `age: 0`.",
    ),
]

# The engine could not run a flow with these, so a disable comment cannot silence them.
BRANCH_UNSILENCEABLE = frozenset({"unknown-timezone", "schedule-time", "unknown-schedule", "branch-test"})
