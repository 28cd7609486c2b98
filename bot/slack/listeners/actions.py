"""Buttons on a nudge: Helpful, Not for me, Pause for a week."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services.nudges import NudgeService
from bot.slack.blocks import NUDGE_ACTIONS, build_feedback_done_blocks
from bot.slack.listeners.actor import team_and_user
from bot.slack.listeners.after_ack import HANDOFF, Reply, send_reply

log = logging.getLogger(__name__)
MAX_ROW_ID = 2**31


def handle_nudge_feedback(
    ack: Ack,
    action: dict[str, Any],
    context: BoltContext,
    *,
    nudges: NudgeService,
) -> None:
    """Helpful / Not for me / Pause, the ack half: record the choice; `send_reply`
    shows it after Slack has its 200."""
    ack()
    context[HANDOFF] = feedback_reply(nudges, context, action)


def register(app: App, *, nudges: NudgeService) -> None:
    for action_id in NUDGE_ACTIONS:
        app.action(action_id)(ack=partial(handle_nudge_feedback, nudges=nudges), lazy=[send_reply])


def feedback_reply(nudges: NudgeService, context: BoltContext, action: dict[str, Any]) -> Reply:
    choice = NUDGE_ACTIONS[action["action_id"]][1]
    clicker = team_and_user(context)
    try:
        nudge_id = int(action.get("value", ""))
    except ValueError:
        nudge_id = -1
    # Row ids are database integers: a larger value is no nudge of ours.
    if not 0 <= nudge_id < MAX_ROW_ID:
        nudge_id = -1
    if clicker is None or nudge_id < 0:
        return Reply("That button didn't carry what I need; nothing was changed.")
    team_id, user_id = clicker
    result = nudges.record_feedback(
        team_id=team_id,
        user_id=user_id,
        nudge_id=nudge_id,
        choice=choice,
    )
    if result.reason == "not_yours":
        return Reply(
            "These buttons are for the person the question was for.", replace_original=False
        )
    if not result.recorded or result.question is None:
        return Reply(
            "I couldn't find that question any more; nothing was changed.",
            replace_original=False,
        )
    done = build_feedback_done_blocks(result.question, choice, result.paused_until)
    # A /reframe answer holds several questions: keep it, and confirm beside it.
    replace = result.trigger != "command"
    return Reply(result.question, blocks=done, replace_original=replace)
