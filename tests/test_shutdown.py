"""A stop signal (SIGTERM from the container) ends sending promptly: the posts in
hand finish, nothing more is taken, and what was not sent goes out once from the
next process. Today's containers give 10-30 s before SIGKILL."""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from datetime import time as dtime
from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.clock import FixedClock
from bot.domain.schedule import WeeklySchedule, next_occurrence
from bot.services.background import BackgroundWork
from bot.storage.models import Checkin
from bot.wiring import build
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack

REPS = [f"U0STOP{i:03d}" for i in range(100)]


def checkin_posts(fake: FakeSlack) -> list[str]:
    return [
        c.params["channel"]
        for c in fake.calls("chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_type") == "reframe_checkin"
    ]


def test_a_stop_during_a_long_send_ends_promptly_and_loses_nothing(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    # 100 check-ins at 4 a second would take 25 s to send: longer than a container's grace.
    slow = make_settings(database_url, fake_slack, checkin_post_rate=4.0, checkin_join_mode="auto")
    first = build(slow, clock=clock)
    for user in REPS:
        fake_slack.add_user(user, tz="UTC")
        first.checkins.on_rep_seen("T0TEAM", user)
    monday_nine = WeeklySchedule(weekday=0, at=dtime(9, 0), tz="UTC")
    clock.set(next_occurrence(clock.now(), monday_nine).due_at + timedelta(minutes=1))

    tick = threading.Thread(target=first.run_jobs_once)
    tick.start()
    fake_slack.wait_for("chat.postMessage", 3, timeout=10)  # sending is under way
    stopping = threading.Thread(target=first.shutdown)
    stopping.start()
    stopping.join(5)
    tick.join(5)
    assert not stopping.is_alive() and not tick.is_alive(), "shutdown waited for the queue"
    sent_before = checkin_posts(fake_slack)
    assert 3 <= len(sent_before) < len(REPS) // 2

    with first.db.engine.connect() as connection:  # disposed, but a fresh connection works
        leftover = connection.execute(
            select(func.count()).select_from(Checkin).where(Checkin.status != "sent")
        ).scalar_one()
    assert leftover == len(REPS) - len(sent_before)

    # The next process (faster pace, to keep the test short) sends the rest, once each.
    second = build(make_settings(database_url, fake_slack, checkin_post_rate=500.0), clock=clock)
    try:
        for _ in range(3):
            second.run_jobs_once()
    finally:
        second.shutdown()
    assert sorted(checkin_posts(fake_slack)) == sorted(REPS)


def test_background_work_stops_like_any_executor_dropping_what_was_queued() -> None:
    """Bolt and the standard library know it as an Executor: `cancel_futures` is the
    name they use (it once had its own, which such a caller could not pass)."""
    executor: Executor = BackgroundWork(workers=1, name="test-stop")
    started, release = threading.Event(), threading.Event()

    def hold() -> str:
        started.set()
        release.wait(5)
        return "finished"

    running = executor.submit(hold)
    queued = executor.submit(lambda: "ran")
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    executor.shutdown(wait=True, cancel_futures=True)
    assert running.result(timeout=0) == "finished"
    assert queued.cancelled()
    assert executor.submit(lambda: "late").cancelled()
