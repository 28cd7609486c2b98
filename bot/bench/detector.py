"""Benchmark the vent detector on the frozen sets, next to a VADER sentiment baseline.

    python -m bot bench detector [--split test|unseen|dev|train] [--data PATH]

With no option it reports both frozen sets: the test split and the unseen-voices set
(authors whose lines are in no training or tuning file). The report is the product: it
always exits 0 and prints PASS/FAIL per target. It prints counts of misses and misfires by
kind, never their text: the frozen sets are for measuring, not for reading and tuning.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.detection import detect
from bot.domain.text import parse_slack_text
from bot.domain.traps import Trap

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
SPLITS: dict[str, list[Path]] = {
    "test": [DATA / "detector_test.jsonl"],
    "unseen": sorted((DATA / "unseen").glob("*.jsonl")),
    "dev": [DATA / "detector_dev.jsonl"],
    "train": [DATA / "detector_dev.jsonl", *sorted((DATA / "authors").glob("*.jsonl"))],
}
FROZEN = ("test", "unseen")
MIN_TIMED_CALLS = 20_000
TIMED_MAX_CHARS = 1_000  # the latency target is for messages up to this long
VADER_NUDGE_AT_OR_BELOW = -0.05
_PLAIN_WORD = re.compile(r"[a-z0-9']+")

# Targets the detector is held to on each frozen set (issue: detector v2).
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.92
TARGET_FPR = 0.02
TARGET_MAIN_TRAP = 0.85
TARGET_THROUGHPUT = 2_000.0
TARGET_P99_MS = 2.0
TARGET_LOAD_S = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    nudge: bool
    main_trap: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class Verdict:
    nudge: bool
    main_trap: str | None  # None when the method names no trap


@dataclass(frozen=True, slots=True)
class Quality:
    n: int
    precision: float
    recall: float
    f1: float
    fpr: float
    main_trap_accuracy: float | None
    false_positives: Counter[str]
    misses: Counter[str]
    bare_answers: int  # one-word or emoji-only lines in the set
    bare_nudged: int  # ... of which the method nudged


@dataclass(frozen=True, slots=True)
class Speed:
    throughput: float  # messages per second, one thread
    p50_ms: float
    p99_ms: float


Classifier = Callable[[str], Verdict]


def load_examples(paths: Sequence[Path]) -> list[Example]:
    examples = []
    lines = [line for path in paths for line in path.read_text("utf-8").splitlines()]
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        traps = row.get("traps") or []
        examples.append(
            Example(
                row["text"], bool(row["nudge"]), traps[0] if traps else None, row.get("kind", "?")
            )
        )
    return examples


def detector_verdict(text: str) -> Verdict:
    detection = detect(text)
    main = detection.main_trap
    return Verdict(detection.nudge, main.value if isinstance(main, Trap) else None)


def vader_classifier() -> Classifier | None:
    """VADER is an optional 'bench' extra; without it the report just skips the baseline."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()

    def verdict(text: str) -> Verdict:
        score = analyzer.polarity_scores(text)["compound"]
        return Verdict(score <= VADER_NUDGE_AT_OR_BELOW, None)

    return verdict


def measure_quality(
    examples: Sequence[Example], classify: Classifier, *, names_traps: bool
) -> Quality:
    true_pos = false_pos = false_neg = main_hits = bare = bare_nudged = 0
    false_positives: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    for example in examples:
        verdict = classify(example.text)
        if _is_bare(example.text):
            bare += 1
            bare_nudged += verdict.nudge
        if verdict.nudge and example.nudge:
            true_pos += 1
            main_hits += verdict.main_trap == example.main_trap
        elif verdict.nudge:
            false_pos += 1
            false_positives[example.kind] += 1
        elif example.nudge:
            false_neg += 1
            misses[example.main_trap or example.kind] += 1
    silent = sum(1 for example in examples if not example.nudge)
    precision = _ratio(true_pos, true_pos + false_pos)
    recall = _ratio(true_pos, true_pos + false_neg)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return Quality(
        n=len(examples),
        precision=precision,
        recall=recall,
        f1=f1,
        fpr=_ratio(false_pos, silent),
        main_trap_accuracy=_ratio(main_hits, true_pos) if names_traps else None,
        false_positives=false_positives,
        misses=misses,
        bare_answers=bare,
        bare_nudged=bare_nudged,
    )


