"""Weekly check-ins in Slack: `/reframe checkin …`, the answer buttons, the note
modal and App Home. Thin: parse, call the service, render."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import Block

from bot.domain.schedule import (
    ScheduleError,
    format_time,
    parse_time,
    parse_weekday,
    week_label,
)
from bot.services.checkins import CheckinService, CheckinView, describe_status
from bot.slack.blocks import build_text_blocks
from bot.slack.checkin_blocks import (
    ANSWER_ACTIONS,
    INVITE_DECLINE,
    INVITE_JOIN,
    NOTE_ACTION,
    NOTE_BLOCK,
    NOTE_INPUT,
    NOTE_VIEW,
    PAUSE_ACTION,
    RESUME_ACTION,
    CheckinContent,
    build_answered_blocks,
    build_home_view,
    build_invitation_answered_blocks,
    build_note_modal,
    build_welcome_home_view,
)
from bot.slack.commands import CommandReply, CommandRequest, SubcommandHandler
from bot.slack.listeners.actor import team_and_user
from bot.slack.listeners.after_ack import HANDOFF, Reply, acknowledge, send_reply

log = logging.getLogger(__name__)

CHECKIN_USAGE = "/reframe checkin [on|off|skip|now|status|<day> <HH:MM>]"
CHECKIN_SUMMARY = (
    "your weekly check-in DM: turn it on or off, skip one, get one now, "
    "or pick the day and time (e.g. `/reframe checkin fri 16:30`)"
)
HOW_TO = (
    "Try `/reframe checkin` (your schedule), `on`, `off`, `skip`, `now`, "
    "or a day and a time such as `/reframe checkin fri 4:30pm` or `fri 16:30` (your own time zone)."
)


# -- /reframe checkin -------------------------------------------------------


def checkin_subcommand(
    checkins: CheckinService,
    deliver: Callable[[int], object],
    refresh: Callable[[str, str], object] = lambda _team, _user: None,
) -> SubcommandHandler:
    """`deliver(checkin_id)` sends a requested check-in after Slack has its answer;
    `refresh(team, user)` reads the rep's Slack profile (time zone) after it, when
    the zone is not known yet."""

    def handle(request: CommandRequest) -> CommandReply:
        reply = answer(request)
        status = checkins.status(request.team_id, request.user_id)
        if status.enrolled and not status.tz_known:
            refresh(request.team_id, request.user_id)
        return reply

    def answer(request: CommandRequest) -> CommandReply:
        words = request.text.lower().split()
        team_id, user_id = request.team_id, request.user_id
        if words in ([], ["status"]):
            return _reply(describe_status(checkins.status(team_id, user_id)))
        if words == ["on"]:
            status = checkins.turn_on(team_id, user_id)
            return _reply("Weekly check-ins are on. " + describe_status(status))
        if words == ["off"]:
            checkins.turn_off(team_id, user_id)
            return _reply(
                "Weekly check-ins are off; nothing more will come. "
                "`/reframe checkin on` brings them back."
            )
        if words == ["skip"]:
            status = checkins.skip_next(team_id, user_id)
            return _reply(
                f"Skipping your check-in of the {week_label(status.skip_week or '')}. "
                f"{describe_status(status)}"
            )
        if words == ["now"]:
            return _reply(_send_now(checkins, deliver, team_id, user_id))
        if len(words) in (2, 3):  # "fri 16:30", "fri 4:30pm", "fri 4:30 pm"
            return _set_schedule(checkins, team_id, user_id, words[0], " ".join(words[1:]))
        return _reply(HOW_TO)

    return handle


def _send_now(
    checkins: CheckinService, deliver: Callable[[int], object], team_id: str, user_id: str
) -> str:
    requested = checkins.request_now(team_id, user_id)
    if requested.reason == "queued" and requested.checkin_id is not None:
        deliver(requested.checkin_id)
        return "This week's check-in is on its way to your DMs."
    return "This week's check-in is already in your DMs; one a week keeps it meaningful."


def _set_schedule(
    checkins: CheckinService, team_id: str, user_id: str, day: str, at: str
) -> CommandReply:
    try:
        weekday, when = parse_weekday(day), parse_time(at)
    except ScheduleError as problem:
        return _reply(f"{problem}. {HOW_TO}")
    status = checkins.set_schedule(team_id, user_id, weekday, format_time(when))
    return _reply("Done. " + describe_status(status))


def _reply(text: str) -> CommandReply:
    return CommandReply(text=text, blocks=build_text_blocks(text))


# -- buttons, modal, App Home ----------------------------------------------------


def _checkin_id(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class CheckinUI:
    """What the check-in listeners need: the service, the words, and App Home's extras."""

    checkins: CheckinService
    content: CheckinContent
    home_extra: Callable[[str, str], list[Block]]

    def publish_home(self, client: WebClient, team_id: str, user_id: str) -> None:
        home = self.checkins.home(team_id, user_id)
        view = (
            build_home_view(self.content, home)
            if home.status.enrolled
            else build_welcome_home_view(self.content, home.status.schedule.describe())
        )
        # Workspace settings, for settings admins (listeners/settings.py).
        view.blocks = [*(view.blocks or []), *self.home_extra(team_id, user_id)]
        client.views_publish(user_id=user_id, view=view)


