"""Events: messages in deal channels, @mentions, channel renames."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext

from bot.domain.statuses import NudgeTrigger
from bot.services.channels import ChannelDirectory
from bot.services.nudges import IncomingMessage, NudgeService, RecordedNudge, Trigger
from bot.slack.listeners.actor import is_id, team_of

log = logging.getLogger(__name__)

# Subtypes that are a person writing: plain messages, files with a comment,
# and thread replies also sent to the channel. Edits, deletions, joins and
# other system messages are never venting.
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
CHANNEL_TYPES = frozenset({"channel", "group"})
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def is_external_member(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> bool:
    """Someone from another organisation writing in a Slack Connect channel: their
    `user_team` is not the workspace the event was delivered for (`context.team_id`,
    Bolt's reading of `authorizations[0]`), whose reps Reframe serves."""
    user_team = event.get("user_team")
    return (
        bool(body.get("is_ext_shared_channel"))
        and isinstance(user_team, str)
        and user_team != context.team_id
    )


def message_from_event(event: dict[str, Any], context: BoltContext) -> IncomingMessage | None:
    """The rep's message, or None when it is not a person writing in a channel."""
    subtype, channel_type = event.get("subtype"), event.get("channel_type")
    # isinstance first: a list or dict here (never from Slack) is unhashable.
    if not isinstance(subtype, str | None) or subtype not in HUMAN_SUBTYPES or event.get("hidden"):
        return None
    if not isinstance(channel_type, str) or channel_type not in CHANNEL_TYPES:
        return None
    text = event.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    bot_user_id = context.bot_user_id
    if bot_user_id and f"<@{bot_user_id}" in text:
        return None  # the app_mention event answers this one
    return _incoming(event, context, text, NudgeTrigger.MESSAGE)


def mention_from_event(event: dict[str, Any], context: BoltContext) -> IncomingMessage | None:
    text = event.get("text")
    spoken = _MENTION.sub(" ", text if isinstance(text, str) else "")
    return _incoming(event, context, spoken, NudgeTrigger.MENTION)


def _incoming(
    event: dict[str, Any], context: BoltContext, text: str, trigger: Trigger
) -> IncomingMessage | None:
    """Who wrote what where, or None for other bots and payloads missing an id.

    In a message event Bolt's `context.user_id` is the author (`event.user`) and
    `context.channel_id` the channel (`event.channel`)."""
    if event.get("bot_id"):
        return None
    team_id, channel_id, user_id = context.team_id, context.channel_id, context.user_id
    ts = event.get("ts")
    if not (is_id(team_id) and is_id(channel_id) and is_id(user_id) and is_id(ts)):
        return None
    thread_ts = event.get("thread_ts")
    return IncomingMessage(
        team_id=team_id,
        channel_id=channel_id,
        user_id=user_id,
        ts=ts,
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
        text=text,
        trigger=trigger,
    )


def handle_message(
    body: dict[str, Any],
    event: dict[str, Any],
    context: BoltContext,
    *,
    nudges: NudgeService,
    deliver: Callable[[RecordedNudge], object],
    external_members: bool,
) -> None:
    """A message in a channel: decided and recorded now, delivered after the answer."""
    message = message_from_event(event, context)
    if message is None:
        return
    if not external_members and is_external_member(body, event, context):
        return  # neither nudged nor enrolled: they are not this workspace's reps
    recorded = nudges.on_message(message)
    if recorded is not None:
        deliver(recorded)


def handle_app_mention(
    body: dict[str, Any],
    event: dict[str, Any],
    context: BoltContext,
    *,
    nudges: NudgeService,
    deliver: Callable[[RecordedNudge], object],
    external_members: bool,
) -> None:
    """@Reframe: always answered, privately, with what it heard."""
    message = mention_from_event(event, context)
    if message is None:
        return
    if not external_members and is_external_member(body, event, context):
        return
    recorded = nudges.on_message(message)
    if recorded is not None:
        deliver(recorded)


def handle_channel_rename(
    event: dict[str, Any], context: BoltContext, *, channels: ChannelDirectory
) -> None:
    """A renamed channel may become, or stop being, a deal channel."""
    channel = event.get("channel") or {}
    team_id = team_of(context)
    # The channel's id and its new name, read together from the event's `channel`.
    if isinstance(channel, dict) and team_id is not None:
        channel_id, name = channel.get("id"), channel.get("name")
        if isinstance(channel_id, str) and isinstance(name, str):
            channels.renamed(team_id, channel_id, name)


def register(
    app: App,
    *,
    nudges: NudgeService,
    channels: ChannelDirectory,
    deliver: Callable[[RecordedNudge], object],
    external_members: bool = False,
) -> None:
    """Wire the handlers above; Bolt passes what each names, `partial` the services."""
    for event_type, handler in (("message", handle_message), ("app_mention", handle_app_mention)):
        app.event(event_type)(
            partial(handler, nudges=nudges, deliver=deliver, external_members=external_members)
        )
    app.event("channel_rename")(partial(handle_channel_rename, channels=channels))
    app.event("group_rename")(partial(handle_channel_rename, channels=channels))
