"""SQLAlchemy models. The schema itself is created only by Alembic migrations.

Every table is keyed or indexed by `team_id` first: each workspace's data is
separate, and every query names the team.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Double,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.statuses import (
    CheckinAnswer,
    CheckinState,
    DeliveryMode,
    DigestState,
    InviteAnswer,
    JoinMode,
    NudgeFeedback,
    NudgeState,
    NudgeTrigger,
    ReminderState,
    VisibleModeBy,
)
from bot.storage.db import StrEnumType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Partial-index conditions on reps, written once for the model and the migration.
ACTIVE_REP = "checkins_enrolled_at IS NOT NULL AND checkins_enabled"
UNKNOWN_REP = ACTIVE_REP + " AND eligible IS NULL"
# Sent check-ins still waiting for an answer or a reminder: the reminder sweep's rows.
AWAITING_REMINDER = (
    "status = 'sent' AND answer IS NULL AND "
    "(reminder_status IS NULL OR reminder_status IN ('retry', 'sending', 'resending'))"
)

ID = String(32)  # Slack ids (T…, C…, U…) are short; 32 leaves room.
TS = String(32)  # message timestamps such as "1712345678.123456"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """The database's own check that `column` holds one of the enum's values (or NULL),
    named ck_<table>_<column> by the naming convention."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f'"{column}" IN ({allowed})', name=column)


