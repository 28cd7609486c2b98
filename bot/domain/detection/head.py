"""The trained head, run in pure Python from the shipped `head.bin`.

`python -m bot train detector` writes the file (see bot/training/detector.py). Its two big
tables hold int8 values with a float scale per column: WordLlama's token table projected
through the first layer (one row per token) and one row per hashed word n-gram. Sums are
taken on the integers (C-level, via zip) and scaled once, so a message costs a few list
operations per token, whatever the vocabulary size, and nothing needs numpy. Each table is
held once, as unsigned bytes (value + 128: what the sums read); the file's bytes are not
kept (every web worker holds a head: a second copy would cost 2 MB a process).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from operator import mul
from pathlib import Path
from typing import Any

from bot.domain.detection.features import Features

MAGIC = b"REFRAME-HEAD-1\n"
HEAD_FILE = Path(__file__).with_name("head.bin")
# int8 -> its value + 128 as an unsigned byte (flipping the sign bit does exactly that),
# and back again: the same table undoes itself.
_OFFSET = bytes((b ^ 0x80) for b in range(256))


@dataclass(frozen=True, slots=True)
class _Table:
    scales: tuple[float, ...]
    width: int
    offset_bytes: bytes  # int8 values + 128, unsigned, rows x width, row-major

    def row(self, index: int) -> memoryview:
        """One row's int8 values (a copy: only evidence, for a vent, reads single rows)."""
        raw = self.offset_bytes[index * self.width : (index + 1) * self.width]
        return memoryview(raw.translate(_OFFSET)).cast("b")

    def _offset_rows(self, rows: Iterable[int]) -> list[bytes]:
        raw, width = self.offset_bytes, self.width
        return [raw[i * width : (i + 1) * width] for i in rows]

    def column_sums(self, rows: Iterable[int]) -> list[int]:
        """Exact per-column sums of the given rows (repeats count), via C-level zip and sum."""
        offset_rows = self._offset_rows(rows)
        shift = 128 * len(offset_rows)
        return [total - shift for total in map(sum, zip(*offset_rows, strict=True))]


class Head:
    """Scores for [nudge, *traps in priority order] from token ids and n-gram ids."""

    # The header is the JSON the trainer wrote next to the tables: typed as JSON is.
    def __init__(self, header: dict[str, Any], blob: bytes | memoryview) -> None:
        self.header = header
        self.outputs: tuple[str, ...] = tuple(header["outputs"])
        self.thresholds: dict[str, float] = dict(header["thresholds"])
        arrays = header["arrays"]
        assert isinstance(arrays, dict)
        self._hidden = int(header["hidden"])
        # `blob` is read here and not kept: the tables are copied out once, translated.
        self._mean = self._table(blob, arrays["mean"])
        self._grams = self._table(blob, arrays["grams"])
        self._grams_rows = int(arrays["grams"]["rows"])
        self._b1 = self._floats(blob, arrays["b1"])
        w2 = self._floats(blob, arrays["W2"])  # stored output-major: one row per output
        self._w2 = [w2[k * self._hidden : (k + 1) * self._hidden] for k in range(len(self.outputs))]
        self._b2 = self._floats(blob, arrays["b2"])

    @classmethod
    def load(cls, path: Path = HEAD_FILE) -> Head:
        raw = path.read_bytes()
        if not raw.startswith(MAGIC):
            raise ValueError(f"{path} is not a Reframe head file")
        (size,) = struct.unpack_from("<I", raw, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(raw[start : start + size])
        # A view, not a slice: slicing would copy the 2 MB of tables once more.
        return cls(header, memoryview(raw)[start + size :])

    @staticmethod
    def _table(blob: bytes | memoryview, spec: dict[str, Any]) -> _Table:
        offset, rows, width = int(spec["offset"]), int(spec["rows"]), int(spec["width"])
        offset_bytes = bytes(blob[offset : offset + rows * width]).translate(_OFFSET)
        return _Table(tuple(spec["scales"]), width, offset_bytes)

    @staticmethod
    def _floats(blob: bytes | memoryview, spec: dict[str, Any]) -> list[float]:
        offset, count = int(spec["offset"]), int(spec["count"])
        return list(struct.unpack_from(f"<{count}f", blob, offset))

    def hidden(self, tokens: tuple[int, ...], ngrams: tuple[int, ...]) -> list[float]:
        tokens = tokens or (0,)
        total = self._mean.column_sums(tokens)
        grams = self._grams.column_sums(ngrams) if ngrams else [0] * self._hidden
        n_tok = len(tokens)
        n_gram = len(ngrams) or 1
        pre = [
            b + t * ms / n_tok + g * gs / n_gram
            for b, t, ms, g, gs in zip(
                self._b1, total, self._mean.scales, grams, self._grams.scales, strict=True
            )
        ]
        return [v if v > 0.0 else 0.0 for v in pre]

    def scores_of(self, feats: Features) -> dict[str, float]:
        return self.outputs_of(self.hidden_of(feats))

    def hidden_of(self, feats: Features) -> list[float]:
        return self.hidden(feats.tokens, feats.ngrams)

    def outputs_of(self, hidden: list[float]) -> dict[str, float]:
        return {
            name: _sigmoid(bias + sum(map(mul, hidden, weights)))
            for name, bias, weights in zip(self.outputs, self._b2, self._w2, strict=True)
        }

    def output_of(self, hidden: list[float], name: str) -> float:
        """One output of `outputs_of`, computed alone."""
        k = self.outputs.index(name)
        return _sigmoid(self._b2[k] + sum(map(mul, hidden, self._w2[k])))

    def push_weights(self, hidden: list[float], output: str, n_grams: int) -> list[float]:
        """Per n-gram column, how much one unit moves an output's logit for this message."""
        weights = self._w2[self.outputs.index(output)]
        scales = self._grams.scales
        return [
            w * s / n_grams if h else 0.0 for h, w, s in zip(hidden, weights, scales, strict=True)
        ]

    def gram_push(self, gram: int, push_weights: list[float]) -> float:
        """How much one n-gram pushed the output `push_weights` was made for."""
        push: float = sum(map(mul, self._grams.row(gram), push_weights))
        return push


def _sigmoid(x: float) -> float:
    if x < -30.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))
