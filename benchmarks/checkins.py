"""Weekly check-ins at scale: 5,000 reps, two scheduler processes, one PostgreSQL.

    python -m benchmarks.checkins [--reps 5000] [--rate 50] [--post-rate R] [--database-url URL]

The fake Slack Web API (tests/fakes/slack_api.py) runs in this process and
answers chat.postMessage beyond `--rate` per second with 429 + Retry-After.
Two real subprocesses each build the bot through the composition root and run
check-in ticks until nothing is left. The report: DMs sent, duplicates, lost,
wall time against the rate-limit lower bound (reps / rate), peak memory.

The bot paces its posts at CHECKIN_POST_RATE (`--post-rate`, by default 95% of
`--rate`: the operator set it a little under the workspace's limit, as the
README advises, since posts spaced exactly at the limit meet it whenever one
answer is a few milliseconds slower than the next). Give a `--post-rate` above
`--rate` to measure how fast the pace falls back when it is set too high.
Exits 1 if any rep got two DMs or none.

The database is emptied and migrated first: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
TEAM = "T0BENCH"
# Monday 09:00:05 in Central Europe: one tick finds every rep below due at once (a
# sales team in one region, the workspace default zone for reps without one). A
# check-in more than an hour late waits for the rep's morning, so zones whose
# 09:00 is long past or still to come would not be sent in this tick at all.
AT = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
ZONES = ("Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Stockholm", None)
DEFAULT_TZ = "Europe/Berlin"
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checkins", description=__doc__)
    sub = parser.add_subparsers(dest="role")
    worker = sub.add_parser("worker", help="(internal) one scheduler process")
    worker.add_argument("--database-url", required=True)
    worker.add_argument("--api-url", required=True)
    worker.add_argument("--deadline", type=float, default=600.0)
    worker.add_argument("--profiles-only", action="store_true")
    worker.add_argument("--post-rate", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50.0, help="chat.postMessage per second")
    parser.add_argument(
        "--post-rate",
        type=float,
        default=None,
        help="the bot's CHECKIN_POST_RATE (default: 95%% of --rate)",
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="look up all 5,000 profiles (users.info) inside the measured run, instead of in "
        "the ticks before the due time as the live scheduler does after enrolment",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args(argv)
    if args.role == "worker":
        if args.profiles_only:
            return run_profile_warmup(args.database_url, args.api_url, args.post_rate)
        return run_worker(args.database_url, args.api_url, args.deadline, args.post_rate)
    post_rate = args.post_rate if args.post_rate is not None else round(args.rate * 0.95, 3)
    return run_benchmark(
        args.reps, args.rate, post_rate, args.processes, args.database_url, args.cold
    )


# -- the parent: fake Slack, data, two workers, the report ---------------------


def run_benchmark(
    reps: int, rate: float, post_rate: float, processes: int, database_url: str, cold: bool
) -> int:
    from tests.fakes.slack_api import FakeSlack

    users = [f"U{i:06d}" for i in range(reps)]
    prepare_database(database_url, users)
    fake = FakeSlack().start()
    for i, user in enumerate(users):
        zone = ZONES[i % len(ZONES)]
        fake.add_user(user, **({"tz": zone} if zone else {}))
    fake.rate_limit("chat.postMessage", rate)
    print(
        f"{reps} reps, {processes} scheduler processes, chat.postMessage limited to {rate:g}/s, "
        f"CHECKIN_POST_RATE={post_rate:g}"
    )
    pace = ("--post-rate", str(post_rate))
    if not cold:
        warmup = time.monotonic()
        spawn_worker(database_url, fake.api_url, "--profiles-only", *pace).communicate()
        print(f"profiles looked up before the due time in {time.monotonic() - warmup:.1f} s")
    started = time.time()
    workers = [spawn_worker(database_url, fake.api_url, *pace) for _ in range(processes)]
    results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    ended = time.time()
    fake.stop()
    ok = report(fake, users, results, (started, ended), rate, database_url)
    return 0 if ok else 1


def prepare_database(url: str, users: list[str]) -> None:
    """A clean schema with every rep enrolled a week ago, as on_rep_seen leaves them."""
    from bot.storage.db import Database
    from bot.storage.migrate import upgrade

    db = Database.connect(url)
    try:
        if db.is_postgres:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade(db.engine)
        enrolled = AT - timedelta(days=7)
        rows = [
            {"team_id": TEAM, "user_id": user, "created_at": enrolled, "enrolled": enrolled}
            for user in users
        ]
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO reps (team_id, user_id, created_at, checkins_enrolled_at) "
                    "VALUES (:team_id, :user_id, :created_at, :enrolled)"
                ),
                rows,
            )
    finally:
        db.dispose()


def spawn_worker(database_url: str, api_url: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "benchmarks.checkins", "worker"]
    command += ["--database-url", database_url, "--api-url", api_url, *extra]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def report(
    fake: object,
    users: list[str],
    results: list[dict[str, object]],
    span: tuple[float, float],
    rate: float,
    database_url: str,
) -> bool:
    """Print the report; False when a rep got two DMs or none."""
    from bot.slack.checkin_client import METADATA_EVENT

    calls = [
        c
        for c in fake.calls("chat.postMessage")  # type: ignore[attr-defined]
        if (c.params.get("metadata") or {}).get("event_type") == METADATA_EVENT
    ]
    per_user = Counter(c.params["channel"] for c in calls)
    duplicates = sum(count - 1 for count in per_user.values() if count > 1)
    lost = sum(1 for user in users if per_user[user] == 0)
    bound = len(users) / rate
    if not calls:
        print("DMs sent:            0  (nothing was sent)")
        return False
    first, last = min(c.at for c in calls), max(c.at for c in calls)
    wall = span[1] - span[0]
    statuses = database_statuses(database_url)
    print(f"DMs sent:            {len(calls)}")
    print(f"duplicates:          {duplicates}  (must be 0)")
    print(f"lost:                {lost}  (must be 0)")
    print(f"database statuses:   {statuses}")
    limited = fake.rate_limited_at("chat.postMessage")  # type: ignore[attr-defined]
    print(
        f"429s answered:       {fake.rejected('chat.postMessage')}"  # type: ignore[attr-defined]
        + (f"  (at +{', +'.join(f'{t - first:.1f}' for t in limited[:10])} s)" if limited else "")
    )
    print(f"busiest second:      {busiest_second(sorted(c.at for c in calls))} DMs")
    print(f"users.info calls:    {len(fake.calls('users.info'))}")  # type: ignore[attr-defined]
    print(f"sent per process:    {[r['sent'] for r in results]}")
    print(f"rate-limit bound:    {bound:.1f} s  ({len(users)} / {rate:g} per second)")
    print(
        f"wall time:           {wall:.1f} s  ({(wall / bound - 1) * 100:+.1f}% vs bound; "
        "includes process start-up)"
    )
    print(
        f"first to last DM:    {last - first:.1f} s  ({((last - first) / bound - 1) * 100:+.1f}%)"
    )
    print(
        f"around the DMs:      {first - span[0]:.1f} s from start to the first, "
        f"{span[1] - last:.1f} s from the last to both processes' exit"
    )
    print(f"pace at the end:     {final_pace(database_url)}")
    print(
        f"peak memory:         workers {[r['max_rss_mb'] for r in results]} MB, "
        f"parent (fake Slack) {max_rss_mb():.0f} MB"
    )
    return duplicates == 0 and lost == 0


def busiest_second(times: list[float]) -> int:
    """The most DMs Slack took in any one-second window."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def final_pace(url: str) -> str:
    from bot.storage.db import Database

    db = Database.connect(url)
    try:
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT rate, limited_at FROM post_pace WHERE team_id = :team"),
                {"team": TEAM},
            ).one_or_none()
    finally:
        db.dispose()
    if row is None:
        return "none stored"
    slowed = "never slowed" if row.limited_at is None else "slowed after a 429"
    return f"{row.rate:.1f} posts/s ({slowed})"


