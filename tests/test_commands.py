"""`/reframe` over signed HTTP, and the router's rules."""

from __future__ import annotations

from sqlalchemy import select

from bot.slack.commands import CommandReply, CommandRequest, CommandRouter
from bot.storage.models import Nudge
from tests.conftest import RunningApp


def _texts(reply_json: dict) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") if b["type"] == "section" else str(b)
        for b in reply_json["blocks"]
    )


def test_reframe_situation_answers_privately_with_traps_and_questions(
    running_app: RunningApp,
) -> None:
    reply = running_app.slack.command("their VP is a total snake and he'll never sign with us")
    assert reply.status == 200
    # Slack waits 3 s for this: the answer is the response itself, made without calling
    # Slack (Bolt's one auth.test per token aside). Speed is the benchmarks' business
    # (`python -m bot bench detector`), not a test's.
    assert {call.method for call in running_app.fake.calls()} <= {"auth.test"}
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
    fake.add_channel("C0GENERAL", "general", creator="U0REP")
    vent = "their procurement lead is a clown, no one over there can stand him"
    s.message(vent, channel="C0GENERAL", ts="1.1")
    running_app.wait_until_idle()
    assert fake.calls("chat.postEphemeral") == []
    assert "listens" in _texts(s.command("channel on", channel="C0GENERAL").json())
    made_visible = s.command("channel mode thread", channel="C0GENERAL").json()
    assert "visible reply" in _texts(made_visible)
    assert made_visible["response_type"] == "in_channel"  # the channel is told
    s.message(vent, channel="C0GENERAL", ts="1.2")
    [call] = fake.wait_for("chat.postMessage")
    assert call.params["channel"] == "C0GENERAL" and call.params["thread_ts"] == "1.2"
    assert "no longer listens" in _texts(s.command("channel off", channel="C0GENERAL").json())
    s.message(vent, channel="C0GENERAL", ts="1.3", user="U0OTHER")
    running_app.wait_until_idle()
    assert len(fake.calls("chat.postMessage")) == 1


def test_only_the_creator_or_an_admin_can_make_nudges_visible(running_app: RunningApp) -> None:
    s, fake = running_app.slack, running_app.fake
    fake.add_channel("C0SHARED", "deal-globex", creator="U0CREATOR")
    fake.add_user("U0REP", is_admin=False)
    fake.add_user("U0ADMIN", is_admin=True)
    refused = s.command("channel mode thread", channel="C0SHARED", user="U0REP").json()
    assert refused["response_type"] == "ephemeral"
    assert "Only the creator" in _texts(refused) and "nothing was changed" in _texts(refused)
    status = _texts(s.command("channel status", channel="C0SHARED").json())
    assert "`ephemeral`" in status
    for user in ("U0CREATOR", "U0ADMIN"):
        allowed = s.command("channel mode thread", channel="C0SHARED", user=user).json()
        assert allowed["response_type"] == "in_channel"
        assert f"<@{user}>" in _texts(allowed)
        s.command("channel mode ephemeral", channel="C0SHARED", user="U0REP")  # anyone may
    assert "`ephemeral`" in _texts(s.command("channel status", channel="C0SHARED").json())


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


# --- questions that follow the rep: /reframe twice, its buttons, @Reframe alike ---------------

SITUATION = "their VP is a total snake and he'll never sign with us"


def _numbered(body: dict) -> list[str]:
    return [line[3:] for line in _texts(body).splitlines() if line[:2] in ("1.", "2.", "3.")]


def _nudge_id(body: dict) -> str:
    [actions] = [block for block in body["blocks"] if block["type"] == "actions"]
    values = {element["value"] for element in actions["elements"]}
    assert len(values) == 1
    return values.pop()


def test_reframe_twice_gives_a_different_first_question(running_app: RunningApp) -> None:
    first = _numbered(running_app.slack.command(SITUATION).json())
    second = _numbered(running_app.slack.command(SITUATION).json())
    assert first and second and first[0] != second[0]
    with running_app.reframe.db.transaction() as session:
        rows = session.scalars(select(Nudge).order_by(Nudge.id)).all()
        assert [(r.trigger, r.status) for r in rows] == [("command", "answered")] * 2
    running_app.reframe.run_jobs_once()  # an answered command is never swept or re-sent
    assert running_app.fake.calls("chat.postEphemeral") == []


def test_a_reframe_answer_can_be_rated_and_steers_the_next_move(running_app: RunningApp) -> None:
    app = running_app
    library = app.reframe.library
    body = app.slack.command(SITUATION).json()
    nudge_id = _nudge_id(body)
    app.slack.action("nudge_not_for_me", nudge_id, response_url=app.fake.response_url())
    [confirmation] = app.fake.wait_for("response_url")
    assert confirmation.params["replace_original"] is False  # the three questions stay
    assert "question 1" in _texts(body)
    with app.reframe.db.transaction() as session:
        rated = session.get(Nudge, int(nudge_id))
        assert rated is not None and rated.feedback == "not_for_me"
        disliked = library.get(rated.question_id).move  # type: ignore[union-attr]
    for _ in range(3):
        again = app.slack.command(SITUATION).json()
        first = next(q for q in library.questions if q.text == _numbered(again)[0])
        assert first.move != disliked


def test_mention_and_command_say_what_they_heard_alike(running_app: RunningApp) -> None:
    app = running_app
    text = "their procurement lead is a clueless bully"
    command_text = _texts(app.slack.command(text).json())
    event = {
        "type": "app_mention",
        "channel": "C0DEAL",
        "user": "U0REP",
        "ts": "1700000010.000100",
        "text": f"<@UBOT> {text}",
    }
    assert app.slack.event(event).status == 200
    [call] = app.fake.wait_for("chat.postEphemeral")
    mention_text = str(call.params["blocks"])
    assert "What I heard" in command_text and "What I heard" in mention_text
    assert "calling the customer names" in command_text
    assert "calling the customer names" in mention_text
    assert "nudge_helpful" in mention_text  # both answers can be rated


def test_making_nudges_visible_while_slack_is_down_changes_nothing(
    running_app: RunningApp,
) -> None:
    from tests.fakes.slack_api import Fault

    s, fake = running_app.slack, running_app.fake
    fake.add_channel("C0DOWN", "deal-initech", creator="U0REP")
    fake.fail("conversations.info", Fault(500))
    reply = s.command("channel mode thread", channel="C0DOWN").json()
    assert reply["response_type"] == "ephemeral" and "nothing was changed" in _texts(reply)
    assert "`ephemeral`" in _texts(s.command("channel status", channel="C0DOWN").json())
