"""`/reframe`: parse, route, answer privately within Slack's 3 seconds."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services.channels import DELIVERY_MODES, ChannelDirectory
from bot.services.ports import ChannelPermissions, SlackUnavailable
from bot.services.reframe import Asker, ReframeService
from bot.slack.blocks import build_reflect_blocks, build_reframe_blocks, build_text_blocks
from bot.slack.commands import CommandReply, CommandRequest, CommandRouter, SubcommandHandler
from bot.slack.listeners.actor import is_id

log = logging.getLogger(__name__)

COMMAND = "/reframe"
VISIBLE_MODES = frozenset({"thread"})  # delivery modes everyone in the channel can read
TROUBLE = "Something went wrong on our side and nothing was changed. Please try again in a minute."


def reframe_fallback(service: ReframeService) -> SubcommandHandler:
    """`/reframe <situation>` and `/reframe` alone."""

    def handle(request: CommandRequest) -> CommandReply:
        if not request.text.strip():
            question = service.reflect(request.user_id)
            return CommandReply(text=question.text, blocks=build_reflect_blocks(question.text))
        asker = Asker(request.team_id, request.user_id, request.channel_id)
        answer = service.reframe(request.text, asker=asker)
        text = " ".join(q.text for q in answer.questions)
        return CommandReply(text=text, blocks=build_reframe_blocks(answer))

    return handle


REFRAME_USAGES = [
    ("/reframe <situation>", "what I hear in it, and two or three questions to reframe it"),
    ("/reframe", "one question to reflect on"),
]


def channel_subcommand(
    channels: ChannelDirectory, permissions: ChannelPermissions
) -> SubcommandHandler:
    """`/reframe channel on|off|auto|mode <ephemeral|thread|dm>|status`.

    Visible thread replies make everyone's nudges public, so only the channel's creator
    or a workspace admin may choose them, and the channel is told when they do.
    """

    def handle(request: CommandRequest) -> CommandReply:
        words = request.text.lower().split()
        where = f"<#{request.channel_id}>"
        if words in (["on"], ["off"], ["auto"]):
            override = {"on": True, "off": False, "auto": None}[words[0]]
            channels.set_override(request.team_id, request.channel_id, override)
            said = {
                "on": f"Reframe now listens in {where}. If it isn't a member yet, "
                "add it with `/invite @Reframe`.",
                "off": f"Reframe no longer listens in {where}.",
                "auto": f"{where} is a deal channel again only if its name matches the patterns.",
            }[words[0]]
            return _reply(said)
        if len(words) == 2 and words[0] == "mode" and words[1] in DELIVERY_MODES:
            if words[1] in VISIBLE_MODES:
                try:
                    allowed = permissions.may_make_nudges_visible(
                        request.team_id, request.channel_id, request.user_id
                    )
                except SlackUnavailable:
                    return _reply("Slack didn't answer just now; nothing was changed. Try again.")
                if not allowed:
                    return _reply(
                        f"Only the creator of {where} or a workspace admin can make nudges "
                        "visible to the whole channel; nothing was changed."
                    )
                channels.set_mode(request.team_id, request.channel_id, words[1])
                text = (
                    f"<@{request.user_id}> set Reframe to answer venting in {where} with a "
                    "visible reply in the thread, so everyone here can see its questions. "
                    "`/reframe channel mode ephemeral` makes them private again."
                )
                return CommandReply(text=text, blocks=build_text_blocks(text), visible=True)
            channels.set_mode(request.team_id, request.channel_id, words[1])
            how = {
                "ephemeral": "privately, visible only to the rep, in the thread",
                "thread": "as a visible reply in the message's thread",
                "dm": "in a direct message to the rep",
            }[words[1]]
            return _reply(f"Nudges in {where} now arrive {how}.")
        if words in ([], ["status"]):
            listening = channels.is_deal_channel(request.team_id, request.channel_id)
            mode = channels.delivery_mode(request.team_id, request.channel_id)
            state = "listens" if listening else "does not listen"
            return _reply(f"Reframe {state} in {where}; nudges are delivered as `{mode}`.")
        return _reply(
            "Usage: `/reframe channel on`, `/reframe channel off`, `/reframe channel auto`, "
            "`/reframe channel mode ephemeral|thread|dm`, `/reframe channel status`."
        )

    return handle


def _reply(text: str) -> CommandReply:
    return CommandReply(text=text, blocks=build_text_blocks(text))


def request_from_command(command: dict[str, Any], context: BoltContext) -> CommandRequest | None:
    """The ids as Bolt read them from the form body (`team_id`, `user_id`, `channel_id`);
    the words and the rest from the command itself."""
    team_id, user_id, channel_id = context.team_id, context.user_id, context.channel_id
    text = command.get("text", "")
    if not (is_id(team_id) and is_id(user_id) and is_id(channel_id)):
        return None
    return CommandRequest(
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        channel_name=command.get("channel_name"),
        text=text if isinstance(text, str) else "",
        trigger_id=command.get("trigger_id"),
    )


def handle_reframe_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, *, router: CommandRouter
) -> None:
    """/reframe: the answer goes back in the acknowledgement itself."""
    request = request_from_command(command, context)
    if request is None:
        ack(text="That request was missing the team, user or channel; nothing was done.")
        return
    try:
        reply = router.route(request)
    except Exception:  # the rep gets an answer, the log gets the details
        log.exception("/reframe failed")
        reply = _reply(TROUBLE)
    ack(
        text=reply.text,
        blocks=reply.blocks,
        response_type="in_channel" if reply.visible else "ephemeral",
    )


def register(app: App, *, router: CommandRouter) -> None:
    app.command(COMMAND)(partial(handle_reframe_command, router=router))
