"""The digest's Block Kit and its plain-text reading: pure, no Slack."""

from __future__ import annotations

from bot.domain.digest import NudgeRecord, RatingRecord, build_digest
from bot.domain.questions import KNOWN_MOVES
from bot.domain.traps import TRAP_PRIORITY
from bot.slack.digest_blocks import (
    DigestWording,
    build_digest_blocks,
    digest_summary,
    render_text,
    week_label,
)

WEEKS = [f"2026-W{n}" for n in range(37, 49)]


def test_week_labels_span_months_and_years() -> None:
    assert week_label("2026-W48") == "week 48, 23–29 Nov 2026"
    assert week_label("2026-W49") == "week 49, 30 Nov – 6 Dec 2026"
    assert week_label("2026-W53") == "week 53, 28 Dec 2026 – 3 Jan 2027"


def test_the_fullest_digest_stays_inside_slacks_limits() -> None:
    """Every trap and every move shown: still few blocks and short sections."""
    nudges = [
        NudgeRecord(rep, week, trap)
        for week in WEEKS
        for index, trap in enumerate(TRAP_PRIORITY)
        for rep in range(index * 10, index * 10 + 10)
    ]
    ratings = [
        RatingRecord(rep, move, rep % 3 != 0)
        for index, move in enumerate(sorted(KNOWN_MOVES))
        for rep in range(index * 10, index * 10 + 10)
    ]
    digest = build_digest(
        week=WEEKS[-1], trend_weeks=WEEKS, k=5, answers=[], nudges=nudges, ratings=ratings
    )
    assert len(digest.nudges.shown) == 8 and len(digest.ratings.shown) == 8
    blocks = [block.to_dict() for block in build_digest_blocks(digest, DigestWording.load())]
    assert len(blocks) <= 50
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) < 3000
        if block["type"] == "header":
            assert len(text) <= 150
    shown = render_text(blocks)
    assert "Care, not convince" in shown and "Competitor bias" in shown
    assert "80 reps" in shown  # 8 traps × 10 reps each
    assert digest_summary(digest) == "Team digest for week 48, 23–29 Nov 2026"
