"""Faults on both sides: Slack's Web API rate-limiting, failing, slow or unreachable,
and the database dropping every connection mid-run. Each case ends the same way:
every vent has exactly one nudge row, marked sent, and exactly one
chat.postEphemeral call. Nothing lost, nothing doubled."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from bot.domain.clock import FixedClock
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.models import Channel, Nudge
from bot.wiring import Reframe, build
from tests.conftest import RunningApp, make_settings
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.slack_requests import SlackSender

VENT = "their DM is a jerk tbh, he'll never give us a shot"


def rows(reframe: Reframe) -> list[Nudge]:
    """Every nudge row. After connections were killed, the first statement on a pooled
    connection killed just before the killer stopped fails and invalidates the pool
    (bot/storage/db.py: PING_AFTER_IDLE_SECONDS), as for any request; one more try
    reads from a fresh connection."""
    for attempt in range(2):
        try:
            with reframe.db.transaction() as session:
                return list(session.scalars(select(Nudge).order_by(Nudge.id)))
        except OperationalError:
            if attempt:
                raise
    raise AssertionError("not reached")


def send_vents(sender: SlackSender, count: int, *, first: int = 0) -> list[str]:
    """One vent from each of `count` reps (cooldown allows one per rep and channel)."""
    users = [f"U0VENT{first + i:03d}" for i in range(count)]
    for i, user in enumerate(users):
        reply = sender.message(VENT, user=user, ts=f"1700000100.{first + i:06d}")
        assert reply.status == 200
    return users


def drain(reframe: Reframe) -> None:
    """Let the deliveries started by requests finish (as on SIGTERM)."""
    reframe.background.shutdown(wait=True)


def sweep_until_sent(app: RunningApp, rounds: int = 5) -> None:
    """What the scheduler does over the next minutes: retry what is due.

    Steps of 2.5 minutes pass every backoff and the claim lease of a delivery
    cut off mid-way, and five of them stay inside the 15-minute delivery window.
    """
    drain(app.reframe)
    for _ in range(rounds):
        if all(n.status == "sent" for n in rows(app.reframe)):
            return
        app.clock.advance(timedelta(minutes=2, seconds=30))
        app.reframe.run_jobs_once()


def sweep_until_settled(app: RunningApp, rounds: int = 5) -> None:
    """Like sweep_until_sent, for outcomes other than "sent" too."""
    drain(app.reframe)
    for _ in range(rounds):
        if all(n.status not in ("pending", "sending") for n in rows(app.reframe)):
            return
        app.clock.advance(timedelta(minutes=2, seconds=30))
        app.reframe.run_jobs_once()


def wait_until_answered(fake: FakeSlack, method: str, timeout: float = 5.0) -> None:
    """Until the fake has answered every fault queued for `method` (slow ones too)."""
    deadline = time.monotonic() + timeout
    while fake.state.faults[method] or fake.rejected(method) + len(fake.calls(method)) == 0:
        assert time.monotonic() < deadline, f"fake Slack never answered {method}"
        time.sleep(0.02)


def use_mode(app: RunningApp, mode: str) -> None:
    """The deal channel's choice of delivery, as `/reframe channel mode` stores it."""
    with app.reframe.db.transaction() as session:
        session.merge(
            Channel(team_id="T0TEAM", channel_id="C0DEAL", mode=mode, updated_at=app.clock.now())
        )


def assert_each_vent_nudged_once(reframe: Reframe, fake: FakeSlack, users: list[str]) -> None:
    nudges = rows(reframe)
    assert sorted(n.user_id for n in nudges) == sorted(users), "rows"
    assert {n.status for n in nudges} == {"sent"}
    calls = fake.calls("chat.postEphemeral")
    assert sorted(c.params["user"] for c in calls) == sorted(users), "calls"


def test_rate_limits_with_retry_after_lose_and_double_nothing(running_app: RunningApp) -> None:
    fake = running_app.fake
    # More 429s than the client's own two retries, so some wait for the sweep.
    fake.fail("chat.postEphemeral", *[Fault(429, retry_after=1)] * 6)
    users = send_vents(running_app.slack, 4)
    sweep_until_sent(running_app)
    assert fake.rejected("chat.postEphemeral") == 6
    assert_each_vent_nudged_once(running_app.reframe, fake, users)


def test_retry_after_as_an_http_date_is_honoured_not_a_crash(running_app: RunningApp) -> None:
    fake = running_app.fake
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    # Two for the client's own retries, then one the sweep picks up.
    fake.fail("chat.postEphemeral", *[Fault(429, retry_after=soon)] * 3)
    users = send_vents(running_app.slack, 1)
    sweep_until_sent(running_app)
    assert fake.rejected("chat.postEphemeral") == 3
    assert_each_vent_nudged_once(running_app.reframe, fake, users)


