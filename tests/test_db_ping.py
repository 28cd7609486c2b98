"""A pooled PostgreSQL connection is pinged only after sitting idle: a restarted
server costs a reconnect, not an error, without a round trip per transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from bot.storage.db import create_db_engine


def _kill_other_backends(url: str) -> None:
    admin = create_db_engine(url)
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()


def _pings(engine: Engine) -> list[int]:
    """Counts SELECT 1 pings (they bypass cursor events: count the dialect's calls)."""
    counted = [0]
    original = engine.dialect.do_ping

    def counting(dbapi_connection: object) -> bool:
        counted[0] += 1
        return original(dbapi_connection)

    engine.dialect.do_ping = counting  # type: ignore[method-assign]
    return counted


def _one(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


@pytest.mark.postgres
def test_an_idle_connection_is_pinged_and_replaced_after_a_restart(database_url: str) -> None:
    engine = create_db_engine(database_url, ping_after_idle=0.0)
    pings = _pings(engine)
    assert _one(engine) == 1  # a new connection: no ping
    assert pings[0] == 0
    _kill_other_backends(database_url)
    assert _one(engine) == 1  # pinged, found dead, replaced: no error
    assert pings[0] == 1
    engine.dispose()


@pytest.mark.postgres
def test_a_busy_connection_is_not_pinged_and_one_failure_renews_the_pool(
    database_url: str,
) -> None:
    engine = create_db_engine(database_url, ping_after_idle=3600.0)
    pings = _pings(engine)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: object) -> None:
        statements[0] += 1

    for _ in range(20):
        assert _one(engine) == 1
    assert (pings[0], statements[0]) == (0, 20)  # a statement each, no pings
    _kill_other_backends(database_url)
    with pytest.raises(OperationalError):
        _one(engine)  # the statement in flight fails (Slack's retry runs it again)
    assert _one(engine) == 1  # and the pool was renewed by that failure
    engine.dispose()


def test_sqlite_engines_are_not_pinged(tmp_path: object) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/ping.db", ping_after_idle=0.0)
    pings = _pings(engine)
    for _ in range(3):
        assert _one(engine) == 1
    assert pings[0] == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_failed_ping_renews_every_pooled_connection(database_url: str) -> None:
    engine = create_db_engine(database_url, ping_after_idle=0.0)
    pings = _pings(engine)
    with engine.connect() as first, engine.connect() as second:  # two in the pool
        assert first.execute(text("SELECT 1")).scalar_one() == 1
        assert second.execute(text("SELECT 1")).scalar_one() == 1
    _kill_other_backends(database_url)
    assert _one(engine) == 1  # pinged, dead: the whole pool is renewed
    assert _one(engine) == 1  # the other pooled connection was recycled, not pinged
    assert pings[0] == 1
    engine.dispose()
