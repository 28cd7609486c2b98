"""Retention runs by itself: the scheduler purges what is older than DATA_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.storage.models import Nudge
from tests.conftest import RunningApp


def _count(app: RunningApp) -> int:
    with app.reframe.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Nudge)) or 0)


def test_scheduler_purges_records_past_retention(running_app: RunningApp) -> None:
    app = running_app
    assert any(job.name == "purge_expired_data" for job in app.reframe.jobs)
    app.slack.message("their buyer is a total weasel, no one trusts him")
    app.fake.wait_for("chat.postEphemeral")
    app.clock.advance(timedelta(days=app.reframe.settings.data_retention_days - 1))
    app.reframe.run_jobs_once()
    assert _count(app) == 1  # still within retention
    app.clock.advance(timedelta(days=2))
    app.reframe.run_jobs_once()
    assert _count(app) == 0
