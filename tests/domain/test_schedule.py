"""When check-ins fall due: time zones, daylight-saving weeks, defaults. Pure, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.schedule import (
    Occurrence,
    ScheduleError,
    WeeklySchedule,
    catch_up_time,
    current_occurrence,
    effective_schedule,
    local_to_utc,
    next_look,
    next_occurrence,
    occurrence,
    owed,
    parse_time,
    parse_weekday,
    recent_weeks,
    retry_backoff,
    week_label,
    week_of,
)

DEFAULT = WeeklySchedule(weekday=0, at=time(9, 0), tz="Europe/London")
LA = WeeklySchedule(weekday=0, at=time(9, 0), tz="America/Los_Angeles")
BERLIN = WeeklySchedule(weekday=0, at=time(9, 0), tz="Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monday_nine_in_los_angeles_and_berlin_are_different_instants() -> None:
    # 2026-W48 runs Monday 23 to Sunday 29 November (winter time on both sides).
    assert occurrence("2026-W48", LA).due_at == utc(2026, 11, 23, 17, 0)
    assert occurrence("2026-W48", BERLIN).due_at == utc(2026, 11, 23, 8, 0)


def test_week_key_follows_the_reps_own_calendar() -> None:
    # Sunday 22:00 in Los Angeles is already Monday 07:00 in Berlin.
    instant = utc(2026, 11, 30, 6, 0)
    assert week_of(instant, "America/Los_Angeles") == "2026-W48"
    assert week_of(instant, "Europe/Berlin") == "2026-W49"


def test_week_ends_at_local_midnight_before_next_monday() -> None:
    assert occurrence("2026-W48", BERLIN).ends_at == utc(2026, 11, 29, 23, 0)
    assert occurrence("2026-W48", LA).ends_at == utc(2026, 11, 30, 8, 0)


def test_spring_forward_weeks_keep_local_wall_clock_time() -> None:
    # US clocks go forward on Sunday 8 March 2026; EU on Sunday 29 March 2026.
    assert occurrence("2026-W10", LA).due_at == utc(2026, 3, 2, 17, 0)  # PST, UTC-8
    assert occurrence("2026-W11", LA).due_at == utc(2026, 3, 9, 16, 0)  # PDT, UTC-7
    assert occurrence("2026-W13", BERLIN).due_at == utc(2026, 3, 23, 8, 0)  # CET
    assert occurrence("2026-W14", BERLIN).due_at == utc(2026, 3, 30, 7, 0)  # CEST


def test_week_containing_the_change_is_an_hour_short() -> None:
    week = occurrence("2026-W13", BERLIN)  # Mon 23 – Sun 29 March, clocks change on Sunday
    start = occurrence("2026-W13", WeeklySchedule(0, time(0, 0), "Europe/Berlin")).due_at
    assert week.ends_at - start == timedelta(days=7) - timedelta(hours=1)


def test_fall_back_week_and_a_sunday_time_after_the_change() -> None:
    sunday_evening = WeeklySchedule(weekday=6, at=time(18, 0), tz="Europe/Berlin")
    # EU clocks go back on Sunday 25 October 2026 (03:00 CEST -> 02:00 CET).
    assert occurrence("2026-W43", sunday_evening).due_at == utc(2026, 10, 25, 17, 0)


def test_time_skipped_by_spring_forward_resolves_to_a_real_instant() -> None:
    early = WeeklySchedule(weekday=6, at=time(2, 30), tz="America/Los_Angeles")
    due = occurrence("2026-W10", early).due_at  # Sunday 8 March 02:30 does not exist
    assert due == utc(2026, 3, 8, 10, 30)  # 03:30 PDT on the wall clock


def test_rep_without_a_time_zone_falls_back_to_the_workspace_default() -> None:
    schedule = effective_schedule(weekday=None, at=None, tz=None, default=DEFAULT)
    assert schedule == DEFAULT
    unknown = effective_schedule(weekday=None, at=None, tz="Mars/Olympus", default=DEFAULT)
    assert unknown.tz == "Europe/London"
    own = effective_schedule(weekday=4, at="16:30", tz="Europe/Berlin", default=DEFAULT)
    assert own == WeeklySchedule(4, time(16, 30), "Europe/Berlin")


def test_owed_only_between_due_time_and_end_of_week() -> None:
    enrolled = utc(2026, 1, 1)
    assert owed(utc(2026, 11, 23, 16, 59), LA, enrolled_at=enrolled) is None
    due = owed(utc(2026, 11, 23, 17, 0), LA, enrolled_at=enrolled)
    assert due is not None and due.week == "2026-W48"
    # The process was down at 09:00; on Thursday the week's check-in is still owed…
    assert owed(utc(2026, 11, 26, 12, 0), LA, enrolled_at=enrolled) == due
    # …but a new week has its own (not yet due) check-in.
    assert owed(utc(2026, 11, 30, 9, 0), LA, enrolled_at=enrolled) is None


def test_rep_enrolled_after_this_weeks_time_starts_next_week() -> None:
    tuesday = utc(2026, 11, 24, 12, 0)
    assert owed(tuesday + timedelta(hours=1), LA, enrolled_at=tuesday) is None
    next_monday = utc(2026, 11, 30, 17, 0)
    assert owed(next_monday, LA, enrolled_at=tuesday) is not None


def test_next_occurrence_skips_taken_and_skipped_weeks() -> None:
    monday_morning = utc(2026, 11, 23, 6, 0)  # before 09:00 Berlin
    assert next_occurrence(monday_morning, BERLIN).week == "2026-W48"
    assert next_occurrence(monday_morning, BERLIN, skip_week="2026-W48").week == "2026-W49"
    after = utc(2026, 11, 23, 10, 0)
    assert next_occurrence(after, BERLIN).week == "2026-W49"
    taken = frozenset({"2026-W48"})
    assert next_occurrence(monday_morning, BERLIN, taken_weeks=taken).week == "2026-W49"


def test_recent_weeks_cross_the_year_boundary() -> None:
    weeks = recent_weeks(utc(2027, 1, 5, 12, 0), "Europe/Berlin", 3)
    assert weeks == ["2027-W01", "2026-W53", "2026-W52"]
    assert current_occurrence(utc(2027, 1, 5, 12, 0), BERLIN).week == "2027-W01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mon", 0), ("Fri", 4), ("thursday", 3), ("Tu", 1), ("6", 6), ("sun.", 6)],
)
def test_weekday_parsing(text: str, expected: int) -> None:
    assert parse_weekday(text) == expected


@pytest.mark.parametrize("text", ["t", "s", "funday", "7", "", "\u00b2"])
def test_weekday_parsing_refuses_ambiguous_or_unknown(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_weekday(text)


def test_time_parsing() -> None:
    assert parse_time("16:30") == time(16, 30)
    assert parse_time("9:05") == time(9, 5)
    assert parse_time("07h15") == time(7, 15)
    for bad in ("24:00", "9", "12:60", "13pm", "0am", "4:30xm", "4:3pm"):
        with pytest.raises(ScheduleError):
            parse_time(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4:30pm", time(16, 30)),
        ("4pm", time(16, 0)),
        ("4:30 PM", time(16, 30)),
        ("4.30 p.m.", time(16, 30)),
        ("9am", time(9, 0)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("12:15am", time(0, 15)),
        ("11:59pm", time(23, 59)),
    ],
)
def test_twelve_hour_times_as_people_type_them(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("week", "label"),
    [("2026-W49", "week of 30 Nov"), ("2027-W01", "week of 4 Jan"), ("2026-W01", "week of 29 Dec")],
)
def test_weeks_are_named_by_their_monday(week: str, label: str) -> None:
    assert week_label(week) == label


def test_schedule_checks_its_zone() -> None:
    with pytest.raises(ScheduleError):
        WeeklySchedule(weekday=0, at=time(9), tz="Nowhere/Special")


def test_backoff_grows_and_is_capped() -> None:
    assert retry_backoff(1) == timedelta(seconds=30)
    assert retry_backoff(3) == timedelta(minutes=2)
    assert retry_backoff(30) == timedelta(minutes=30)


class TestCatchUpNeverAtNight:
    """A check-in the bot could not send on time waits for the rep's morning."""

    BERLIN = "Europe/Berlin"

    def _due(self) -> Occurrence:
        # Monday 09:00 in Berlin (08:00 UTC in winter).
        return Occurrence(
            week="2026-W48",
            due_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
            ends_at=datetime(2026, 11, 29, 23, 0, tzinfo=UTC),
        )

    def test_on_time_or_a_little_late_keeps_its_time(self) -> None:
        due = self._due()
        assert catch_up_time(due.due_at + timedelta(minutes=50), due, self.BERLIN) == due.due_at

    def test_late_in_the_day_goes_out_now(self) -> None:
        due = self._due()
        now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
        assert catch_up_time(now, due, self.BERLIN) == now

    def test_late_at_night_waits_for_the_next_local_morning(self) -> None:
        due = self._due()
        now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
        assert catch_up_time(now, due, self.BERLIN) == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
        evening = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
        assert catch_up_time(evening, due, self.BERLIN) == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_next_look_is_the_first_check_in_owed_or_to_come() -> None:
    berlin = WeeklySchedule(weekday=0, at=time(9, 0), tz="Europe/Berlin")
    enrolled = utc(2026, 1, 1)
    # Before Monday's nine: this week's. After it, unplanned: this week's still (owed now).
    assert next_look(utc(2026, 10, 19, 6), berlin, enrolled_at=enrolled) == utc(2026, 10, 19, 7)
    assert next_look(utc(2026, 10, 20), berlin, enrolled_at=enrolled) == utc(2026, 10, 19, 7)
    # Planned: next week's, an hour later in UTC once summer time has ended.
    planned = frozenset({"2026-W43"})
    at = next_look(utc(2026, 10, 19, 7), berlin, enrolled_at=enrolled, planned_weeks=planned)
    assert at == utc(2026, 10, 26, 8)
    # Enrolled after this week's was due: next week's (as `owed` says).
    late = utc(2026, 10, 21)
    assert next_look(late, berlin, enrolled_at=late) == utc(2026, 10, 26, 8)
    # Spring forward: 02:30 does not exist on 29 March 2026 in Berlin.
    night = WeeklySchedule(weekday=6, at=time(2, 30), tz="Europe/Berlin")
    at = next_look(utc(2026, 3, 28), night, enrolled_at=enrolled)
    assert at == local_to_utc(date(2026, 3, 29), time(2, 30), "Europe/Berlin")