# Each listener answers Slack first and calls Slack after (see `after_ack`): an ack
# half (handle_…) records, a lazy half shows.


def handle_checkin_answer(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, *, ui: CheckinUI
) -> None:
    ack()
    rep, checkin_id = team_and_user(context), _checkin_id(action.get("value"))
    if rep is None or checkin_id is None:
        return
    team_id, user_id = rep
    outcome = ui.checkins.record_answer(
        team_id=team_id,
        user_id=user_id,
        checkin_id=checkin_id,
        answer=ANSWER_ACTIONS[action["action_id"]],
    )
    if outcome.checkin is None:
        log.info("check-in answer not recorded: %s", outcome.reason)
        return
    container = body.get("container") or {}
    context[HANDOFF] = replace(
        outcome.checkin,
        channel_id=container.get("channel_id") or outcome.checkin.channel_id,
        message_ts=container.get("message_ts") or outcome.checkin.message_ts,
    )


def update_checkin_dm(context: BoltContext, client: WebClient, *, ui: CheckinUI) -> None:
    """Show the stored answer and note in the check-in DM, in place."""
    view = context.get(HANDOFF)
    if not isinstance(view, CheckinView) or not view.channel_id or not view.message_ts:
        return
    try:
        client.chat_update(
            channel=view.channel_id,
            ts=view.message_ts,
            text=ui.content.question,
            blocks=build_answered_blocks(ui.content, view),
        )
    except SlackClientError as error:
        # The answer is stored; only the message's look is stale.
        log.warning("chat.update of a check-in failed: %s", type(error).__name__)


def open_note_modal(
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    *,
    ui: CheckinUI,
) -> None:
    # The trigger_id lives 3 seconds: this runs as soon as Slack has its answer.
    rep, checkin_id = team_and_user(context), _checkin_id(action.get("value"))
    trigger_id = body.get("trigger_id")
    if rep is None or checkin_id is None or not trigger_id:
        return
    team_id, user_id = rep
    found = ui.checkins.view(team_id=team_id, user_id=user_id, checkin_id=checkin_id)
    if found.checkin is None:
        return
    client.views_open(trigger_id=trigger_id, view=build_note_modal(ui.content, found.checkin))


def handle_note_submission(
    ack: Ack, view: dict[str, Any], context: BoltContext, *, ui: CheckinUI
) -> None:
    # A refusal can only be shown in the modal, so the note is saved before ack().
    rep, checkin_id = team_and_user(context), _checkin_id(view.get("private_metadata"))
    values = ((view.get("state") or {}).get("values") or {}).get(NOTE_BLOCK) or {}
    note = (values.get(NOTE_INPUT) or {}).get("value") or ""
    if rep is None or checkin_id is None:
        ack(response_action="errors", errors={NOTE_BLOCK: "Something went wrong; try again."})
        return
    team_id, user_id = rep
    outcome = ui.checkins.save_note(
        team_id=team_id, user_id=user_id, checkin_id=checkin_id, note=note
    )
    if outcome.reason == "closed":
        ack(response_action="errors", errors={NOTE_BLOCK: ui.content.closed})
        return
    ack()
    context[HANDOFF] = outcome.checkin


