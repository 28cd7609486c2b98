"""Kept connections to Slack (bot/slack/transport.py), against the fake Slack on 127.0.0.1:
reused across calls, replaced when the server closed them or they sat idle, one per
thread, and every failure reported as urllib would (delivery decides on it whether
Slack may have posted)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.error import URLError

import pytest
from prometheus_client import REGISTRY
from slack_sdk.errors import SlackApiError

from bot.services.ports import DeliveryFailed
from bot.slack import transport
from bot.slack.client import build_web_client, delivery_failure
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.tls import serve_tls


def _opened(reason: str) -> float:
    """reframe_slack_connections_total for this reason, in this process."""
    sample = REGISTRY.get_sample_value("reframe_slack_connections_total", {"reason": reason})
    return sample or 0.0


def _opened_for_any_reason() -> float:
    return sum(_opened(reason) for reason in ("first", "idle", "closed_by_server", "after_error"))


def _post(client: object, text: str = "a question?") -> None:
    client.chat_postMessage(channel="C1", text=text)  # type: ignore[attr-defined]


def test_calls_share_one_connection(fake_slack: FakeSlack) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    opened, counted = _opened_for_any_reason(), _opened("first")
    for n in range(5):
        _post(client, f"question {n}")
    assert len(fake_slack.calls("chat.postMessage")) == 5
    assert fake_slack.connections_accepted == 1
    assert _opened_for_any_reason() == opened + 1
    assert _opened("first") == counted + 1  # what an operator sees at /metrics


def test_clients_for_different_teams_share_the_thread_s_connection(fake_slack: FakeSlack) -> None:
    first = build_web_client(token="xoxb-one", base_url=fake_slack.api_url)
    second = build_web_client(token="xoxb-two", base_url=fake_slack.api_url)
    _post(first)
    _post(second)
    calls = fake_slack.calls("chat.postMessage")
    assert [c.headers["authorization"] for c in calls] == ["Bearer xoxb-one", "Bearer xoxb-two"]
    assert fake_slack.connections_accepted == 1


def test_a_connection_the_server_closed_is_replaced_without_an_error(
    fake_slack: FakeSlack,
) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    _post(client, "before")
    fake_slack.drop_connections()  # an idle timeout on Slack's side, say
    counted = _opened("closed_by_server")
    _post(client, "after")  # no retry handlers: this must not fail even once
    assert _opened("closed_by_server") == counted + 1
    assert [c.params["text"] for c in fake_slack.calls("chat.postMessage")] == ["before", "after"]
    assert fake_slack.connections_accepted == 2


def test_a_connection_idle_past_the_limit_is_not_reused(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    monkeypatch.setattr(transport, "IDLE_LIMIT_SECONDS", 0.0)
    _post(client)
    counted = _opened("idle")
    _post(client)
    assert fake_slack.connections_accepted == 2
    assert _opened("idle") == counted + 1


def test_a_call_http_client_refuses_leaves_the_connection_usable(fake_slack: FakeSlack) -> None:
    bad = build_web_client(token="xoxb-b\nad", base_url=fake_slack.api_url, retries=False)
    good = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    _post(good, "first")
    with pytest.raises(ValueError, match="header"):  # as urllib raises it: never sent
        _post(bad)
    counted = _opened("after_error")
    _post(good, "after")  # the thread's connection to this host still works
    assert _opened("after_error") == counted + 1
    assert [c.params["text"] for c in fake_slack.calls("chat.postMessage")] == ["first", "after"]


def test_a_kept_connection_waits_as_long_as_the_calling_client_says(
    fake_slack: FakeSlack,
) -> None:
    patient = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, timeout=10)
    quick = build_web_client(
        token="xoxb-test", base_url=fake_slack.api_url, timeout=0.5, retries=False
    )
    _post(patient)  # opens the connection with a 10 s timeout
    hold = fake_slack.hold("chat.postMessage", timeout=3.0)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            _post(quick)  # on the same connection: its own 0.5 s applies
        assert time.monotonic() - started < 2.0
    finally:
        hold.release()
    # The connection that timed out mid-answer is not used again (its answer may
    # still arrive on it): the next call opens a new one.
    counted = _opened("after_error")
    _post(patient, "after the timeout")
    assert _opened("after_error") == counted + 1
    assert fake_slack.connections_accepted == 2


def test_an_answer_that_closes_the_connection_is_followed_by_a_new_one(
    fake_slack: FakeSlack,
) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    fake_slack.answer_headers["Connection"] = "close"
    _post(client, "one")
    counted = _opened("closed_by_server")
    _post(client, "two")
    assert [c.params["text"] for c in fake_slack.calls("chat.postMessage")] == ["one", "two"]
    assert fake_slack.connections_accepted == 2
    assert _opened("closed_by_server") == counted + 1


def test_a_short_keep_alive_timeout_from_the_server_is_honoured(fake_slack: FakeSlack) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    fake_slack.answer_headers["Keep-Alive"] = "timeout=1, max=100"  # idle for under 0 s
    _post(client)
    counted = _opened("idle")
    _post(client)
    assert fake_slack.connections_accepted == 2
    assert _opened("idle") == counted + 1


@pytest.mark.parametrize(
    ("header", "limit"),
    [
        (None, transport.IDLE_LIMIT_SECONDS),
        ("timeout=2, max=100", 1.0),
        ("max=100, timeout=3", 2.0),
        ("Timeout = 1", 0.0),
        ("timeout=60", transport.IDLE_LIMIT_SECONDS),
        ("max=5", transport.IDLE_LIMIT_SECONDS),
        ("timeout=soon", transport.IDLE_LIMIT_SECONDS),
        ("max=1;timeout=2", 1.0),
        ('timeout="3"', 2.0),
        ("timeout=" + "9" * 5000, transport.IDLE_LIMIT_SECONDS),  # no int() of 5,000 digits
    ],
)
def test_the_server_s_keep_alive_timeout_can_only_shorten_the_idle_limit(
    header: str | None, limit: float
) -> None:
    assert transport._idle_limit(header) == limit


def test_each_thread_keeps_its_own_connection(fake_slack: FakeSlack) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    _post(client)
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            _post(client)
            _post(client)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    _post(client)
    assert errors == []
    assert len(fake_slack.calls("chat.postMessage")) == 4
    assert fake_slack.connections_accepted == 2


def test_a_forked_process_opens_its_own_connection(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    _post(client)
    # What a forked child sees: the parent's connections, under another pid.
    port = fake_slack.server.server_address[1]
    parent = transport._CONNECTIONS.kept[("http", "127.0.0.1", port)].connection
    monkeypatch.setattr(transport.os, "getpid", lambda: -1)
    _post(client)
    assert fake_slack.connections_accepted == 2
    assert parent.sock is not None  # the parent's connection was left open, not closed


def test_rate_limit_and_server_errors_reach_the_sdk_s_handlers(fake_slack: FakeSlack) -> None:
    patient = build_web_client(token="xoxb-test", base_url=fake_slack.api_url)
    fake_slack.fail("chat.postMessage", Fault(500), Fault(429, retry_after=0))
    _post(patient)  # retried by the SDK's handlers after a 500 and a 429, then posted
    assert fake_slack.rejected("chat.postMessage") == 2
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert fake_slack.connections_accepted == 1

    impatient = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    fake_slack.fail("chat.postMessage", Fault(429, retry_after=7))
    with pytest.raises(SlackApiError) as raised:
        _post(impatient)
    failure = delivery_failure(raised.value)
    assert (failure.reason, failure.retry_after, failure.maybe_delivered) == (
        "ratelimited",
        7.0,
        False,
    )


def test_slack_gone_is_never_sent_and_is_tried_again(fake_slack: FakeSlack) -> None:
    client = build_web_client(token="xoxb-test", base_url=fake_slack.api_url, retries=False)
    _post(client)
    fake_slack.stop()  # nothing listens any more; the kept connection is closed too
    with pytest.raises(URLError) as raised:
        _post(client)
    failure = delivery_failure(raised.value)
    assert failure.retryable and not failure.maybe_delivered


@pytest.fixture
def hangs_up_after_reading() -> Iterator[str]:
    """A server that reads a request and closes the connection without answering:
    whether it acted is unknown to the client."""
    listener = socket.create_server(("127.0.0.1", 0))
    read: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                read.append(connection.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/"
    listener.close()
    assert read and read[0].startswith(b"POST /api/chat.postMessage")


def test_a_call_dropped_after_it_was_sent_may_have_been_delivered(
    hangs_up_after_reading: str,
) -> None:
    client = build_web_client(token="xoxb-test", base_url=hangs_up_after_reading)
    with pytest.raises(OSError) as raised:  # not URLError: the SDK must not retry it
        _post(client)
    assert not isinstance(raised.value, URLError)
    failure: DeliveryFailed = delivery_failure(raised.value)
    assert failure.retryable and failure.maybe_delivered


def test_https_connections_are_kept_too() -> None:
    fake = FakeSlack()
    trusted = serve_tls(fake)
    fake.start()
    try:
        assert fake.api_url.startswith("https://")
        client = build_web_client(token="xoxb-test", base_url=fake.api_url)
        client.ssl = trusted
        for n in range(3):
            _post(client, f"question {n}")
        assert len(fake.calls("chat.postMessage")) == 3
        assert fake.connections_accepted == 1
    finally:
        fake.stop()


def test_an_untrusted_certificate_is_refused_before_anything_is_sent() -> None:
    fake = FakeSlack()
    serve_tls(fake)
    fake.start()
    try:
        client = build_web_client(token="xoxb-test", base_url=fake.api_url, retries=False)
        with pytest.raises(URLError):
            _post(client)  # the system's trust store does not know the fake's certificate
        assert fake.calls("chat.postMessage") == []
    finally:
        fake.stop()
