"""Fault benchmark: the web role under steady load while everything around it fails.

    python -m benchmarks.faults [--rate 100] [--duration 60] [--no-restart]

Starts the fake Slack Web API (this process), `python -m bot web` (gunicorn, 2
workers) and `python -m bot scheduler` (the sweep that retries deliveries) on a
scratch PostgreSQL database `reframe_faults`, then sends signed events at
`--rate` per second for `--duration` seconds, 10% of them vents from distinct
reps; a quarter of the deal channels answer in threads, the rest ephemerally.
On a timeline during the load:

  t=15%  Slack answers 429 with Retry-After: 70 to 20 posts (longer than a claim's
         first backoffs, shorter than its delivery window)
  t=33%  PostgreSQL restarts (pg_ctlcluster ... restart: every connection dropped,
         connections refused for about two seconds)
  t=50%  Slack takes 8 posts but answers 12 s later, after the client's 10 s timeout
  t=70%  Slack hangs on 8 posts for 15 s and then fails them (nothing posted)

Slack's retries of unacknowledged events are played too (compressed: 1 s, 5 s,
10 s instead of Slack's 1 min and 5 min). Then it waits for every nudge to settle
and prints: events acknowledged within 3 s, vents nudged, doubled, lost, and the
nudges dropped on purpose ("unconfirmed": an ephemeral post whose first try may
have shown, which Slack gives no way to look up; see the README).

Exits 1 when anything was doubled or lost. A printed report, not a test; it needs
PostgreSQL on BENCH_PG (default 127.0.0.1:5432) and the right to restart it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import CHANNELS, CHATTER, VENTS, _free_port  # noqa: E402
from tests.fakes.slack_api import FakeSlack, Fault  # noqa: E402
from tests.fakes.slack_requests import SIGNING_SECRET  # noqa: E402

TEAM = "T0TEAM"
THREAD_CHANNELS = frozenset(CHANNELS[::4])  # a quarter answer in threads
ACK_LIMIT = 3.0
# Slack retries an event it got no 200 for; compressed from 1 min and 5 min.
RETRY_AFTER = (1.0, 5.0, 10.0)


def is_vent(i: int, vent_every: int) -> bool:
    return i % vent_every == 0


def event_body(i: int, vent_every: int) -> str:
    vent = is_vent(i, vent_every)
    return json.dumps(
        {
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"EvFAULT{i:08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "message",
                "channel": CHANNELS[i % len(CHANNELS)],
                "channel_type": "channel",
                "user": f"UVENT{i:07d}" if vent else f"UCHAT{i % 500:04d}",
                "text": VENTS[i % len(VENTS)] if vent else CHATTER[i % len(CHATTER)],
                "ts": f"1700000000.{i:06d}",
            },
        }
    )


# -- the load generator (its own process, so it shares no GIL with what it measures) -----


def generate(port: int, rate: float, duration: float, vent_every: int, out: Any) -> None:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SIGNING_SECRET)
    total = int(rate * duration)
    first_ack: dict[int, float] = {}
    acked: set[int] = set()
    attempts: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    counter = iter(range(total))
    retries: list[tuple[float, int, int]] = []  # (when, event, retry number)
    start = time.perf_counter() + 0.2

    def post(conn: http.client.HTTPConnection, i: int, retry: int) -> tuple[int, float]:
        body = event_body(i, vent_every)
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body),
        }
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        sent = time.perf_counter()
        conn.request("POST", "/slack/events", body=body, headers=headers)
        reply = conn.getresponse()
        reply.read()
        return reply.status, time.perf_counter() - sent

    def attempt(conn: http.client.HTTPConnection, i: int, retry: int) -> http.client.HTTPConnection:
        try:
            status, took = post(conn, i, retry)
        except OSError as error:
            status, took = 0, ACK_LIMIT + 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ACK_LIMIT)
            with lock:
                errors[type(error).__name__] += 1
        with lock:
            attempts[i] += 1
            if retry == 0:
                first_ack[i] = took if status == 200 else float("inf")
            if status == 200 and took <= ACK_LIMIT:
                acked.add(i)
            elif retry < len(RETRY_AFTER):
                if status not in (0, 200):
                    errors[f"http_{status}"] += 1
                retries.append((time.perf_counter() + RETRY_AFTER[retry], i, retry + 1))
        return conn

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ACK_LIMIT)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            pause = start + i / rate - time.perf_counter()  # open loop: a steady schedule
            if pause > 0:
                time.sleep(pause)
            conn = attempt(conn, i, 0)

    def retrier() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ACK_LIMIT)
        while True:
            with lock:
                due = sorted(retries)
                retries.clear()
                done = not due and len(attempts) == total
            if done:
                return
            for when, i, retry in due:
                if when > time.perf_counter():
                    with lock:
                        retries.append((when, i, retry))
                    continue
                conn = attempt(conn, i, retry)
            time.sleep(0.1)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    threads.append(threading.Thread(target=retrier))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(
        {
            "sent": total,
            "elapsed": time.perf_counter() - start,
            "first_ack": [first_ack.get(i, float("inf")) for i in range(total)],
            "acked": len(acked),
            "retried": sum(1 for n in attempts.values() if n > 1),
            "errors": dict(errors),
        }
    )


# -- orchestration ------------------------------------------------------------------------


def scratch_database() -> tuple[str, str]:
    """A fresh database on BENCH_PG; (SQLAlchemy URL, cluster version for a restart)."""
    import psycopg

    host = os.environ.get("BENCH_PG", "127.0.0.1:5432")
    with psycopg.connect(f"postgresql://postgres@{host}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS reframe_faults WITH (FORCE)")
        conn.execute("CREATE DATABASE reframe_faults")
        version = str(conn.execute("SHOW server_version").fetchone()[0]).split(".")[0]  # type: ignore[index]
    return f"postgresql+psycopg://postgres@{host}/reframe_faults", version


def restart_postgres(version: str) -> float:
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def start_role(role: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", role],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the web role did not start; see {log}")


def set_thread_channels(database_url: str) -> None:
    from datetime import UTC, datetime

    from bot.storage.db import Database
    from bot.storage.models import Channel

    db = Database.connect(database_url)
    try:
        with db.transaction() as session:
            for channel in THREAD_CHANNELS:
                session.merge(
                    Channel(
                        team_id=TEAM,
                        channel_id=channel,
                        mode="thread",
                        updated_at=datetime.now(UTC),
                    )
                )
    finally:
        db.dispose()


def nudge_rows(database_url: str) -> dict[str, tuple[str, bool]]:
    """message ts -> (status, in doubt)."""
    from sqlalchemy import select

    from bot.storage.db import Database
    from bot.storage.models import Nudge

    db = Database.connect(database_url)
    try:
        with db.transaction() as session:
            return {
                ts: (status, doubt)
                for ts, status, doubt in session.execute(
                    select(Nudge.message_ts, Nudge.status, Nudge.in_doubt)
                )
            }
    finally:
        db.dispose()


def shown(fake: FakeSlack) -> Counter[str]:
    """Posts the reps could see, by the vent's message ts."""
    seen: Counter[str] = Counter()
    for call in fake.calls("chat.postEphemeral"):
        seen[str(call.params.get("thread_ts"))] += 1
    for call in fake.calls("chat.postMessage"):
        if call.params.get("thread_ts"):
            seen[str(call.params["thread_ts"])] += 1
    return seen


