"""When a rep's weekly check-in is due: pure calendar arithmetic, no I/O.

A check-in belongs to an ISO week *in the rep's own time zone* ("2026-W48"),
and is due at the rep's chosen weekday and wall-clock time in that zone. Every
instant is computed in UTC with zoneinfo, so the weeks when clocks change are
right: 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeGuard
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
# "4:30pm", "4pm", "4.30 p.m.", "12am"
_TIME_12H = re.compile(r"^(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?\s*([ap])\.?m\.?$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ScheduleError(ValueError):
    """A weekday, time, week or time zone that cannot be understood."""


def parse_weekday(text: str | int) -> int:
    """0 = Monday … 6 = Sunday, from a number or any unambiguous prefix ("fri", "Thurs")."""
    if isinstance(text, int):
        if 0 <= text <= 6:
            return text
        raise ScheduleError(f"weekday {text} is not between 0 (Monday) and 6 (Sunday)")
    word = text.strip().lower().rstrip(".")
    # isdecimal, not isdigit: "²" is a digit that int() refuses with a ValueError that
    # quotes it, and that reached the logs as the rep's own words.
    if word.isdecimal():
        return parse_weekday(int(word))
    matches = [
        i for i, name in enumerate(WEEKDAY_NAMES) if len(word) >= 2 and name.startswith(word)
    ]
    if len(matches) != 1:
        raise ScheduleError(f"{text!r} is not a weekday (try mon, tue, wed, thu, fri, sat, sun)")
    return matches[0]


def parse_time(text: str) -> time:
    """A wall-clock time, as people type it: "16:30", "9:05", "16.30", "16h30",
    or on a 12-hour clock "4:30pm", "4pm", "4.30 p.m." ("12am" is midnight)."""
    word = text.strip().lower()
    match = _TIME.match(word)
    if match is not None:
        return time(int(match.group(1)), int(match.group(2)))
    twelve = _TIME_12H.match(word)
    if twelve is None:
        raise ScheduleError(f"{text!r} is not a time like 09:00, 16:30 or 4:30pm")
    hour = int(twelve.group(1)) % 12 + (12 if twelve.group(3) == "p" else 0)
    return time(hour, int(twelve.group(2) or 0))


def format_time(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"{name!r} is not an IANA time zone") from error


def is_valid_zone(name: str | None) -> TypeGuard[str]:
    if not name:
        return False
    try:
        zone(name)
    except ScheduleError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """A weekday and wall-clock time in an IANA zone; checked on construction."""

    weekday: int  # 0 = Monday
    at: time
    tz: str

    def __post_init__(self) -> None:
        parse_weekday(self.weekday)
        zone(self.tz)
        if self.at.tzinfo is not None:
            raise ScheduleError("the time of day is wall-clock time, without a zone")

    def describe(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday].capitalize()}s at {format_time(self.at)} ({self.tz})"

    def describe_local(self, zone_words: str = "your time") -> str:
        """The same, for the person whose zone it is: "Mondays at 09:00 your time"."""
        return f"{WEEKDAY_NAMES[self.weekday].capitalize()}s at {format_time(self.at)} {zone_words}"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One week's check-in: its week key, when it is due, and when its week ends (UTC)."""

    week: str
    due_at: datetime
    ends_at: datetime


def effective_schedule(
    *,
    weekday: int | None,
    at: str | None,
    tz: str | None,
    default: WeeklySchedule,
) -> WeeklySchedule:
    """The rep's own choices where they made them, the workspace default elsewhere.

    A rep whose Slack profile has no (or an unknown) zone gets the default zone.
    """
    return WeeklySchedule(
        weekday=default.weekday if weekday is None else weekday,
        at=default.at if not at else parse_time(at),
        tz=tz if is_valid_zone(tz) else default.tz,
    )


def week_key(local_day: date) -> str:
    year, week, _ = local_day.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(now: datetime, tz: str) -> str:
    """The ISO week that `now` falls in, on the rep's own calendar."""
    return week_key(_aware(now).astimezone(zone(tz)).date())


def week_label(key: str) -> str:
    """How people name a week: "week of 30 Nov" (its Monday), not "2026-W49"."""
    year, week = parse_week(key)
    monday = date.fromisocalendar(year, week, 1)
    return f"week of {monday.day} {monday:%b}"


