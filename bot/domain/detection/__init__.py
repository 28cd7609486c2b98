"""Decide whether a rep is venting about a customer, and which thinking traps it shows.

A learned detector with rules around it:

- `encoder.py`  WordLlama's tokenizer, read from its wheel (pretrained, frozen);
- `features.py` what the head sees: token ids and hashed word n-grams, tagged by side;
- `head.py`     the trained head (`head.bin`, rebuilt by `python -m bot train detector`);
- `rules.py`    silences a model should not have to learn, and evidence words;
- `vocabulary.json` the cue words shown to a rep as evidence, per trap.

"A vent was missed" or "a misfire" starts here: run `python -m bot classify` on the line,
add it (labelled) to the training data, retrain, and check the benchmark.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.domain.detection.encoder import BpeTokenizer, EncoderMissing, load_tokenizer
from bot.domain.detection.features import (
    NOT_EVIDENCE,
    Features,
    chunks,
    features,
    ngram_strings,
    read_message,
)
from bot.domain.detection.head import Head
from bot.domain.detection.rules import cue_phrase, is_bare_answer, is_short_without_a_target
from bot.domain.traps import TRAP_PRIORITY, Trap

__all__ = ["SILENT", "Detection", "Detector", "EncoderMissing", "Evidence", "detect"]


@dataclass(frozen=True, slots=True)
class Evidence:
    trap: Trap
    phrase: str  # the words that carried the trap, from the normalised text


@dataclass(frozen=True, slots=True)
class Detection:
    nudge: bool
    traps: tuple[Trap, ...]  # main first (priority order); () when nudge is False
    evidence: tuple[Evidence, ...]
    score: float = 0.0  # the head's vent probability; 0 when a rule silenced the message

    @property
    def main_trap(self) -> Trap | None:
        return self.traps[0] if self.traps else None


SILENT = Detection(nudge=False, traps=(), evidence=())


class Detector:
    """Tokenizer + head; stateless per message, so one instance serves every thread."""

    def __init__(self, tokenizer: BpeTokenizer, head: Head) -> None:
        self._tokenizer = tokenizer
        self._head = head
        self.nudge_threshold = head.thresholds["nudge"]
        self.trap_share = head.thresholds["trap_share"]

    @classmethod
    def load(cls) -> Detector:
        return cls(load_tokenizer(), Head.load())

    def detect(self, text: str) -> Detection:
        typed, plain = read_message(text)  # the rep's own words; plain adds emoji names
        if is_bare_answer(typed) or is_short_without_a_target(typed):
            return SILENT
        # A long update is read piece by piece; the most vent-like piece speaks for it.
        best: tuple[float, str, Features, list[float]] | None = None
        for piece in chunks(plain):
            feats = features(piece, self._tokenizer)
            hidden = self._head.hidden_of(feats)
            # The vent score alone decides which piece speaks and whether it does;
            # the trap scores are only worked out for a vent (most messages are not).
            nudge = self._head.output_of(hidden, "nudge")
            if best is None or nudge > best[0]:
                best = (nudge, piece, feats, hidden)
        assert best is not None
        score, piece, feats, hidden = best
        if score < self.nudge_threshold:
            return Detection(False, (), (), score)
        scores = self._head.outputs_of(hidden)
        # Every trap close to the strongest one, in priority order: the first is the main trap.
        floor = self.trap_share * max(scores[t.value] for t in TRAP_PRIORITY)
        traps = tuple(t for t in TRAP_PRIORITY if scores[t.value] >= floor)
        evidence = tuple(Evidence(t, self._evidence(t, piece, feats, hidden)) for t in traps)
        return Detection(True, traps, evidence, score)

    def _evidence(self, trap: Trap, plain: str, feats: Features, hidden: list[float]) -> str:
        listed = cue_phrase(trap, plain)
        if listed:
            return listed
        # No listed cue: the words whose n-gram pushed this trap's score the most.
        weights = self._head.push_weights(hidden, trap.value, len(feats.ngrams) or 1)
        best, best_push = "", float("-inf")
        for gram, row in zip(ngram_strings(plain), feats.ngrams, strict=True):
            phrase = gram.partition("|")[2] or gram  # a side-tagged word is still that word
            if set(phrase.split()) <= NOT_EVIDENCE or phrase not in plain:
                continue
            push = self._head.gram_push(row, weights)
            if push > best_push:
                best, best_push = phrase, push
        return best


_default: Detector | None = None
_default_lock = threading.Lock()


def default_detector() -> Detector:
    """The shared detector, loaded on first use (about 0.1 s) or at start-up by the wiring."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Detector.load()
    return _default


def detect(text: str) -> Detection:
    """Detect a vent about the customer in a Slack message (as Slack sends it)."""
    return default_detector().detect(text)