def run(rate: float, duration: float, vent_every: int, restart: bool) -> int:
    fake = FakeSlack().start()
    for i, channel in enumerate(CHANNELS):
        fake.add_channel(channel, f"deal-fault-{i:03d}")
    database_url, version = scratch_database()
    port = _free_port()
    logs = Path(tempfile.mkdtemp(prefix="reframe-faults-"))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-faults",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "SCHEDULER_TICK_SECONDS": "5",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web = start_role("web", env, logs / "web.log")
    wait_ready(port, web, logs / "web.log")
    set_thread_channels(database_url)
    # The scheduler serves its own /healthz: on a port of its own.
    scheduler = start_role("scheduler", env | {"PORT": str(_free_port())}, logs / "scheduler.log")
    timeline: list[str] = []
    try:
        out: Any = mp.get_context("spawn").Queue()
        generator = mp.get_context("spawn").Process(
            target=generate, args=(port, rate, duration, vent_every, out)
        )
        began = time.monotonic()
        generator.start()

        def at(share: float) -> None:
            time.sleep(max(0.0, began + share * duration - time.monotonic()))

        at(0.15)
        fake.fail("chat.postEphemeral", *[Fault(429, retry_after=70)] * 15)
        fake.fail("chat.postMessage", *[Fault(429, retry_after=70)] * 5)
        timeline.append(f"{time.monotonic() - began:5.1f} s  Slack: 429 Retry-After 70 x 20")
        at(0.33)
        if restart:
            took = restart_postgres(version)
            timeline.append(
                f"{time.monotonic() - began:5.1f} s  PostgreSQL restarted ({took:.1f} s)"
            )
        at(0.5)
        fake.fail("chat.postEphemeral", *[Fault(200, delay=12)] * 6)
        fake.fail("chat.postMessage", *[Fault(200, delay=12)] * 2)
        timeline.append(f"{time.monotonic() - began:5.1f} s  Slack: posts, answers after 12 s x 8")
        at(0.7)
        fake.fail("chat.postEphemeral", *[Fault(503, delay=15)] * 6)
        fake.fail("chat.postMessage", *[Fault(503, delay=15)] * 2)
        timeline.append(f"{time.monotonic() - began:5.1f} s  Slack: hangs 15 s, posts nothing x 8")
        result = out.get(timeout=duration + 180)
        generator.join()
        vents = [i for i in range(result["sent"]) if is_vent(i, vent_every)]
        settled = settle(database_url, len(vents))
    finally:
        for process in (web, scheduler):
            process.send_signal(signal.SIGTERM)
        for process in (web, scheduler):
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        fake.stop()
    return report(result, vents, fake, database_url, timeline, settled, rate, duration, logs)


