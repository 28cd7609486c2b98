"""Start-up and footprint: what a web worker imports, how it answers before its app is
built, and the schema check that spares every start Alembic. Timings live in
`python -m benchmarks.load` (cold start, worker RSS); these tests pin the behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import bot.domain.detection as detection
from bot.processes import web_app
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage import migrate
from bot.storage.db import Database, create_db_engine
from bot.storage.models import Nudge
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSender
from tests.test_roles import ROOT, VENT, _env

# What a web worker never needs: migrations ran before gunicorn started, the scheduler
# role runs the jobs, training is offline, Socket Mode is the all-in-one process's,
# and tokens are only encrypted when TOKEN_ENCRYPTION_KEY is set.
NOT_IN_A_WEB_WORKER = (
    "alembic",
    "mako",
    "apscheduler",
    "bot.training",
    "numpy",
    "bot.processes.socket_mode",
    "slack_sdk.socket_mode",
    "websocket",
    "cryptography",
    "bot.processes.runner",
    "bot.processes.roles",
)

_WORKER = """
import json, sys
from bot.processes import web_app
app = web_app.create_app()
assert app.wait(60), "the worker's app was not built"
modules = sorted(sys.modules)
web_app.shutdown()
print(json.dumps(modules))
"""


# `python -m bot web` up to the point where gunicorn's master would fork its workers.
_MASTER = """
import json, sys
from gunicorn.app.wsgiapp import WSGIApplication
from bot.processes import roles

def instead_of_serving(self):
    print(json.dumps(sorted(sys.modules)))
WSGIApplication.run = instead_of_serving
sys.exit(roles.run_web(None))
"""


def _imported(name: str, modules: list[str]) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def _modules_after(script: str, env: dict[str, str], cwd: Path) -> list[str]:
    """The modules a fresh interpreter holds after running `script` (its last line)."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return modules


def test_a_web_worker_imports_only_what_serving_slack_needs(
    tmp_path: Path, fake_slack: FakeSlack, db: Database, database_url: str
) -> None:
    """What a worker imports by itself, in a fresh interpreter: create_app() and its
    built app, detector loaded. A module added to this path shows up here before it
    shows up as start-up time and memory in the benchmark. (A real worker also
    inherits what gunicorn's master imported for its start-up checks, shared:
    the next test checks that list.)"""
    modules = _modules_after(_WORKER, _env(fake_slack, database_url, 3000), tmp_path)
    assert "bot.wiring" in modules  # the app was built, in this process
    assert "bot.domain.detection.head" in modules
    assert [name for name in NOT_IN_A_WEB_WORKER if _imported(name, modules)] == []


def test_the_web_master_forks_with_serving_libraries_and_no_migration_tools(
    tmp_path: Path, fake_slack: FakeSlack, db: Database, database_url: str
) -> None:
    """What `python -m bot web` holds when gunicorn's master forks its workers (they
    inherit it): on a database already at head, the libraries serving needs
    (SQLAlchemy, the Slack SDK) and no Alembic, APScheduler, numpy or cryptography."""
    modules = _modules_after(_MASTER, _env(fake_slack, database_url, free_port()), tmp_path)
    assert "sqlalchemy" in modules and "slack_sdk" in modules
    unwanted = ("alembic", "mako", "apscheduler", "numpy", "cryptography", "bot.training")
    assert [name for name in unwanted if _imported(name, modules)] == []


# -- answering before the app is built ------------------------------------------------