def parse_week(key: str) -> tuple[int, int]:
    match = _WEEK.match(key)
    if match is None:
        raise ScheduleError(f"{key!r} is not an ISO week like 2026-W48")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError as error:
        raise ScheduleError(f"{key!r} does not exist") from error
    return year, week


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """A wall-clock moment in `tz` as UTC.

    Times that do not exist (skipped by a spring-forward) resolve with the
    offset in force before the change, i.e. an hour later on the wall clock;
    times that happen twice (fall-back) resolve to the first of the two.
    """
    local = datetime.combine(day, at, tzinfo=zone(tz))
    return local.astimezone(UTC)


def occurrence(week: str, schedule: WeeklySchedule) -> Occurrence:
    """The check-in of `week` under `schedule`."""
    year, number = parse_week(week)
    day = date.fromisocalendar(year, number, schedule.weekday + 1)
    next_monday = date.fromisocalendar(year, number, 1) + timedelta(days=7)
    return Occurrence(
        week=week,
        due_at=local_to_utc(day, schedule.at, schedule.tz),
        ends_at=local_to_utc(next_monday, time(0, 0), schedule.tz),
    )


def current_occurrence(now: datetime, schedule: WeeklySchedule) -> Occurrence:
    """This week's check-in on the rep's calendar (due earlier, later, or right now)."""
    return occurrence(week_of(now, schedule.tz), schedule)


def shift_week(week: str, weeks: int) -> str:
    year, number = parse_week(week)
    return week_key(date.fromisocalendar(year, number, 1) + timedelta(weeks=weeks))


def recent_weeks(now: datetime, tz: str, count: int) -> list[str]:
    """The current week and the `count - 1` before it, newest first."""
    this_week = week_of(now, tz)
    return [shift_week(this_week, -i) for i in range(count)]


def next_occurrence(
    now: datetime,
    schedule: WeeklySchedule,
    *,
    taken_weeks: frozenset[str] = frozenset(),
    skip_week: str | None = None,
) -> Occurrence:
    """The next check-in still to come: not yet due, not skipped, and its week not
    already served (`taken_weeks` holds weeks that have a check-in already)."""
    week = week_of(now, schedule.tz)
    for ahead in range(3):
        candidate = occurrence(shift_week(week, ahead), schedule)
        if candidate.week in taken_weeks or candidate.week == skip_week:
            continue
        if candidate.due_at > now:
            return candidate
    return occurrence(shift_week(week, 3), schedule)  # unreachable: 3 weeks cover any skip


def owed(now: datetime, schedule: WeeklySchedule, *, enrolled_at: datetime) -> Occurrence | None:
    """This week's check-in if it is due now: its time has come, the week is not
    over, and the rep was already enrolled when it fell due (a rep who joins on
    a Wednesday starts next week rather than getting a late one at once)."""
    current = current_occurrence(now, schedule)
    if current.due_at <= now < current.ends_at and enrolled_at <= current.due_at:
        return current
    return None


def next_look(
    now: datetime,
    schedule: WeeklySchedule,
    *,
    enrolled_at: datetime,
    planned_weeks: frozenset[str] = frozenset(),
) -> datetime:
    """When the tick must next look at a rep: the due time of the first check-in
    it owes or will owe, in UTC.

    That is this week's when it has fallen due and is not planned yet (a time in
    the past: look at once, `owed` then says what to send), else the first later
    week not planned. Weeks due before the rep enrolled are not owed (`owed`).
    Stored per rep (`reps.next_due_at`), so a tick reads only the reps due.
    """
    week = week_of(now, schedule.tz)
    for ahead in range(3):
        candidate = occurrence(shift_week(week, ahead), schedule)
        if candidate.week in planned_weeks or enrolled_at > candidate.due_at:
            continue
        return candidate.due_at
    return occurrence(shift_week(week, 3), schedule).due_at


# A check-in that is late (the bot was down at its time) waits for the rep's
# morning rather than arriving in the night: never at 3 a.m.
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
CATCH_UP_GRACE = timedelta(hours=1)


def catch_up_time(now: datetime, due: Occurrence, tz: str) -> datetime:
    """When a due check-in may go out: its own time, or now if it is only a little
    late; when it is late *and* night for the rep, the next local 08:00 (which may
    fall after the week ends: then the week is missed, not sent at night)."""
    if now - due.due_at <= CATCH_UP_GRACE:
        return due.due_at
    local = now.astimezone(zone(tz))
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return now
    morning_day = local.date() + timedelta(days=1 if local.time() >= QUIET_FROM else 0)
    return local_to_utc(morning_day, QUIET_UNTIL, tz)


def retry_backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … between delivery attempts, never more than 30 min."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 30 * 60))


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ScheduleError("naive datetime; pass an aware UTC datetime")
    return at
