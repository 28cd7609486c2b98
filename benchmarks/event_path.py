"""Where an ordinary message's CPU goes, in one process, one thread, no HTTP server.

    python -m benchmarks.event_path [--events 3000] [--rounds 3] [--cprofile 25] [--tls]

Builds Reframe (bot.wiring.build, on PostgreSQL `reframe_bench_path` on BENCH_PG, or
SQLite, against the fake Slack) and the bare Bolt app (benchmarks/bare_bolt.py), then
calls each layer of the event path with the same signed events (chatter from known
reps in deal channels, never a vent) and prints microseconds per event, best round
of `--rounds`, rounds interleaved (then `--vents` vents through the whole app, and
part by part):

    Reframe, whole WSGI app     ObservedWSGI -> ReframeWSGI -> Bolt -> listener
    without ObservedWSGI        ReframeWSGI -> Bolt -> listener
    Bolt's adapter only         SlackRequestHandler(Reframe's Bolt app)
    the listener's work         NudgeService.on_message(message)
    ...and its parts, and bare Bolt through the same adapter.

`--tls` serves the fake Slack over HTTPS with a throwaway certificate (SSL_CERT_FILE
set for this process), so a vent's post pays what one to slack.com does.

The difference between two lines is what the outer layer adds. What gunicorn,
its threads and the sockets add on top is what `python -m benchmarks.load`
measures minus the first line. `--cprofile N` adds cProfile's top N functions of
the whole app by own time, with calls per event. Logging goes to /dev/null in
JSON, as LOG_FORMAT=json would format it. A printed report, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import CHANNELS, CHAT_REPS, _prepare_database, event_body  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import SIGNING_SECRET  # noqa: E402


def environ_for(body: str, signer: Any) -> Callable[[], dict[str, Any]]:
    """A fresh WSGI environ for this signed body each call (its input is read once)."""
    stamp = str(int(time.time()))
    signature = signer.generate_signature(timestamp=stamp, body=body)
    raw = body.encode()

    def make() -> dict[str, Any]:
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/slack/events",
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(raw)),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
            "HTTP_X_SLACK_SIGNATURE": signature,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http",
        }

    return make


def start_response(status: str, headers: Any, *_: Any) -> None:
    if not status.startswith("200"):
        raise SystemExit(f"answered {status}")


def answer_200(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start("200 OK", [("Content-Type", "text/plain")])
    return [b""]


def call_wsgi(app: Any, make_environ: Callable[[], dict[str, Any]]) -> list[bytes]:
    return list(app(make_environ(), start_response))


def per_event_us(calls: list[Callable[[], object]]) -> float:
    started = time.perf_counter()
    for call in calls:
        call()
    return 1e6 * (time.perf_counter() - started) / len(calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.event_path", description=__doc__)
    parser.add_argument("--events", type=int, default=3000, help="events per round and layer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--database", default="reframe_bench_path")
    parser.add_argument(
        "--vents", type=int, default=200, help="vents from new reps, whole path incl. delivery"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="the fake Slack over HTTPS (a throwaway certificate), as slack.com is",
    )
    args = parser.parse_args(argv)

    tls_files = None
    if args.tls:
        from tests.fakes.tls import self_signed

        cert, key = self_signed(Path(tempfile.mkdtemp(prefix="reframe-bench-tls-")))
        tls_files = (str(cert), str(key))
        # Every TLS context the bot makes (its own, and urllib's) trusts it.
        os.environ["SSL_CERT_FILE"] = str(cert)
    # In a child process: what the fake Slack spends answering is not the bot's CPU.
    api_url, fake = _fake_slack_elsewhere(tls_files)
    database_url, _admin = _prepare_database(args.database)
    os.environ.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            # As in gunicorn (bot/processes/gunicorn_conf.py): metrics in multiprocess mode.
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="reframe-metrics-"),
        }
    )
    from slack_bolt import BoltContext
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.request import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    from benchmarks import bare_bolt
    from bot.config import configure_logging, load_settings
    from bot.domain.detection import default_detector, detect
    from bot.observability.logs import ObservedWSGI, ids_in
    from bot.observability.metrics import slack_request
    from bot.slack.listeners.events import message_from_event
    from bot.wiring import build

    settings = load_settings()
    configure_logging(settings)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
    reframe = build(settings)
    default_detector()
    bare = bare_bolt.create_app()
    signer = SignatureVerifier(SIGNING_SECRET)

    # Ordinary messages only: event numbers that are never vents, from the 500 chat reps.
    bodies = [event_body(i, 0) for i in range(1, args.events + 1)]
    environs = [environ_for(body, signer) for body in bodies]
    payloads = [json.loads(body) for body in bodies]

    def listener_context(payload: dict[str, Any]) -> BoltContext:
        """What the listener gets: the context Bolt builds from the payload."""
        context = BoltRequest(body=payload, mode="socket_mode").context
        context["bot_user_id"] = "UBOT"
        return context

    messages = [message_from_event(p["event"], listener_context(p)) for p in payloads]
    bolt_only = SlackRequestHandler(reframe.bolt)
    observed = reframe.wsgi
    inner = reframe.wsgi.app
    verifier = SignatureVerifier(SIGNING_SECRET)
    stamps = [
        (e()["HTTP_X_SLACK_REQUEST_TIMESTAMP"], e()["HTTP_X_SLACK_SIGNATURE"]) for e in environs
    ]
    raws = [b.encode() for b in bodies]
    log = logging.getLogger("bot.observability.logs")

    def wsgi_calls(app: Any) -> list[Callable[[], object]]:
        return [partial(call_wsgi, app, make) for make in environs]

    def each(function: Callable[..., object], items: list[Any]) -> list[Callable[[], object]]:
        return [partial(function, *item) for item in items]

    said = [m for m in messages if m is not None]
    log_extra = {"team_id": "T0TEAM", "event_id": "Ev1", "kind": "message", "status": 200}
    layers: dict[str, list[Callable[[], object]]] = {
        "Reframe: whole WSGI app (ObservedWSGI)": wsgi_calls(observed),
        "Reframe: without ObservedWSGI (ReframeWSGI)": wsgi_calls(inner),
        "Reframe: Bolt's WSGI adapter only": wsgi_calls(bolt_only),
        "Reframe: listener's work (NudgeService.on_message)": each(
            reframe.nudges.on_message, [(m,) for m in said]
        ),
        "  detector alone (detect)": each(detect, [(m.text,) for m in said]),
        "  deal channel? (ChannelDirectory, cached)": each(
            reframe.channels.is_deal_channel, [(m.team_id, m.channel_id) for m in said]
        ),
        "  signature check (SignatureVerifier.is_valid)": each(
            verifier.is_valid, [(r, s[0], s[1]) for r, s in zip(raws, stamps, strict=True)]
        ),
        "  JSON parse of the body (json.loads)": each(json.loads, [(b,) for b in bodies]),
        "  ids_in (the request log's ids, from the parsed body)": each(
            ids_in, [(p,) for p in payloads]
        ),
        "  one JSON log line (logger.info, extra)": [
            partial(log.info, "slack request", extra=log_extra) for _ in bodies
        ],
        "  ObservedWSGI around an app that only answers 200": wsgi_calls(ObservedWSGI(answer_200)),
        "  request metrics (prometheus, multiprocess)": [
            partial(slack_request, "message", 200, 0.001) for _ in bodies
        ],
        "bare Bolt: whole WSGI app": wsgi_calls(bare),
    }
    for calls in layers.values():  # warm: caches filled, every rep seen once
        for call in calls[: CHAT_REPS * 2]:
            call()
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, calls in layers.items():
            best[name] = min(best.get(name, float("inf")), per_event_us(calls))
    print(
        f"python {sys.version.split()[0]}; {args.events} ordinary events per layer, best of "
        f"{args.rounds} interleaved rounds; one thread, no HTTP server; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for name, us in best.items():
        print(f"  {us:8.1f} us  {name}")
    if args.vents:
        vent_path(reframe, signer, args.vents, args.events, known=True)
        vent_path(reframe, signer, args.vents, args.events + 100 * args.vents, known=False)
        vent_parts(reframe, signer, args.vents, args.events + 200 * args.vents, listener_context)
    if args.cprofile:
        profile = cProfile.Profile()
        calls = layers["Reframe: whole WSGI app (ObservedWSGI)"]
        profile.enable()
        for call in calls:
            call()
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.cprofile)
        print(f"\ncProfile of the whole app, {len(calls)} events (times inflated by cProfile)")
        print(out.getvalue())
    reframe.shutdown()
    fake.terminate()
    fake.join(5)
    return 0


def _serve_fake_slack(conn: Any, tls_files: tuple[str, str] | None = None) -> None:
    fake = FakeSlack()
    if tls_files is not None:
        from tests.fakes.tls import answer_over_tls

        answer_over_tls(fake, *tls_files)
    fake.start()
    for i, channel in enumerate(CHANNELS):
        fake.add_channel(channel, f"deal-bench-{i:03d}")
    conn.send(fake.api_url)
    conn.recv()  # until the parent closes its end (or ends this process)


def _fake_slack_elsewhere(tls_files: tuple[str, str] | None = None) -> tuple[str, Any]:
    import multiprocessing

    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve_fake_slack, args=(child, tls_files), daemon=True
    )
    process.start()
    return str(parent.recv()), process


def vent_path(reframe: Any, signer: Any, vents: int, offset: int, *, known: bool) -> None:
    """Vents through the whole WSGI app and on to the fake Slack (another process):
    CPU of this process (every thread: the request, the background delivery and,
    for a new rep, enrolment, invitation and profile lookup), SQL statements and
    transactions per vent. `known`: each rep wrote an ordinary message first (not
    measured), as the reps of a team in use have."""
    from sqlalchemy import event

    from benchmarks.load import is_vent

    numbers = [i for i in range(offset + 1, offset + 100 * vents) if is_vent(i, 10)][:vents]
    if known:
        chatter_first(reframe, signer, numbers)
    environs = [environ_for(event_body(i, 10), signer) for i in numbers]
    counts = {"statements": 0, "transactions": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def begin(connection: Any) -> None:
        # A statement run alone in autocommit (Database.statement) sends no BEGIN.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["transactions"] += 1

    engine = reframe.db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    cpu, wall = time.process_time(), time.perf_counter()
    for make in environs:
        call_wsgi(reframe.wsgi, make)
    reframe.background.wait_idle(timeout=120)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "begin", begin)
    who = "reps seen before" if known else "new reps"
    print(
        f"\n{vents} vents from {who}, whole path (request, then delivery in the background):"
        f"\n  {1000 * cpu / vents:8.2f} ms CPU per vent (this process, all threads)"
        f"\n  {1000 * wall / vents:8.2f} ms wall per vent"
        f"\n  {counts['statements'] / vents:8.1f} SQL statements per vent"
        f"\n  {counts['transactions'] / vents:8.1f} transactions per vent (BEGIN ... COMMIT;"
        " a statement in autocommit is not one)"
    )


def chatter_first(reframe: Any, signer: Any, numbers: list[int]) -> None:
    """Each vent's rep writes an ordinary message first (not measured), as the reps of
    a team in use have: their rows exist before their vents."""
    from benchmarks.load import CHATTER

    for n, i in enumerate(numbers):
        payload = json.loads(event_body(i, 10))
        payload["event"].update(text=CHATTER[n % len(CHATTER)], ts=f"1600000000.{i:06d}")
        payload["event_id"] += "W"
        call_wsgi(reframe.wsgi, environ_for(json.dumps(payload), signer))
    reframe.background.wait_idle(timeout=120)


def vent_parts(
    reframe: Any,
    signer: Any,
    vents: int,
    offset: int,
    listener_context: Callable[[dict[str, Any]], Any],
) -> None:
    """A vent's work part by part, in this thread, from reps seen before: the detector,
    deciding and recording (the detector included), posting, marking sent. CPU from
    `time.thread_time` (this thread only), so the fake Slack's process is not counted;
    the request and Bolt's dispatch, measured above, are left out."""
    from benchmarks.load import is_vent
    from bot.slack.listeners.events import message_from_event

    numbers = [i for i in range(offset + 1, offset + 100 * vents) if is_vent(i, 10)][:vents]
    chatter_first(reframe, signer, numbers)
    payloads = [json.loads(event_body(i, 10)) for i in numbers]
    messages = [message_from_event(p["event"], listener_context(p)) for p in payloads]
    nudges = reframe.nudges
    spent = {"detect": [0.0, 0.0], "post": [0.0, 0.0]}

    def timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return function(*args)
            finally:
                spent[part][0] += time.thread_time() - cpu
                spent[part][1] += time.perf_counter() - wall

        return call

    detect, sender = nudges._detect, nudges._sender
    send_nudge = sender.send_nudge
    nudges._detect = timed("detect", detect)
    sender.send_nudge = timed("post", send_nudge)
    try:
        cpu, wall = time.thread_time(), time.perf_counter()
        recorded = [nudges.on_message(m) for m in messages if m is not None]
        record = (time.thread_time() - cpu, time.perf_counter() - wall)
        if len(recorded) != vents or None in recorded:
            raise SystemExit(f"expected {vents} nudges, got {sum(r is not None for r in recorded)}")
        cpu, wall = time.thread_time(), time.perf_counter()
        for each in recorded:
            nudges.deliver_recorded(each)
        deliver = (time.thread_time() - cpu, time.perf_counter() - wall)
    finally:
        nudges._detect, sender.send_nudge = detect, send_nudge
    parts = {
        "the detector (detect, on the vent's text)": tuple(spent["detect"]),
        "deciding and recording (NudgeService.on_message, detector included)": record,
        "posting (SlackGateway.send_nudge, to the fake Slack)": tuple(spent["post"]),
        "marking sent (deliver_recorded less the post)": (
            deliver[0] - spent["post"][0],
            deliver[1] - spent["post"][1],
        ),
    }
    print(f"\n{vents} vents from reps seen before, part by part (this thread; CPU / wall):")
    for name, (cpu_s, wall_s) in parts.items():
        print(f"  {1000 * cpu_s / vents:6.2f} / {1000 * wall_s / vents:6.2f} ms  {name}")


if __name__ == "__main__":
    sys.exit(main())