@pytest.fixture
def held_detector(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The detector's load waits until the test sets the event (a slow disk, a busy CPU)."""
    release = threading.Event()
    real_load = detection.Detector.load

    def slow_load() -> detection.Detector:
        assert release.wait(60)
        return real_load()

    monkeypatch.setattr(detection, "_default", None)
    monkeypatch.setattr(detection.Detector, "load", staticmethod(slow_load))
    yield release
    release.set()  # never leave the warm-up thread waiting behind a failed test


@pytest.fixture
def worker(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, database_url: str, db: Database
) -> Iterator[tuple[web_app.WarmingUp, SlackSender]]:
    """create_app() as gunicorn calls it in a worker, served over HTTP."""
    for key, value in _env(fake_slack, database_url, 3000).items():
        monkeypatch.setenv(key, value)
    failures: list[BaseException] = []
    monkeypatch.setattr(web_app, "_stop_worker", failures.append)  # not os._exit in pytest
    app = web_app.create_app()
    server = make_http_server(app, "127.0.0.1", 0)
    serve_in_thread(server)
    try:
        yield app, SlackSender(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        web_app.shutdown()
    assert failures == []


def _nudges(db: Database) -> list[Nudge]:
    with db.transaction() as session:
        return list(session.scalars(select(Nudge)))


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


def test_an_event_during_the_detector_load_waits_for_it_and_is_handled(
    monkeypatch: pytest.MonkeyPatch,
    held_detector: threading.Event,
    worker: tuple[web_app.WarmingUp, SlackSender],
    fake_slack: FakeSlack,
    db: Database,
) -> None:
    monkeypatch.setattr(web_app, "WARM_UP_WAIT_SECONDS", 60.0)  # no bound in the way here
    app, sender = worker
    assert sender.get("/healthz").status == 200  # alive while the detector loads
    ready = sender.get("/readyz")
    assert ready.status == 503
    assert ready.json() == {"ok": False, "starting": True}

    thread, replies = _in_thread(lambda: sender.message(VENT))
    thread.join(0.5)
    assert thread.is_alive()  # held for the detector, not answered without it
    assert _nudges(db) == []

    held_detector.set()
    thread.join(60)
    assert [reply.status for reply in replies] == [200]
    assert app.ready
    assert sender.get("/readyz").status == 200
    assert len(fake_slack.wait_for("chat.postEphemeral", timeout=15)) == 1
    assert [n.status for n in _nudges(db)] in (["sending"], ["sent"])


def test_an_event_the_load_outlasts_is_refused_for_slack_to_retry_not_dropped(
    monkeypatch: pytest.MonkeyPatch,
    held_detector: threading.Event,
    worker: tuple[web_app.WarmingUp, SlackSender],
    fake_slack: FakeSlack,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(web_app, "WARM_UP_WAIT_SECONDS", 0.2)
    app, sender = worker
    event = {
        "type": "message",
        "channel": "C0DEAL",
        "channel_type": "channel",
        "user": "U0REP",
        "text": VENT,
        "ts": "1700000500.000100",
    }
    with caplog.at_level("WARNING", logger="bot.processes.web_app"):
        refused = sender.event(event, event_id="EvWARMUP1")
    assert refused.status == 503
    assert refused.headers.get("Retry-After") == "1"
    assert "still starting" in caplog.text
    assert _nudges(db) == []

    held_detector.set()
    assert app.wait(60)
    # Slack sends the same event again (X-Slack-Retry-Num): now it is handled, once.
    assert sender.event(event, event_id="EvWARMUP1", retry=1).status == 200
    assert len(fake_slack.wait_for("chat.postEphemeral", timeout=15)) == 1
    assert len(_nudges(db)) == 1


def test_a_build_that_fails_stops_the_worker() -> None:
    failures: list[BaseException] = []

    def broken() -> web_app.WSGIApp:
        raise RuntimeError("no database driver")

    app = web_app.WarmingUp(broken, on_failure=failures.append)
    assert app.wait(10) is False
    assert [str(error) for error in failures] == ["no database driver"]


# -- the schema check that spares Alembic ---------------------------------------------


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(migrate.migrations_dir()))
    assert migrate.head_revision() == scripts.get_current_head()


def test_at_head_only_when_the_database_is_at_the_newest_revision(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        assert migrate.at_head(engine) is False  # no version table yet
        migrate.upgrade(engine, "0001")
        assert migrate.at_head(engine) is False
        migrate.upgrade(engine)
        assert migrate.at_head(engine) is True
    finally:
        engine.dispose()


def test_a_script_it_cannot_read_leaves_the_decision_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "migrations"
    (copied / "versions").mkdir(parents=True)
    (copied / "env.py").write_text((ROOT / "migrations" / "env.py").read_text())
    for script in (ROOT / "migrations" / "versions").glob("*.py"):
        (copied / "versions" / script.name).write_text(script.read_text())
    (copied / "versions" / "9999_merge.py").write_text(
        'revision = "9999"\ndown_revision = ("0006", "0007")\n'
    )
    monkeypatch.setenv("REFRAME_MIGRATIONS_DIR", str(copied))
    assert migrate.head_revision() is None
