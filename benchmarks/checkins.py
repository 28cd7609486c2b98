"""Weekly check-ins at scale: two scheduler processes, one PostgreSQL, several sizes.

    python -m benchmarks.checkins [--reps 5000 20000 100000] [--rate 50] [--post-rate R]
                                  [--database-url URL]

The fake Slack Web API (tests/fakes/slack_api.py) runs in this process and
answers chat.postMessage beyond `--rate` per second with 429 + Retry-After.
Two real subprocesses each build the bot through the composition root, check
the token and settle, as `python -m bot scheduler` does before its first tick,
and wait; then the check-ins fall due for both at once (the parent's "go") and
each runs check-in ticks until nothing is left. The report, per size: DMs sent,
duplicates, lost, time from falling due to the last DM against the rate-limit
lower bound (reps / rate: what a company waits for its check-ins with the
scheduler running), the whole run's wall time from process start to exit, how long the
due tick took to plan every rep, how long an idle tick takes (nobody due: it
should not grow with the number of reps), and peak memory per process; then one
table of all sizes.

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
import gc
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
    parser.add_argument("--reps", type=int, nargs="+", default=[5000])
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
    rows = []
    for reps in args.reps:
        rows.append(
            run_benchmark(reps, args.rate, post_rate, args.processes, args.database_url, args.cold)
        )
        print()
    print_table(rows, args.rate, args.processes)
    return 0 if all(row["ok"] for row in rows) else 1


def print_table(rows: list[dict[str, Any]], rate: float, processes: int) -> None:
    print(f"summary: {processes} scheduler processes, chat.postMessage limited to {rate:g}/s")
    head = (
        "| reps | sent | doubled | lost | floor s | due to last DM s | vs floor "
        "| first-last DM | wall s (start to exit) | vs floor "
        "| plan (due tick) s | idle tick ms | peak RSS MB per process |"
    )
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for row in rows:
        print(
            f"| {row['reps']:,} | {row['sent']:,} | {row['doubled']} | {row['lost']} "
            f"| {row['floor']:.1f} | {row['due_to_last']:.1f} | {row['due_vs_floor']:+.1f}% "
            f"| {row['span_vs_floor']:+.1f}% | {row['wall']:.1f} | {row['vs_floor']:+.1f}% "
            f"| {row['plan']} | {row['idle']} | {row['rss']} |"
        )


# -- the parent: fake Slack, data, two workers, the report ---------------------


def run_benchmark(
    reps: int, rate: float, post_rate: float, processes: int, database_url: str, cold: bool
) -> dict[str, Any]:
    from tests.fakes.slack_api import FakeSlack

    users = [f"U{i:06d}" for i in range(reps)]
    prepare_database(database_url, users, looked_up=not cold)
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
    # The fake Slack stamps each post when its thread handles it, in this process.
    # A full garbage collection here (every reps list, user and recorded call scanned:
    # 110 ms after 4,000 posts at 5,000 reps) held those threads, and the posts that
    # waited were stamped together, five within 4 ms: a 429 the bot's pacing did not
    # cause. So no collection runs in this process while the workers post.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        started = time.time()
        workers = [spawn_worker(database_url, fake.api_url, *pace) for _ in range(processes)]
        for worker in workers:  # built, token checked, heap settled: a running scheduler
            assert worker.stdout is not None
            ready = worker.stdout.readline()
            if json.loads(ready or "{}").get("ready") is not True:
                raise SystemExit(f"a worker did not start: {ready!r}")
        due = time.time()  # the check-ins fall due for both processes at once
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
        ended = time.time()
    finally:
        gc.enable()
        gc.unfreeze()
    fake.stop()
    return report(fake, users, results, (started, due, ended), rate, database_url)


def prepare_database(url: str, users: list[str], *, looked_up: bool) -> None:
    """A clean schema with every rep enrolled a week ago, as on_rep_seen leaves them,
    and (`looked_up`) as the scheduler's ticks leave them in the days before the
    due time: eligibility and zone known, next_due_at set. The due time here is
    the enrolment time ("look at once", as migration 0008 leaves existing reps),
    so the due tick computes every rep's schedule as well as planning it."""
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
        checked = AT - timedelta(hours=12)
        rows = [
            {
                "team_id": TEAM,
                "user_id": user,
                "created_at": enrolled,
                "enrolled": enrolled,
                "eligible": True if looked_up else None,
                "tz": ZONES[i % len(ZONES)] if looked_up else None,
                "checked": checked if looked_up else None,
                "next_due_at": enrolled if looked_up else None,
            }
            for i, user in enumerate(users)
        ]
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO reps (team_id, user_id, created_at, checkins_enrolled_at, "
                    "eligible, tz, tz_checked_at, next_due_at) VALUES (:team_id, :user_id, "
                    ":created_at, :enrolled, :eligible, :tz, :checked, :next_due_at)"
                ),
                rows,
            )
            connection.execute(text("ANALYZE") if db.is_postgres else text("SELECT 1"))
    finally:
        db.dispose()


