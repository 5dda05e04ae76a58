"""Whether a schedule is open at a moment, when that changes next, and the moments journeys use.

A moment is seconds since the epoch (UTC), as `time.time()` gives it: the server passes the time an
event arrived, the simulator and flow tests a time the author chose. Each moment is turned into the
schedule's local wall-clock time, so daylight saving needs no rule of its own: on the night clocks
go forward an hour that does not exist is simply never seen, and on the night they go back an hour
is seen twice.

A date's hours belong to the day they start: Friday's `22:00-02:00` still holds at 01:00 on
Saturday, unless Saturday is a closed date (a closed date is closed from its midnight to the next).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from ivrflow.language.diagnostics import suggestion
from ivrflow.language.schedules import DAY, Hours, Schedule, known_zone, zone, zone_names

HORIZON_DAYS = 400  # how far ahead `next_change` looks: past every yearly date
# Journeys and flow tests without `at:` start from a fixed week, so that their files do not change
# with the day they are made: Monday 5 January 2026.
ANCHOR = date(2026, 1, 5)
_AT = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\s*(.*)$")
_OFFSET = re.compile(r"^([+-])([0-9]{2}):?([0-9]{2})$")
AT_HINT = 'write the time as "2026-12-24 15:00", in the schedule\'s own time zone, or with a zone: "2026-12-24 15:00 America/Chicago", "2026-12-24T21:00Z", "2026-12-24 15:00 -06:00"'


@dataclass(frozen=True, slots=True)
class Status:
    open: bool
    words: str  # "open", "closed", "closed date 12-25", "special 12-24 open", ...


def local(schedule: Schedule, at: float) -> datetime:
    return datetime.fromtimestamp(at, schedule.zone)


def status(schedule: Schedule, at: float) -> Status:
    when = local(schedule, at)
    y, m, d, minute = when.year, when.month, when.day, when.hour * 60 + when.minute
    closed = schedule.closed_on(y, m, d)
    if closed is not None:
        return Status(False, f"closed date {closed.text}")
    today = schedule.hours_on(y, m, d, when.weekday()) or ()
    before = when.date() - timedelta(days=1)
    yesterday = schedule.hours_on(before.year, before.month, before.day, before.weekday()) or ()
    is_open = any(h.covers(minute) for h in today) or any(h.covers_next_day(minute) for h in yesterday)
    special = schedule.special_on(y, m, d)
    state = "open" if is_open else "closed"
    return Status(is_open, f"special {special.text} {state}" if special else state)


def is_open(schedule: Schedule, at: float) -> bool:
    return status(schedule, at).open


def instant(schedule: Schedule, wall: datetime) -> float:
    """The moment a local wall-clock time (naive) is reached: the first of two on the night clocks
    go back; on the night they go forward, a time that never shows is reached when the clocks jump."""
    tz = schedule.zone
    first = wall.replace(tzinfo=tz, fold=0).timestamp()
    if datetime.fromtimestamp(first, tz).replace(tzinfo=None) == wall:
        return first
    low, high = sorted((first, wall.replace(tzinfo=tz, fold=1).timestamp()))
    while high - low > 1:  # the jump lies between the two readings: find it to the second
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def _boundaries(schedule: Schedule) -> list[int]:
    ranges: Iterable[Hours] = [h for day in schedule.week for h in day] + [
        h for hours in schedule.special.values() for h in hours
    ]
    return sorted({0, *(h.start for h in ranges), *(h.end % DAY for h in ranges)})


def next_change(schedule: Schedule, at: float) -> float | None:
    """The next moment after `at` at which the schedule opens or closes; None when that does not
    happen within a year and a month (a schedule that is never open)."""
    now = status(schedule, at).open
    minutes = _boundaries(schedule)
    start = local(schedule, at).date()
    for offset in range(HORIZON_DAYS):
        day = start + timedelta(days=offset)
        for minute in minutes:
            moment = instant(schedule, datetime(day.year, day.month, day.day, minute // 60, minute % 60))
            if moment > at and status(schedule, moment).open != now:
                return moment
    return None


def show(schedule: Schedule, at: float) -> str:
    """A moment as the schedule's people read it: `2026-12-24 15:00 America/Chicago`."""
    return f"{local(schedule, at):%Y-%m-%d %H:%M} {schedule.timezone}"


