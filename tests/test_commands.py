"""`/reframe` over signed HTTP, and the router's rules."""

from __future__ import annotations

import time

from bot.slack.commands import CommandReply, CommandRequest, CommandRouter
from tests.conftest import RunningApp


def _texts(reply_json: dict) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") if b["type"] == "section" else str(b)
        for b in reply_json["blocks"]
    )


def test_reframe_situation_answers_privately_with_traps_and_questions(
    running_app: RunningApp,
) -> None:
    started = time.monotonic()
    reply = running_app.slack.command("their VP is a total snake and he'll never sign with us")
    assert time.monotonic() - started < 3
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    text = _texts(body)
    assert "What I heard" in text
    assert "calling the customer names" in text
    numbered = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert 2 <= len(numbered) <= 3
    assert all(line.rstrip().endswith("?") for line in numbered)


def test_reframe_without_trap_still_offers_questions(running_app: RunningApp) -> None:
    body = running_app.slack.command("the renewal call with Acme is on Thursday").json()
    text = _texts(body)
    assert "No thinking trap stood out" in text
    assert text.count("?") >= 2


def test_reframe_alone_offers_one_question(running_app: RunningApp) -> None:
    body = running_app.slack.command("").json()
    assert body["response_type"] == "ephemeral"
    assert "One question to reflect on" in _texts(body)


def test_help_lists_every_subcommand(running_app: RunningApp) -> None:
    text = _texts(running_app.slack.command("help").json())
    for usage in running_app.reframe.router.usages():
        assert usage[0] in text
    assert "/reframe channel" in text


def test_unknown_subcommand_gets_help_not_an_error(running_app: RunningApp) -> None:
    reply = running_app.slack.command("frobnicate")
    assert reply.status == 200
    text = _texts(reply.json())
    assert "I don't know `/reframe frobnicate`" in text and "Reframe commands" in text


def test_channel_on_makes_any_channel_a_deal_channel_and_mode_thread(
    running_app: RunningApp,
) -> None:
    s, fake = running_app.slack, running_app.fake
    vent = "their procurement lead is a clown, no one over there can stand him"
    s.message(vent, channel="C0GENERAL", ts="1.1")
    time.sleep(0.2)
    assert fake.calls("chat.postEphemeral") == []
    assert "listens" in _texts(s.command("channel on", channel="C0GENERAL").json())
    assert "visible reply" in _texts(s.command("channel mode thread", channel="C0GENERAL").json())
    s.message(vent, channel="C0GENERAL", ts="1.2")
    [call] = fake.wait_for("chat.postMessage")
    assert call.params["channel"] == "C0GENERAL" and call.params["thread_ts"] == "1.2"
    assert "no longer listens" in _texts(s.command("channel off", channel="C0GENERAL").json())
    s.message(vent, channel="C0GENERAL", ts="1.3", user="U0OTHER")
    time.sleep(0.3)
    assert len(fake.calls("chat.postMessage")) == 1


def test_channel_mode_dm(running_app: RunningApp) -> None:
    running_app.slack.command("channel mode dm")
    running_app.slack.message("their CFO is a jerk and he only cares about his bonus")
    [call] = running_app.fake.wait_for("chat.postMessage")
    assert call.params["channel"] == "U0REP"
    assert "<#C0DEAL>" in str(call.params["blocks"])


def test_router_sends_multiword_text_to_the_fallback() -> None:
    seen: list[str] = []

    def fallback(request: CommandRequest) -> CommandReply:
        seen.append(request.text)
        return CommandReply(text="ok")

    router = CommandRouter(fallback, [])
    router.add("channel", "/reframe channel on", "x", lambda r: CommandReply(text="ch:" + r.text))
    request = CommandRequest("T", "U", "C", None, "  channel   on ")
    assert router.route(request).text == "ch:on"
    router.route(CommandRequest("T", "U", "C", None, "they never   answer my emails"))
    assert seen == ["they never answer my emails"]
