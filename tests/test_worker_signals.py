"""A gunicorn worker acts on a stop signal that reached it while it was booting.

Between the fork and the worker's own handlers, a signal runs the master's handler,
inherited with the fork, which queues it where nothing reads it (benoitc/gunicorn#1910):
a SIGTERM sent then left the worker serving until the graceful timeout killed it.
Each case runs in a child process of its own, since it installs signal handlers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import runpy
import selectors
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Imported here, with the environment as the test session has it: the web layer it
# loads imports prometheus_client, which picks its multiprocess mode once, at import.
from bot.processes.gunicorn_worker import BoundedThreadWorker

GUNICORN_CONF = Path(__file__).resolve().parents[1] / "bot" / "processes" / "gunicorn_conf.py"


def _booting_worker(signals_from_boot: Any) -> Any:
    """A real BoundedThreadWorker, as gunicorn's master builds it, up to its signals."""
    from gunicorn import util
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    no_app: Any = None  # the app is loaded after the signals
    worker: Any = BoundedThreadWorker(1, os.getppid(), [], no_app, 15, cfg, Logger(cfg))
    # What gthread's and gunicorn's init_process make before init_signals.
    worker.tpool = worker.get_thread_pool()
    worker.poller = selectors.DefaultSelector()
    worker.method_queue.init()
    worker.PIPE = os.pipe()
    for end in worker.PIPE:
        util.set_non_blocking(end)
    worker.signals_from_boot = signals_from_boot
    return worker


def _in_child(case: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()

    def run() -> None:
        try:
            results.put(case())
        except BaseException as error:  # noqa: BLE001 - reported to the test
            import traceback

            results.put({"error": repr(error) + traceback.format_exc()})

    child = context.Process(target=run)
    child.start()
    try:
        child.join(20)
        assert child.exitcode == 0, f"child exited with {child.exitcode}"
    finally:
        if child.is_alive():
            child.kill()
    outcome: dict[str, Any] = results.get(timeout=5)
    assert "error" not in outcome, outcome["error"]
    return outcome


def _as_the_master_would(signals: Any, *sent: int) -> None:
    """The master's handler (Arbiter.signal), inherited by the forked worker, catches
    what is sent before the worker's own handlers are in place."""
    put = signals.append if isinstance(signals, list) else signals.put_nowait
    previous = {sig: signal.signal(sig, lambda sig, _frame: put(sig)) for sig in set(sent)}
    try:
        for sig in sent:
            os.kill(os.getpid(), sig)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("kind", ["SimpleQueue", "list"])  # gunicorn 27, and older
def test_a_sigterm_sent_while_booting_stops_the_worker_once_its_handlers_are_in(
    kind: str,
) -> None:
    def case() -> dict[str, Any]:
        signals: Any = queue.SimpleQueue() if kind == "SimpleQueue" else []
        _as_the_master_would(signals, signal.SIGHUP, signal.SIGTERM)
        signals_left = signals.qsize() if kind == "SimpleQueue" else len(signals)
        worker = _booting_worker(signals)
        alive_before = worker.alive
        worker.init_signals()
        remaining = signals.qsize() if kind == "SimpleQueue" else len(signals)
        return {
            "queued": signals_left,
            "alive_before": alive_before,
            "alive": worker.alive,
            "remaining": remaining,
        }

    outcome = _in_child(case)
    assert outcome["queued"] == 2  # the master's handler caught both, as in the race
    assert outcome["alive_before"] is True
    assert outcome["alive"] is False  # SIGTERM acted on: the worker stops gracefully
    assert outcome["remaining"] == 0


@pytest.mark.parametrize("stop", [signal.SIGQUIT, signal.SIGINT])
def test_a_quick_stop_sent_while_booting_ends_the_worker_at_once(stop: int) -> None:
    def case() -> dict[str, Any]:
        signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        _as_the_master_would(signals, stop)
        worker = _booting_worker(signals)
        try:
            worker.init_signals()
        except SystemExit as exiting:
            return {"exit": exiting.code, "alive": worker.alive}
        return {"exit": None, "alive": worker.alive}

    assert _in_child(case) == {"exit": 0, "alive": False}  # gunicorn's quick exit


def test_signals_the_master_handles_itself_are_not_replayed_to_the_worker() -> None:
    def case() -> dict[str, Any]:
        signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        # A reload, a change of worker count, and gunicorn's own wake-up marker.
        _as_the_master_would(signals, signal.SIGHUP, signal.SIGTTIN)
        signals.put_nowait(signal.NSIG)
        worker = _booting_worker(signals)
        worker.init_signals()
        return {"alive": worker.alive}

    assert _in_child(case)["alive"] is True


def test_a_worker_started_by_hand_without_the_hook_boots_as_before() -> None:
    def case() -> dict[str, Any]:
        worker = _booting_worker(None)
        worker.init_signals()
        return {"alive": worker.alive}

    assert _in_child(case)["alive"] is True


def test_the_web_roles_gunicorn_settings_keep_the_queue_for_each_new_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    # Read in a namespace of its own, as gunicorn reads it; its metrics directory is
    # the test's, not one left in this process's environment for later tests.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(GUNICORN_CONF))

    class Server:
        SIG_QUEUE: queue.SimpleQueue[int] = queue.SimpleQueue()
        log = logging.getLogger("gunicorn.error")  # as gunicorn's arbiter has

    class Worker:
        signals_from_boot: Any = None
        reframe_cpu = None  # not pinned

    worker = Worker()
    conf["post_fork"](Server(), worker)
    assert worker.signals_from_boot is Server.SIG_QUEUE
