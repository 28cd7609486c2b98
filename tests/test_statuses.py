"""Status-like columns hold only their enum's values, and the database itself
refuses anything else (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import pytest
from sqlalchemy import CheckConstraint, Table, inspect, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from bot.domain import statuses
from bot.storage.db import Database, StrEnumType
from bot.storage.models import (
    Base,
    Channel,
    Checkin,
    DigestPost,
    Nudge,
    Rep,
    WorkspaceSettings,
)

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# Every (table, column) whose values come from an enum.
ENUM_COLUMNS = [
    (table.name, column.name)
    for table in Base.metadata.sorted_tables
    for column in table.columns
    if isinstance(column.type, StrEnumType)
]


def _enum_of(table: str, column: str) -> type[StrEnum]:
    column_type = Base.metadata.tables[table].c[column].type
    assert isinstance(column_type, StrEnumType)
    return column_type.enum


def _checks_in_metadata(table: Table) -> set[str]:
    return {
        str(constraint.name)
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def test_the_status_columns_are_the_ones_the_issue_listed() -> None:
    assert set(ENUM_COLUMNS) == {
        ("channels", "mode"),
        ("reps", "invite_answer"),
        ("nudges", "status"),
        ("nudges", "trigger"),
        ("nudges", "delivery"),
        ("nudges", "feedback"),
        ("checkins", "status"),
        ("checkins", "answer"),
        ("checkins", "reminder_status"),
        ("digests", "status"),
        ("workspace_settings", "join_mode"),
        ("workspace_settings", "visible_mode_by"),
    }


def test_every_enum_column_has_a_check_named_by_the_convention() -> None:
    for table_name, column in ENUM_COLUMNS:
        table = Base.metadata.tables[table_name]
        assert f"ck_{table_name}_{column}" in _checks_in_metadata(table)


def test_every_value_fits_its_column() -> None:
    for table_name, column in ENUM_COLUMNS:
        length = Base.metadata.tables[table_name].c[column].type.length  # type: ignore[attr-defined]
        assert all(len(member.value) <= length for member in _enum_of(table_name, column))


def test_the_migrated_database_has_the_models_checks(db: Database) -> None:
    """Alembic's comparison leaves CHECK constraints out: compare their names here."""
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        in_database = {check["name"] for check in inspector.get_check_constraints(table.name)}
        assert in_database == _checks_in_metadata(table), table.name


def _seed(db: Database) -> None:
    """One row in each table with an enum column, every enum value valid."""
    with db.transaction() as session:
        session.add(Channel(team_id="T1", channel_id="C1"))
        session.add(Rep(team_id="T1", user_id="U1", created_at=AT))
        session.add(
            Nudge(
                team_id="T1",
                channel_id="C1",
                user_id="U1",
                message_ts="1.1",
                trigger=statuses.NudgeTrigger.MESSAGE,
                traps="labeling",
                question_id="q",
                delivery=statuses.DeliveryMode.EPHEMERAL,
                created_at=AT,
            )
        )
        session.add(Checkin(team_id="T1", user_id="U1", week="2026-W45", due_at=AT))
        session.add(DigestPost(team_id="T1", week="2026-W45", due_at=AT, expires_at=AT))
        session.add(WorkspaceSettings(team_id="T1"))


@pytest.mark.parametrize(("table", "column"), ENUM_COLUMNS)
def test_the_database_refuses_a_value_outside_the_enum(
    db: Database, table: str, column: str
) -> None:
    _seed(db)
    # Plain SQL, as a hand-written fix or another program would write it: past the ORM.
    change = text(f'UPDATE {table} SET "{column}" = :value')
    for member in _enum_of(table, column):
        with db.engine.begin() as connection:
            connection.execute(change, {"value": member.value})
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(change, {"value": "bogus"})  # short: fits every column
    with db.engine.connect() as connection:
        stored = connection.execute(text(f'SELECT "{column}" FROM {table}')).scalar_one()
    assert stored == list(_enum_of(table, column))[-1].value


def test_the_models_refuse_a_value_outside_the_enum_before_the_database(db: Database) -> None:
    _seed(db)
    with pytest.raises(StatementError, match="not a valid NudgeState"), db.transaction() as s:
        s.execute(update(Nudge).values(status="snet"))


def test_rows_read_back_as_enum_members(db: Database) -> None:
    _seed(db)
    with db.transaction() as session:
        nudge = session.get(Nudge, 1)
        assert nudge is not None
        assert nudge.status is statuses.NudgeState.PENDING  # the server default
        assert nudge.trigger is statuses.NudgeTrigger.MESSAGE
        assert nudge.feedback is None
        # Still plain strings to everything else.
        assert nudge.status == "pending"
        assert f"{nudge.delivery}" == "ephemeral"
