"""What the check-in use cases answer: reports, statuses, views. Plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeGuard

from bot.domain.schedule import Occurrence, WeeklySchedule
from bot.domain.statuses import CheckinAnswer

Answer = CheckinAnswer
ANSWERS: tuple[Answer, ...] = tuple(CheckinAnswer)


def is_answer(value: object) -> TypeGuard[Answer]:
    """A stored answer is a plain string column: one of ours, or nothing to show."""
    return value in ANSWERS


@dataclass(frozen=True, slots=True)
class SentCheckin:
    team_id: str
    user_id: str
    week: str


@dataclass
class TickReport:
    profiles_checked: int = 0
    planned: int = 0
    sent: list[SentCheckin] = field(default_factory=list)
    reminded: int = 0
    retrying: int = 0
    failed: int = 0
    missed: int = 0

    def __bool__(self) -> bool:
        return any(
            (self.profiles_checked, self.planned, self.sent, self.reminded)
            + (self.retrying, self.failed, self.missed)
        )

    def __str__(self) -> str:
        return (
            f"sent {len(self.sent)}, reminded {self.reminded}, planned {self.planned}, "
            f"retrying {self.retrying}, failed {self.failed}, missed {self.missed}, "
            f"profiles checked {self.profiles_checked}"
        )


@dataclass(frozen=True, slots=True)
class CheckinStatus:
    enrolled: bool
    enabled: bool
    schedule: WeeklySchedule
    chosen: bool  # the rep set their own day and time
    tz_known: bool
    next: Occurrence | None
    skip_week: str | None


@dataclass(frozen=True, slots=True)
class WeekMark:
    week: str
    answer: Answer | None
    sent: bool


@dataclass(frozen=True, slots=True)
class HomeSummary:
    status: CheckinStatus
    weeks: list[WeekMark]  # newest first


@dataclass(frozen=True, slots=True)
class CheckinView:
    checkin_id: int
    week: str
    answer: Answer | None
    note: str | None
    open: bool  # answers and notes can still change (the week is not over)
    channel_id: str | None = None  # where the DM is, to update it in place
    message_ts: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    reason: str  # recorded | not_found | not_yours | closed | invalid
    checkin: CheckinView | None = None


@dataclass(frozen=True, slots=True)
class NowRequest:
    checkin_id: int | None
    reason: str  # queued | already_sent | sending
