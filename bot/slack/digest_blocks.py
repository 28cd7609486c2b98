"""The team digest in Block Kit, and the same message as plain text.

Pure functions from a Digest to blocks. A Digest holds aggregate figures only
(bot/domain/digest.py), never a name, an id, a note or a message, so neither
can anything built here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.digest import (
    ANSWER_ORDER,
    GAP,
    TREND_WEEKS,
    CountTable,
    Digest,
    ShareTable,
    bar,
    percent,
)
from bot.domain.schedule import parse_week
from bot.slack.checkin_blocks import THE_QUESTION, CheckinContent

SECTION_LIMIT = 3000
BAR_WIDTH = 20
NOT_ENOUGH = "Not enough data yet"

MOVE_LABELS = {
    "perspective_swap": "Perspective swap",
    "evidence_check": "Evidence check",
    "mindset_mirror": "Mindset mirror",
    "half_full_glass": "Half-full glass",
    "ownership": "Ownership",
    "honest_exit": "Honest exit",
    "safety_over_happiness": "Safety over happiness",
    "care_not_convince": "Care, not convince",
}


@dataclass(frozen=True, slots=True)
class DigestWording:
    """The answer labels reps see on their check-in buttons, reused for the team."""

    answers: Mapping[str, str]

    @classmethod
    def load(cls) -> DigestWording:
        content = CheckinContent.load()
        return cls(answers={code: entry.label for code, entry in content.answers.items()})


def trap_label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def move_label(code: str) -> str:
    return MOVE_LABELS.get(code, code.replace("_", " ").capitalize())


def week_label(week: str) -> str:
    """ "week 48, 23–29 Nov 2026" (Monday to Sunday)."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    sunday = monday + timedelta(days=6)
    if monday.month == sunday.month:
        days = f"{monday.day}–{sunday.day} {sunday:%b %Y}"
    elif monday.year == sunday.year:
        days = f"{monday.day} {monday:%b} – {sunday.day} {sunday:%b %Y}"
    else:
        days = f"{monday.day} {monday:%b %Y} – {sunday.day} {sunday:%b %Y}"
    return f"week {number}, {days}"


def digest_summary(digest: Digest) -> str:
    """The message's notification text."""
    return f"Team digest for {week_label(digest.week)}"


def build_digest_blocks(digest: Digest, wording: DigestWording) -> list[Block]:
    """Header, the week's check-in answers, the 12-week trend, nudges by trap,
    ratings by move, and the privacy rule the figures follow."""
    k = digest.k
    return [
        HeaderBlock(text=f"Team digest · week {parse_week(digest.week)[1]}"),
        ContextBlock(
            elements=[
                _md(f"{_sentence(week_label(digest.week))}. Aggregate only: no names, no notes.")
            ]
        ),
        SectionBlock(block_id="digest_checkins", text=_md(_checkins(digest, wording))),
        SectionBlock(block_id="digest_trend", text=_md(_trend(digest, wording))),
        DividerBlock(),
        SectionBlock(block_id="digest_nudges", text=_md(_nudges(digest, k))),
        SectionBlock(block_id="digest_ratings", text=_md(_ratings(digest, k))),
        ContextBlock(
            elements=[
                _md(
                    f"A figure appears only when at least {k} reps contribute to it and "
                    "they did not all answer alike; a few more are held back so that none "
                    "can be worked out from the others. Reframe never shows who said what."
                )
            ]
        ),
    ]


def _checkins(digest: Digest, wording: DigestWording) -> str:
    title = f"*Weekly check-in:* _{THE_QUESTION}_"
    split = digest.answers
    if split is None:
        return f"{title}\n{NOT_ENOUGH} to show how the team answered that week."
    width = max(len(wording.answers[a]) for a in ANSWER_ORDER)
    rows = [
        f"{wording.answers[a]:<{width}}  {bar(split.share(a), BAR_WIDTH)}  "
        f"{percent(split.share(a)):>4}"
        for a in ANSWER_ORDER
    ]
    return f"{title}\n{split.reps} reps answered:\n{_code(rows)}"


