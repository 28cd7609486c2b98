"""What a rep writes never reaches the logs, whatever path it takes through the app.

One unique canary phrase goes through every kind of request Slack sends (events,
/reframe and its sub-commands, buttons, the note modal, payloads that are
malformed or make a listener fail, a Slack that answers 500), with logging set
up as production sets it (`configure_logging`), at DEBUG and INFO, in both
formats. The capture sits on the root logger; the library loggers (Bolt,
slack_sdk, urllib3, SQLAlchemy) propagate to it, so what they let through is
seen too.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.config import configure_logging
from bot.slack.checkin_blocks import NOTE_BLOCK, NOTE_INPUT, NOTE_VIEW
from bot.slack.listeners.privacy import FORGET_CONFIRM
from bot.storage.db import Database
from bot.storage.models import Checkin, Nudge
from tests.conftest import RunningApp
from tests.fakes.slack_api import Fault
from tests.fakes.slack_requests import TEAM
from tests.test_checkins_e2e import dm_container, send_now

MARK = "okapi-canary-5150"  # unique, lower case, safe in JSON and in a form body
CANARY = f"{MARK} their CFO is a total clown and will never sign this"
# A word of superscript digits: str.isdigit() says yes, int() says no, and says the word.
DIGITS_MARK = "\u2074\u00b2\u2075\u00b9\u2075\u2070"  # ⁴²⁵¹⁵⁰
LIBRARY_LOGGERS = ("slack_bolt", "slack_sdk", "urllib3", "sqlalchemy")
SLACK_500 = Fault(500)


def note_values(note: str) -> dict[str, dict[str, dict[str, str]]]:
    return {NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": note}}}


def allow_writes(db: Database, table: str, verb: str) -> None:
    """Undo refuse_writes (PostgreSQL keeps the schema from test to test)."""
    name = f"refuse_{verb.lower()}_{table}"
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if db.is_postgres else "")
        )
        if db.is_postgres:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def refuse_writes(db: Database, table: str, verb: str) -> None:
    """The database refuses every INSERT or UPDATE on `table`, as a full disk would."""
    name = f"refuse_{verb.lower()}_{table}"
    with db.engine.begin() as connection:
        if db.is_postgres:
            connection.exec_driver_sql(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
            )
            connection.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
            return
        connection.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )


# -- the paths --------------------------------------------------------------------


def events(app: RunningApp) -> None:
    s = app.slack
    assert s.message(CANARY, ts="1700000100.000100").status == 200  # a deal channel
    app.fake.wait_for("chat.postEphemeral")
    mention = {"type": "app_mention", "channel": "C0GENERAL", "user": "U0REP"}
    assert (
        s.event({**mention, "text": f"<@UBOT> {CANARY}", "ts": "1700000100.000200"}).status == 200
    )
    dm = {"type": "message", "channel": "D0REP", "channel_type": "im", "user": "U0REP"}
    assert s.event({**dm, "text": CANARY, "ts": "1700000100.000300"}).status == 200
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0DEAL",
        "channel_type": "channel",
        "message": {"type": "message", "user": "U0REP", "text": CANARY, "ts": "1.1"},
        "previous_message": {"type": "message", "user": "U0REP", "text": CANARY, "ts": "1.1"},
        "ts": "1700000100.000400",
    }
    assert s.event(edit).status == 200
    assert s.message(CANARY, user="U0OTHERBOT", bot_id="B0OTHER").status == 200


def commands(app: RunningApp) -> None:
    s = app.slack
    answered = s.command(CANARY)
    assert answered.status == 200 and answered.json()["response_type"] == "ephemeral"
    for text in (
        MARK,  # one bare word: "I don't know /reframe …"
        f"checkin {MARK}",
        f"checkin fri {MARK}",
        f"checkin {MARK} 16:30",
        f"checkin {DIGITS_MARK} 16:30",
        f"channel {MARK}",
        f"channel mode {MARK}",
        f"forget-me {MARK}",
        f"help {MARK}",
        f"channel mode thread {CANARY}",
    ):
        assert s.command(text).status == 200, text


def nudge_buttons(app: RunningApp) -> None:
    s = app.slack
    s.message(CANARY)
    app.fake.wait_for("chat.postEphemeral")
    with app.reframe.db.transaction() as session:
        nudge_id = str(session.scalars(select(Nudge.id)).one())
    for action_id in ("nudge_helpful", "nudge_not_for_me", "nudge_pause"):
        assert s.action(action_id, nudge_id, response_url=app.fake.response_url()).status == 200
        assert s.action(action_id, CANARY, response_url=app.fake.response_url()).status == 200
    assert s.action(FORGET_CONFIRM, CANARY, response_url=app.fake.response_url()).status == 200


def checkin_buttons_and_note(app: RunningApp) -> None:
    s = app.slack
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    where = {"response_url": app.fake.response_url(), "container": dm_container(posted)}
    assert s.action("checkin_answer_both", checkin_id, **where).status == 200  # type: ignore[arg-type]
    assert s.action("checkin_answer_both", CANARY, **where).status == 200  # type: ignore[arg-type]
    assert s.action("checkin_note", CANARY, **where).status == 200  # type: ignore[arg-type]
    saved = s.view_submission(NOTE_VIEW, note_values(CANARY), private_metadata=checkin_id)
    assert saved.status == 200
    # Opening the modal again sends the note back to Slack as the field's value.
    assert s.action("checkin_note", checkin_id, **where).status == 200  # type: ignore[arg-type]
    app.fake.wait_for("views.open")
    s.event({"type": "app_home_opened", "user": "U0REP", "channel": "D0REP", "tab": "home"})
    app.fake.wait_for("views.publish")
    with app.reframe.db.transaction() as session:
        assert session.scalars(select(Checkin.note)).one() == CANARY  # it went all the way


def view_submissions(app: RunningApp) -> None:
    s = app.slack
    assert s.view_submission(NOTE_VIEW, note_values(CANARY), private_metadata=MARK).status == 200
    assert s.view_submission(NOTE_VIEW, note_values(CANARY), private_metadata="999").status == 200
    unknown = s.view_submission("not_our_modal", note_values(CANARY), private_metadata=CANARY)
    assert unknown.status == 404  # not ours: Bolt says so, and logs only its ids


def listener_raising(app: RunningApp) -> None:
    """The database refuses the write a listener makes: the error is logged, not its data."""
    s = app.slack
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    refuse_writes(app.reframe.db, "checkins", "UPDATE")
    refuse_writes(app.reframe.db, "nudges", "INSERT")
    try:
        note = s.view_submission(NOTE_VIEW, note_values(CANARY), private_metadata=checkin_id)
        assert note.status == 500
        assert s.message(CANARY, ts="1700000200.000100").status == 500
        assert "went wrong" in s.command(CANARY).json()["text"]
    finally:
        allow_writes(app.reframe.db, "checkins", "UPDATE")
        allow_writes(app.reframe.db, "nudges", "INSERT")


def slack_failing(app: RunningApp) -> None:
    """Slack answers 500 while a listener or a delivery is handling the canary."""
    s, fake = app.slack, app.fake
    posted = send_now(app)
    checkin_id = posted["blocks"][2]["elements"][3]["value"]
    where = {"response_url": fake.response_url(), "container": dm_container(posted)}
    fake.add_channel("C0NEWDEAL", "deal-initech")
    fake.fail("conversations.info", SLACK_500)
    assert s.message(CANARY, channel="C0NEWDEAL", ts="1700000300.000100").status == 500
    fake.fail("chat.postEphemeral", *[SLACK_500] * 3)
    assert s.message(CANARY, ts="1700000300.000200").status == 200
    fake.fail("chat.update", *[SLACK_500] * 3)
    saved = s.view_submission(NOTE_VIEW, note_values(CANARY), private_metadata=checkin_id)
    assert saved.status == 200
    fake.fail("views.open", *[SLACK_500] * 3)
    assert s.action("checkin_note", checkin_id, **where).status == 200  # type: ignore[arg-type]
    fake.fail("conversations.info", SLACK_500)
    assert "didn't answer" in s.command("channel mode thread").json()["text"]
    fake.fail("response_url", SLACK_500)
    assert s.action("nudge_helpful", CANARY, response_url=fake.response_url()).status == 200


def malformed(app: RunningApp) -> None:
    s = app.slack
    event = {"type": "message", "channel": "C0DEAL", "user": "U0REP", "text": CANARY}
    for body, content_type in (
        (json.dumps({"type": "event_callback", "team_id": TEAM, "event": CANARY}), "json"),
        (
            json.dumps({"type": "event_callback", "team_id": TEAM, "event": {**event, "type": 7}}),
            "json",
        ),
        (json.dumps([CANARY]), "json"),
        (f'{{"type": "event_callback", "text": "{CANARY}"', "json"),
        (urlencode({"payload": f'{{"type": "block_actions", "x": "{CANARY}"'}), "form"),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "actions": CANARY})}),
            "form",
        ),
        (urlencode({"command": "/reframe", "text": CANARY, "team_id": TEAM}), "form"),
    ):
        kind = "application/json" if content_type == "json" else "application/x-www-form-urlencoded"
        assert s.post(body, kind).status < 500


PATHS: dict[str, Callable[[RunningApp], None]] = {
    "events": events,
    "slash commands": commands,
    "nudge buttons": nudge_buttons,
    "check-in buttons and note": checkin_buttons_and_note,
    "view submissions": view_submissions,
    "a listener raising": listener_raising,
    "Slack answering 500": slack_failing,
    "malformed payloads": malformed,
}


# -- logging as production sets it ----------------------------------------------


@pytest.fixture(params=["DEBUG", "INFO"])
def log_level(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["json", "text"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def captured_logs(
    running_app: RunningApp, log_level: str, log_format: str
) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_root = root.level, root.handlers[:]
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    root.handlers = [logging.StreamHandler(stream)]
    settings = running_app.reframe.settings.model_copy(
        update={"log_level": log_level, "log_format": log_format}
    )
    configure_logging(settings)
    for name in LIBRARY_LOGGERS:
        assert logging.getLogger(name).propagate, f"{name} would not reach the capture"
    yield stream
    root.setLevel(saved_root[0])
    root.handlers = saved_root[1]
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("path", list(PATHS.values()), ids=list(PATHS))
def test_the_canary_reaches_no_log_line(
    running_app: RunningApp,
    captured_logs: io.StringIO,
    log_level: str,
    log_format: str,
    path: Callable[[RunningApp], None],
) -> None:
    path(running_app)
    # The capture hears the app's loggers (a slash command at INFO may log nothing else).
    logging.getLogger("bot.observability.logs").info("capture check")
    running_app.reframe.after_ack.shutdown(wait=True)  # everything done after the answers
    running_app.reframe.background.shutdown(wait=True)
    output = captured_logs.getvalue()
    lines = output.splitlines()
    assert any("capture check" in line for line in lines)
    if log_level == "DEBUG":  # routine acks are logged at DEBUG only
        assert any("slack request" in line for line in lines)
    if log_format == "json":
        assert all(json.loads(line)["level"] for line in lines if line.startswith("{"))
    if log_level == "DEBUG":
        assert any("DEBUG" in line for line in lines)
    leaked = [line for line in map(_readable, lines) if _carries_canary(line)]
    assert not leaked, "\n".join(leaked[:5])


def _readable(line: str) -> str:
    """A JSON line with its \\u escapes undone, so a non-ASCII canary is seen too."""
    if line.startswith("{"):
        return json.dumps(json.loads(line), ensure_ascii=False)
    return line


def _carries_canary(line: str) -> bool:
    return any(mark in line for mark in (MARK, "total clown", DIGITS_MARK))