class Channel(Base):
    """What we know about a channel: its cached name and the channel's choices."""

    __tablename__ = "channels"
    __table_args__ = (one_of("mode", DeliveryMode),)

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    name_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # None: decided by the name patterns; True/False: `/reframe channel on|off`.
    deal_override: Mapped[bool | None] = mapped_column(Boolean)
    # None: the workspace default (NUDGE_DEFAULT_MODE).
    mode: Mapped[DeliveryMode | None] = mapped_column(StrEnumType(DeliveryMode, 16))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rep(Base):
    """A person we coach: enrolment, schedule and pauses. Never their messages."""

    __tablename__ = "reps"
    __table_args__ = (
        one_of("invite_answer", InviteAnswer),
        # The tick reads only the reps whose check-in is due (bot/services/checkins/due.py).
        Index("ix_reps_next_due_at", "next_due_at"),
        # The profile refresh reads only reps it has to look up (delivery.py).
        Index(
            "ix_reps_profile_stale",
            "tz_checked_at",
            postgresql_where=text(ACTIVE_REP),
            sqlite_where=text(ACTIVE_REP),
        ),
        Index(
            "ix_reps_profile_unknown",
            "tz_checked_at",
            postgresql_where=text(UNKNOWN_REP),
            sqlite_where=text(UNKNOWN_REP),
        ),
    )

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Weekly check-ins.
    checkins_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    checkin_weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 = Monday
    checkin_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", the rep's local time
    skip_week: Mapped[str | None] = mapped_column(String(8))  # ISO week "2026-W48" to skip
    tz: Mapped[str | None] = mapped_column(String(64))  # IANA name from users.info
    tz_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the rep first posts in a deal channel or runs `/reframe checkin on`;
    # a rep row made for any other reason (a mention, a nudge button) is not enrolled.
    checkins_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bots, deleted users and guests are never enrolled; None = not yet checked.
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    # Nudges: "Pause for a week".
    nudges_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # `/reframe forget-me`: the row keeps only the ids and this time, so that no
    # process enrols or nudges the rep again until they ask for Reframe themselves.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Joining check-ins by invitation: when the one invitation was shown, and the
    # answer; None = not asked yet.
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invite_answer: Mapped[InviteAnswer | None] = mapped_column(StrEnumType(InviteAnswer, 16))
    # When the check-in tick next looks at this rep (UTC); None: nothing to send
    # (not enrolled, off, or not a person who can take DMs). See checkins/due.py.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Nudge(Base):
    """One reframing question sent (or to be sent) about one message.

    The unique key on (team, channel, message ts) is what makes a nudge happen
    exactly once, whatever Slack retries and however many processes run.
    """

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "message_ts", name="uq_nudges_message"),
        Index("ix_nudges_rep_created", "team_id", "user_id", "created_at"),
        Index("ix_nudges_status_next", "status", "next_attempt_at"),
        one_of("status", NudgeState),
        one_of("trigger", NudgeTrigger),
        one_of("delivery", DeliveryMode),
        one_of("feedback", NudgeFeedback),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ID)
    channel_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    message_ts: Mapped[str] = mapped_column(TS)
    thread_ts: Mapped[str | None] = mapped_column(TS)
    trigger: Mapped[NudgeTrigger] = mapped_column(StrEnumType(NudgeTrigger, 16))
    traps: Mapped[str] = mapped_column(String(200))  # comma-separated codes, main first
    question_id: Mapped[str] = mapped_column(String(64))
    delivery: Mapped[DeliveryMode] = mapped_column(StrEnumType(DeliveryMode, 16))
    status: Mapped[NudgeState] = mapped_column(
        StrEnumType(NudgeState, 16), server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    # An earlier attempt may have reached Slack (a timeout, a lost answer, a claim
    # that outlived its lease): look for that post before posting again.
    in_doubt: Mapped[bool] = mapped_column(Boolean, server_default=false())
    feedback: Mapped[NudgeFeedback | None] = mapped_column(StrEnumType(NudgeFeedback, 16))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def trap_codes(self) -> list[str]:
        """The traps column as codes, main first."""
        return [code for code in self.traps.split(",") if code]


class Checkin(Base):
    """One weekly check-in for one rep: claimed, sent, answered, reminded."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "week", name="uq_checkins_rep_week"),
        # A claim reads it in order, status then due time then id (0009).
        Index("ix_checkins_claim", "status", "due_at", "id"),
        Index(
            "ix_checkins_awaiting_reminder",
            "sent_at",
            postgresql_where=text(AWAITING_REMINDER),
            sqlite_where=text(AWAITING_REMINDER),
        ),
        one_of("status", CheckinState),
        one_of("answer", CheckinAnswer),
        one_of("reminder_status", ReminderState),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    week: Mapped[str] = mapped_column(String(8))  # ISO week in the rep's time zone
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[CheckinState] = mapped_column(
        StrEnumType(CheckinState, 16), server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    dm_channel_id: Mapped[str | None] = mapped_column(ID)
    message_ts: Mapped[str | None] = mapped_column(TS)
    answer: Mapped[CheckinAnswer | None] = mapped_column(StrEnumType(CheckinAnswer, 24))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The rep's own reflection, kept for them (the one free text we store).
    note: Mapped[str | None] = mapped_column(Text)
    note_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_status: Mapped[ReminderState | None] = mapped_column(StrEnumType(ReminderState, 16))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_manual: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # When the week ends in the rep's zone: a check-in not sent by then is missed.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DigestPost(Base):
    """One workspace's team digest of one week: claimed, posted, marked.

    The unique key on (team, week) is what makes a digest go out once, however
    many scheduler processes run. The row holds no figures and no rep: the
    digest is recomputed from the week's data whenever it is posted.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("team_id", "week", name="uq_digests_team_week"),
        Index("ix_digests_status_due", "status", "due_at"),
        one_of("status", DigestState),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ID)
    week: Mapped[str] = mapped_column(String(8))  # the ISO week reported on, in DIGEST_TZ
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not posted by then (the next digest is due): missed, never posted late.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[DigestState] = mapped_column(
        StrEnumType(DigestState, 16), server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    # Destinations (the channel, managers' DMs) already posted to, comma-separated:
    # a retry after a partial failure posts only to the others.
    delivered: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    """When a once-per-cluster job (retention) last ran, whichever process ran it."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PostPace(Base):
    """One workspace's shared send schedule for chat.postMessage (bot/domain/pacing.py).

    Wall-clock epoch seconds, not datetimes: every scheduler process reads and
    moves the same schedule under a row lock, at millisecond grain.
    """

    __tablename__ = "post_pace"

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    next_at: Mapped[float] = mapped_column(Double)
    rate: Mapped[float] = mapped_column(Double)
    limited_at: Mapped[float | None] = mapped_column(Double)
    burst_at: Mapped[float | None] = mapped_column(Double)


class WorkspaceSettings(Base):
    """What a workspace's admins chose in App Home; None = the environment's default."""

    __tablename__ = "workspace_settings"
    __table_args__ = (
        one_of("join_mode", JoinMode),
        one_of("visible_mode_by", VisibleModeBy),
    )

    team_id: Mapped[str] = mapped_column(ID, primary_key=True)
    deal_channel_patterns: Mapped[str | None] = mapped_column(String(500))  # comma list
    checkin_weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 = Monday
    checkin_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"
    join_mode: Mapped[JoinMode | None] = mapped_column(StrEnumType(JoinMode, 8))
    digest_channel: Mapped[str | None] = mapped_column(ID)
    # Managers who get the digest by DM (comma list of user ids; "" = nobody).
    digest_dm_users: Mapped[str | None] = mapped_column(Text)
    digest_weekday: Mapped[int | None] = mapped_column(SmallInteger)
    digest_time: Mapped[str | None] = mapped_column(String(5))
    digest_min_reps: Mapped[int | None] = mapped_column(SmallInteger)  # k, never below 3
    nudge_cooldown_hours: Mapped[int | None] = mapped_column(SmallInteger)
    nudge_daily_limit: Mapped[int | None] = mapped_column(SmallInteger)
    # Who may make a channel's nudges visible.
    visible_mode_by: Mapped[VisibleModeBy | None] = mapped_column(StrEnumType(VisibleModeBy, 16))
    # People an admin made settings admins too (comma list of user ids).
    settings_admins: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by: Mapped[str | None] = mapped_column(ID)


class SettingsChange(Base):
    """One change to a workspace setting: who, when, what, from and to."""

    __tablename__ = "settings_changes"
    __table_args__ = (Index("ix_settings_changes_team_at", "team_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ID)
    user_id: Mapped[str] = mapped_column(ID)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(String(500))
    new_value: Mapped[str | None] = mapped_column(String(500))


# slack-sdk's installation and OAuth state stores, on our metadata so that
# Alembic owns their schema like every other table.
installations_table = SQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, "slack_installations"
)
bots_table = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
oauth_states_table = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)
# Tokens sealed with TOKEN_ENCRYPTION_KEY (Fernet) are about 2.5 times as long as
# Slack's, so slack-sdk's 200 characters only fit tokens under 80; PostgreSQL
# would refuse longer ones (rotating tokens, or Slack making them longer).
TOKEN_COLUMN = String(500)
for _table in (installations_table, bots_table):
    for _column in _table.c:
        if _column.name.endswith("_token"):
            _column.type = TOKEN_COLUMN