def spawn_worker(database_url: str, api_url: str, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "benchmarks.checkins", "worker"]
    command += ["--database-url", database_url, "--api-url", api_url, *extra]
    return subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def report(
    fake: object,
    users: list[str],
    results: list[dict[str, object]],
    span: tuple[float, float, float],
    rate: float,
    database_url: str,
) -> dict[str, Any]:
    """Print the report; the summary row (ok: False when a rep got two DMs or none).

    `span`: process start, the moment the check-ins fell due (both processes built
    and waiting), both processes' exit."""
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
    row: dict[str, Any] = {
        "reps": len(users),
        "sent": len(calls),
        "doubled": duplicates,
        "lost": lost,
        "floor": bound,
        "wall": span[2] - span[0],
        "vs_floor": ((span[2] - span[0]) / bound - 1) * 100,
        "due_to_last": 0.0,
        "due_vs_floor": 0.0,
        "span_vs_floor": 0.0,
        "plan": [r.get("plan_s") for r in results],
        "idle": [r.get("idle_tick_ms") for r in results],
        "rss": [r["max_rss_mb"] for r in results],
        "ok": False,
    }
    if not calls:
        print("DMs sent:            0  (nothing was sent)")
        return row
    first, last = min(c.at for c in calls), max(c.at for c in calls)
    started, due, ended = span
    wall = ended - started
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
        f"due to last DM:      {last - due:.1f} s  ({((last - due) / bound - 1) * 100:+.1f}% vs "
        "bound; from the moment the check-ins fell due, both schedulers running)"
    )
    print(
        f"first to last DM:    {last - first:.1f} s  ({((last - first) / bound - 1) * 100:+.1f}%)"
    )
    print(
        f"wall time:           {wall:.1f} s  ({(wall / bound - 1) * 100:+.1f}% vs bound; "
        "from process start to exit)"
    )
    print(
        f"around the DMs:      {due - started:.1f} s from process start to due (imports, build, "
        f"auth.test, settle), {first - due:.1f} s from due to the first DM, "
        f"{ended - last:.1f} s from the last to both processes' exit"
    )
    print(f"pace at the end:     {final_pace(database_url)}")
    print(f"due tick planning:   {row['plan']} s per process (every rep, claimed with SKIP LOCKED)")
    print(f"idle tick:           {row['idle']} ms per process (nobody due)")
    for n, result in enumerate(results):
        late = result.get("late") or {}
        if late:
            print(
                f"lateness, process {n}: p50 {late['p50_ms']} / p90 {late['p90_ms']} / p99 "
                f"{late['p99_ms']} / max {late['max_ms']} ms after the slot; {late['moves']} "
                f"posts late enough to move the schedule back, {late['moved_s']} s in all"
            )
    print(
        f"peak memory:         workers {[r['max_rss_mb'] for r in results]} MB, "
        f"parent (fake Slack) {max_rss_mb():.0f} MB"
    )
    row["span_vs_floor"] = ((last - first) / bound - 1) * 100
    row["due_to_last"] = last - due
    row["due_vs_floor"] = ((last - due) / bound - 1) * 100
    row["ok"] = duplicates == 0 and lost == 0
    return row


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
    from bot.processes.memory import settle_after_build
    from bot.slack.client import token_problem

    # As `python -m bot scheduler` starts (bot/processes/roles.py): the token checked
    # with auth.test, so the first check-in is not the process's first call to Slack,
    # and the built app's heap settled before the first tick.
    if token_problem("xoxb-bench", api_url) is not None:
        raise SystemExit("the fake Slack refused the bench token")
    reframe = build_bot(database_url, api_url, AT, post_rate)
    settle_after_build()
    # Running and idle: the parent says when the check-ins fall due, for every process at once.
    print(json.dumps({"ready": True}), flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("the benchmark's parent went away before the check-ins fell due")
    sent = ticks = 0
    stop_at = time.monotonic() + deadline
    delivery = reframe.checkins.delivery
    try:
        reframe.checkins.refresh_profiles()  # --cold: inside the measured run
        # Planning every due rep, timed batch by batch where the tick plans them (all
        # before the first post): the rest of the tick is paced posting.
        plan_batch = delivery._plan_batch
        plan_times: list[float] = []
        due_tick_batches = 0

        def timed_plan_batch(now: Any) -> tuple[int, bool]:
            started = time.perf_counter()
            planned = plan_batch(now)
            plan_times.append(time.perf_counter() - started)
            return planned

        delivery._plan_batch = timed_plan_batch
        # How late each post left after its slot, and what that cost the schedule:
        # a post later than the jitter allowance moves every later slot back.
        pacer = delivery._pacer
        posted_late = pacer.posted_late
        lateness: list[float] = []

        def timed_posted_late(team_id: str, late: float) -> None:
            lateness.append(late)
            posted_late(team_id, late)

        pacer.posted_late = timed_posted_late
        while time.monotonic() < stop_at:
            report = reframe.checkins.send_due()
            ticks += 1
            if ticks == 1:
                due_tick_batches = len(plan_times)
            sent += len(report.sent)
            counts = reframe.checkins.count_by_status()
            unsettled = counts.get("pending", 0) + counts.get("sending", 0)
            planned = sum(counts.values())
            if not report and unsettled == 0 and planned >= reps_enrolled(reframe):
                break
            if not report.sent:
                time.sleep(0.5)  # others hold the remaining claims, or a backoff runs
        delivery._plan_batch = plan_batch
        pacer.posted_late = posted_late
        idle = []
        for _ in range(5):  # everyone sent, nobody due: what a tick costs the rest of the week
            started = time.perf_counter()
            reframe.checkins.send_due()
            idle.append(time.perf_counter() - started)
    finally:
        reframe.shutdown()
    result = {
        "sent": sent,
        "ticks": ticks,
        "plan_s": round(sum(plan_times[:due_tick_batches]), 2) if ticks else None,
        "idle_tick_ms": round(sorted(idle)[len(idle) // 2] * 1000, 1),
        "max_rss_mb": round(max_rss_mb()),
        "late": late_summary(lateness, post_rate),
    }
    print(json.dumps(result))
    return 0


def late_summary(lateness: list[float], post_rate: float) -> dict[str, float]:
    """Posts' lateness after their slots (ms percentiles), and the schedule moves it caused."""
    from bot.domain.pacing import late_enough

    if not lateness:
        return {}
    ordered = sorted(lateness)

    def at(share: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    moves = [late for late in ordered if late_enough(late, post_rate)]
    return {
        "p50_ms": at(0.5),
        "p90_ms": at(0.9),
        "p99_ms": at(0.99),
        "max_ms": round(1000 * ordered[-1], 1),
        "moves": len(moves),
        "moved_s": round(sum(moves), 2),
    }


def reps_enrolled(reframe: object) -> int:
    with reframe.db.engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(text("SELECT count(*) FROM reps")).scalar_one())


if __name__ == "__main__":
    sys.exit(main())