def _trend(digest: Digest, wording: DigestWording) -> str:
    title = f"*Last {TREND_WEEKS} weeks*, oldest to newest"
    has_answers = any(week.split for week in digest.trend)
    has_nudges = any(count for _, count in digest.nudge_trend)
    if not (has_answers or has_nudges):
        return f"{title}\n{NOT_ENOUGH} for a trend."
    labels = [wording.answers[a] for a in ANSWER_ORDER] + ["Nudges sent"]
    width = max(len(label) for label in labels)
    latest = digest.answers
    rows = [
        f"{wording.answers[a]:<{width}}  {digest.answer_line(a)}  "
        f"{percent(latest.share(a)) if latest else GAP:>4}"
        for a in ANSWER_ORDER
    ]
    last_count = digest.nudge_trend[-1][1]
    rows.append(
        f"{'Nudges sent':<{width}}  {digest.nudge_line()}  "
        f"{last_count.count if last_count else GAP:>4}"
    )
    legend = (
        f"Answers: ▁ none to █ all of a week's answers. Nudges: █ is the busiest week. "
        f"{GAP} not enough data that week."
    )
    return f"{title}\n{_code(rows)}\n{legend}"


def _nudges(digest: Digest, k: int) -> str:
    table: CountTable = digest.nudges
    title = f"*Nudges in week {parse_week(digest.week)[1]}, by the main thinking trap heard*"
    if table.total is None:
        return f"{title}\n{NOT_ENOUGH}: a figure needs at least {k} reps."
    total = table.total
    lines = [f"{title}\n{total.count} nudges went out to {total.reps} reps."]
    shown = sorted(table.shown.items(), key=lambda item: (-item[1].count, item[0]))
    if shown:
        width = max(len(trap_label(code)) for code, _ in shown)
        lines.append(
            _code(
                f"{trap_label(code):<{width}}  {bar(c.count / total.count, BAR_WIDTH)}  "
                f"{c.count:>4}"
                for code, c in shown
            )
        )
    if table.held_back:
        names = ", ".join(trap_label(code) for code in table.held_back)
        together = f" (together {table.rest.count} nudges)" if table.rest else ""
        lines.append(f"{NOT_ENOUGH} for: {names}{together}.")
    return "\n".join(lines)


def _ratings(digest: Digest, k: int) -> str:
    table: ShareTable = digest.ratings
    title = f"*Rated Helpful in week {parse_week(digest.week)[1]}, by reframing move*"
    if table.total is None:
        return f"{title}\n{NOT_ENOUGH}: a figure needs at least {k} reps."
    total = table.total
    lines = [f"{title}\n{percent(total.fraction)} of {total.rated} ratings were Helpful."]
    shown = sorted(table.shown.items(), key=lambda item: (-item[1].fraction, item[0]))
    if shown:
        width = max(len(move_label(code)) for code, _ in shown)
        lines.append(
            _code(
                f"{move_label(code):<{width}}  {bar(s.fraction, BAR_WIDTH)}  "
                f"{percent(s.fraction):>4} of {s.rated}"
                for code, s in shown
            )
        )
    if table.held_back:
        names = ", ".join(move_label(code) for code in table.held_back)
        rest = table.rest
        together = f" (together {percent(rest.fraction)} of {rest.rated})" if rest else ""
        lines.append(f"{NOT_ENOUGH} for: {names}{together}.")
    return "\n".join(lines)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _code(rows: Any) -> str:
    """A monospace block, so bars and sparklines line up."""
    return "```\n" + "\n".join(rows) + "\n```"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:SECTION_LIMIT])


# -- the same message, as plain text -------------------------------------------------

_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


def render_text(blocks: Sequence[Block | Mapping[str, Any]]) -> str:
    """What a reader sees, as plain text: headers, sections and context lines
    in order, monospace blocks indented, Slack's * and _ markup removed."""
    out: list[str] = []
    for block in blocks:
        data = block.to_dict() if isinstance(block, Block) else dict(block)
        kind = data.get("type")
        if kind == "header":
            title = data["text"]["text"]
            out += [title, "=" * len(title)]
        elif kind == "section":
            out.append(_plain(data["text"]["text"]))
        elif kind == "context":
            out.append(_plain(" ".join(e.get("text", "") for e in data.get("elements", []))))
        elif kind == "divider":
            out.append("-" * 40)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _plain(mrkdwn: str) -> str:
    lines: list[str] = []
    in_code = False
    for line in mrkdwn.split("\n"):
        if line == "```":
            in_code = not in_code
            continue
        lines.append("  " + line if in_code else _ITALIC.sub(r"\1", _BOLD.sub(r"\1", line)))
    return "\n".join(lines)
