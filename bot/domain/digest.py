"""The weekly team digest for managers: aggregate figures under a k-anonymity rule,
and the Unicode sparklines and bars that draw them. Pure Python: no Slack, no SQL.

Reps arrive as opaque integers (the service numbers them); no user id, name,
note or message text ever reaches this module, so none can reach a digest.

What may be shown (each rule has a test):

1. **k reps.** A figure appears only when at least `k` distinct reps contribute
   to it (k is never below 3).
2. **No unanimous splits.** A split (how the team answered, the share of
   "Helpful") is held back when every contribution was the same: "100% chasing
   happiness" would tell the reader each rep's answer.
3. **No subtraction.** Figures that add up to a total shown beside them (nudges
   by trap, ratings by move) are a partition: when some are held back, more are
   held back, smallest first, until the held-back ones *together* pass rules 1
   and 2, so no hidden figure can be worked out as "total minus the rest".

A week that had no data at all is simply absent; that tells the reader only
that nothing happened.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

MIN_K = 3
DEFAULT_K = 5
TREND_WEEKS = 12
# The check-in's answers, in the order a reader meets them (best first).
ANSWER_ORDER: tuple[str, ...] = ("trust_excitement", "both", "chasing_happiness")
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a week without a figure in a sparkline
BAR_FULL, BAR_EMPTY = "█", "░"


# -- what the service hands in ------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One rep's check-in answer in one week."""

    rep: int
    week: str
    answer: str


@dataclass(frozen=True, slots=True)
class NudgeRecord:
    """One nudge that went out to a rep, by the main trap heard."""

    rep: int
    week: str
    trap: str


@dataclass(frozen=True, slots=True)
class RatingRecord:
    """One rep's rating of a question, by the question's reframing move."""

    rep: int
    move: str
    helpful: bool


R = TypeVar("R", AnswerRecord, NudgeRecord, RatingRecord)
K = TypeVar("K")


# -- what a digest shows ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerSplit:
    """How `reps` reps answered the check-in in one week."""

    reps: int
    counts: Mapping[str, int]

    def share(self, answer: str) -> float:
        total = sum(self.counts.values())
        return self.counts.get(answer, 0) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class WeekAnswers:
    week: str
    split: AnswerSplit | None  # None: not enough data to show


@dataclass(frozen=True, slots=True)
class Count:
    count: int
    reps: int


@dataclass(frozen=True, slots=True)
class CountTable:
    """Counts by category that add up to `total`. A category in `held_back` had
    data but may not be shown; `rest` is what the held-back ones add up to,
    given only when it passes the rules itself (it could be worked out anyway)."""

    total: Count | None
    shown: Mapping[str, Count] = field(default_factory=dict)
    held_back: tuple[str, ...] = ()
    rest: Count | None = None


@dataclass(frozen=True, slots=True)
class Share:
    """`helpful` of `rated` ratings, from `reps` distinct reps."""

    helpful: int
    rated: int
    reps: int

    @property
    def fraction(self) -> float:
        return self.helpful / self.rated if self.rated else 0.0


@dataclass(frozen=True, slots=True)
class ShareTable:
    total: Share | None
    shown: Mapping[str, Share] = field(default_factory=dict)
    held_back: tuple[str, ...] = ()
    rest: Share | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """One workspace's digest of one closed week, aggregate figures only."""

    week: str
    k: int
    answers: AnswerSplit | None  # the week itself
    trend: tuple[WeekAnswers, ...]  # the last TREND_WEEKS weeks, oldest first, ending with `week`
    nudges: CountTable  # the week's nudges by main trap
    nudge_trend: tuple[tuple[str, Count | None], ...]  # nudges per week, oldest first
    ratings: ShareTable  # the week's ratings by reframing move

    def answer_line(self, answer: str) -> str:
        """The trend of one answer's share as a sparkline (0% to 100%)."""
        return sparkline(
            [week.split.share(answer) if week.split else None for week in self.trend], top=1.0
        )

    def nudge_line(self) -> str:
        return sparkline([count.count if count else None for _, count in self.nudge_trend])


# -- building a digest --------------------------------------------------------


def check_k(k: int) -> int:
    if k < MIN_K:
        raise ValueError(f"k must be at least {MIN_K}, got {k}")
    return k


def build_digest(
    *,
    week: str,
    trend_weeks: Sequence[str],
    k: int,
    answers: Iterable[AnswerRecord],
    nudges: Iterable[NudgeRecord],
    ratings: Iterable[RatingRecord],
) -> Digest:
    """The digest of `week`. `trend_weeks` are the weeks to draw, oldest first,
    ending with `week`; `answers` and `nudges` may cover all of them, `ratings`
    are the week's own."""
    check_k(k)
    if not trend_weeks or trend_weeks[-1] != week:
        raise ValueError("trend_weeks must end with the digest's week")
    answers_by_week = _group(answers, lambda a: a.week)
    nudges_by_week = _group(nudges, lambda n: n.week)
    trend = tuple(WeekAnswers(w, answer_split(answers_by_week.get(w, []), k)) for w in trend_weeks)
    nudge_trend = tuple(
        (w, _count(nudges_by_week[w]) if _enough(nudges_by_week.get(w, []), k) else None)
        for w in trend_weeks
    )
    return Digest(
        week=week,
        k=k,
        answers=trend[-1].split,
        trend=trend,
        nudges=count_table(nudges_by_week.get(week, []), lambda n: n.trap, k),
        nudge_trend=nudge_trend,
        ratings=share_table(list(ratings), k),
    )


