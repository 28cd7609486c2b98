"""Read the py-spy profiles `python -m benchmarks.load --profile DIR` wrote.

    python -m benchmarks.profile_report DIR [--top 30] [--only reframe] [--within REGEX]

Each profile is one worker's threads holding the GIL, sampled `hz` times a second
during one step, with the events that worker answered (its share of the workers'
CPU, of the step's events). A sample stands for 1/hz seconds, so samples / hz /
events is the CPU per event py-spy saw. Prints, over all profiles given, CPU
milliseconds per event by function (inclusive: the function and all it calls;
self: its own lines only) and by library. `--within` keeps only stacks through a
matching frame (e.g. `handle_request` for the request path, without background
threads and the worker's own loop).

Read the shares, not the totals: py-spy's `--nonblocking --gil` samples catch only
part of the time Python runs. At 1,200 events/s it saw 0.30 ms an event of a Reframe
worker that /proc put at 0.96 ms, while `perf record` of the same kind of step put 76-78%
of that worker's CPU inside the interpreter (libpython), 14-17% in the kernel and
about 1% in psycopg and libpq (README, "Where a worker's CPU goes").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

# Where a file belongs, first match wins (paths as py-spy prints them).
LIBRARIES = [
    ("bot/domain/detection", "bot: detector"),
    ("bot/", "bot: other"),
    ("slack_bolt/", "slack_bolt"),
    ("slack_sdk/", "slack_sdk"),
    ("sqlalchemy/", "sqlalchemy"),
    ("psycopg", "psycopg"),
    ("gunicorn/", "gunicorn"),
    ("prometheus_client/", "prometheus_client"),
    ("logging/", "logging"),
    ("json/", "json"),
    ("numpy/", "numpy"),
    ("concurrent/", "concurrent.futures"),
    ("threading.py", "threading"),
]


def _frame(text: str) -> tuple[str, str]:
    """(function, file) of one py-spy frame, line numbers dropped."""
    match = FRAME.match(text.strip())
    if match is None:
        return text.strip(), ""
    return match["func"], match["file"]


def library(file: str) -> str:
    for marker, name in LIBRARIES:
        if marker in file:
            return name
    return "stdlib/other"


def load(
    directory: Path, only: str | None
) -> tuple[list[tuple[list[str], int]], float, int, tuple[float, float]]:
    """(stacks with their sample counts, events, hz, the worker's (user, system) seconds)
    over every profile in `directory`."""
    stacks: list[tuple[list[str], int]] = []
    events = 0.0
    rates = set()
    user = system = 0.0
    for meta_path in sorted(directory.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if only and meta["app"] != only:
            continue
        events += meta["events"]
        rates.add(int(meta["hz"]))
        user += meta.get("worker_user_seconds", 0.0)
        system += meta.get("worker_system_seconds", 0.0)
        for line in meta_path.with_suffix(".txt").read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks.append((stack.split(";"), int(count)))
    if len(rates) > 1:
        raise SystemExit(f"profiles sampled at different rates: {sorted(rates)}")
    return stacks, events, rates.pop() if rates else 100, (user, system)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_report", description=__doc__
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--only", choices=("bare", "reframe"))
    parser.add_argument("--within", help="keep stacks with a frame matching this regex")
    args = parser.parse_args(argv)
    stacks, events, hz, (user, system) = load(args.directory, args.only)
    if not stacks or not events:
        print("no samples", file=sys.stderr)
        return 1
    total = sum(count for _, count in stacks)
    if args.within:
        pattern = re.compile(args.within)
        stacks = [(s, c) for s, c in stacks if any(pattern.search(f) for f in s)]
    kept = sum(count for _, count in stacks)

    def ms(samples: int) -> float:
        return 1000 * samples / hz / events

    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    libraries: Counter[str] = Counter()
    for frames, count in stacks:
        parsed = [_frame(f) for f in frames]
        for key in set(parsed):
            inclusive[key] += count
        own[parsed[-1]] += count
        libraries[library(parsed[-1][1])] += count

    print(
        f"{events:.0f} events, {total} samples at {hz} Hz = {ms(total):.3f} ms of one worker's "
        f"GIL-holding CPU per event, as sampled (an undercount: compare shares)"
        + (f"; {ms(kept):.3f} ms within /{args.within}/" if args.within else "")
    )
    if user or system:
        print(
            f"the profiled worker meanwhile (/proc): {1000 * user / events:.3f} ms user + "
            f"{1000 * system / events:.3f} ms system per event"
        )
    print("\nby library (self time), ms per event")
    for name, count in libraries.most_common():
        print(f"  {ms(count):7.3f}  {100 * count / kept:5.1f}%  {name}")
    print(f"\ninclusive, ms per event (top {args.top})")
    for (func, file), count in inclusive.most_common(args.top):
        print(f"  {ms(count):7.3f}  {100 * count / kept:5.1f}%  {func}  ({file})")
    print(f"\nself, ms per event (top {args.top})")
    for (func, file), count in own.most_common(args.top):
        print(f"  {ms(count):7.3f}  {100 * count / kept:5.1f}%  {func}  ({file})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
