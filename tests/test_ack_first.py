"""Slack waits 3 seconds for the answer to an event, a button or a modal. Every
listener that calls Slack answers first and calls Slack after, so a Slack that is
rate limiting us (429 with Retry-After, slept through by the patient client)
cannot make Reframe miss that deadline.

"Answered first" is shown by order, not by a clock: the fake Slack holds the
listener's Web API call until the test has the HTTP reply in hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.slack.checkin_blocks import NOTE_BLOCK, NOTE_INPUT, NOTE_VIEW
from bot.slack.listeners.privacy import FORGET_CANCEL, FORGET_CONFIRM, owner_key
from bot.storage.models import Nudge
from tests.conftest import RunningApp
from tests.fakes.slack_api import Call, Fault
from tests.fakes.slack_requests import Reply
from tests.test_checkins_e2e import dm_container, send_now

VENT = "their EB is a total clown, honestly"
TWO_RATE_LIMITS = (Fault(429, retry_after=1), Fault(429, retry_after=2))

Send = Callable[[], Reply]


@dataclass(frozen=True)
class Case:
    method: str  # the Slack call the listener makes after answering
    prepare: Callable[[RunningApp], Send]  # sets the scene, returns the signed request
    shows: Callable[[Call], bool]  # the call carries what the listener meant to do
    # Bolt's respond() posts to response_url without retrying a 429 (it returns it),
    # so those calls are only held, not rate limited.
    rate_limited: bool = True


def open_home(app: RunningApp) -> Send:
    event = {"type": "app_home_opened", "user": "U0REP", "channel": "D0REP", "tab": "home"}
    return lambda: app.slack.event(event)


def click_home_pause(app: RunningApp) -> Send:
    return lambda: app.slack.action(
        "checkin_home_pause", "pause", response_url=app.fake.response_url()
    )


def answer_checkin(app: RunningApp) -> Send:
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][2]["value"]
    return lambda: app.slack.action(
        "checkin_answer_both",
        checkin_id,
        response_url=app.fake.response_url(),
        container=dm_container(posted),
    )


def click_note_button(app: RunningApp) -> Send:
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    return lambda: app.slack.action(
        "checkin_note",
        checkin_id,
        response_url=app.fake.response_url(),
        container=dm_container(posted),
    )


def submit_note(app: RunningApp) -> Send:
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    values = {NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": "I rushed it"}}}
    return lambda: app.slack.view_submission(NOTE_VIEW, values, private_metadata=checkin_id)


def click_helpful(app: RunningApp) -> Send:
    app.slack.message(VENT)
    app.fake.wait_for("chat.postEphemeral")
    with app.reframe.db.transaction() as session:
        nudge_id = session.scalars(select(Nudge.id)).one()
    return lambda: app.slack.action(
        "nudge_helpful", str(nudge_id), response_url=app.fake.response_url()
    )


def confirm_forget_me(app: RunningApp) -> Send:
    value = owner_key("T0TEAM", "U0REP")
    return lambda: app.slack.action(FORGET_CONFIRM, value, response_url=app.fake.response_url())


def cancel_forget_me(app: RunningApp) -> Send:
    return lambda: app.slack.action(FORGET_CANCEL, "cancel", response_url=app.fake.response_url())


def _blocks(call: Call) -> str:
    return str(call.params.get("blocks") or call.params.get("view"))


CASES = {
    "app_home_opened -> views.publish": Case(
        "views.publish", open_home, lambda c: c.params["user_id"] == "U0REP"
    ),
    "home pause button -> views.publish": Case(
        "views.publish", click_home_pause, lambda c: "checkin_home_resume" in _blocks(c)
    ),
    "check-in answer -> chat.update": Case(
        "chat.update", answer_checkin, lambda c: "You said: *A bit of both*" in _blocks(c)
    ),
    "check-in note button -> views.open": Case(
        "views.open", click_note_button, lambda c: c.params["trigger_id"] == "1337.42.abcd"
    ),
    "check-in note submitted -> chat.update": Case(
        "chat.update", submit_note, lambda c: ":memo:" in _blocks(c)
    ),
    "nudge Helpful -> response_url": Case(
        "response_url", click_helpful, lambda c: "Glad it helped" in _blocks(c), rate_limited=False
    ),
    "forget-me confirm -> response_url": Case(
        "response_url", confirm_forget_me, lambda c: "Done." in c.params["text"], rate_limited=False
    ),
    "forget-me cancel -> response_url": Case(
        "response_url",
        cancel_forget_me,
        lambda c: "Cancelled" in c.params["text"],
        rate_limited=False,
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_slack_gets_its_answer_before_the_listener_calls_slack(
    running_app: RunningApp, case: Case
) -> None:
    app = running_app
    send = case.prepare(app)
    hold = app.fake.hold(case.method)
    if case.rate_limited:
        app.fake.fail(case.method, *TWO_RATE_LIMITS)

    reply = send()
    hold.release()  # only now may Slack see the call

    assert reply.status == 200
    app.reframe.after_ack.shutdown(wait=True)  # the listener's work after its answer
    assert hold.answered_unreleased == 0, f"{case.method} was called before the reply"
    calls = app.fake.calls(case.method)
    assert len(calls) == 1, f"{case.method} done {len(calls)} times, not once"
    assert case.shows(calls[0])
    assert app.fake.rejected(case.method) == (2 if case.rate_limited else 0)
