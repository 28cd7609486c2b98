"""Small repositories: the queries the services need, each scoped by team.

The statements a vent runs every time are built once, here, with bound
parameters: building a statement (SQLAlchemy's operator overloading, coercions)
cost more CPU than sending it, and a statement object built once also keeps its
cache key, so the compiled SQL is found without walking it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    String,
    Table,
    Update,
    bindparam,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.cooldown import PastNudge
from bot.domain.statuses import NudgeFeedback, NudgeTrigger
from bot.storage.models import Channel, Checkin, Nudge, Rep

# The tables themselves, for statements the vent path runs on every nudge: Core
# statements skip the ORM's per-statement bookkeeping (compile state, identity map,
# loading objects) that cost more CPU than the round trip.
NUDGES = cast(Table, Nudge.__table__)
REPS = cast(Table, Rep.__table__)
CHECKINS = cast(Table, Checkin.__table__)

# Where a query runs: an ORM session, or on the vent path a Core connection
# (`Database.connection`), which skips the session's bookkeeping.
Runs = Connection | Session


def _dialect_name(runs: Runs) -> str:
    return runs.dialect.name if isinstance(runs, Connection) else runs.get_bind().dialect.name


@dataclass(frozen=True, slots=True)
class RepGate:
    """What decides whether a rep may be nudged at all, read under the rep's lock."""

    opted_out_at: datetime | None
    nudges_paused_until: datetime | None


_REP_GATE_FOR_UPDATE = (
    select(REPS.c.opted_out_at, REPS.c.nudges_paused_until)
    .where(REPS.c.team_id == bindparam("team_id"), REPS.c.user_id == bindparam("user_id"))
    .with_for_update()
)
_OPT_BACK_IN = (
    update(REPS)
    .where(REPS.c.team_id == bindparam("b_team_id"), REPS.c.user_id == bindparam("b_user_id"))
    .values(opted_out_at=None)
)


def lock_rep_gate(session: Runs, *, team_id: str, user_id: str, now: datetime) -> RepGate:
    """The rep's row locked until the transaction ends (created first if new; see
    `lock_rep`), and what in it decides whether they may be nudged."""
    ids = {"team_id": team_id, "user_id": user_id}
    row = session.execute(_REP_GATE_FOR_UPDATE, ids).one_or_none()
    if row is None:
        ensure_rep(session, team_id=team_id, user_id=user_id, now=now)
        row = session.execute(_REP_GATE_FOR_UPDATE, ids).one()
    return RepGate(opted_out_at=row.opted_out_at, nudges_paused_until=row.nudges_paused_until)


def opt_back_in(session: Runs, *, team_id: str, user_id: str) -> None:
    """Asking Reframe (an @mention) is opting in again after forget-me."""
    session.execute(_OPT_BACK_IN, {"b_team_id": team_id, "b_user_id": user_id})


def insert_ignoring_conflicts(session: Runs, model: type, **values: object) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect."""
    return _insert_ignoring(session, model).values(**values)


@cache
def _insert_ignoring_for(dialect: str, model: type) -> Insert:
    # On the model's Table, not the mapped class: a plain Core INSERT, without the
    # ORM's bulk-insert bookkeeping (a third of the statement's CPU).
    module = postgresql if dialect == "postgresql" else sqlite
    table = model.__table__  # type: ignore[attr-defined]
    return module.insert(table).on_conflict_do_nothing()


def _insert_ignoring(session: Runs, model: type) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING without values: execute it with a dict of them."""
    return _insert_ignoring_for(_dialect_name(session), model)


def insert_nudge(session: Runs, **values: object) -> int | None:
    """The new nudge's id, or None when the message already has its nudge."""
    statement = _insert_nudge_for(_dialect_name(session))
    return session.execute(statement, values).scalar_one_or_none()


@cache
def _insert_nudge_for(dialect: str) -> Insert:
    return _insert_ignoring_for(dialect, Nudge).returning(NUDGES.c.id)


def ensure_rep(session: Runs, *, team_id: str, user_id: str, now: datetime) -> None:
    """Create the rep's row if it is new; safe under concurrent first messages."""
    session.execute(
        _insert_ignoring(session, Rep), {"team_id": team_id, "user_id": user_id, "created_at": now}
    )