def default_zone(schedules: Iterable[Schedule]) -> str | None:
    """The zone a time without one is read in: the flow's schedules' zone; UTC without schedules;
    None when they use several (the author must say which)."""
    zones = {each.timezone for each in schedules}
    if not zones:
        return "UTC"
    return zones.pop() if len(zones) == 1 else None


def parse_at(text: str, default: str | None) -> float:
    """A time written by an author (`--at`, a test's `at:`) as a moment; ValueError says what to write."""
    match = _AT.match(text.strip())
    if match is None:
        raise ValueError(f"`{text}` is not a date and time; {AT_HINT}")
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    second = int(match.group(6) or 0)
    rest = match.group(7).strip()
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(f"`{text}` is not a date and time that exists; {AT_HINT}") from None
    if rest in ("Z", "UTC"):
        return wall.replace(tzinfo=UTC).timestamp()
    offset = _OFFSET.match(rest)
    if offset is not None:
        sign = 1 if offset.group(1) == "+" else -1
        shift = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return wall.replace(tzinfo=timezone(sign * shift)).timestamp()
    name = rest or default
    if name is None:
        raise ValueError(
            f"`{text}` has no time zone, and this flow's schedules are in several; say which, like `{text} America/Chicago`"
        )
    if not known_zone(name):
        raise ValueError(f"`{name}` is not a time zone; {suggestion(name, zone_names())}{AT_HINT}")
    tz = zone(name)
    first = wall.replace(tzinfo=tz, fold=0)
    if datetime.fromtimestamp(first.timestamp(), tz).replace(tzinfo=None) != wall:
        raise ValueError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {name}: the clocks jump past it that night; pick a time before or after the change"
        )
    return first.timestamp()  # on the night clocks go back, the first of the two


@dataclass(frozen=True, slots=True)
class Moment:
    at: float
    shown: str  # the local time and the zone
    states: tuple[tuple[str, str], ...]  # (schedule, status words) for each schedule

    @property
    def label(self) -> str:
        return f"{self.shown} ({', '.join(f'{name}: {words}' for name, words in self.states)})"


def _regular_day(schedule: Schedule) -> date:
    """The first day of the anchor's fortnight that is neither closed nor special and has hours."""
    for offset in range(14):
        day = ANCHOR + timedelta(days=offset)
        if (
            schedule.closed_on(day.year, day.month, day.day) is None
            and schedule.special_on(day.year, day.month, day.day) is None
            and schedule.week[day.weekday()]
        ):
            return day
    return ANCHOR


def _end(hours: Hours) -> int:
    """The end of a range in minutes after its day's midnight (past 24:00 when it crosses midnight)."""
    return hours.end + (DAY if hours.crosses_midnight else 0)


def _candidates(schedule: Schedule) -> list[float]:
    """Moments that show each state of a schedule: open, closed, a closed date, special hours."""
    found: list[float] = []

    def at(day: date, minute: int) -> float:
        return instant(schedule, datetime(day.year, day.month, day.day, 0, 0) + timedelta(minutes=minute))

    regular = _regular_day(schedule)
    for first_hours in schedule.week[regular.weekday()][:1]:
        found += [at(regular, first_hours.start), at(regular, _end(first_hours))]
    found.append(at(regular, 3 * 60))  # the middle of the night, for a schedule with no hours that day
    if schedule.closed:
        first = schedule.closed[0]
        year = first.year or (
            ANCHOR.year if (first.month, first.day) >= (ANCHOR.month, ANCHOR.day) else ANCHOR.year + 1
        )
        found.append(at(date(year, first.month, first.day), 12 * 60))
    for special, ranges in list(schedule.special.items())[:1]:
        year = special.year or ANCHOR.year + (1 if (special.month, special.day) < (ANCHOR.month, ANCHOR.day) else 0)
        day = date(year, special.month, special.day)
        for each in ranges[:1]:
            found += [at(day, each.start), at(day, _end(each))]
        if not ranges:
            found.append(at(day, 12 * 60))
    return found


def moments(schedules: Mapping[str, Schedule]) -> list[Moment]:
    """One moment per distinct combination of the schedules' states, in a stable order: what
    journeys walk a flow at, so that open, closed, closed dates and special hours each show."""
    found: list[Moment] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for schedule in schedules.values():
        for at in _candidates(schedule):
            states = tuple((name, status(each, at).words) for name, each in schedules.items())
            if states not in seen:
                seen.add(states)
                found.append(Moment(at, show(schedule, at), states))
    return found
