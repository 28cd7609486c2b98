"""The team digest's figures and their privacy rules. Pure, no Slack, no database."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.digest import (
    GAP,
    AnswerRecord,
    Digest,
    NudgeRecord,
    RatingRecord,
    bar,
    build_digest,
    check_k,
    count_table,
    percent,
    share_table,
    sparkline,
)

WEEK = "2026-W48"
WEEKS = [f"2026-W{n}" for n in range(37, 49)]  # twelve, oldest first, ending with WEEK
K = 5


def mixed_answers(reps: int, week: str = WEEK) -> list[AnswerRecord]:
    """`reps` reps answering, the three answers taken in turn."""
    cycle = ("trust_excitement", "both", "chasing_happiness")
    return [AnswerRecord(rep, week, cycle[rep % 3]) for rep in range(reps)]


def digest_of(
    answers: Iterable[AnswerRecord] = (),
    nudges: Iterable[NudgeRecord] = (),
    ratings: Iterable[RatingRecord] = (),
    k: int = K,
) -> Digest:
    return build_digest(
        week=WEEK, trend_weeks=WEEKS, k=k, answers=answers, nudges=nudges, ratings=ratings
    )


# -- rule 1: at least k reps, at the edges of k = 5 ------------------------------


@pytest.mark.parametrize(("reps", "shown"), [(1, False), (4, False), (5, True), (50, True)])
def test_the_weeks_answers_show_from_k_reps(reps: int, shown: bool) -> None:
    digest = digest_of(answers=mixed_answers(reps))
    assert (digest.answers is not None) is shown
    if digest.answers is not None:
        assert digest.answers.reps == reps
        assert sum(digest.answers.counts.values()) == reps


@pytest.mark.parametrize(("reps", "shown"), [(1, False), (4, False), (5, True), (50, True)])
def test_nudges_show_from_k_reps(reps: int, shown: bool) -> None:
    nudges = [NudgeRecord(rep, WEEK, "labeling") for rep in range(reps)]
    table = digest_of(nudges=nudges).nudges
    assert (table.total is not None) is shown
    assert ("labeling" in table.shown) is shown
    if not shown:
        assert table.shown == {} and table.rest is None and table.held_back == ("labeling",)


@pytest.mark.parametrize(("reps", "shown"), [(1, False), (4, False), (5, True), (50, True)])
def test_ratings_show_from_k_reps(reps: int, shown: bool) -> None:
    ratings = [RatingRecord(rep, "evidence_check", rep % 2 == 0) for rep in range(reps)]
    table = digest_of(ratings=ratings).ratings
    assert (table.total is not None) is shown
    assert ("evidence_check" in table.shown) is shown


def test_many_nudges_from_few_reps_are_still_few_reps() -> None:
    """Forty nudges to four reps: a count of nudges is not a count of people."""
    nudges = [NudgeRecord(rep % 4, WEEK, "blaming") for rep in range(40)]
    table = digest_of(nudges=nudges).nudges
    assert table.total is None and table.shown == {}


def test_k_can_be_raised_but_never_below_three() -> None:
    assert digest_of(answers=mixed_answers(5), k=6).answers is None
    assert digest_of(answers=mixed_answers(6), k=6).answers is not None
    assert check_k(3) == 3
    with pytest.raises(ValueError, match="at least 3"):
        digest_of(answers=mixed_answers(50), k=2)


# -- rule 2: no unanimous split ------------------------------------------------------


@pytest.mark.parametrize("reps", [5, 50])
def test_a_unanimous_week_is_held_back(reps: int) -> None:
    unanimous = [AnswerRecord(rep, WEEK, "chasing_happiness") for rep in range(reps)]
    assert digest_of(answers=unanimous).answers is None


def test_a_move_everyone_found_helpful_is_held_back() -> None:
    ratings = [RatingRecord(rep, "ownership", True) for rep in range(8)]
    ratings += [RatingRecord(rep, "evidence_check", rep % 2 == 0) for rep in range(20)]
    table = digest_of(ratings=ratings).ratings
    assert "ownership" not in table.shown and "ownership" in table.held_back


# -- rule 3: a per-trap or per-move figure under k is held back, even on a big team ----


def fifty_rep_nudges() -> list[NudgeRecord]:
    """50 reps nudged: labeling 30 reps, mind reading 16, blaming 4."""
    nudges = [NudgeRecord(rep, WEEK, "labeling") for rep in range(30)]
    nudges += [NudgeRecord(rep, WEEK, "mind_reading") for rep in range(30, 46)]
    nudges += [NudgeRecord(rep, WEEK, "blaming") for rep in range(46, 50)]
    nudges += [NudgeRecord(46, WEEK, "blaming")] * 5  # one rep, many nudges
    return nudges


def test_a_trap_under_k_reps_is_held_back_even_when_the_team_total_is_large() -> None:
    table = digest_of(nudges=fifty_rep_nudges()).nudges
    assert table.total is not None and table.total.reps == 50 and table.total.count == 55
    assert "blaming" not in table.shown and "blaming" in table.held_back
    # Blaming alone would be "total minus the rest": the next smallest goes with it.
    assert set(table.shown) == {"labeling"}
    assert table.held_back == ("blaming", "mind_reading")
    assert table.rest is not None and table.rest.reps == 20 and table.rest.count == 25
    assert table.shown["labeling"].count + table.rest.count == table.total.count


def test_small_traps_that_together_reach_k_cover_each_other() -> None:
    nudges = [NudgeRecord(rep, WEEK, "labeling") for rep in range(30)]
    nudges += [NudgeRecord(rep, WEEK, "blaming") for rep in range(30, 33)]
    nudges += [NudgeRecord(rep, WEEK, "fortune_telling") for rep in range(33, 36)]
    table = count_table(nudges, lambda n: n.trap, K)
    assert set(table.shown) == {"labeling"}
    assert table.held_back == ("blaming", "fortune_telling")
    assert table.rest is not None and table.rest.reps == 6


def test_a_move_under_k_reps_is_held_back_even_when_ratings_are_many() -> None:
    ratings = [RatingRecord(rep, "evidence_check", rep % 3 != 0) for rep in range(40)]
    ratings += [RatingRecord(rep, "perspective_swap", rep % 2 == 0) for rep in range(40, 48)]
    ratings += [RatingRecord(48, "ownership", True), RatingRecord(49, "ownership", False)]
    table = share_table(ratings, K)
    assert table.total is not None and table.total.reps == 50
    assert "ownership" not in table.shown and table.shown.keys() == {"evidence_check"}
    assert table.rest is not None and table.rest.reps == 10


nudge_sets = st.lists(
    st.builds(
        NudgeRecord,
        rep=st.integers(0, 30),
        week=st.just(WEEK),
        trap=st.sampled_from(["labeling", "blaming", "mind_reading", "fortune_telling"]),
    ),
    max_size=120,
)
rating_sets = st.lists(
    st.builds(
        RatingRecord,
        rep=st.integers(0, 30),
        move=st.sampled_from(["ownership", "evidence_check", "perspective_swap"]),
        helpful=st.booleans(),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(nudges=nudge_sets, k=st.integers(3, 8))
def test_no_held_back_count_can_be_worked_out(nudges: list[NudgeRecord], k: int) -> None:
    table = count_table(nudges, lambda n: n.trap, k)
    for trap, shown in table.shown.items():
        assert len({n.rep for n in nudges if n.trap == trap}) >= k
        assert shown.count == sum(1 for n in nudges if n.trap == trap)
    if table.total is None:
        assert table.shown == {}
        return
    hidden = [n for n in nudges if n.trap not in table.shown]
    assert table.total.reps >= k
    # What "total minus the shown ones" reveals is itself backed by k reps (or nothing).
    assert not hidden or len({n.rep for n in hidden}) >= k
    assert sum(c.count for c in table.shown.values()) + len(hidden) == table.total.count


@settings(max_examples=200, deadline=None)
@given(ratings=rating_sets, k=st.integers(3, 8))
def test_no_held_back_share_can_be_worked_out(ratings: list[RatingRecord], k: int) -> None:
    table = share_table(ratings, k)
    for move in table.shown:
        group = [r for r in ratings if r.move == move]
        assert len({r.rep for r in group}) >= k and len({r.helpful for r in group}) == 2
    if table.total is None:
        return
    hidden = [r for r in ratings if r.move not in table.shown]
    if hidden:
        assert len({r.rep for r in hidden}) >= k and len({r.helpful for r in hidden}) == 2


# -- the 12-week trend ---------------------------------------------------------------


def test_the_trend_has_twelve_weeks_oldest_first_with_gaps_for_thin_weeks() -> None:
    answers: list[AnswerRecord] = []
    for index, week in enumerate(WEEKS):
        reps = 4 if index in (2, 7) else 10  # two thin weeks
        trusting = min(index, 9)  # the team trusts more as the weeks go by
        answers += [
            AnswerRecord(rep, week, "trust_excitement" if rep < trusting else "chasing_happiness")
            for rep in range(reps)
        ]
    digest = digest_of(answers=answers)
    assert [w.week for w in digest.trend] == WEEKS
    assert [w.split is None for w in digest.trend] == [
        i in (0, 2, 7)
        for i in range(12)  # week 0: everyone said the same (rule 2)
    ]
    line = digest.answer_line("trust_excitement")
    assert len(line) == 12 and line[0] == line[2] == line[7] == GAP
    assert line[1] == "▂" and line[-1] == "▇"  # 10% and 90% of the week's 10 reps
    assert digest.answers is not None and digest.answers.share("trust_excitement") == 0.9


def test_nudge_trend_counts_each_week_under_rule_one() -> None:
    nudges = [NudgeRecord(rep, week, "labeling") for week in WEEKS[-3:] for rep in range(6)]
    nudges += [NudgeRecord(rep, WEEKS[0], "labeling") for rep in range(2)]
    digest = digest_of(nudges=nudges)
    counts = [count.count if count else None for _, count in digest.nudge_trend]
    assert counts == [None] * 9 + [6, 6, 6]
    assert digest.nudge_line() == GAP * 9 + "███"


def test_trend_weeks_must_end_with_the_digest_week() -> None:
    with pytest.raises(ValueError, match="end with"):
        build_digest(week=WEEK, trend_weeks=WEEKS[:-1], k=K, answers=[], nudges=[], ratings=[])


# -- drawing ---------------------------------------------------------------------------


def test_sparkline_scales_to_top_and_draws_gaps() -> None:
    assert sparkline([0.0, 0.5, 1.0, None], top=1.0) == "▁▅█·"
    assert sparkline([2, 4, 8]) == "▃▅█"  # scaled to the largest
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""
    assert sparkline([None, None]) == "··"
    assert sparkline([1.5], top=1.0) == "█"  # clipped


def test_bars_and_percentages() -> None:
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(0.0, 4) == "░░░░" and bar(1.0, 4) == "████"
    assert percent(0.614) == "61%"