def settle(database_url: str, vents: int, timeout: float = 240.0) -> float:
    """Wait until every vent's nudge has a final status; seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = nudge_rows(database_url)
        if len(rows) >= vents and all(s not in ("pending", "sending") for s, _ in rows.values()):
            time.sleep(2)  # a late double would show up now
            return time.monotonic() - started
        time.sleep(1)
    return float("nan")


def report(
    result: dict[str, Any],
    vents: list[int],
    fake: FakeSlack,
    database_url: str,
    timeline: list[str],
    settled: float,
    rate: float,
    duration: float,
    logs: Path,
) -> int:
    rows = nudge_rows(database_url)
    seen = shown(fake)
    ts_of = {i: f"1700000000.{i:06d}" for i in vents}
    nudged = sum(1 for i in vents if seen[ts_of[i]] >= 1)
    doubled = sum(seen[ts_of[i]] - 1 for i in vents if seen[ts_of[i]] > 1)
    statuses = Counter(rows.get(ts_of[i], ("no row", False))[0] for i in vents)
    unconfirmed = [i for i in vents if rows.get(ts_of[i], ("", False))[0] == "unconfirmed"]
    unconfirmed_shown = sum(1 for i in unconfirmed if seen[ts_of[i]])
    lost = sum(
        1
        for i in vents
        if not seen[ts_of[i]] and rows.get(ts_of[i], ("no row", False))[0] != "unconfirmed"
    )
    first = sorted(result["first_ack"])
    within = sum(1 for took in first if took <= ACK_LIMIT)
    p99 = first[int(len(first) * 0.99)]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, PostgreSQL, web: 2 workers")
    print(f"load: {rate:.0f} events/s for {duration:.0f} s, 1 in 10 a vent; faults:")
    for line in timeline:
        print(f"  {line}")
    print(
        f"events sent                 {result['sent']:>6}  "
        f"({result['sent'] / result['elapsed']:.1f}/s sustained)"
    )
    print(
        f"acked within 3 s, first try {within:>6}  ({100 * within / len(first):.2f}%; "
        f"p99 {1000 * p99:.0f} ms)"
    )
    print(f"acked after Slack's retries {result['acked']:>6}  ({result['retried']} events retried)")
    print(f"vents                       {len(vents):>6}")
    print(f"vents nudged (shown)        {nudged:>6}")
    print(f"doubled                     {doubled:>6}")
    print(f"lost                        {lost:>6}")
    print(
        f"unconfirmed (dropped)       {len(unconfirmed):>6}  "
        f"({unconfirmed_shown} of them had shown; an ephemeral try in doubt is not re-posted)"
    )
    print(f"nudge rows by status        {dict(statuses)}")
    print(f"settled {settled:.0f} s after the load; errors seen by the sender: {result['errors']}")
    print(f"logs: {logs}")
    return 1 if doubled or lost else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__)
    parser.add_argument("--rate", type=float, default=100, help="events per second")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--vent-every", type=int, default=10, help="1 event in N is a vent")
    parser.add_argument(
        "--no-restart", action="store_true", help="leave PostgreSQL running (no right to restart)"
    )
    args = parser.parse_args(argv)
    return run(args.rate, args.duration, args.vent_every, not args.no_restart)


if __name__ == "__main__":
    sys.exit(main())