def answer_split(records: Collection[AnswerRecord], k: int) -> AnswerSplit | None:
    """How the team answered one week, or None when rules 1 or 2 hold it back."""
    known = [r for r in records if r.answer in ANSWER_ORDER]
    if not _enough(known, k) or not _mixed(known, lambda r: r.answer):
        return None
    counts = {answer: sum(1 for r in known if r.answer == answer) for answer in ANSWER_ORDER}
    return AnswerSplit(reps=_reps(known), counts=counts)


def count_table(records: Collection[R], category: Callable[[R], str], k: int) -> CountTable:
    """Counts by category under rules 1 and 3 (a count reveals no one's answer)."""
    groups = _group(records, category)
    if not _enough(records, k):
        return CountTable(total=None, held_back=tuple(sorted(groups)))
    visible, rest_visible = _partition(groups, lambda rs: _enough(rs, k))
    hidden = [key for key in groups if key not in visible]
    return CountTable(
        total=_count(records),
        shown={key: _count(groups[key]) for key in visible},
        held_back=tuple(sorted(hidden)),
        rest=_count([r for key in hidden for r in groups[key]]) if rest_visible else None,
    )


def share_table(records: Collection[RatingRecord], k: int) -> ShareTable:
    """The Helpful share by move under rules 1, 2 and 3."""
    groups = _group(records, lambda r: r.move)

    def ok(rs: Collection[RatingRecord]) -> bool:
        return _enough(rs, k) and _mixed(rs, lambda r: r.helpful)

    if not ok(records):
        return ShareTable(total=None, held_back=tuple(sorted(groups)))
    visible, rest_visible = _partition(groups, ok)
    hidden = [key for key in groups if key not in visible]
    return ShareTable(
        total=_share(records),
        shown={key: _share(groups[key]) for key in visible},
        held_back=tuple(sorted(hidden)),
        rest=_share([r for key in hidden for r in groups[key]]) if rest_visible else None,
    )


# -- drawing ------------------------------------------------------------------


def sparkline(values: Sequence[float | None], *, top: float | None = None) -> str:
    """One block character per value, from ▁ (zero) to █ (`top`, by default the
    largest value); None draws as a gap (·). A fixed `top` keeps weeks comparable
    across digests (shares use 1.0)."""
    present = [v for v in values if v is not None]
    peak = top if top is not None else max(present, default=0.0)
    chars = []
    for value in values:
        if value is None:
            chars.append(GAP)
        elif peak <= 0:
            chars.append(SPARK_LEVELS[0])
        else:
            level = round(min(max(value / peak, 0.0), 1.0) * (len(SPARK_LEVELS) - 1))
            chars.append(SPARK_LEVELS[level])
    return "".join(chars)


def bar(fraction: float, width: int = 20) -> str:
    """A horizontal bar of `width` cells, `fraction` of them full."""
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def percent(fraction: float) -> str:
    return f"{round(fraction * 100)}%"


# -- the rules ----------------------------------------------------------------


def _reps(records: Iterable[AnswerRecord | NudgeRecord | RatingRecord]) -> int:
    return len({r.rep for r in records})


def _enough(records: Collection[AnswerRecord | NudgeRecord | RatingRecord], k: int) -> bool:
    """Rule 1: at least k distinct reps contribute."""
    return _reps(records) >= k


def _mixed(records: Collection[R], value: Callable[[R], object]) -> bool:
    """Rule 2: not every contribution is the same."""
    return len({value(r) for r in records}) > 1


def _partition(
    groups: Mapping[str, list[R]], ok: Callable[[list[R]], bool]
) -> tuple[set[str], bool]:
    """Rule 3: the categories that may be shown, and whether what the held-back
    ones add up to may be shown too.

    Held back: every category that fails `ok`; then, while those together still
    fail it, the smallest category shown so far (fewest reps, then fewest
    records). Ends with the held-back group passing `ok`, or nothing shown.
    """
    hidden = {key for key, records in groups.items() if not ok(records)}
    shown = [key for key in groups if key not in hidden]

    def merged() -> list[R]:
        return [r for key in hidden for r in groups[key]]

    while hidden and shown and not ok(merged()):
        smallest = min(shown, key=lambda key: (_reps(groups[key]), len(groups[key]), key))
        shown.remove(smallest)
        hidden.add(smallest)
    return set(shown), bool(hidden) and bool(shown)


def _group(records: Iterable[R], key: Callable[[R], K]) -> dict[K, list[R]]:
    groups: dict[K, list[R]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return groups


def _count(records: Collection[AnswerRecord | NudgeRecord | RatingRecord]) -> Count:
    return Count(count=len(records), reps=_reps(records))


def _share(records: Collection[RatingRecord]) -> Share:
    return Share(
        helpful=sum(1 for r in records if r.helpful), rated=len(records), reps=_reps(records)
    )
