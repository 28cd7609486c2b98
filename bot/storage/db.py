"""Engine and session factories. No globals: the composition root owns them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, String, create_engine, event, make_url, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")  # a unit of work's handle: a Session or a Connection
E = TypeVar("E", bound=StrEnum)

# A database that does not answer: connecting, one statement, a free pooled connection.
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 15
POOL_TIMEOUT_SECONDS = 10
# /readyz waits this long for the database to answer `SELECT 1`.
PING_TIMEOUT_SECONDS = 2.0

# A pooled connection that sat unused this long is pinged before it is handed out
# (a server restart or a proxy's idle timeout meanwhile would fail its first
# statement). One used more recently is not: pinging at every checkout cost a
# round trip per transaction, five per nudge. A server that restarts under steady
# traffic fails the statements in flight either way; the first such failure
# invalidates the whole pool, and Slack's retry or write_retrying runs them again.
PING_AFTER_IDLE_SECONDS = 5.0

# How long a write that must not be lost keeps trying while the database restarts.
# Well inside a nudge claim's two-minute lease.
WRITE_RETRY_SECONDS = 20.0


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL keeps the zone; SQLite stores text without one, so values are
    normalised to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[E]):
    """A string column whose values are one StrEnum's (bot/domain/statuses.py).

    Stored as the plain value (VARCHAR, and a CHECK constraint in the schema);
    read back as the enum member. A value outside the enum is refused before
    it reaches the database.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def create_db_engine(
    url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
) -> Engine:
    """An engine tuned for our two databases.

    SQLite (the embedded default) runs in WAL mode and takes the write lock at
    BEGIN, so concurrent writers queue instead of failing half-way; PostgreSQL
    pings a connection that sat idle before using it, so a server restarted while
    the bot was quiet costs one reconnect, not an error.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _make_sqlite_serialisable(engine, in_memory=":memory:" in url or url == "sqlite://")
        return engine
    # hide_parameters: an error message never carries a note, a token or an id's value.
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=10,
        max_overflow=10,
        # A request waits this long for a free connection, then fails (Slack retries).
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=_postgres_timeouts(url),
    )
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, idle_after: float) -> None:
    """pool_pre_ping, for connections that have been idle `idle_after` seconds.

    A checkout listener that raises DisconnectionError makes the pool throw the
    connection away and hand out a fresh one (SQLAlchemy's documented way).
    """

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_after:
            return  # new, or in use a moment ago
        # InvalidatePoolError, as pool_pre_ping does: the pool hands out a fresh
        # connection and recycles every other pooled one (a dead server killed them
        # all), including those returned less than `idle_after` ago.
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: a fresh connection
            raise InvalidatePoolError("idle connection did not answer a ping") from error
        if not alive:
            raise InvalidatePoolError("idle connection did not answer a ping")


def _postgres_timeouts(url: str) -> dict[str, Any]:
    """Bounds on a database that hangs: connecting, and any one statement.

    Values given in DATABASE_URL's query (`?connect_timeout=3`,
    `?options=-c statement_timeout=5000`) are left as they are.
    """
    given = make_url(url).query
    timeouts: dict[str, Any] = {}
    if "connect_timeout" not in given:
        timeouts["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "options" not in given:
        timeouts["options"] = (
            f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000} "
            f"-c lock_timeout={STATEMENT_TIMEOUT_SECONDS * 1000} "
            "-c idle_in_transaction_session_timeout=60000"
        )
    return timeouts


def _make_sqlite_serialisable(engine: Engine, *, in_memory: bool) -> None:
    # SQLAlchemy's documented recipe: let SQLAlchemy, not pysqlite, emit BEGIN.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class Database:
    """The engine plus a session factory; passed to services explicitly."""

    engine: Engine
    sessions: sessionmaker[Session]
    _ping_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ping_running: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = create_db_engine(url)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One unit of work on a Core connection, without an ORM session: commit on
        success, roll back on any error. For the vent path's Core statements, where
        the session's own bookkeeping costs more CPU than the statements."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def statement(self) -> Iterator[Connection]:
        """A Core connection for one statement that is a whole unit of work by itself.

        On PostgreSQL it runs in autocommit: the statement is its own transaction, so
        BEGIN and COMMIT cost no round trips (about 0.2 ms of CPU and 0.5 ms of
        waiting less a statement here). Never for two statements that must hold
        together. On SQLite it is `connection` (its BEGIN IMMEDIATE takes the write
        lock up front)."""
        if not self.is_postgres:
            with self.connection() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def write_retrying(
        self, work: Callable[[Session], T], *, within: float = WRITE_RETRY_SECONDS
    ) -> T:
        """Run an idempotent unit of work; run it again while the database is unreachable.

        For writes that must not be lost after Slack already acted (marking a
        nudge sent): a database restart mid-write would otherwise leave the row
        claimed, and the sweep would have to settle it later. A dropped connection
        and a refused reconnect (the server restarting) are both tried again, with
        a growing pause, for up to `within` seconds; any other error is raised.
        """
        return self._retrying(self.transaction, work, within)

    def write_retrying_statement(
        self, work: Callable[[Connection], T], *, within: float = WRITE_RETRY_SECONDS
    ) -> T:
        """`write_retrying` for one statement on its own (`statement`)."""
        return self._retrying(self.statement, work, within)

    def _retrying(
        self,
        unit: Callable[[], AbstractContextManager[U]],
        work: Callable[[U], T],
        within: float,
    ) -> T:
        deadline = time.monotonic() + within
        attempt = 0
        while True:
            attempt += 1
            try:
                with unit() as handle:
                    return work(handle)
            except DBAPIError as error:
                lost = error.connection_invalidated or isinstance(error, OperationalError)
                pause = min(0.05 * 2**attempt, 2.0)
                if not lost or time.monotonic() + pause > deadline:
                    raise
                log.warning(
                    "database unreachable; writing again (attempt %s): %s",
                    attempt + 1,
                    type(error.orig).__name__,
                )
                time.sleep(pause)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def ping(self, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
        """Whether the database answers `SELECT 1` within `timeout` seconds.

        A frozen server can hold a socket read past any statement timeout, so the
        ping runs in its own thread and readiness does not wait for it longer than
        `timeout`. While one ping is still stuck no second one starts: the answer
        stays "not ready" until the first returns.
        """
        with self._ping_lock:
            if self._ping_running is not None and self._ping_running.is_alive():
                log.warning("database ping still waiting from an earlier check")
                return False
            result: list[bool] = []
            thread = threading.Thread(
                target=lambda: result.append(self._ping_now()),
                name="reframe-db-ping",
                daemon=True,
            )
            self._ping_running = thread
            thread.start()
        thread.join(timeout)
        if not result:
            log.warning("database did not answer within %.1f s", timeout)
            return False
        return result[0]

    def _ping_now(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            log.warning("database ping failed", exc_info=True)
            return False

    def dispose(self) -> None:
        self.engine.dispose()
