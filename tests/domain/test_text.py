"""Slack mrkdwn -> plain text: what the detector gets to read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import MAX_INPUT_CHARS, normalize_slack_text, parse_slack_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<@U123ABC> can you join?", "someone can you join?"),
        ("ask <@W99|maria> first", "ask someone first"),
        ("posted in <#C0123|deal-acme>", "posted in deal-acme"),
        ("see <https://example.com/deck|the deck>", "see the deck"),
        ("notes: <https://example.com/notes> done", "notes: done"),
        ("email <mailto:a@b.co|Ann>", "email ann"),
        ("<!here> call moved", "call moved"),
        ("ping <!subteam^S0123|@sales-team>", "ping @sales-team"),
        ("great call :tada: :+1::skin-tone-2:", "great call"),
        ("run `rm -rf jerk` now", "run now"),
        ("before ```their cfo is a jerk``` after", "before after"),
        ("before\n```\nmulti\nline\n```\nafter", "before. after"),
        ("*bold* _italic_ ~strike~", "bold italic strike"),
        ("keep snake_case_names and 2 * 3", "keep snake_case_names and 2 * 3"),
        ("R&amp;D &lt;3 &gt;", "r&d <3 >"),
        ("  lots   of\tspace  ", "lots of space"),
        ("SHOUTING Words", "shouting words"),
        ("He said \u201cno way\u201d \u2013 it\u2019s fine", 'he said "no way" \u2013 it\'s fine'),
        ("line one\nline two", "line one. line two"),
        ("ends with stop.\nnext", "ends with stop. next"),
    ],
)
def test_normalize_slack_text(raw: str, expected: str) -> None:
    assert normalize_slack_text(raw) == expected


def test_blockquote_lines_become_one_quoted_span() -> None:
    parsed = parse_slack_text("&gt; this is a waste of time\n&gt; honestly\ntheir CFO, today")
    assert parsed.had_blockquote
    assert parsed.text == '"this is a waste of time honestly". their cfo, today'


def test_unescaped_blockquote_is_also_a_quote() -> None:
    assert normalize_slack_text("> we will never buy\nsaid their VP") == (
        '"we will never buy". said their vp'
    )


def test_emoji_names_are_kept_aside() -> None:
    parsed = parse_slack_text("their cfo again :rage: :face_with_rolling_eyes:")
    assert parsed.text == "their cfo again"
    assert parsed.emoji == ("rage", "face_with_rolling_eyes")


@pytest.mark.parametrize("raw", ["", "   ", "\n\n", ":tada:", "<https://x.io>", "``` ```"])
def test_empty_like_inputs_become_empty(raw: str) -> None:
    assert normalize_slack_text(raw) == ""


def test_control_characters_become_spaces() -> None:
    assert normalize_slack_text("their\x00cfo\x07is\u200bhere\x1b") == "their cfo is here"


def test_huge_input_is_capped() -> None:
    text = normalize_slack_text("word " * 100_000)
    assert 0 < len(text) <= MAX_INPUT_CHARS


def test_unclosed_markup_does_not_crash() -> None:
    assert normalize_slack_text("<@U1 *bold ```code _x <http") == "<@u1 *bold"


@given(st.text(max_size=300))
def test_any_text_normalises_to_lowercase_single_spaced(raw: str) -> None:
    text = normalize_slack_text(raw)
    assert text == text.strip()
    assert "  " not in text
    assert "\n" not in text
    assert text == text.lower()
    assert len(text) <= MAX_INPUT_CHARS
