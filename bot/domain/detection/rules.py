"""The rules around the model: silences it should not have to learn, and evidence words.

Kept small on purpose. Everything about *whether* a message is a vent is the head's job;
rules only stop what is never a vent (an answer of one word or a few emoji) and point at
the words that carried each trap, so a rep can see what was heard.
"""

from __future__ import annotations

import re
from functools import cache

from bot.domain.detection.features import VOCABULARY, names_their_side
from bot.domain.text import MENTION_PLACEHOLDER
from bot.domain.traps import Trap

# "none", "nope lol", ":thumbsup:", "same": stand-up answers are never about a customer.
MIN_WORDS = 2
# Under this many words a vent has to name who it is about ("they hate us"): four-word lines
# with no one in them ("oh yeah always fun", "same as yesterday") misfired 18 times in the
# leave-one-author-out runs on the training data, against 6 vents this rule now misses.
NAMED_TARGET_BELOW = 5


def is_bare_answer(text: str) -> bool:
    """True when the rep's own words (quotes excluded) are under two words."""
    return _word_count(text, up_to=MIN_WORDS) < MIN_WORDS


def is_short_without_a_target(text: str) -> bool:
    """A short line that names no one on the buying side (they, their CFO, the client…)."""
    short = _word_count(text, up_to=NAMED_TARGET_BELOW) < NAMED_TARGET_BELOW
    return short and not names_their_side(text)


def _word_count(text: str, *, up_to: int) -> int:
    """Typed words, counted up to `up_to`: space-separated, with a letter in them ("n/a" is
    one, "+1" none), and not the stand-in for an @mention."""
    count = 0
    for token in text.split():
        if token != MENTION_PLACEHOLDER and any(ch.isalpha() for ch in token):
            count += 1
            if count >= up_to:
                break
    return count


@cache
def _cues() -> dict[Trap, re.Pattern[str]]:
    patterns = {}
    for code, phrases in VOCABULARY["cues"].items():
        alternatives = sorted((re.escape(p.lower()) for p in phrases), key=len, reverse=True)
        patterns[Trap(code)] = re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")
    return patterns


def cue_phrase(trap: Trap, text: str) -> str | None:
    """The first listed cue for this trap in the text, as written there."""
    pattern = _cues().get(trap)
    match = pattern.search(text) if pattern else None
    return match.group(0) if match else None