def _is_bare(text: str) -> bool:
    """One word or emoji only, judged independently of the detector's own rule."""
    return len(_PLAIN_WORD.findall(parse_slack_text(text).text)) <= 1


def measure_speed(
    texts: Sequence[str], classify: Classifier, min_calls: int = MIN_TIMED_CALLS
) -> Speed:
    """Time single calls on one thread, repeating the split until min_calls are made."""
    for text in texts[:50]:
        classify(text)  # warm caches so the first pass is not an outlier
    rounds = max(1, -(-min_calls // max(len(texts), 1)))
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    for _ in range(rounds):
        for text in texts:
            before = clock()
            classify(text)
            latencies.append(clock() - before)
    elapsed = clock() - started
    cut_points = statistics.quantiles(latencies, n=100)
    return Speed(
        throughput=len(latencies) / elapsed if elapsed else float("inf"),
        p50_ms=cut_points[49] * 1000,
        p99_ms=cut_points[98] * 1000,
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass(frozen=True, slots=True)
class Costs:
    load_s: float  # fresh interpreter: import the detector and load its files
    long_ms: dict[str, float]  # CPU per call for crafted long messages, by length


def measure_load() -> float:
    """Import and load in a fresh interpreter, the way a worker starts (best of three)."""
    code = (
        "import time; t = time.perf_counter();"
        "from bot.domain.detection import Detector; Detector.load();"
        "print(time.perf_counter() - t)"
    )
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        runs.append(float(done.stdout.strip()))
    return min(runs)


def measure_long_messages() -> dict[str, float]:
    """CPU time of one detection on crafted long inputs: cost must not grow with length."""
    unit = "their cfo is a jerk who never ever answers, not a jerk? :clown_face: `x` <@U1> "
    crafted = {
        "1,000 chars": (unit * 20)[:1_000],
        "4,000 chars": (unit * 60)[:4_000],
        "40,000 chars": (unit * 600)[:40_000],
        "40,000 chars, one word": "a" * 40_000,
        "4,000 chars, a crafted word": "they " + "thequickbrownfox" * 250,
        "40,000 quotes and stars": '"*_' * 13_333,
    }
    costs = {}
    for label, text in crafted.items():
        detect(text)
        before = time.process_time()
        for _ in range(20):
            detect(text)
        costs[label] = (time.process_time() - before) / 20 * 1000
    return costs


def render_report(
    sections: list[tuple[str, str, dict[str, tuple[Quality, Speed]]]],
    costs: Costs,
    vader_missing: bool,
) -> str:
    lines: list[str] = []
    for split_name, where, results in sections:
        detector_quality, detector_speed = results["detector"]
        lines += [
            f"== split={split_name} ({where}): {detector_quality.n} messages ==",
            "",
            _table(results),
            "",
            f"Targets (detector, split={split_name}):",
            *_target_lines(detector_quality, detector_speed),
            "",
            *_breakdown_lines(detector_quality),
            "",
        ]
    lines += ["== cost ==", ""]
    load_ok = costs.load_s <= TARGET_LOAD_S
    lines.append(
        f"  {'PASS' if load_ok else 'FAIL'}  import + load        {costs.load_s:.3f} s "
        f"(target <= {TARGET_LOAD_S})"
    )
    lines += [f"  CPU per call, {label:<24} {ms:8.3f} ms" for label, ms in costs.long_ms.items()]
    if vader_missing:
        lines += [
            "",
            "VADER baseline skipped: vaderSentiment is not installed "
            "(pip install 'reframe-bot[bench]').",
        ]
    return "\n".join(lines)


def _table(results: dict[str, tuple[Quality, Speed]]) -> str:
    rows = [
        ("precision", lambda q, s: _pct(q.precision)),
        ("recall", lambda q, s: _pct(q.recall)),
        ("F1", lambda q, s: _pct(q.f1)),
        ("FPR on silent", lambda q, s: _pct(q.fpr)),
        ("main-trap accuracy", lambda q, s: _pct(q.main_trap_accuracy)),
        ("throughput (msg/s)", lambda q, s: f"{s.throughput:,.0f}"),
        ("latency p50 (ms)", lambda q, s: f"{s.p50_ms:.3f}"),
        ("latency p99 (ms)", lambda q, s: f"{s.p99_ms:.3f}"),
        ("bare answers nudged", lambda q, s: f"{q.bare_nudged}/{q.bare_answers}"),
    ]
    names = list(results)
    header = f"{'metric':<22}" + "".join(f"{name:>16}" for name in names)
    body = [
        f"{label:<22}" + "".join(f"{cell(*results[name]):>16}" for name in names)
        for label, cell in rows
    ]
    return "\n".join([header, "-" * len(header), *body])


def _target_lines(quality: Quality, speed: Speed) -> list[str]:
    checks = [
        ("precision", quality.precision, ">=", TARGET_PRECISION),
        ("recall", quality.recall, ">=", TARGET_RECALL),
        ("FPR on silent", quality.fpr, "<=", TARGET_FPR),
        ("main-trap accuracy", quality.main_trap_accuracy or 0.0, ">=", TARGET_MAIN_TRAP),
        ("bare answers nudged", float(quality.bare_nudged), "<=", 0),
        ("throughput msg/s", speed.throughput, ">=", TARGET_THROUGHPUT),
        ("latency p99 ms", speed.p99_ms, "<=", TARGET_P99_MS),
    ]
    lines = []
    for label, value, op, target in checks:
        passed = value >= target if op == ">=" else value <= target
        lines.append(
            f"  {'PASS' if passed else 'FAIL'}  {label:<20} {value:,.3f} (target {op} {target:,})"
        )
    return lines


def _breakdown_lines(quality: Quality) -> list[str]:
    lines = ["False positives by kind (detector):"]
    lines += [f"  {kind:<18} {count}" for kind, count in sorted(quality.false_positives.items())]
    if not quality.false_positives:
        lines.append("  none")
    lines.append("Misses by main trap (detector):")
    lines += [f"  {trap:<18} {count}" for trap, count in sorted(quality.misses.items())]
    if not quality.misses:
        lines.append("  none")
    return lines


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot bench detector",
        description="Measure the vent detector (and a VADER baseline) on labelled data.",
    )
    parser.add_argument(
        "--split",
        choices=sorted(SPLITS),
        action="append",
        help="which set to report (repeatable); default: the frozen test and unseen sets",
    )
    parser.add_argument("--data", type=Path, help="a JSONL file to use instead of --split")
    return parser.parse_args(argv)


def measure_split(examples: Sequence[Example]) -> dict[str, tuple[Quality, Speed]]:
    timed = [example.text for example in examples if len(example.text) <= TIMED_MAX_CHARS]
    results = {
        "detector": (
            measure_quality(examples, detector_verdict, names_traps=True),
            measure_speed(timed, detector_verdict),
        )
    }
    vader = vader_classifier()
    if vader is not None:
        results["VADER baseline"] = (
            measure_quality(examples, vader, names_traps=False),
            measure_speed(timed, vader),
        )
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.data:
        chosen = [("custom", [args.data])]
    else:
        chosen = [(name, SPLITS[name]) for name in (args.split or FROZEN)]
    sections = []
    for name, paths in chosen:
        present = [path for path in paths if path.exists()]
        examples = load_examples(present) if present else []
        if not examples:
            print(f"split={name}: no labelled data at {paths}; nothing to measure.")
            continue
        where = ", ".join(
            str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
            for path in present
        )
        sections.append((name, where, measure_split(examples)))
    if not sections:
        return 0
    costs = Costs(load_s=measure_load(), long_ms=measure_long_messages())
    print(render_report(sections, costs, vader_missing=vader_classifier() is None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