def handle_invitation_answer(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, *, ui: CheckinUI
) -> None:
    """Join or No thanks, from the invitation in a channel or from App Home."""
    ack()
    rep = team_and_user(context)
    if rep is None:
        return
    team_id, user_id = rep
    value = action.get("value")
    from_home = (body.get("container") or {}).get("type") == "view"
    if not from_home and value != f"{team_id}:{user_id}":
        context[HANDOFF] = Reply(
            "This invitation was for someone else; nothing changed.", replace_original=False
        )
        return
    joined = action["action_id"] == INVITE_JOIN
    status = ui.checkins.answer_invitation(team_id, user_id, join=joined)
    if not from_home:
        schedule = status.schedule.describe()
        context[HANDOFF] = Reply(
            "You're in." if joined else "No check-ins, then.",
            blocks=build_invitation_answered_blocks(joined=joined, schedule=schedule),
            replace_original=True,
        )


def show_invitation_answer(
    body: dict[str, Any],
    context: BoltContext,
    respond: Respond,
    client: WebClient,
    *,
    ui: CheckinUI,
) -> None:
    if (body.get("container") or {}).get("type") == "view":
        republish_home(context, client, ui=ui)
    else:
        send_reply(context, respond)


def handle_app_home_opened(
    event: dict[str, Any], context: BoltContext, client: WebClient, *, ui: CheckinUI
) -> None:
    # context.user_id is the event's `user`: the person who opened the tab.
    if event.get("tab", "home") == "home":
        republish_home(context, client, ui=ui)


def handle_home_toggle(
    ack: Ack, action: dict[str, Any], context: BoltContext, *, ui: CheckinUI
) -> None:
    ack()
    rep = team_and_user(context)
    if rep is None:
        return
    team_id, user_id = rep
    if action["action_id"] == PAUSE_ACTION:
        ui.checkins.turn_off(team_id, user_id)
    else:
        ui.checkins.turn_on(team_id, user_id)


def republish_home(context: BoltContext, client: WebClient, *, ui: CheckinUI) -> None:
    rep = team_and_user(context)
    if rep is not None:
        ui.publish_home(client, *rep)


def register(
    app: App,
    *,
    checkins: CheckinService,
    content: CheckinContent,
    home_extra: Callable[[str, str], list[Block]] = lambda _team, _user: [],
) -> Callable[[WebClient, str, str], None]:
    """Wires the handlers above; returns the function that publishes someone's App Home."""
    ui = CheckinUI(checkins, content, home_extra)

    def bound(handler: Callable[..., None]) -> Callable[..., None]:
        return partial(handler, ui=ui)

    for action_id in ANSWER_ACTIONS:
        app.action(action_id)(ack=bound(handle_checkin_answer), lazy=[bound(update_checkin_dm)])
    app.action(NOTE_ACTION)(ack=acknowledge, lazy=[bound(open_note_modal)])
    app.view(NOTE_VIEW)(ack=bound(handle_note_submission), lazy=[bound(update_checkin_dm)])
    app.event("app_home_opened")(ack=acknowledge, lazy=[bound(handle_app_home_opened)])
    for action_id in (PAUSE_ACTION, RESUME_ACTION):
        app.action(action_id)(ack=bound(handle_home_toggle), lazy=[bound(republish_home)])
    for action_id in (INVITE_JOIN, INVITE_DECLINE):
        app.action(action_id)(
            ack=bound(handle_invitation_answer), lazy=[bound(show_invitation_answer)]
        )
    return ui.publish_home
