"""The buttons on a nudge, clicked the way Slack sends it, and question rotation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.storage.models import Nudge, Rep
from tests.conftest import RunningApp

VENT = "their EB is a total clown, honestly"


def _first_nudge(app: RunningApp) -> Nudge:
    app.fake.wait_for("chat.postEphemeral")
    with app.reframe.db.transaction() as session:
        return session.scalars(select(Nudge).order_by(Nudge.id)).first()  # type: ignore[return-value]


def test_helpful_is_recorded_and_the_message_updated_in_place(running_app: RunningApp) -> None:
    app = running_app
    app.slack.message(VENT)
    nudge = _first_nudge(app)
    reply = app.slack.action(
        "nudge_helpful", str(nudge.id), response_url=app.fake.response_url("a")
    )
    assert reply.status == 200
    [update] = app.fake.wait_for("response_url")
    assert update.params["replace_original"] is True
    assert "Glad it helped" in str(update.params["blocks"])
    assert "actions" not in str(update.params["blocks"])  # the buttons are gone
    with app.reframe.db.transaction() as session:
        stored = session.get(Nudge, nudge.id)
        assert stored is not None and stored.feedback == "helpful" and stored.feedback_at


def test_not_for_me_is_recorded(running_app: RunningApp) -> None:
    app = running_app
    app.slack.message(VENT)
    nudge = _first_nudge(app)
    app.slack.action("nudge_not_for_me", str(nudge.id), response_url=app.fake.response_url())
    app.fake.wait_for("response_url")
    with app.reframe.db.transaction() as session:
        assert session.get(Nudge, nudge.id).feedback == "not_for_me"  # type: ignore[union-attr]


def test_pause_for_a_week_silences_the_rep_then_lifts(running_app: RunningApp) -> None:
    app = running_app
    app.slack.message(VENT, channel="C0DEAL", ts="10.1")
    nudge = _first_nudge(app)
    app.slack.action("nudge_pause", str(nudge.id), response_url=app.fake.response_url())
    [update] = app.fake.wait_for("response_url")
    assert "Paused" in str(update.params["blocks"])
    with app.reframe.db.transaction() as session:
        rep = session.get(Rep, ("T0TEAM", "U0REP"))
        assert rep is not None and rep.nudges_paused_until is not None
    app.clock.advance(timedelta(days=2))
    app.slack.message("they always drag everything out, every single time", ts="10.2")
    app.wait_until_idle()
    assert len(app.fake.calls("chat.postEphemeral")) == 1
    app.clock.advance(timedelta(days=6))
    app.slack.message("they always drag everything out, every single time", ts="10.3")
    assert len(app.fake.wait_for("chat.postEphemeral", 2)) == 2


def test_someone_else_clicking_changes_nothing(running_app: RunningApp) -> None:
    app = running_app
    app.slack.message(VENT)
    nudge = _first_nudge(app)
    app.slack.action(
        "nudge_pause", str(nudge.id), user="U0SOMEONE", response_url=app.fake.response_url()
    )
    [reply] = app.fake.wait_for("response_url")
    assert "for the person the question was for" in reply.params["text"]
    with app.reframe.db.transaction() as session:
        assert session.get(Nudge, nudge.id).feedback is None  # type: ignore[union-attr]
        assert session.get(Rep, ("T0TEAM", "U0SOMEONE")) is None


def test_a_tampered_button_value_changes_nothing(running_app: RunningApp) -> None:
    app = running_app
    for value in ("not-a-number", "999999"):
        reply = app.slack.action("nudge_helpful", value, response_url=app.fake.response_url())
        assert reply.status == 200
    assert len(app.fake.wait_for("response_url", 2)) == 2
    with app.reframe.db.transaction() as session:
        assert session.scalars(select(Nudge)).all() == []


def test_questions_rotate_for_a_rep_until_the_trap_is_used_up(running_app: RunningApp) -> None:
    app = running_app
    library = app.reframe.library
    labeling = library.for_trap(library.get(_first_question_id(app)).traps[0])  # type: ignore[union-attr]
    asked: list[str] = []
    with app.reframe.db.transaction() as session:
        asked.append(session.scalars(select(Nudge.question_id)).one())
    for day in range(1, len(labeling) + 1):
        app.clock.advance(timedelta(days=1))
        app.slack.message(VENT, ts=f"20.{day}")
        app.fake.wait_for("chat.postEphemeral", day + 1)
        with app.reframe.db.transaction() as session:
            asked = list(session.scalars(select(Nudge.question_id).order_by(Nudge.id)))
    fitting = {q.id for q in labeling}
    first_round = asked[: len(fitting)]
    assert len(set(first_round)) == len(first_round), (
        "a question repeated before the list was used up"
    )
    assert asked[len(fitting)] == asked[0], "after a full round the longest-unused question returns"


def _first_question_id(app: RunningApp) -> str:
    app.slack.message(VENT, ts="20.0")
    return _first_nudge(app).question_id
