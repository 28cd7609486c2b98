"""What the head sees of a message: capped token ids and hashed word n-grams.

Shared by training and the runtime so both cut and hash text the same way. Pure Python.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from bot.domain.detection.encoder import BpeTokenizer
from bot.domain.text import parse_slack_text

# A vent that matters sits in the first few hundred words; longer text costs no more.
MAX_MODEL_CHARS = 2_000
# Markup (links, mentions, code) takes room in the raw text; beyond this nothing is read.
MAX_RAW_CHARS = 4 * MAX_MODEL_CHARS
MAX_EMOJI = 20
MAX_TOKENS = 512
NGRAM_BUCKETS = 1 << 15
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True, slots=True)
class Features:
    tokens: tuple[int, ...]
    ngrams: tuple[int, ...]


def read_message(raw: str) -> tuple[str, str]:
    """(typed, plain): the rep's own words, and the same with emoji names after them.

    Lowercase, Slack markup resolved, quoted speech blanked: what a customer said (inline
    or as a `>` quote) is theirs, not the rep's verdict, so "their CFO said \"this is a
    waste\"" reads as "their cfo said". Only the start of a long message is read at all.
    """
    # A lone surrogate (valid in JSON, not in UTF-8) would break hashing and tokenizing.
    raw = raw[:MAX_RAW_CHARS].encode("utf-8", "replace").decode("utf-8")
    parsed = parse_slack_text(raw)
    typed = _QUOTED.sub(' " ', parsed.text)[:MAX_MODEL_CHARS].strip()
    if not parsed.emoji:
        return typed, typed
    names = " ".join(name.replace("_", " ") for name in parsed.emoji[:MAX_EMOJI])
    return typed, f"{typed} {names}".strip()


def model_text(raw: str, *, with_emoji: bool = True) -> str:
    """What the head reads of a message (see `read_message`)."""
    typed, plain = read_message(raw)
    return plain if with_emoji else typed


# A long update is read in pieces of about this many words, and the strongest piece counts:
# a vent in paragraph three of a deal review is not diluted by the rest of the review.
CHUNK_WORDS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def chunks(text: str) -> list[str]:
    """Whole sentences packed into pieces of at most CHUNK_WORDS words (a longer sentence
    is a piece of its own); a short message is one piece."""
    if len(text.split()) <= CHUNK_WORDS:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in _SENTENCE_END.split(text):
        count = len(sentence.split())
        if current and size + count > CHUNK_WORDS:
            pieces.append(" ".join(current))
            current, size = [], 0
        current.append(sentence)
        size += count
    if current:
        pieces.append(" ".join(current))
    return pieces


def words(text: str) -> list[str]:
    return _WORD.findall(text)


_CLAUSE = re.compile(
    r"[.!?;:,()\n]+|\s(?:but|and|though|although|because|while|so)\s|\s[-\u2013\u2014]+\s"
)
# Word lists as data (see its "about"): the sides here, evidence cues in rules.py.
VOCABULARY = json.loads(Path(__file__).with_name("vocabulary.json").read_text("utf-8"))
# Who a clause is about, by the first word that names a side. Charged words mean different
# things aimed at "their cfo" and at "our cpq", so each word also counts tagged by side.
_THEIR_SIDE = frozenset(VOCABULARY["their_side"])
_OUR_SIDE = frozenset(VOCABULARY["our_side"])
NOT_EVIDENCE = frozenset(VOCABULARY["not_evidence"])


def ngram_ids(text: str) -> tuple[int, ...]:
    return tuple(zlib.crc32(gram.encode()) % NGRAM_BUCKETS for gram in ngram_strings(text))


def ngram_strings(text: str) -> list[str]:
    """Words, word pairs, and words tagged by the side their clause is about."""
    tokens = words(text)
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    grams += _side_tagged(text)
    if not grams:
        grams = ["<no words>"]  # every message has at least one n-gram row
    return grams


def names_their_side(text: str) -> bool:
    return any(word in _THEIR_SIDE for word in words(text))


def clauses_by_side(text: str) -> list[tuple[str, str]]:
    """(side, clause): "c" when the clause first names the buying side, "o" our side, else "n"."""
    sided = []
    for clause in _CLAUSE.split(text):
        side = "n"
        for word in _WORD.findall(clause):
            if word in _THEIR_SIDE:
                side = "c"
                break
            if word in _OUR_SIDE:
                side = "o"
                break
        if clause.strip():
            sided.append((side, clause.strip()))
    return sided


def _side_tagged(text: str) -> list[str]:
    return [
        f"{side}|{word}" for side, clause in clauses_by_side(text) for word in _WORD.findall(clause)
    ]


def features(text: str, tokenizer: BpeTokenizer) -> Features:
    """Features of one piece of text already passed through `model_text`."""
    return Features(tuple(tokenizer.encode(text)[:MAX_TOKENS]), ngram_ids(text))


def message_features(text: str, tokenizer: BpeTokenizer) -> list[Features]:
    """Features per piece (see `chunks`) of a message already passed through `model_text`."""
    return [features(piece, tokenizer) for piece in chunks(text)]
