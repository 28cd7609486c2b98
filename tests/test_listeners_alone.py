"""Listeners are plain functions (`handle_<trigger>`) that `register(app)` wires, so
each can be read and called alone, as here, with stand-ins for what it needs.

Team, user and channel ids come from Bolt's `context`; `context_for` builds it from a
payload exactly as Bolt does for a request (BoltRequest runs Bolt's own parsing)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext
from slack_bolt.request import BoltRequest

from bot.services.nudges import IncomingMessage
from bot.slack.listeners.commands import handle_reframe_command
from bot.slack.listeners.events import handle_app_mention, handle_channel_rename, handle_message


def context_for(body: dict[str, Any], **extra: Any) -> BoltContext:
    context = BoltRequest(body=body, mode="socket_mode").context
    context.update(extra)
    return context


class Nudges:
    def __init__(self, answer: int | None) -> None:
        self.seen: list[IncomingMessage] = []
        self.answer = answer

    def on_message(self, message: IncomingMessage) -> int | None:
        self.seen.append(message)
        return self.answer


def message_body(**event: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    payload = {
        "type": "message",
        "channel": "C0DEAL",
        "channel_type": "channel",
        "user": "U0REP",
        "text": "their DM is a jerk",
        "ts": "1.2",
        **event,
    }
    return {"team_id": "T0TEAM", "event": payload}, payload


def test_a_message_is_decided_then_its_nudge_delivered() -> None:
    delivered: list[int] = []
    nudges = Nudges(answer=7)
    body, event = message_body()
    handle_message(
        body,
        event,
        context_for(body, bot_user_id="UBOT"),
        nudges=nudges,  # type: ignore[arg-type]
        deliver=delivered.append,
        external_members=False,
    )
    [seen] = nudges.seen
    assert (seen.team_id, seen.channel_id, seen.user_id, seen.ts) == (
        "T0TEAM",
        "C0DEAL",
        "U0REP",
        "1.2",
    )
    assert seen.text == "their DM is a jerk"
    assert delivered == [7]


def test_a_bot_or_a_slack_connect_stranger_is_not_even_decided_on() -> None:
    nudges = Nudges(answer=7)
    for extra in ({"bot_id": "B0"}, {"user_team": "T0ELSE"}):
        body, event = message_body(**extra)
        body["is_ext_shared_channel"] = True
        handle_message(
            body,
            event,
            context_for(body),
            nudges=nudges,  # type: ignore[arg-type]
            deliver=lambda _id: None,
            external_members=False,
        )
    assert nudges.seen == []


def test_slack_connect_authors_are_checked_against_the_workspace_the_event_is_for() -> None:
    """Bolt's `context.team_id` is the installation the event was delivered for
    (`authorizations[0]`), which in a Slack Connect channel need not be the envelope's
    `team_id`: a stranger whose team is the envelope's is still a stranger to us."""
    for handler in (handle_message, handle_app_mention):
        nudges = Nudges(answer=None)
        for user, user_team in (("U0GUEST", "T0OTHERORG"), ("U0REP", "T0TEAM")):
            body, event = message_body(user=user, user_team=user_team)
            event["type"] = "message" if handler is handle_message else "app_mention"
            body.update(
                team_id="T0OTHERORG",
                is_ext_shared_channel=True,
                authorizations=[{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
            )
            handler(
                body,
                event,
                context_for(body, bot_user_id="UBOT"),
                nudges=nudges,  # type: ignore[arg-type]
                deliver=lambda _id: None,
                external_members=False,
            )
        assert [(m.team_id, m.user_id) for m in nudges.seen] == [("T0TEAM", "U0REP")]


def test_a_message_without_an_author_is_not_decided_on() -> None:
    nudges = Nudges(answer=7)
    body, event = message_body()
    del event["user"]
    handle_message(
        body,
        event,
        context_for(body),
        nudges=nudges,  # type: ignore[arg-type]
        deliver=lambda _id: None,
        external_members=False,
    )
    assert nudges.seen == []


def test_a_rename_reaches_the_channel_directory() -> None:
    renamed: list[tuple[str, str, str]] = []

    class Channels:
        def renamed(self, team_id: str, channel_id: str, name: str) -> None:
            renamed.append((team_id, channel_id, name))

    event = {"type": "channel_rename", "channel": {"id": "C0DEAL", "name": "deal-acme"}}
    body = {"team_id": "T0TEAM", "event": event}
    handle_channel_rename(event, context_for(body), channels=Channels())  # type: ignore[arg-type]
    assert renamed == [("T0TEAM", "C0DEAL", "deal-acme")]


def test_a_command_missing_its_ids_is_answered_not_routed() -> None:
    answers: list[dict[str, Any]] = []

    class Router:
        def route(self, request: object) -> object:
            raise AssertionError("a request without ids must not be routed")

    command = {"text": "help"}
    handle_reframe_command(
        lambda **kwargs: answers.append(kwargs),  # type: ignore[arg-type]
        command,
        context_for(command),
        router=Router(),  # type: ignore[arg-type]
    )
    assert "missing the team, user or channel" in answers[0]["text"]


def test_a_command_is_routed_with_the_ids_bolt_read_from_its_form() -> None:
    from bot.slack.commands import CommandReply, CommandRequest

    routed: list[CommandRequest] = []

    class Router:
        def route(self, request: CommandRequest) -> CommandReply:
            routed.append(request)
            return CommandReply(text="ok")

    command = {
        "command": "/reframe",
        "text": "checkin",
        "team_id": "T0TEAM",
        "user_id": "U0REP",
        "channel_id": "C0DEAL",
        "channel_name": "deal-acme",
        "trigger_id": "1.2.abc",
    }
    handle_reframe_command(
        lambda **_kwargs: None,  # type: ignore[arg-type]
        command,
        context_for(command),
        router=Router(),  # type: ignore[arg-type]
    )
    [request] = routed
    assert (request.team_id, request.user_id, request.channel_id) == ("T0TEAM", "U0REP", "C0DEAL")
    assert (request.channel_name, request.text, request.trigger_id) == (
        "deal-acme",
        "checkin",
        "1.2.abc",
    )


def _click(action: dict[str, Any], *, team: str = "T0TEAM", user: str = "U0REP") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "team_id": team},
        "actions": [action],
    }