_REP_FOR_UPDATE = (
    select(Rep)
    .where(Rep.team_id == bindparam("team_id"), Rep.user_id == bindparam("user_id"))
    .with_for_update()
)


def look_again_at_team(session: Session, team_id: str, *, at: datetime) -> int:
    """The workspace's default check-in day or time changed: the check-in tick looks
    again, at `at`, at every rep of it who follows the default (their next_due_at
    is recomputed then). Reps with nothing to send (next_due_at NULL) stay so."""
    result = session.execute(
        update(Rep)
        .where(
            Rep.team_id == team_id,
            Rep.next_due_at.is_not(None),
            or_(Rep.checkin_weekday.is_(None), Rep.checkin_time.is_(None), Rep.checkin_time == ""),
        )
        .values(next_due_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lock_rep(session: Session, *, team_id: str, user_id: str) -> Rep:
    """The rep's row, locked until the transaction ends (PostgreSQL; SQLite
    transactions already hold the write lock), so that two processes deciding
    about the same rep take turns and the cooldown holds."""
    rep = session.scalars(_REP_FOR_UPDATE, {"team_id": team_id, "user_id": user_id}).one_or_none()
    if rep is None:
        raise LookupError(f"rep {team_id}/{user_id} does not exist")
    return rep


_RECENT_NUDGES = select(NUDGES.c.channel_id, NUDGES.c.created_at).where(
    NUDGES.c.team_id == bindparam("team_id"),
    NUDGES.c.user_id == bindparam("user_id"),
    NUDGES.c.trigger == bindparam("trigger"),
    NUDGES.c.created_at > bindparam("since"),
)
_RECENT_QUESTIONS = (
    select(NUDGES.c.question_id)
    .where(NUDGES.c.team_id == bindparam("team_id"), NUDGES.c.user_id == bindparam("user_id"))
    .order_by(NUDGES.c.created_at.desc(), NUDGES.c.id.desc())
    .limit(bindparam("limit"))
)
_RECENT_FEEDBACK = (
    select(NUDGES.c.question_id, NUDGES.c.feedback)
    .where(
        NUDGES.c.team_id == bindparam("team_id"),
        NUDGES.c.user_id == bindparam("user_id"),
        NUDGES.c.feedback.in_((NudgeFeedback.HELPFUL, NudgeFeedback.NOT_FOR_ME)),
    )
    .order_by(NUDGES.c.feedback_at.desc(), NUDGES.c.id.desc())
    .limit(bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class RepHistory:
    """What deciding about a vent reads of the rep's past nudges."""

    nudges: list[PastNudge]  # `trigger` nudges since `since`: the cooldown's input
    question_ids: list[str]  # questions asked, newest first: rotation
    feedback: list[tuple[str, str]]  # (question id, rating), newest rating first


def _history_part(kind: int, query: Select[Any], at: Any) -> Select[Any]:
    """One of the three reads above with the columns they share in one result:
    which read, channel, question, rating, and the time and id it is ordered by."""
    c = NUDGES.c
    nothing = sql_cast(null(), String)
    part = query.with_only_columns(
        literal_column(str(kind)).label("kind"),
        (c.channel_id if kind == _PAST else nothing).label("channel_id"),
        (c.question_id if kind != _PAST else nothing).label("question_id"),
        (sql_cast(c.feedback, String) if kind == _RATED else nothing).label("feedback"),
        at.label("at"),
        c.id.label("id"),
    )
    # SQLite takes ORDER BY and LIMIT in a compound's member only inside a subquery.
    return part if kind == _PAST else select(part.subquery())


_PAST, _ASKED, _RATED = 0, 1, 2
_REP_HISTORY = union_all(
    _history_part(_PAST, _RECENT_NUDGES, NUDGES.c.created_at),
    _history_part(_ASKED, _RECENT_QUESTIONS, NUDGES.c.created_at),
    _history_part(_RATED, _RECENT_FEEDBACK, NUDGES.c.feedback_at),
).order_by(literal_column("kind"), literal_column("at").desc(), literal_column("id").desc())


def rep_history(
    runs: Runs,
    *,
    team_id: str,
    user_id: str,
    since: datetime,
    trigger: NudgeTrigger = NudgeTrigger.MESSAGE,
    limit: int = 50,
) -> RepHistory:
    """`recent_nudges`, `recent_question_ids` and `recent_feedback` in one round trip:
    the vent path runs all three for every nudge."""
    history = RepHistory(nudges=[], question_ids=[], feedback=[])
    ids = {"team_id": team_id, "user_id": user_id}
    rows = runs.execute(_REP_HISTORY, {**ids, "trigger": trigger, "since": since, "limit": limit})
    for kind, channel_id, question_id, feedback, at, _id in rows:
        if kind == _PAST:
            history.nudges.append(PastNudge(channel_id=channel_id, at=at))
        elif kind == _ASKED:
            history.question_ids.append(question_id)
        elif feedback:
            history.feedback.append((question_id, feedback))
    return history


def recent_nudges(
    session: Runs,
    *,
    team_id: str,
    user_id: str,
    since: datetime,
    trigger: NudgeTrigger = NudgeTrigger.MESSAGE,
) -> list[PastNudge]:
    rows = session.execute(
        _RECENT_NUDGES,
        {"team_id": team_id, "user_id": user_id, "trigger": trigger, "since": since},
    )
    return [PastNudge(channel_id=channel_id, at=at) for channel_id, at in rows]


def recent_question_ids(
    session: Session, *, team_id: str, user_id: str, limit: int = 50
) -> list[str]:
    """Questions this rep has been asked, newest first (for rotation)."""
    return list(
        session.scalars(_RECENT_QUESTIONS, {"team_id": team_id, "user_id": user_id, "limit": limit})
    )


def recent_feedback(
    session: Session, *, team_id: str, user_id: str, limit: int = 50
) -> list[tuple[str, str]]:
    """(question id, "helpful" | "not_for_me") for this rep's latest rated nudges."""
    rows = session.execute(
        _RECENT_FEEDBACK, {"team_id": team_id, "user_id": user_id, "limit": limit}
    )
    return [(question_id, feedback) for question_id, feedback in rows if feedback]


def get_channel(session: Session, *, team_id: str, channel_id: str) -> Channel | None:
    return session.get(Channel, (team_id, channel_id))


def upsert_channel(
    session: Session, *, team_id: str, channel_id: str, now: datetime, **values: object
) -> Channel:
    session.execute(
        insert_ignoring_conflicts(
            session, Channel, team_id=team_id, channel_id=channel_id, updated_at=now
        )
    )
    channel = session.get(Channel, (team_id, channel_id), with_for_update=True)
    assert channel is not None
    for key, value in values.items():
        setattr(channel, key, value)
    channel.updated_at = now
    return channel


# The columns the due tick fills in every row it plans (CheckinDelivery._row_owed).
PLANNED_COLUMNS = (
    "team_id",
    "user_id",
    "week",
    "due_at",
    "expires_at",
    "status",
    "attempts",
    "is_manual",
)
# SQLite: rows per executemany (SQLAlchemy sends them as multi-row VALUES).
_PLANNED_CHUNK = 500


def analyze_checkins(session: Session) -> None:
    """On PostgreSQL, ANALYZE the check-ins table: a tick that plans more than a batch
    calls it after planning, before any claim, and again once it has sent them.

    A company's first Monday inserts 100,000 rows into a table PostgreSQL last saw
    nearly empty, and its plans follow what it saw. A claim (ORDER BY, LIMIT 1, FOR
    UPDATE SKIP LOCKED) locks before it limits, so a plan that sorts sorts every
    pending row (13 ms a claim at 20,000 pending), and the generic plan psycopg's
    prepared statements keep from the small table (the idle ticks of the week
    before) finds a row by id with a sequential scan (2.5 ms at 20,000). In the
    benchmark, with the first claims made on a small table, 100,000 check-ins went
    out at a quarter of the rate. The second ANALYZE is for the ticks after it:
    statistics that saw 100,000 rows pending read "sent" as rare, and the reminder
    sweep then walked every sent row through the claim index (71 ms a claim; an
    idle tick took 650 ms instead of 55). Autovacuum would analyze the table too,
    up to a minute later, and not at all where it is off. PostgreSQL's own advice
    after a bulk load is the same: ANALYZE, which also has every session plan its
    prepared statements again.

    It reads a sample (0.1 s at 100,000 rows); a role that does not own the table
    gets a warning from PostgreSQL and nothing else; a lock held longer than the
    lock timeout (an autovacuum of the table) raises, and the caller goes on."""
    if _dialect_name(session) == "postgresql":
        session.execute(_ANALYZE_CHECKINS)


# Two commands in one round trip (without parameters psycopg sends a simple query).
_ANALYZE_CHECKINS = text("SET LOCAL lock_timeout = '2s'; ANALYZE checkins")


def insert_planned_checkins(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert a batch of planned check-ins, leaving alone rows another process planned
    first; returns how many were new.

    PostgreSQL: one statement per batch whatever its size, the rows sent as one array
    a column and spread by `unnest`; its text never changes, so it is compiled and
    parsed once. SQLite: the rows as an executemany of one statement compiled once
    ("insertmanyvalues"). (`.values(rows)` compiled a new statement with a bind
    parameter per value for every batch: two thirds of planning's CPU.)"""
    if not rows:
        return 0
    if _dialect_name(session) == "postgresql":
        columns = {name: [row[name] for row in rows] for name in PLANNED_COLUMNS}
        return len(session.execute(_unnest_planned_insert(), columns).all())
    statement = _insert_returning_id_for("sqlite", Checkin)
    planned = 0
    for start in range(0, len(rows), _PLANNED_CHUNK):
        planned += len(session.execute(statement, rows[start : start + _PLANNED_CHUNK]).all())
    return planned


# A rep's next look, as planning writes it: (team_id, user_id, next_due_at or None).
NextLook = tuple[str, str, datetime | None]


def move_next_due(session: Session, looks: list[NextLook]) -> None:
    """Set each (team_id, user_id)'s `next_due_at`: a planned batch's reps, in one
    statement on PostgreSQL (the values as one array a column, spread by `unnest`),
    an executemany of one statement on SQLite. Through the ORM it was an UPDATE a
    rep: at 10,000 reps, 10,000 statements and 2.5 of planning's 7.5 s (cProfile).

    The caller holds every one of these reps locked; a rep not found (as the ORM's
    flush would say, StaleDataError) rolls the batch back rather than plan it
    without moving its next look."""
    if not looks:
        return
    if _dialect_name(session) == "postgresql":
        team_ids, user_ids, nexts = (list(column) for column in zip(*looks, strict=True))
        result = session.execute(
            _unnest_next_due_update(),
            {"team_ids": team_ids, "user_ids": user_ids, "nexts": nexts},
        )
    else:
        result = session.execute(
            _next_due_update(),
            [{"b_team_id": t, "b_user_id": u, "b_next_due_at": n} for t, u, n in looks],
        )
    moved = result.rowcount  # type: ignore[attr-defined]
    if moved != len(looks):
        raise RuntimeError(f"moved the next look of {moved} reps of {len(looks)} planned")


@cache
def _next_due_update() -> Update:
    return (
        update(REPS)
        .where(REPS.c.team_id == bindparam("b_team_id"), REPS.c.user_id == bindparam("b_user_id"))
        .values(next_due_at=bindparam("b_next_due_at"))
    )


@cache
def _unnest_next_due_update() -> Update:
    looks = (
        func.unnest(
            bindparam("team_ids", type_=postgresql.ARRAY(REPS.c.team_id.type)),
            bindparam("user_ids", type_=postgresql.ARRAY(REPS.c.user_id.type)),
            bindparam("nexts", type_=postgresql.ARRAY(REPS.c.next_due_at.type)),
        )
        .table_valued("team_id", "user_id", "next_due_at")
        .render_derived("looks")
    )
    return (
        update(REPS)
        .where(REPS.c.team_id == looks.c.team_id, REPS.c.user_id == looks.c.user_id)
        .values(next_due_at=looks.c.next_due_at)
    )


@cache
def _insert_returning_id_for(dialect: str, model: type) -> Insert:
    table = model.__table__  # type: ignore[attr-defined]
    return _insert_ignoring_for(dialect, model).returning(table.c.id)


@cache
def _unnest_planned_insert() -> Insert:
    arrays = [
        bindparam(name, type_=postgresql.ARRAY(CHECKINS.c[name].type)) for name in PLANNED_COLUMNS
    ]
    planned = func.unnest(*arrays).table_valued(*PLANNED_COLUMNS).render_derived("planned")
    return (
        postgresql.insert(CHECKINS)
        .from_select(PLANNED_COLUMNS, select(*(planned.c[name] for name in PLANNED_COLUMNS)))
        .on_conflict_do_nothing()
        .returning(CHECKINS.c.id)
    )
