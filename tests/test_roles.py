"""Process roles: several app instances on one database, the gunicorn web role,
the scheduler role, and graceful SIGTERM with a delivery in flight."""

from __future__ import annotations

import importlib
import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.clock import FixedClock
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.db import Database
from bot.storage.models import Nudge
from bot.wiring import Reframe, build
from tests.conftest import make_settings
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSender

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "bot" / "processes" / "gunicorn_conf.py"
VENT = "their DM is a jerk tbh, he'll never give us a shot"


def nudges(db: Database) -> list[Nudge]:
    with db.transaction() as session:
        return list(session.scalars(select(Nudge).order_by(Nudge.id)))


# -- two instances, one database ------------------------------------------------


@pytest.fixture
def two_apps(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> Iterator[list[tuple[Reframe, SlackSender]]]:
    apps = []
    servers = []
    for _ in range(2):
        reframe = build(make_settings(database_url, fake_slack), clock=clock)
        server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
        serve_in_thread(server)
        servers.append(server)
        apps.append((reframe, SlackSender(f"http://127.0.0.1:{server.server_address[1]}")))
    yield apps
    for server in servers:
        server.shutdown()
        server.server_close()
    for reframe, _ in apps:
        reframe.shutdown()


def _in_parallel(*calls: object) -> None:
    threads = [threading.Thread(target=call) for call in calls]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_two_instances_on_one_database_never_double(
    two_apps: list[tuple[Reframe, SlackSender]], fake_slack: FakeSlack, clock: FixedClock
) -> None:
    (first, first_sender), (second, second_sender) = two_apps
    # Half the first attempts fail, so both instances' sweeps find work to race for.
    fake_slack.fail("chat.postEphemeral", *[Fault(500)] * 12)
    users = [f"U0TWO{i:03d}" for i in range(8)]
    for i, user in enumerate(users):
        # Each event reaches both instances at once (Slack retrying onto the other one).
        event = {
            "type": "message",
            "channel": "C0DEAL",
            "channel_type": "channel",
            "user": user,
            "text": VENT,
            "ts": f"1700000300.{i:06d}",
        }
        _in_parallel(
            lambda e=event, i=i: first_sender.event(e, event_id=f"EvTWO{i}"),
            lambda e=event, i=i: second_sender.event(e, event_id=f"EvTWO{i}", retry=1),
        )
    first.background.shutdown(wait=True)
    second.background.shutdown(wait=True)
    for _ in range(5):
        clock.advance(timedelta(minutes=2, seconds=30))
        _in_parallel(first.run_jobs_once, second.run_jobs_once, first.run_jobs_once)
    rows = nudges(first.db)
    assert sorted(n.user_id for n in rows) == users
    assert {n.status for n in rows} == {"sent"}
    calls = fake_slack.calls("chat.postEphemeral")
    assert sorted(c.params["user"] for c in calls) == users


# -- real processes ---------------------------------------------------------------


def _env(fake: FakeSlack, database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-role-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        # These tests count nudge posts; a first post's invitation to check-ins is
        # an ephemeral post too (tests/test_invitations.py covers it).
        CHECKIN_JOIN_MODE="auto",
        **extra,
    )
    return env


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_healthy(process: subprocess.Popen[str], port: int) -> SlackSender:
    sender = SlackSender(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        try:
            if sender.get("/healthz").status == 200:
                return sender
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the process did not become healthy")


def _wait_ready(process: subprocess.Popen[str], port: int) -> SlackSender:
    """Alive (/healthz), then able to serve Slack (/readyz): a gunicorn worker answers
    /healthz at once and builds its app just after (bot/processes/web_app.py)."""
    sender = _wait_healthy(process, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0])
        if sender.get("/readyz").status == 200:
            return sender
        time.sleep(0.1)
    raise AssertionError("the process did not become ready")


def _wait_for_status(db: Database, status: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if [n.status for n in nudges(db)] == [status]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no nudge reached {status!r}: {[n.status for n in nudges(db)]}")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a stray process behind a failed test
        output, _ = process.communicate()
    return output


@pytest.mark.parametrize(
    "command",
    [["app.py"], ["-m", "bot", "web"]],
    ids=["all-in-one", "gunicorn-web"],
)
def test_sigterm_during_a_slow_delivery_finishes_it(
    command: list[str], tmp_path: Path, fake_slack: FakeSlack, db: Database, database_url: str
) -> None:
    port = free_port()
    fake_slack.fail("chat.postEphemeral", Fault(200, delay=2.0))
    env = _env(fake_slack, database_url, port, WEB_CONCURRENCY="2")
    args = [str(ROOT / "app.py")] if command == ["app.py"] else command
    process = _start(args, env, tmp_path)
    try:
        sender = _wait_ready(process, port)
        assert sender.message(VENT).status == 200
        _wait_for_status(db, "sending")
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert [n.status for n in nudges(db)] == ["sent"]
    assert len(fake_slack.calls("chat.postEphemeral")) == 1
    assert "xoxb-role-test-token" not in output


def test_scheduler_role_delivers_what_the_web_left_pending(
    tmp_path: Path, fake_slack: FakeSlack, db: Database, database_url: str
) -> None:
    # A web process recorded the nudge and was stopped before its delivery started:
    # the claim is given back and the nudge waits, pending, for a sweep.
    from bot.services.nudges import IncomingMessage

    reframe = build(make_settings(database_url, fake_slack), db=db)
    recorded = reframe.nudges.on_message(
        IncomingMessage("T0TEAM", "C0DEAL", "U0REP", "1700000400.000001", None, VENT)
    )
    assert recorded is not None
    reframe.background.shutdown()  # stopping: the delivery is refused, never started
    reframe.nudges.deliver_on(reframe.background, recorded)
    reframe.shutdown()
    assert [(n.status, n.attempts) for n in nudges(db)] == [("pending", 0)]
    port = free_port()
    env = _env(fake_slack, database_url, port, SCHEDULER_TICK_SECONDS="1")
    process = _start(["-m", "bot", "scheduler"], env, tmp_path)
    try:
        sender = _wait_healthy(process, port)
        assert sender.get("/readyz").status == 200
        assert sender.post("{}", "application/json").status == 404  # no Slack endpoint here
        assert len(fake_slack.wait_for("chat.postEphemeral", timeout=15)) == 1
        _wait_for_status(db, "sent")
        # Counted just after the row is written: the scrape may come in between.
        deadline = time.monotonic() + 10
        while b"reframe_nudges_sent_total 1.0" not in (body := sender.get("/metrics").body):
            assert time.monotonic() < deadline, body[-400:]
            time.sleep(0.05)
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    assert "scheduler stopped" in output


# -- in-process checks of the role pieces ----------------------------------------------


def test_web_role_serves_from_its_own_process_and_sums_every_workers_counters(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    """`python -m bot web` becomes gunicorn's master (the pid a container signals),
    and its workers' counters add up at /metrics (prometheus-client's multiprocess
    mode, chosen before anything in the master imported it)."""
    port = free_port()
    env = _env(fake_slack, database_url, port, WEB_CONCURRENCY="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = _start(["-m", "bot", "web"], env, tmp_path)
    try:
        sender = _wait_ready(process, port)
        assert len(children_of(process.pid)) == 2  # the workers, forked by this process
        messages = 30
        for i in range(messages):  # a connection each: both workers take some
            reply = sender.message("pipeline review at 3", ts=f"1700000001.{i:06d}")
            assert reply.status == 200
        body = sender.get("/metrics").body.decode()
    finally:
        output = _stop(process)
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("reframe_slack_requests_total{")
        and 'kind="message"' in line
        and 'status="200"' in line
    ]
    assert sum(counted) == messages, body
    assert "Booting worker" in output


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (from /proc: gunicorn's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def _workers_cpus(
    master: int, count: int, settled: Callable[[dict[int, set[int]]], bool]
) -> dict[int, set[int]]:
    """Each of the master's `count` workers and the CPUs it may run on, once `settled`
    holds (a worker is listed from its fork, before its post_fork hook has run)."""
    deadline = time.monotonic() + 30
    seen: dict[int, set[int]] = {}
    while time.monotonic() < deadline:
        workers = children_of(master)
        if len(workers) == count:
            try:
                seen = {pid: os.sched_getaffinity(pid) for pid in workers}
            except ProcessLookupError:
                seen = {}  # one exited between the two reads
            if seen and settled(seen):
                return seen
        time.sleep(0.05)
    raise AssertionError(f"the master's {count} workers never settled: last seen {seen}")


def _all_pinned(workers: dict[int, set[int]]) -> bool:
    return all(len(allowed) == 1 for allowed in workers.values())


@pytest.mark.parametrize("mode", ["on", "off"])
def test_web_workers_each_run_on_a_cpu_of_their_own_and_a_replacement_takes_the_freed_one(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str, mode: str
) -> None:
    """WEB_CPU_PINNING=on: each worker's threads stay on one CPU, not the one its
    sibling has; a worker killed is replaced on the CPU it left, twice running (a
    choice by the worker's number would put the second replacement beside the
    survivor). off: they may run anywhere the master may."""
    usable = os.sched_getaffinity(0)
    port = free_port()
    env = _env(fake_slack, database_url, port, WEB_CONCURRENCY="2", WEB_CPU_PINNING=mode)
    process = _start(["-m", "bot", "web"], env, tmp_path)
    try:
        _wait_ready(process, port)
        assert os.sched_getaffinity(process.pid) == usable  # the master is never pinned
        if mode == "off" or len(usable) < 2:
            cpus = _workers_cpus(process.pid, 2, lambda _: True)
            assert all(allowed == usable for allowed in cpus.values())
            return
        cpus = _workers_cpus(process.pid, 2, _all_pinned)
        assert len(set().union(*cpus.values())) == 2  # not the same one
        first = {min(min(allowed) for allowed in cpus.values())}
        for _ in range(2):
            victim = next(pid for pid, allowed in cpus.items() if allowed == first)
            survivor = next(pid for pid in cpus if pid != victim)
            os.kill(victim, signal.SIGKILL)
            now = _workers_cpus(
                process.pid, 2, lambda seen, gone=victim: gone not in seen and _all_pinned(seen)
            )
            assert now[survivor] == cpus[survivor]
            replacement = next(pid for pid in now if pid != survivor)
            assert now[replacement] == first
            cpus = now
    finally:
        output = _stop(process)
    assert "will run on CPU" in output


def test_web_workers_build_the_app_without_a_scheduler(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, db: Database, database_url: str
) -> None:
    from bot.processes import web_app

    for key, value in _env(fake_slack, database_url, 3000).items():
        monkeypatch.setenv(key, value)
    app = web_app.create_app()
    try:
        assert app.wait(timeout=30)  # built on a thread: /healthz answers meanwhile
        assert web_app._current is not None
        assert web_app._current.scheduler is None
        assert callable(app)
    finally:
        web_app.shutdown()
    assert web_app._current is None


def test_gunicorn_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/reframe-test-metrics")
    import bot.processes.gunicorn_conf as conf

    conf = importlib.reload(conf)
    assert conf.bind == "0.0.0.0:8123"
    assert conf.workers == 5
    module, _, name = conf.worker_class.rpartition(".")
    worker = getattr(importlib.import_module(module), name)
    from gunicorn.workers.gthread import ThreadWorker

    assert issubclass(worker, ThreadWorker)  # gthread, with a limit on slow requests
    assert conf.preload_app is False  # each worker builds its own app after the fork
    assert conf.graceful_timeout >= 10
    assert callable(conf.worker_exit)


def test_gunicorn_settings_are_the_settings_objects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gunicorn reads the one Settings class, with the same names and defaults as ever."""
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("PORT", "WEB_CONCURRENCY", "WEB_THREADS", "WEB_GRACEFUL_TIMEOUT", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    names = ("bind", "workers", "threads", "graceful_timeout")

    conf = runpy.run_path(str(GUNICORN_CONF))  # a fresh namespace each time
    assert [conf[name] for name in names] == ["0.0.0.0:3000", 2, 8, 30]
    assert "logconfig_dict" not in conf

    (tmp_path / ".env").write_text("WEB_THREADS=3\nWEB_GRACEFUL_TIMEOUT=12\nLOG_FORMAT=json\n")
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert [conf[name] for name in names] == ["0.0.0.0:3000", 4, 3, 12]
    formatter = conf["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "bot.observability.logs.JsonFormatter"


def test_a_reexec_gets_gunicorns_command_and_a_fresh_metrics_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGUSR2: gunicorn forks and execs a new master with START_CTX's command and the
    environment as it was before the config file ran. That new master runs gunicorn's
    own command line and makes its own empty metrics directory; a directory the
    operator named is passed on."""
    from types import SimpleNamespace

    from bot.processes import roles

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(roles, "_metrics_directory_made", None)
    made = roles.ensure_metrics_directory()
    assert roles.metrics_directory_made_here() == made and Path(made).is_dir()
    import bot.processes.gunicorn_conf as conf

    conf = importlib.reload(conf)
    server = SimpleNamespace(
        START_CTX={"args": [sys.executable, "gunicorn"]},
        cfg=SimpleNamespace(env_orig={"PROMETHEUS_MULTIPROC_DIR": made, "PORT": "1"}),
    )
    conf.on_starting(server)
    assert server.START_CTX["args"][:3] == [sys.executable, "-m", "gunicorn"]
    assert server.START_CTX["args"][-1] == roles.WSGI_FACTORY
    conf.pre_exec(server)
    assert server.cfg.env_orig == {"PORT": "1"}

    named = {"PROMETHEUS_MULTIPROC_DIR": "/srv/metrics", "PORT": "1"}
    monkeypatch.setattr(roles, "_metrics_directory_made", None)
    server.cfg.env_orig = dict(named)
    conf.pre_exec(server)
    assert server.cfg.env_orig == named


def test_gunicorn_builds_access_log_entries_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gunicorn.config import Config

    from bot.processes.gunicorn_worker import AppLogger

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["logger_class"] == "bot.processes.gunicorn_worker.AppLogger"
    cfg = Config()
    cfg.set("logconfig_dict", conf["logconfig_dict"])
    logger = AppLogger.__new__(AppLogger)  # the property only; setup() would reconfigure logging
    logger.cfg = cfg
    assert not logger.access_log_enabled  # gunicorn's own Logger says True here
    cfg.set("accesslog", "-")
    assert logger.access_log_enabled


def test_role_commands_refuse_to_start_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    for role in ("web", "scheduler"):
        result = subprocess.run(
            [sys.executable, "-m", "bot", role],
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, role
        assert "SLACK_SIGNING_SECRET" in result.stderr


def test_the_web_role_refuses_socket_mode_and_names_the_process_that_speaks_it(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "web"],
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": "xapp-1-test",
            # Nothing answers here: the refusal must come before any call to Slack.
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "python app.py" in result.stderr
    assert not (tmp_path / "never.db").exists()  # refused before migrating


def test_a_signal_caught_by_another_thread_still_stops_the_process() -> None:
    # The kernel may hand SIGTERM to any thread; the main thread must still see it.
    script = (
        "import signal, threading\n"
        "from bot.processes.roles import stop_on_signals, wait_for\n"
        "stop = stop_on_signals()\n"
        "def other() -> None:\n"
        "    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)\n"
        "threading.Timer(0.2, other).start()\n"
        "wait_for(stop)\n"
        "print('stopped')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"


@pytest.mark.parametrize("role", ["web", "scheduler"])
def test_role_logs_are_json_lines_without_per_tick_or_token_noise(
    role: str, tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    """LOG_FORMAT=json: gunicorn's own lines too. No line per scheduler tick, and no
    Bolt warning that the token is unused (it is: the client carries it)."""
    port = free_port()
    env = _env(fake_slack, database_url, port, LOG_FORMAT="json", SCHEDULER_TICK_SECONDS="1")
    process = _start(["-m", "bot", role], env, tmp_path)
    try:
        sender = _wait_ready(process, port)
        if role == "web":
            assert sender.message("call booked for Thursday").status == 200
        else:
            time.sleep(3.5)  # three ticks of every job
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)  # every line, gunicorn's included
        assert {"time", "level", "logger", "message"} <= set(record), line
    messages = [json.loads(line)["message"] for line in lines]
    assert not any("`token` will be unused" in m for m in messages)
    assert not any(m.startswith(("Running job", "Job ")) for m in messages), messages
    if role == "web":
        assert any(json.loads(line)["logger"].startswith("gunicorn") for line in lines)