def test_forget_me_deletes_only_for_the_person_who_clicked() -> None:
    from bot.services.privacy import Deleted
    from bot.slack.listeners.after_ack import HANDOFF, Reply
    from bot.slack.listeners.privacy import FORGET_CONFIRM, handle_forget_me_confirm

    forgotten: list[tuple[str, str]] = []

    class Privacy:
        def forget_rep(self, *, team_id: str, user_id: str) -> Deleted:
            forgotten.append((team_id, user_id))
            return Deleted(nudges=1)

    for clicker in ("U0OTHER", "U0REP"):
        action = {"action_id": FORGET_CONFIRM, "value": "T0TEAM:U0REP"}
        context = context_for(_click(action, user=clicker))
        handle_forget_me_confirm(
            lambda **_kwargs: None,  # type: ignore[arg-type]
            action,
            context,
            privacy=Privacy(),  # type: ignore[arg-type]
        )
        reply = context[HANDOFF]
        assert isinstance(reply, Reply)
        assert ("Only the person who asked" in reply.text) is (clicker == "U0OTHER")
    assert forgotten == [("T0TEAM", "U0REP")]


def test_app_home_is_published_for_whoever_opened_it() -> None:
    from bot.slack.listeners.checkins import handle_app_home_opened

    published: list[tuple[str, str]] = []

    class UI:
        def publish_home(self, _client: object, team_id: str, user_id: str) -> None:
            published.append((team_id, user_id))

    for tab in ("messages", "home"):
        event = {"type": "app_home_opened", "user": "U0REP", "channel": "D0DM", "tab": tab}
        body = {
            "team_id": "T0TEAM",
            "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
        handle_app_home_opened(event, context_for(body), client=None, ui=UI())  # type: ignore[arg-type]
    assert published == [("T0TEAM", "U0REP")]
