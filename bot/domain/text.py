"""Turn Slack mrkdwn into plain lowercase text the detector can match against.

Slack sends messages with its own markup: ``<@U123>`` mentions, ``<url|label>`` links,
``:emoji:`` codes, ``*bold*``, ``> quotes`` and HTML-escaped ``& < >``. The detector only
wants the words a rep typed, with quoted speech kept recognisable as a quote.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Longer messages are essays, not vents; capping keeps matching time bounded.
MAX_INPUT_CHARS = 4000
# Slack caps messages at 40k; anything beyond the cap is cut before any regex runs.
_RAW_CUT = MAX_INPUT_CHARS * 4

MENTION_PLACEHOLDER = "someone"

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL_LINK = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL_MENTION = re.compile(r"<!(?:subteam\^[A-Z0-9]+|date\^[^|>]*|[a-z]+)(?:\|([^>]*))?>")
_LABELLED_LINK = re.compile(r"<(?:https?|mailto|tel):[^|>\s]*\|([^>]*)>")
_BARE_LINK = re.compile(r"<(?:https?|mailto|tel):[^>\s]*>|https?://\S+")
_EMOJI = re.compile(r":([a-z0-9_+'-]+(?:::skin-tone-\d)?):")
_BLOCKQUOTE_LINE = re.compile(r"^\s*(?:&gt;|>)+\s?(.*)$")
# Emphasis markers only count when they hug a word, so snake_case and "a * b" survive.
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^*_~\n]+?)(?<=\S)\1(?![\w*_~])")
_CURLY_DOUBLE = re.compile(r"[\u201c\u201d\u201e\u00ab\u00bb]")
_CURLY_SINGLE = re.compile(r"[\u2018\u2019\u201a\u2032]")
_WHITESPACE = re.compile(r"\s+")
# A line break ends a thought in chat; keep it as a sentence boundary for the detector.
_LINE_BREAK = re.compile(r"(?<![.!?;:,\s])[ \t]*\n\s*")


@dataclass(frozen=True, slots=True)
class SlackText:
    """A message reduced to plain text, plus what was stripped that may still matter."""

    text: str
    emoji: tuple[str, ...]
    had_blockquote: bool


def parse_slack_text(text: str) -> SlackText:
    """Plain lowercase text; blockquoted lines come back wrapped in double quotes."""
    if not text:
        return SlackText("", (), False)
    raw = _CONTROL_CHARS.sub(" ", text[:_RAW_CUT])
    raw = _CODE_BLOCK.sub(" ", raw)
    raw = _CODE_SPAN.sub(" ", raw)
    raw, had_blockquote = _quote_blockquotes(raw)
    raw = _replace_slack_entities(raw)
    emoji = tuple(match.group(1) for match in _EMOJI.finditer(raw))
    raw = _EMOJI.sub(" ", raw)
    raw = _strip_emphasis(raw)
    raw = html.unescape(raw)
    raw = _CURLY_DOUBLE.sub('"', raw)
    raw = _CURLY_SINGLE.sub("'", raw)
    raw = _LINE_BREAK.sub(". ", raw.strip())
    plain = _WHITESPACE.sub(" ", raw).strip().lower()
    return SlackText(plain[:MAX_INPUT_CHARS], emoji, had_blockquote)


def normalize_slack_text(text: str) -> str:
    """Slack mrkdwn as Slack sends it -> plain lowercase text for matching."""
    return parse_slack_text(text).text


def _quote_blockquotes(raw: str) -> tuple[str, bool]:
    """Wrap each run of '> ' lines in double quotes: a rep quoting someone else."""
    lines = raw.split("\n")
    out: list[str] = []
    quoted: list[str] = []
    found = False
    for line in lines:
        match = _BLOCKQUOTE_LINE.match(line)
        if match:
            quoted.append(match.group(1).replace('"', " "))
            found = True
            continue
        if quoted:
            out.append('"' + " ".join(quoted) + '"')
            quoted = []
        out.append(line)
    if quoted:
        out.append('"' + " ".join(quoted) + '"')
    return "\n".join(out), found


def _replace_slack_entities(raw: str) -> str:
    raw = _USER_MENTION.sub(MENTION_PLACEHOLDER, raw)
    raw = _CHANNEL_LINK.sub(lambda m: m.group(1) or " ", raw)
    raw = _SPECIAL_MENTION.sub(lambda m: m.group(1) or " ", raw)
    raw = _LABELLED_LINK.sub(lambda m: m.group(1), raw)
    return _BARE_LINK.sub(" ", raw)


def _strip_emphasis(raw: str) -> str:
    # Nested markup (*_bold italic_*) needs a second pass.
    for _ in range(2):
        raw = _EMPHASIS.sub(r"\2", raw)
    return raw