def test_server_errors_lose_and_double_nothing(running_app: RunningApp) -> None:
    fake = running_app.fake
    fake.fail("chat.postEphemeral", *[Fault(500)] * 7)
    users = send_vents(running_app.slack, 4)
    sweep_until_sent(running_app)
    assert fake.rejected("chat.postEphemeral") == 7
    assert_each_vent_nudged_once(running_app.reframe, fake, users)


def test_slow_answers_within_the_timeout_are_just_slow(running_app: RunningApp) -> None:
    fake = running_app.fake
    fake.fail("chat.postEphemeral", *[Fault(200, delay=0.5)] * 4)
    users = send_vents(running_app.slack, 4)
    sweep_until_sent(running_app)
    assert_each_vent_nudged_once(running_app.reframe, fake, users)


def test_an_answer_after_the_timeout_does_not_show_an_ephemeral_nudge_twice(
    running_app: RunningApp,
) -> None:
    """Slack took the post but answered after the client gave up. An ephemeral
    message leaves nothing to look up, so the doubtful retry is dropped: the rep
    sees the nudge once, and the row says it is unconfirmed."""
    fake = running_app.fake
    running_app.reframe.bolt.client.timeout = 1  # the patient client's 10 s, shortened
    fake.fail("chat.postEphemeral", Fault(200, delay=1.5))
    users = send_vents(running_app.slack, 1)
    drain(running_app.reframe)
    fake.wait_for("chat.postEphemeral")  # Slack finishes what it took
    sweep_until_settled(running_app)
    assert len(fake.calls("chat.postEphemeral")) == 1
    (nudge,) = rows(running_app.reframe)
    assert (nudge.status, nudge.in_doubt) == ("unconfirmed", True)
    assert nudge.user_id == users[0]


@pytest.mark.parametrize("mode", ["thread", "dm"])
@pytest.mark.parametrize(
    ("fault", "slack_took_it"), [(Fault(200, delay=1.5), True), (Fault(503, delay=1.5), False)]
)
def test_a_timed_out_post_is_looked_for_before_it_is_posted_again(
    running_app: RunningApp, mode: str, fault: Fault, slack_took_it: bool
) -> None:
    """Thread replies and DMs can be looked up: found means sent, not found means post."""
    fake = running_app.fake
    use_mode(running_app, mode)
    running_app.reframe.bolt.client.timeout = 1
    fake.fail("chat.postMessage", fault)
    send_vents(running_app.slack, 1)
    drain(running_app.reframe)
    wait_until_answered(fake, "chat.postMessage")  # Slack finishes what it took
    sweep_until_settled(running_app)
    (nudge,) = rows(running_app.reframe)
    assert nudge.status == "sent"
    assert len(fake.calls("chat.postMessage")) == 1
    lookup = "conversations.replies" if mode == "thread" else "conversations.history"
    assert len(fake.calls(lookup)) == 1
    # Found, the first try's post stands; not found, the second try made it.
    assert fake.rejected("chat.postMessage") == (0 if slack_took_it else 1)
    assert fake.calls("chat.postMessage")[0].params["metadata"]["event_payload"] == {
        "nudge_id": nudge.id
    }


def test_a_lookup_that_fails_waits_rather_than_guessing(running_app: RunningApp) -> None:
    fake = running_app.fake
    use_mode(running_app, "thread")
    running_app.reframe.bolt.client.timeout = 1
    fake.fail("chat.postMessage", Fault(200, delay=1.5))
    fake.fail("conversations.replies", Fault(500), Fault(500), Fault(500))
    send_vents(running_app.slack, 1)
    drain(running_app.reframe)
    fake.wait_for("chat.postMessage")
    running_app.clock.advance(timedelta(minutes=2, seconds=30))
    running_app.reframe.run_jobs_once()
    (nudge,) = rows(running_app.reframe)
    assert (nudge.status, nudge.in_doubt) == ("pending", True)
    sweep_until_settled(running_app)
    assert rows(running_app.reframe)[0].status == "sent"
    assert len(fake.calls("chat.postMessage")) == 1


def test_a_retry_after_longer_than_the_claim_is_not_slept_through(
    running_app: RunningApp,
) -> None:
    """Two 429s asking for 70 s each inside one two-minute claim: the claim is
    given back with the wait, never held past its lease, and one nudge goes out."""
    fake = running_app.fake
    fake.fail("chat.postEphemeral", Fault(429, retry_after=70), Fault(429, retry_after=70))
    users = send_vents(running_app.slack, 1)
    drain(running_app.reframe)
    (nudge,) = rows(running_app.reframe)
    assert nudge.status == "pending" and not nudge.in_doubt
    assert nudge.next_attempt_at is not None
    assert nudge.next_attempt_at - running_app.clock.now() >= timedelta(seconds=70)
    running_app.clock.advance(timedelta(seconds=30))
    running_app.reframe.run_jobs_once()  # too early: Slack asked for 70 s
    assert fake.rejected("chat.postEphemeral") == 1
    sweep_until_sent(running_app)
    assert fake.rejected("chat.postEphemeral") == 2
    assert_each_vent_nudged_once(running_app.reframe, fake, users)
    assert rows(running_app.reframe)[0].attempts == 3


