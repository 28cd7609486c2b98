"""Every value a status-like column may hold: one StrEnum per column kind.

The database checks them too (a CHECK constraint per column, migration 0007),
so a misspelt status is refused when it is written instead of sitting in a row
that no query ever matches again. Members are strings: they compare, hash,
format and serialise as the plain values stored, so `row.status == "sent"` and
JSON exports keep working.

Adding a value: add the member here, then a migration that replaces the
column's CHECK constraint (see 0007 for the shape); tests/test_statuses.py
fails until both agree.

The status columns' enums are named `…State`: `CheckinStatus` is already the
rep's schedule summary (bot/services/checkins/results.py).
"""

from __future__ import annotations

from enum import StrEnum


class NudgeState(StrEnum):
    """nudges.status: where one nudge is on its way (bot/services/nudges.py)."""

    PENDING = "pending"  # recorded; a worker or the sweep will claim it
    SENDING = "sending"  # claimed by a worker for one lease
    SENT = "sent"
    FAILED = "failed"  # given up: Slack refused it for good, or too many attempts
    EXPIRED = "expired"  # not delivered within the delivery window: dropped as stale
    UNCONFIRMED = "unconfirmed"  # an ephemeral try in doubt: never posted again
    ANSWERED = "answered"  # /reframe's own reply, shown in the command's answer


class NudgeTrigger(StrEnum):
    """nudges.trigger: what the nudge answers."""

    MESSAGE = "message"  # a post in a deal channel
    MENTION = "mention"  # @Reframe
    COMMAND = "command"  # `/reframe <situation>`


class DeliveryMode(StrEnum):
    """nudges.delivery and channels.mode: how a nudge reaches the rep."""

    EPHEMERAL = "ephemeral"  # in the channel, visible only to the rep
    THREAD = "thread"  # a visible reply in the message's thread
    DM = "dm"  # a direct message


class NudgeFeedback(StrEnum):
    """nudges.feedback: the rep's button on a nudge."""

    HELPFUL = "helpful"
    NOT_FOR_ME = "not_for_me"
    PAUSE = "pause"  # pause nudges for a week


class CheckinState(StrEnum):
    """checkins.status: where one weekly check-in is (bot/services/checkins/delivery.py)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    MISSED = "missed"  # its week ended before it could be sent
    SKIPPED = "skipped"  # the rep skipped that week


class CheckinAnswer(StrEnum):
    """checkins.answer: the rep's one-tap answer to the weekly question."""

    TRUST_EXCITEMENT = "trust_excitement"
    CHASING_HAPPINESS = "chasing_happiness"
    BOTH = "both"


class ReminderState(StrEnum):
    """checkins.reminder_status: the one reminder for an unanswered check-in (None: not yet)."""

    SENDING = "sending"  # claimed, first try
    RESENDING = "resending"  # claimed again: look in the DM before posting
    RETRY = "retry"  # failed in a way Slack may still have taken it: look first next time
    SENT = "sent"
    FAILED = "failed"


class DigestState(StrEnum):
    """digests.status: one workspace's team digest of one week (bot/services/digest.py)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    MISSED = "missed"  # the next digest was due before this one went out


class InviteAnswer(StrEnum):
    """reps.invite_answer: the rep's answer to the one check-in invitation."""

    JOINED = "joined"
    DECLINED = "declined"


class JoinMode(StrEnum):
    """How a rep who posts in a deal channel joins check-ins (CHECKIN_JOIN_MODE,
    workspace_settings.join_mode)."""

    INVITE = "invite"  # one private invitation
    AUTO = "auto"  # enrolled silently
    MANUAL = "manual"  # only with `/reframe checkin on`


class VisibleModeBy(StrEnum):
    """workspace_settings.visible_mode_by: who may make a channel's nudges visible."""

    CREATOR_OR_ADMIN = "creator_or_admin"
    ADMINS = "admins"
