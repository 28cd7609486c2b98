"""Listeners are plain functions (`handle_<trigger>`) that `register(app)` wires, so
each can be read and called alone, as here, with stand-ins for what it needs."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext

from bot.services.nudges import IncomingMessage
from bot.slack.listeners.commands import handle_reframe_command
from bot.slack.listeners.events import handle_channel_rename, handle_message


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
        BoltContext({"bot_user_id": "UBOT"}),
        nudges=nudges,  # type: ignore[arg-type]
        deliver=delivered.append,
        external_members=False,
    )
    assert [m.text for m in nudges.seen] == ["their DM is a jerk"]
    assert delivered == [7]


def test_a_bot_or_a_slack_connect_stranger_is_not_even_decided_on() -> None:
    nudges = Nudges(answer=7)
    for extra in ({"bot_id": "B0"}, {"user_team": "T0ELSE"}):
        body, event = message_body(**extra)
        body["is_ext_shared_channel"] = True
        handle_message(
            body,
            event,
            BoltContext({}),
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
    handle_channel_rename({"team_id": "T0TEAM"}, event, channels=Channels())  # type: ignore[arg-type]
    assert renamed == [("T0TEAM", "C0DEAL", "deal-acme")]


def test_a_command_missing_its_ids_is_answered_not_routed() -> None:
    answers: list[dict[str, Any]] = []

    class Router:
        def route(self, request: object) -> object:
            raise AssertionError("a request without ids must not be routed")

    handle_reframe_command(
        lambda **kwargs: answers.append(kwargs),  # type: ignore[arg-type]
        {"text": "help"},
        router=Router(),  # type: ignore[arg-type]
    )
    assert "missing the team, user or channel" in answers[0]["text"]