class Gate:
    """A TCP pass-through to the fake Slack that can be closed: while closed its
    port refuses connections, exactly as an unreachable Slack would."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self.port = free_port()  # closed and opened again: not one port 0 may hand out
        self._listener: socket.socket | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the accept() blocked in the other thread; close() alone does not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self._upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def gated_app(database_url: str, fake_slack: FakeSlack, clock: FixedClock) -> Iterator[RunningApp]:
    """The app, reaching the fake Slack only through a Gate (as `app.gate`)."""
    gate = Gate(int(fake_slack.api_url.split(":")[2].split("/")[0]))
    gate.open()
    settings = make_settings(database_url, fake_slack, slack_api_url=gate.api_url)
    reframe = build(settings, clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    app = RunningApp(reframe, url, SlackSender(url), fake_slack, clock)
    app.gate = gate  # type: ignore[attr-defined]
    yield app
    server.shutdown()
    server.server_close()
    reframe.shutdown()
    gate.close()


def test_unreachable_slack_then_back(gated_app: RunningApp) -> None:
    """Slack refuses connections for a while; the nudges wait in the database and
    are each sent once when Slack is back."""
    app, gate = gated_app, gated_app.gate  # type: ignore[attr-defined]
    # Warm up first: Bolt's auth.test and the channel name are cached after one request.
    assert app.slack.message("call booked for Thursday", user="U0WARM").status == 200
    gate.close()
    users = send_vents(app.slack, 3)
    drain(app.reframe)
    assert {n.status for n in rows(app.reframe)} == {"pending"}
    assert {n.last_error for n in rows(app.reframe)} <= {"URLError", "ConnectionRefusedError"}
    app.clock.advance(timedelta(minutes=1))
    app.reframe.run_jobs_once()  # still closed: tried again, still pending
    assert {n.status for n in rows(app.reframe)} == {"pending"}
    assert app.fake.calls("chat.postEphemeral") == []
    gate.open()
    sweep_until_sent(app)
    assert_each_vent_nudged_once(app.reframe, app.fake, users)


# -- the database dropping every connection --------------------------------------


class Killer:
    """Terminates every other connection to the test database every 50 ms while on
    (under xdist the database is this worker's own: no other test's connections)."""

    def __init__(self, database_url: str) -> None:
        assert database_url.startswith("postgresql"), "only collected for PostgreSQL (conftest)"
        self.kills = 0
        self._engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        self._running, self._done = threading.Event(), threading.Event()
        self._killing = threading.Lock()  # held while a kill is under way
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def on(self) -> None:
        self._running.set()

    def off(self) -> None:
        """Stop killing; returns once a kill under way has finished, so none lands after."""
        with self._killing:
            self._running.clear()

    def close(self) -> None:
        self.off()
        self._done.set()
        self._thread.join(5)
        self._engine.dispose()

    def _loop(self) -> None:
        with self._engine.connect() as connection:
            while not self._done.is_set():
                with self._killing:
                    if self._running.is_set():
                        connection.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            )
                        )
                        self.kills += 1
                time.sleep(0.05)


@pytest.fixture
def killer(database_url: str) -> Iterator[Killer]:
    killer = Killer(database_url)
    yield killer
    killer.close()
    assert killer.kills > 0


@pytest.mark.postgres
def test_database_restarts_mid_run_lose_and_double_nothing(
    running_app: RunningApp, killer: Killer
) -> None:
    users = [f"U0PGKILL{i:03d}" for i in range(30)]
    through_the_kills = 0
    killer.on()
    for i, user in enumerate(users):
        # Slack retries a failed delivery up to 3 times: at once, after a minute and
        # after five. The kills go on through the first three tries; by the last, the
        # restarts are over. (Kills every 50 ms cut most tries once a request's work
        # takes longer than that, as on a loaded machine: four tries all cut is then a
        # matter of luck, not of anything lost or doubled.)
        event = {
            "type": "message",
            "channel": "C0DEAL",
            "channel_type": "channel",
            "user": user,
            "text": VENT,
            "ts": f"1700000200.{i:06d}",
        }
        for retry in range(4):
            if retry == 3:
                killer.off()
            reply = running_app.slack.event(event, event_id=f"EvKILL{i}", retry=retry or None)
            if retry == 3:
                killer.on()
            if reply.status == 200:
                through_the_kills += retry < 3
                break
        else:
            pytest.fail(f"event for {user} failed four times")
    killer.off()
    assert through_the_kills > 0, "no request got through while connections were killed"
    sweep_until_sent(running_app)
    assert_each_vent_nudged_once(running_app.reframe, running_app.fake, users)