def database_statuses(url: str) -> dict[str, int]:
    from bot.storage.db import Database

    db = Database.connect(url)
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT status, count(*) FROM checkins GROUP BY status"))
            return {status: count for status, count in rows}
    finally:
        db.dispose()


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- a worker: the bot's own tick, in a loop -------------------------------------


class RunningClock:
    """Starts at the benchmark's Monday evening and then moves with real time, so
    retry backoffs come due as they would in production."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._started)


def build_bot(database_url: str, api_url: str, at: datetime, post_rate: float) -> Any:
    from bot.config import Settings
    from bot.wiring import build

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token="xoxb-bench",
        slack_signing_secret="bench-signing-secret",
        slack_api_url=api_url,
        database_url=database_url,
        checkin_default_tz=DEFAULT_TZ,
        checkin_post_rate=post_rate,
    )
    return build(settings, clock=RunningClock(at), run_migrations=False)


def run_profile_warmup(database_url: str, api_url: str, post_rate: float) -> int:
    """What the scheduler's ticks do in the days after enrolment: eligibility and zones."""
    reframe = build_bot(database_url, api_url, AT - timedelta(hours=12), post_rate)
    try:
        while reframe.checkins.refresh_profiles():
            pass
    finally:
        reframe.shutdown()
    print(json.dumps({"warm": True}))
    return 0


def run_worker(database_url: str, api_url: str, deadline: float, post_rate: float) -> int:
    reframe = build_bot(database_url, api_url, AT, post_rate)
    sent = ticks = 0
    stop_at = time.monotonic() + deadline
    try:
        while time.monotonic() < stop_at:
            report = reframe.checkins.send_due()
            ticks += 1
            sent += len(report.sent)
            counts = reframe.checkins.count_by_status()
            unsettled = counts.get("pending", 0) + counts.get("sending", 0)
            planned = sum(counts.values())
            if not report and unsettled == 0 and planned >= reps_enrolled(reframe):
                break
            if not report.sent:
                time.sleep(0.5)  # others hold the remaining claims, or a backoff runs
    finally:
        reframe.shutdown()
    print(json.dumps({"sent": sent, "ticks": ticks, "max_rss_mb": round(max_rss_mb())}))
    return 0


def reps_enrolled(reframe: object) -> int:
    with reframe.db.engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(text("SELECT count(*) FROM reps")).scalar_one())


if __name__ == "__main__":
    sys.exit(main())
