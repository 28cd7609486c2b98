"""Units of work (bot/storage/db.py): a statement on its own commits by itself, and the
pooled connection it used goes back to ordinary transactions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.storage.db import Database


@pytest.fixture
def probe(db: Database) -> Iterator[Database]:
    with db.connection() as connection:
        connection.execute(text("CREATE TABLE unit_probe (id INTEGER PRIMARY KEY)"))
    yield db
    with db.connection() as connection:
        connection.execute(text("DROP TABLE unit_probe"))


def _ids(db: Database) -> list[int]:
    with db.engine.connect() as connection:
        return list(connection.scalars(text("SELECT id FROM unit_probe ORDER BY id")))


def test_a_statement_on_its_own_is_committed_without_a_transaction_around_it(
    probe: Database,
) -> None:
    with probe.statement() as connection:
        connection.execute(text("INSERT INTO unit_probe VALUES (1)"))
        if probe.is_postgres:  # no BEGIN and COMMIT round trips around it
            assert connection.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
    assert _ids(probe) == [1]  # seen from another connection


def test_the_connection_goes_back_to_transactions_after_a_statement(probe: Database) -> None:
    probe.dispose()  # one pooled connection from here on: the statement's
    with probe.statement() as connection:
        connection.execute(text("INSERT INTO unit_probe VALUES (1)"))
        used = connection.connection.dbapi_connection
    with pytest.raises(RuntimeError), probe.connection() as connection:
        assert connection.connection.dbapi_connection is used
        connection.execute(text("INSERT INTO unit_probe VALUES (2)"))
        raise RuntimeError("the unit fails after its first statement")
    assert _ids(probe) == [1]  # the failed unit's insert was rolled back


def test_a_failed_statement_leaves_nothing_and_the_pool_usable(probe: Database) -> None:
    with probe.statement() as connection:
        connection.execute(text("INSERT INTO unit_probe VALUES (1)"))
    with pytest.raises(Exception, match="(?i)unique|duplicate"), probe.statement() as connection:
        connection.execute(text("INSERT INTO unit_probe VALUES (1)"))
    written = probe.write_retrying_statement(
        lambda connection: connection.execute(text("INSERT INTO unit_probe VALUES (2)")).rowcount
    )
    assert written == 1
    assert _ids(probe) == [1, 2]
