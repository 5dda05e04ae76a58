"""`schedules:` of a flow: opening hours in a time zone, closed dates and special hours, read from
what the author wrote, with every mistake kept as a diagnostic at its line for the linter.

Hours are wall-clock times in the schedule's time zone (what a sign on the door says): `08:00-18:00`
is open from 8 in the morning to 6 in the evening local time, whatever daylight saving does that
day. A range whose end is not after its start crosses midnight (`22:00-02:00`: from Friday 22:00
to Saturday 02:00 when written for Friday); `24:00` is the end of the day. How a moment is judged
is in language/clock.py.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from ivrflow.language.diagnostics import Diagnostic, Span, suggestion
from ivrflow.language.yamlstrict import SourceMap

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 24 * 60  # minutes
_TIME = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
_DATE = re.compile(r"^(?:([0-9]{4})-)?([0-9]{2})-([0-9]{2})$")
HOURS_HINT = 'write hours as "08:00-18:00" (24-hour clock; several ranges: "08:00-12:00, 13:00-17:00")'
DATE_HINT = 'write a date as "12-25" (every year) or "2026-12-24" (that day only)'


@dataclass(frozen=True, slots=True)
class Hours:
    """One range of opening hours, in minutes after local midnight. `end` <= `start`: it ends the
    next day (crosses midnight)."""

    start: int
    end: int
    text: str

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers(self, minute: int) -> bool:
        """Whether the range holds at `minute` of its own day (its part after midnight aside)."""
        return self.start <= minute and (self.crosses_midnight or minute < self.end)

    def covers_next_day(self, minute: int) -> bool:
        """Whether its part after midnight holds at `minute` of the next day."""
        return self.crosses_midnight and minute < self.end


@dataclass(frozen=True, slots=True)
class Date:
    """A calendar date: one day (`year` given) or the same day every year."""

    month: int
    day: int
    year: int | None = None

    @property
    def text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}" if self.year else f"{self.month:02d}-{self.day:02d}"

    def matches(self, year: int, month: int, day: int) -> bool:
        return self.month == month and self.day == day and self.year in (None, year)


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    timezone: str
    week: tuple[tuple[Hours, ...], ...]  # one tuple per weekday, Monday first
    closed: tuple[Date, ...] = ()
    special: Mapping[Date, tuple[Hours, ...]] = field(default_factory=dict)
    span: Span = Span(1, 1, 1, 2)  # noqa: RUF009 (a Span is frozen: one shared default is safe)
    problems: tuple[Diagnostic, ...] = ()  # what could not be read, for the linter

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zone(self.timezone)

    def hours_on(self, year: int, month: int, day: int, weekday: int) -> tuple[Hours, ...] | None:
        """The ranges of one local date; None when it is a closed date."""
        if any(date.matches(year, month, day) for date in self.closed):
            return None
        for date, hours in self.special.items():
            if date.matches(year, month, day):
                return hours
        return self.week[weekday]

    def special_on(self, year: int, month: int, day: int) -> Date | None:
        return next((date for date in self.special if date.matches(year, month, day)), None)

    def closed_on(self, year: int, month: int, day: int) -> Date | None:
        return next((date for date in self.closed if date.matches(year, month, day)), None)


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone, from the system's data or else the `tzdata` package's."""
    return zoneinfo.ZoneInfo(name)


@cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_zone(name: str) -> bool:
    if name not in zone_names():
        try:
            zone(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return False
    return True


def parse_time(text: str, *, end: bool = False) -> int | None:
    """`08:30` as minutes after midnight; `24:00` only as the end of a range."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and (minute or not end):
        return None
    return hour * 60 + minute


def parse_hours(text: str) -> tuple[list[Hours], list[str]]:
    """`"08:00-12:00, 13:00-17:00"` as ranges, and each part that does not read as one."""
    found: list[Hours] = []
    wrong: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        pieces = part.replace("–", "-").split("-")
        start = parse_time(pieces[0]) if len(pieces) == 2 else None
        finish = parse_time(pieces[1], end=True) if len(pieces) == 2 else None
        if start is None or finish is None or start == finish:  # 08:00-08:00: no time, or all day?
            wrong.append(part)
        else:
            found.append(Hours(start, finish, part))
    return found, wrong


def parse_days(text: str) -> list[int] | None:
    """`mon-fri`, `sat`, `mon,wed,fri`, `fri-mon` (across the weekend), `daily`: weekday numbers."""
    if text.strip().lower() in ("daily", "every day"):
        return list(range(7))
    days: list[int] = []
    for part in (p.strip().lower() for p in text.split(",")):
        ends = [_day(each.strip()) for each in part.split("-")]
        if not 1 <= len(ends) <= 2 or any(each is None for each in ends):
            return None
        first, last = ends[0], ends[-1]
        assert first is not None and last is not None
        days += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return days


def _day(word: str) -> int | None:
    if word in DAYS:
        return DAYS.index(word)
    if word in _FULL_DAYS:
        return _FULL_DAYS.index(word)
    return None


def parse_date(text: str) -> Date | None:
    match = _DATE.match(text.strip())
    if match is None:
        return None
    year = int(match.group(1)) if match.group(1) else None
    month, day = int(match.group(2)), int(match.group(3))
    if not 1 <= month <= 12 or not 1 <= day <= _days_in(month, year):
        return None
    return Date(month, day, year)


def _days_in(month: int, year: int | None) -> int:
    if month == 2:
        return 29 if year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    return 30 if month in (4, 6, 9, 11) else 31


class _Reader:
    def __init__(self, name: str, source: SourceMap) -> None:
        self.name = name
        self.source = source
        self.problems: list[Diagnostic] = []

    def where(self, *path: str | int) -> Span:
        return self.source.value(("schedules", self.name, *path))

    def key_at(self, *path: str | int) -> Span:
        return self.source.key(("schedules", self.name, *path))

    def problem(self, rule: str, span: Span, message: str, hint: str) -> None:
        self.problems.append(Diagnostic(rule, span, message, hint))

    def hours(self, value: Any, *path: str | int) -> tuple[Hours, ...]:
        texts = value if isinstance(value, list) else [value]
        found: list[Hours] = []
        for index, text in enumerate(texts):
            at = (*path, index) if isinstance(value, list) else path
            typed = self.source.typed.get(("schedules", self.name, *at))
            ranges, wrong = parse_hours(str(typed if typed is not None else text))
            found += ranges
            for part in wrong:
                self.problem(
                    "schedule-time",
                    self.where(*at),
                    f"`{part}` in schedule `{self.name}` is not a range of hours",
                    HOURS_HINT,
                )
        return tuple(found)


def read_schedule(name: str, data: dict[str, Any], source: SourceMap) -> Schedule:
    """One schedule from its mapping (which has passed the schema)."""
    read = _Reader(name, source)
    timezone = str(data["timezone"])
    if not known_zone(timezone):
        read.problem(
            "unknown-timezone",
            read.where("timezone"),
            f"`{timezone}` of schedule `{name}` is not a time zone",
            suggestion(timezone, zone_names())
            + "write an IANA time zone name, like `America/Chicago` or `Europe/London`",
        )
    week: list[list[Hours]] = [[] for _ in DAYS]
    for days_text, value in (data.get("open") or {}).items():
        days = parse_days(days_text)
        if days is None:
            read.problem(
                "schedule-time",
                read.key_at("open", days_text),
                f"`{days_text}` under `open` of schedule `{name}` is not a day or a range of days",
                suggestion(days_text.split("-")[0], (*DAYS, "daily"))
                + "write `mon`, `tue`, … `sun`, a range such as `mon-fri`, several such as `sat,sun`, or `daily`",
            )
            continue
        hours = read.hours(value, "open", days_text)
        for day in days:
            week[day] += hours
    closed: list[Date] = []
    for index, text in enumerate(data.get("closed") or []):
        date = parse_date(str(text))
        if date is None:
            read.problem(
                "schedule-time", read.where("closed", index), f"`{text}` in schedule `{name}` is not a date", DATE_HINT
            )
        else:
            closed.append(date)
    special: dict[Date, tuple[Hours, ...]] = {}
    for text, value in (data.get("special") or {}).items():
        date = parse_date(text)
        if date is None:
            read.problem(
                "schedule-time",
                read.key_at("special", text),
                f"`{text}` under `special` of schedule `{name}` is not a date",
                DATE_HINT,
            )
            continue
        special[date] = read.hours(value, "special", text)
    return Schedule(
        name=name,
        timezone=timezone,
        week=tuple(tuple(sorted(day, key=lambda h: h.start)) for day in week),
        closed=tuple(closed),
        special=MappingProxyType(special),
        span=source.key(("schedules", name)),
        problems=tuple(read.problems),
    )


def read_schedules(data: dict[str, Any], source: SourceMap) -> Mapping[str, Schedule]:
    return MappingProxyType(
        {name: read_schedule(name, value, source) for name, value in (data.get("schedules") or {}).items()}
    )


def week_overlaps(schedule: Schedule) -> Iterator[tuple[int, Hours, Hours]]:
    """(weekday, earlier, later) for ranges of the weekly hours that overlap, midnight and the
    end of the week included (Sunday 22:00-02:00 runs into Monday)."""
    spans = sorted(
        (day * DAY + hours.start, day * DAY + hours.end + (DAY if hours.crosses_midnight else 0), day, hours)
        for day, ranges in enumerate(schedule.week)
        for hours in ranges
    )
    week = 7 * DAY
    for index, (_, end, day, hours) in enumerate(spans):
        for other_start, _, _, other in spans[index + 1 :]:
            if other_start < end:
                yield day, hours, other
        if end > week:  # runs into Monday: the week's first ranges
            for other_start, _, _, other in spans:
                if other_start + week < end and other is not hours:
                    yield day, hours, other


def day_overlaps(ranges: tuple[Hours, ...]) -> Iterator[tuple[Hours, Hours]]:
    ordered = sorted(ranges, key=lambda h: h.start)
    for index, hours in enumerate(ordered):
        end = hours.end + (DAY if hours.crosses_midnight else 0)
        for other in ordered[index + 1 :]:
            if other.start < end:
                yield hours, other
