"""Weekly check-ins: enrol reps, send each one's question once a week, record answers.

- service.py: the rep's side (enrolment, schedule, answers, notes, App Home);
- delivery.py: the tick that sends check-ins and reminders exactly once;
- ports.py: what both need from Slack; results.py: the values they answer.
"""

from bot.services.checkins.delivery import (
    CLAIM_LEASE,
    MAX_INLINE_WAIT,
    CheckinDelivery,
    RateGate,
)
from bot.services.checkins.ports import (
    CheckinSlack,
    OutgoingCheckin,
    PostedMessage,
    RepProfile,
)
from bot.services.checkins.results import (
    ANSWERS,
    Answer,
    CheckinStatus,
    CheckinView,
    HomeSummary,
    NowRequest,
    Outcome,
    SentCheckin,
    TickReport,
    WeekMark,
)
from bot.services.checkins.service import (
    HOME_WEEKS,
    NOTE_MAX_CHARS,
    CheckinService,
    describe_status,
)

__all__ = [
    "ANSWERS",
    "CLAIM_LEASE",
    "HOME_WEEKS",
    "MAX_INLINE_WAIT",
    "NOTE_MAX_CHARS",
    "Answer",
    "CheckinDelivery",
    "CheckinService",
    "CheckinSlack",
    "CheckinStatus",
    "CheckinView",
    "HomeSummary",
    "NowRequest",
    "OutgoingCheckin",
    "Outcome",
    "PostedMessage",
    "RateGate",
    "RepProfile",
    "SentCheckin",
    "TickReport",
    "WeekMark",
    "describe_status",
]
