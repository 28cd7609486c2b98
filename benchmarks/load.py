"""Load benchmark for the web role: signed events at a steady rate into gunicorn.

    python -m benchmarks.load [--rate 400] [--duration 15] [--workers 1,2]

Starts the fake Slack Web API (this process), `python -m bot web` on loopback
(gunicorn, N workers), and a separate load-generator process (threads with
keep-alive connections) so the generator does not share a GIL with anything
it measures. ~10% of events are vents from distinct reps (cooldown allows one
nudge per rep and channel), the rest neutral chatter over many users and
channels. Reports sustained events/s, ack latency p50/p99, errors, and nudges
lost (vents sent vs chat.postEphemeral calls after settling). PostgreSQL
(database `reframe_bench` on BENCH_PG, default 127.0.0.1:5432) when reachable,
else SQLite. A printed report, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import SIGNING_SECRET  # noqa: E402

VENTS = [
    "their DM is a jerk tbh, he'll never give us a shot",
    "procurement is just stalling on purpose, they always do this",
    "their champion is useless, he never does what he promises",
]
CHATTER = [
    "sent the revised SOW to their procurement team, call booked for Thursday",
    "legal redlines came back, mostly formatting, will turn them today",
    "demo went fine, they want pricing for 40 seats",
    "updated the forecast in the CRM",
]
CHANNELS = [f"C0BENCH{i:03d}" for i in range(40)]


# -- the load generator (its own process) ---------------------------------------------


def _body(i: int, vent_every: int) -> str:
    vent = i % vent_every == 0
    event = {
        "type": "message",
        "channel": CHANNELS[i % len(CHANNELS)],
        "channel_type": "channel",
        "user": f"UVENT{i:07d}" if vent else f"UCHAT{i % 500:04d}",
        "text": VENTS[i % len(VENTS)] if vent else CHATTER[i % len(CHATTER)],
        "ts": f"1700000000.{i:06d}",
    }
    return json.dumps(
        {
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"EvBENCH{i:08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
            "event": event,
        }
    )


def generate(port: int, rate: float, duration: float, vent_every: int, out: Any) -> None:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SIGNING_SECRET)
    total = int(rate * duration)
    bodies = []
    for i in range(total):
        body = _body(i, vent_every)
        ts = str(int(time.time()))
        bodies.append((body, ts, verifier.generate_signature(timestamp=ts, body=body)))
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    start = time.perf_counter() + 0.2

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            due = start + i / rate  # open loop: a steady schedule, not "as fast as acks"
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            body, ts, sig = bodies[i]
            sent = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/slack/events",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Slack-Request-Timestamp": ts,
                        "X-Slack-Signature": sig,
                    },
                )
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except OSError as error:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                with lock:
                    errors.append(type(error).__name__)
            took = time.perf_counter() - sent
            with lock:
                latencies.append(took)
                if status and status != 200:
                    errors.append(f"http_{status}")

    threads = [threading.Thread(target=worker) for _ in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    out.put({"sent": total, "elapsed": elapsed, "latencies": latencies, "errors": errors})


# -- orchestration ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url() -> str:
    host = os.environ.get("BENCH_PG", "127.0.0.1:5432")
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@{host}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS reframe_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE reframe_bench")
        return f"postgresql+psycopg://postgres@{host}/reframe_bench"
    except Exception as error:  # noqa: BLE001 - fall back to SQLite, and say so
        print(f"PostgreSQL unavailable ({type(error).__name__}); using SQLite", file=sys.stderr)
        return f"sqlite:///{tempfile.mkdtemp()}/bench.db"


def _start_web(port: int, workers: int, fake: FakeSlack, database_url: str, log: Path) -> Any:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "web"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the web role did not start; see {log}")


def _warm_up(port: int) -> None:
    """One neutral message per channel: channel names and auth.test get cached."""
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SIGNING_SECRET)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(4):  # every worker gets a chance to see them
        for i, _channel in enumerate(CHANNELS):
            body = _body(i * 7 + 1, 10**9)  # never a vent
            ts = str(int(time.time()))
            conn.request(
                "POST",
                "/slack/events",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
                },
            )
            conn.getresponse().read()


def run_once(workers: int, rate: float, duration: float, vent_every: int) -> dict[str, Any]:
    fake = FakeSlack().start()
    for i, channel in enumerate(CHANNELS):
        fake.add_channel(channel, f"deal-bench-{i:03d}")
    database_url = _database_url()
    port = _free_port()
    log = Path(tempfile.mkdtemp()) / "web.log"
    web = _start_web(port, workers, fake, database_url, log)
    try:
        _warm_up(port)
        out: Any = mp.get_context("spawn").Queue()
        generator = mp.get_context("spawn").Process(
            target=generate, args=(port, rate, duration, vent_every, out)
        )
        generator.start()
        result = out.get(timeout=duration + 120)
        generator.join()
        vents = len(range(0, result["sent"], vent_every))
        nudged = _settle(fake, vents)
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(60)
        fake.stop()
    latencies = sorted(result["latencies"])
    return {
        "workers": workers,
        "database": database_url.split(":")[0].split("+")[0],
        "target_rate": rate,
        "sent": result["sent"],
        "events_per_s": result["sent"] / result["elapsed"],
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "max_ms": 1000 * latencies[-1],
        "errors": len(result["errors"]),
        "error_kinds": sorted(set(result["errors"]))[:5],
        "vents": vents,
        "nudges_posted": nudged,
        "lost": vents - nudged,
    }


def _settle(fake: FakeSlack, vents: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(fake.calls("chat.postEphemeral")) < vents:
        time.sleep(0.2)
    time.sleep(1)  # anything beyond `vents` would be a double
    return len(fake.calls("chat.postEphemeral"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--rate", type=float, default=400, help="events per second to send")
    parser.add_argument("--duration", type=float, default=15, help="seconds of steady load")
    parser.add_argument("--workers", default="1,2", help="gunicorn worker counts to try")
    parser.add_argument("--vent-every", type=int, default=10, help="1 event in N is a vent")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(
        f"{'workers':>7} {'db':>10} {'target/s':>8} {'sent':>6} {'events/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6} {'vents':>5} "
        f"{'nudged':>6} {'lost':>4}"
    )
    for workers in (int(w) for w in args.workers.split(",")):
        r = run_once(workers, args.rate, args.duration, args.vent_every)
        print(
            f"{r['workers']:>7} {r['database']:>10} {r['target_rate']:>8.0f} {r['sent']:>6} "
            f"{r['events_per_s']:>8.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
            f"{r['max_ms']:>7.1f} {r['errors']:>6} {r['vents']:>5} {r['nudges_posted']:>6} "
            f"{r['lost']:>4}" + (f"  {r['error_kinds']}" if r["errors"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
