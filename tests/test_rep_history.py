"""The vent path's one history read gives what the three separate reads give:
the cooldown's nudges, the questions asked newest first, the ratings newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.statuses import NudgeFeedback, NudgeState, NudgeTrigger
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import Nudge

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _nudge(i: int, user: str, trigger: NudgeTrigger, age: timedelta, **rest: object) -> Nudge:
    return Nudge(
        team_id="T0TEAM",
        channel_id=f"C0DEAL{i % 3}",
        user_id=user,
        message_ts=f"1700000000.{i:06d}",
        trigger=trigger,
        traps="labeling",
        question_id=f"q{i:02d}",
        delivery="ephemeral",
        status=NudgeState.SENT,
        attempts=1,
        created_at=NOW - age,
        **rest,
    )


def test_one_read_gives_what_the_three_reads_give(db: Database) -> None:
    with db.transaction() as session:
        for i in range(60):  # more than the 50 the rotation and ratings read
            trigger = NudgeTrigger.MENTION if i % 7 == 0 else NudgeTrigger.MESSAGE
            rated = {}
            if i % 4 == 0:
                rated = {
                    "feedback": NudgeFeedback.HELPFUL if i % 8 == 0 else NudgeFeedback.NOT_FOR_ME,
                    "feedback_at": NOW - timedelta(minutes=i * 7 % 60),
                }
            elif i % 5 == 0:
                rated = {"feedback": NudgeFeedback.PAUSE, "feedback_at": NOW}
            # Two nudges at the same moment: the id decides their order.
            session.add(_nudge(i, "U0REP", trigger, timedelta(hours=i // 2), **rated))
        session.add(_nudge(99, "U0ELSE", NudgeTrigger.MESSAGE, timedelta(minutes=1)))
    since = NOW - timedelta(hours=24)
    with db.transaction() as session:
        who = {"team_id": "T0TEAM", "user_id": "U0REP"}
        expected = repos.RepHistory(
            nudges=repos.recent_nudges(session, **who, since=since),
            question_ids=repos.recent_question_ids(session, **who),
            feedback=repos.recent_feedback(session, **who),
        )
    with db.connection() as connection:
        got = repos.rep_history(connection, **who, since=since)
    assert sorted(got.nudges, key=lambda n: (n.at, n.channel_id)) == sorted(
        expected.nudges, key=lambda n: (n.at, n.channel_id)
    )
    assert got.question_ids == expected.question_ids
    assert got.feedback == expected.feedback
    # The data reaches every part: the limit, the ratings, and the cooldown window.
    assert len(got.question_ids) == 50 and len(got.nudges) > 10 and len(got.feedback) > 5
    assert all(isinstance(n.at, datetime) and n.at.tzinfo is not None for n in got.nudges)


def test_a_rep_with_no_past_has_an_empty_history(db: Database) -> None:
    with db.connection() as connection:
        got = repos.rep_history(connection, team_id="T0TEAM", user_id="U0NEW", since=NOW)
    assert got == repos.RepHistory(nudges=[], question_ids=[], feedback=[])
