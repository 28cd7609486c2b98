"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is
set), the fake Slack Web API, and the app running over real HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, ProgrammingError

from bot.config import Settings
from bot.domain.clock import FixedClock
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.wiring import Reframe, build
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSender

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
_postgres_migrated = False
# The suite drops and recreates the public schema of TEST_DATABASE_URL's database.
WIPE_ANYWAY = "REFRAME_TESTS_MAY_DROP_THIS_DATABASE"
_TEST_NAME = re.compile(r"(?:^|[^a-z])test(?:s|ing)?(?:[^a-z]|$)")


def unsafe_test_database(url: str, environ: Mapping[str, str]) -> str | None:
    """Why the suite must not wipe the database at `url`, or None when it may: its
    name says it is for tests ("test", "reframe_test", "test-ci"), or WIPE_ANYWAY=1."""
    if environ.get(WIPE_ANYWAY) == "1":
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "TEST_DATABASE_URL is not a database URL SQLAlchemy can read."
    name = parsed.database or ""
    if _TEST_NAME.search(name.lower()):
        return None
    where = f"database {name!r}" if name else "the server's default database"
    return (
        f"TEST_DATABASE_URL points at {where} on {parsed.host or 'localhost'}, whose name does "
        "not say it is for tests, and the suite runs DROP SCHEMA public CASCADE on it. "
        "Point it at a database named for tests (test, reframe_test, ...), or set "
        f"{WIPE_ANYWAY}=1 if everything in that database may be deleted."
    )


def pytest_configure(config: pytest.Config) -> None:
    """Refuse, before any test runs, to wipe a database that may hold real data."""
    if POSTGRES_URL:
        problem = unsafe_test_database(POSTGRES_URL, os.environ)
        if problem:
            raise pytest.UsageError(problem)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need a database server: they exist only in their
    PostgreSQL variant (and so only when TEST_DATABASE_URL is set)."""
    sqlite_only = [
        item for item in items if item.get_closest_marker("postgres") and "[sqlite" in item.nodeid
    ]
    if sqlite_only:
        config.hook.pytest_deselected(items=sqlite_only)
        items[:] = [item for item in items if item not in sqlite_only]


def worker_database_url(url: str, worker: str | None) -> str:
    """The database one xdist worker uses: its own on the same server, named after
    TEST_DATABASE_URL's (`test` -> `test_gw0`). Workers truncate tables between
    tests, and a fault test terminates every connection to its database: sharing
    one, they would wipe and cut off each other's tests."""
    if worker is None:
        return url
    parsed = make_url(url)
    base = parsed.database or parsed.username or "postgres"
    return parsed.set(database=f"{base}_{worker}").render_as_string(hide_password=False)


def _create_database_if_missing(base_url: str, url: str) -> None:
    """Create `url`'s database, connected to `base_url`'s (which the run was given)."""
    name = make_url(url).database
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not found:
                quoted = connection.dialect.identifier_preparer.quote(name)
                # ProgrammingError: another run created it meanwhile.
                with contextlib.suppress(ProgrammingError):
                    connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()


def _reset_postgres(url: str) -> None:
    """Once per run (per worker): a clean public schema, migrated to head; before
    every test, empty tables."""
    global _postgres_migrated
    db = Database.connect(url)
    try:
        if not _postgres_migrated:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            upgrade(db.engine)
            _postgres_migrated = True
        with db.engine.begin() as connection:
            # Every table the migrations made, slack-sdk's installation store's too (they
            # are not in our models): a test must not find another's workspaces.
            tables = connection.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ).all()
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """TEST_DATABASE_URL, or under xdist this worker's own database (created if missing)."""
    assert POSTGRES_URL is not None
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    url = worker_database_url(POSTGRES_URL, worker)
    if url != POSTGRES_URL:
        _create_database_if_missing(POSTGRES_URL, url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file at the newest schema, migrated once per run (per worker): a test
    copies it in a tenth of a millisecond instead of migrating for 30 ms."""
    path = tmp_path_factory.mktemp("schema") / "migrated.db"
    database = Database.connect(f"sqlite:///{path}")
    try:
        upgrade(database.engine)
    finally:
        database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database at the newest schema: SQLite file, or PostgreSQL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        return url
    path = tmp_path / "reframe.db"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
    return f"sqlite:///{path}"


def unmigrated(database_url: str, tmp_path: Path) -> str:
    """For a test of migrating at start: on SQLite a file that does not exist yet
    (PostgreSQL's database is at the newest schema, as a second process finds it)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return database_url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.connect(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_channel("C0DEAL", "deal-acme-renewal")
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0PRIVATE", "deals-globex", is_private=True)
    fake.add_user("U0REP", tz="America/Los_Angeles", real_name="Rep One")
    yield fake
    fake.stop()


def make_settings(database_url: str, fake_slack: FakeSlack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake_slack.api_url,
        "database_url": database_url,
        "port": 3000,
        # Most tests are about nudges and check-in delivery, and count ephemeral posts:
        # there a post enrols silently. tests/test_invitations.py runs the default
        # (`invite`) and shows it beside a nudge.
        "checkin_join_mode": "auto",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningApp:
    reframe: Reframe
    url: str
    slack: SlackSender
    fake: FakeSlack
    clock: FixedClock

    def wait_until_idle(self, timeout: float = 30) -> None:
        wait_until_idle(self.reframe, timeout)


def wait_until_idle(reframe: Reframe, timeout: float = 30) -> None:
    """Until the work the requests answered so far started has finished: Bolt's
    listeners after the ack, and the deliveries they hand on (which may hand on
    more). Every request's work is queued before its answer is sent, so what has
    not happened by then will not happen: a test can say something was not done.
    Unlike `background.shutdown(wait=True)`, the app goes on delivering after it."""
    pools = (reframe.after_ack, reframe.background)
    deadline = time.monotonic() + timeout
    while not all(pool.wait_idle(0) for pool in pools * 2):
        for pool in pools:
            assert pool.wait_idle(max(0.0, deadline - time.monotonic())), "still working"


@pytest.fixture
def running_app(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> Iterator[RunningApp]:
    """The whole bot behind its real HTTP server on a free loopback port."""
    reframe = build(make_settings(database_url, fake_slack), clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield RunningApp(reframe, url, SlackSender(url), fake_slack, clock)
    server.shutdown()
    server.server_close()
    reframe.shutdown()
