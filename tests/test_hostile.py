"""Hostile input through the signed HTTP endpoint of one running app: whatever
arrives, the answer is never a 5xx and the app stays healthy; requests with a
bad or old signature change nothing at all."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.processes.web import make_http_server, serve_in_thread
from bot.slack.checkin_blocks import NOTE_VIEW
from bot.storage.models import Nudge, Rep
from bot.wiring import Reframe, build
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackSender

HOSTILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class App:
    def __init__(self, reframe: Reframe, sender: SlackSender, fake: FakeSlack) -> None:
        self.reframe, self.slack, self.fake = reframe, sender, fake

    def count(self, model: type) -> int:
        with self.reframe.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    fake = FakeSlack().start()
    fake.add_channel("C0DEAL", "deal-acme-renewal")
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'reframe.db'}"
    reframe = build(make_settings(url, fake))
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    yield App(reframe, SlackSender(f"http://127.0.0.1:{server.server_address[1]}"), fake)
    assert SlackSender(f"http://127.0.0.1:{server.server_address[1]}").get("/healthz").status == 200
    server.shutdown()
    server.server_close()
    reframe.shutdown()
    fake.stop()


# -- strategies ---------------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),  # control characters
    st.sampled_from(["", " ", "\x00", "\ud7ff" * 3, "<@UBOT>", "a" * 40_000, "💥" * 5000]),
    st.builds(lambda s, n: s * n, st.sampled_from(["never ", "jerk "]), st.integers(1, 3000)),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ids = st.one_of(st.sampled_from(["C0DEAL", "U0REP", "T0TEAM", "1700000000.000100"]), json_values)


def deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["message", "app_mention", "channel_rename", "reaction_added"])
        | json_values,
        "channel": ids,
        "user": ids,
        "text": texts | json_values,
        "ts": ids,
    },
    optional={
        "channel_type": st.sampled_from(["channel", "group", "im"]) | json_values,
        "subtype": st.sampled_from(["bot_message", "thread_broadcast"]) | json_values,
        "thread_ts": ids,
        "bot_id": json_values,
        "blocks": json_values,
        "nested": st.integers(1, 300).map(deep),  # hypothesis prints examples
    },
)
envelopes = st.fixed_dictionaries(
    {
        "type": st.just("event_callback") | json_values,
        "team_id": ids,
        "event": events | json_values,
    },
    optional={"event_id": ids, "authorizations": json_values, "extra": json_values},
)


def _assert_answered(status: int) -> None:
    assert status < 500, status


# -- signed hostile requests ----------------------------------------------------------


@HOSTILE
@given(envelope=envelopes)
def test_hostile_events_never_5xx(app: App, envelope: dict[str, Any]) -> None:
    _assert_answered(app.slack.post(json.dumps(envelope), "application/json").status)


@HOSTILE
@given(
    text=texts,
    user=st.text(max_size=30),
    channel=st.text(max_size=30),
    command=st.sampled_from(["/reframe", "/other", ""]),
    extra=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=50), max_size=3),
)
def test_hostile_commands_never_5xx(
    app: App, text: str, user: str, channel: str, command: str, extra: dict[str, str]
) -> None:
    form = {
        **extra,
        "command": command,
        "text": text,
        "team_id": "T0TEAM",
        "user_id": user,
        "channel_id": channel,
        "response_url": "http://127.0.0.1:9/none",
        "trigger_id": "1.2.3",
    }
    body = urlencode(form, errors="surrogatepass")
    _assert_answered(app.slack.post(body, "application/x-www-form-urlencoded").status)


@HOSTILE
@given(
    kind=st.sampled_from(["block_actions", "view_submission", "shortcut"]) | json_values,
    actions=st.lists(
        st.fixed_dictionaries({"action_id": texts | json_values, "value": texts | json_values}),
        max_size=3,
    )
    | json_values,
    rest=st.dictionaries(st.sampled_from(["user", "team", "channel", "view"]), json_values),
)
def test_hostile_actions_never_5xx(app: App, kind: Any, actions: Any, rest: dict[str, Any]) -> None:
    payload = {"type": kind, "actions": actions, **rest}
    body = urlencode({"payload": json.dumps(payload)})
    _assert_answered(app.slack.post(body, "application/x-www-form-urlencoded").status)


@HOSTILE
@given(
    raw=st.binary(max_size=2000),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
    ),
)
def test_hostile_raw_bodies_never_5xx(app: App, raw: bytes, content_type: str) -> None:
    body = raw.decode("utf-8", errors="replace")
    _assert_answered(app.slack.post(body, content_type).status)


def test_deep_json_and_huge_bodies(app: App) -> None:
    deep_body = '{"type": "event_callback", "event": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _assert_answered(app.slack.post(deep_body, "application/json").status)
    event = {"type": "message", "text": "a" * 2_000_000}
    huge = json.dumps({"type": "event_callback", "event": event})
    # The server may close before the upload ends (it never reads the body): also fine.
    with contextlib.suppress(OSError):
        assert app.slack.post(huge, "application/json").status == 413
    assert app.slack.get("/healthz").status == 200


def test_still_healthy_and_still_nudging_afterwards(app: App) -> None:
    assert app.slack.get("/healthz").status == 200
    assert app.slack.get("/readyz").status == 200
    before = len(app.fake.calls("chat.postEphemeral"))
    reply = app.slack.message(
        "their DM is a jerk tbh, he'll never give us a shot", user="U0AFTER", ts="1800000000.000001"
    )
    assert reply.status == 200
    assert len(app.fake.wait_for("chat.postEphemeral", before + 1)) == before + 1


# -- unsigned, badly signed and replayed requests ----------------------------------------


@HOSTILE
@given(
    envelope=envelopes,
    signature=st.sampled_from(["", "v0=", "v0=" + "0" * 64, "v1=abc"])
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80),
    stale=st.booleans(),
)
def test_bad_or_old_signatures_change_nothing(
    app: App, envelope: dict[str, Any], signature: str, stale: bool
) -> None:
    rows_before = (app.count(Nudge), app.count(Rep))
    calls_before = len(app.fake.calls())
    body = json.dumps(envelope)
    if stale:
        # A correct signature over a timestamp from 10 minutes ago: a replay.
        status = app.slack.post(body, "application/json", timestamp=int(time.time()) - 600).status
    else:
        # SlackSender signs when given no signature; an empty one goes in as a header.
        status = app.slack.post(
            body, "application/json", signature="v0=x", headers={"X-Slack-Signature": signature}
        ).status
    assert status in (400, 401)
    assert (app.count(Nudge), app.count(Rep)) == rows_before
    assert len(app.fake.calls()) == calls_before


# -- signed but out of range: a clear 400, never a 500 (issue 10) ---------------------------


def _signed_event(text: str = "their CFO is a clueless jerk", **overrides: Any) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel": "C0DEAL",
        "user": "U0REP",
        "text": text,
        "ts": f"{time.time():.6f}",
        "channel_type": "channel",
    }
    body = {
        "token": "legacy",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
        "event": event,
    }
    for key, value in overrides.items():
        (event if key in event else body)[key] = value
    return body


@pytest.mark.parametrize(
    "overrides",
    [{"user": "U" + "X" * 40}, {"channel": "C" + "9" * 40}, {"team_id": "T" + "Z" * 40}],
    ids=["user", "channel", "team"],
)
def test_ids_longer_than_slack_ever_sends_are_a_400(app: App, overrides: dict[str, str]) -> None:
    rows_before = (app.count(Nudge), app.count(Rep))
    reply = app.slack.post(json.dumps(_signed_event(**overrides)), "application/json")
    assert reply.status == 400
    assert (app.count(Nudge), app.count(Rep)) == rows_before


@pytest.mark.parametrize("value", [str(2**31), str(2**63), "9" * 40])
def test_button_values_past_a_database_integer_are_refused(app: App, value: str) -> None:
    before = len(app.fake.calls("response_url"))
    reply = app.slack.action("nudge_helpful", value, response_url=app.fake.response_url())
    assert reply.status == 200  # acknowledged; the rep is told nothing was changed
    answers = app.fake.wait_for("response_url", before + 1)
    assert len(answers) == before + 1
    assert "nothing was changed" in answers[-1].params["text"]


@pytest.mark.parametrize("timestamp", ["soon", "1e99", "-1", "", " 1700000000", "0x10"])
def test_a_garbage_timestamp_header_is_a_400_or_401(app: App, timestamp: str) -> None:
    body = json.dumps(_signed_event())
    reply = app.slack.post(
        body, "application/json", headers={"X-Slack-Request-Timestamp": timestamp}
    )
    assert reply.status in (400, 401)


@pytest.mark.parametrize(("drop", "status"), [("type", 400), ("callback_id", 400), ("state", 200)])
def test_a_modal_missing_its_view_fields_is_refused_or_answered(
    app: App, drop: str, status: int
) -> None:
    view = {
        "id": "V0VIEW",
        "team_id": "T0TEAM",
        "type": "modal",
        "callback_id": NOTE_VIEW,
        "private_metadata": "1",
        "state": {"values": {}},
        "hash": "1.abc",
    }
    del view[drop]
    payload = {
        "type": "view_submission",
        "team": {"id": "T0TEAM", "domain": "test"},
        "user": {"id": "U0REP", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "trigger_id": "1337.43.abcd",
        "view": view,
    }
    body = urlencode({"payload": json.dumps(payload)})
    reply = app.slack.post(body, "application/x-www-form-urlencoded")
    assert reply.status == status  # a submission with no state is acked, not a 500


def test_a_body_that_is_not_utf8_is_refused_not_a_500(app: App) -> None:
    import urllib.request

    from tests.fakes.slack_requests import _send

    request = urllib.request.Request(
        app.slack.base_url + "/slack/events",
        data=b'{"type": "event_callback", "x": "\\xff\\xfe"}'.replace(b"\\xff\\xfe", b"\xff\xfe"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert _send(request).status in (400, 401)


def test_a_timestamp_of_thousands_of_digits_is_a_400(app: App) -> None:
    body = json.dumps(_signed_event())
    reply = app.slack.post(
        body, "application/json", headers={"X-Slack-Request-Timestamp": "9" * 5000}
    )
    assert reply.status == 400


def test_without_a_signing_secret_no_slack_request_gets_through() -> None:
    """A ReframeWSGI built with no secret refuses Slack's POSTs instead of passing
    them to Bolt (which would check them against an empty key anybody can use)."""
    import hashlib
    import hmac
    import io

    from bot.processes.web import ReframeWSGI

    dispatched: list[object] = []

    class NoBolt:
        def dispatch(self, request: object) -> None:  # pragma: no cover - must not run
            dispatched.append(request)

    wsgi = ReframeWSGI(NoBolt(), live=lambda: True, ready=lambda: True)  # type: ignore[arg-type]
    body = b'{"type":"event_callback","team_id":"T1","event":{"type":"message"}}'
    stamp = "1700000000"
    basestring = f"v0:{stamp}:{body.decode()}".encode()
    signature = "v0=" + hmac.new(b"", basestring, hashlib.sha256).hexdigest()
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": signature,  # signed with the empty key
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body),
    }
    wsgi(environ, lambda status, headers, *rest: statuses.append(status))
    assert statuses and statuses[0].startswith("401")
    assert dispatched == []
