"""The pretrained part of the detector: WordLlama's tokenizer and token table, read from its wheel.

WordLlama (MIT) ships a 32,000-token BPE tokenizer and a static 256-d embedding per token
inside its wheel. We read both files directly instead of importing the package: its loader
looks for the tokenizer in the wrong folder and then tries the network, and importing it
pulls in numpy. Nothing here downloads anything; a missing wheel fails with one clear line.

The tokenizer is a byte-fallback BPE (the Llama-2 vocabulary). `BpeTokenizer` reimplements
it in pure Python; a test checks it against the `tokenizers` library on every labelled line.
It differs only where a piece is longer than MAX_PIECE_CHARS (no real word is): such a
piece is cut first, to keep crafted input from making BPE quadratic.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORDLLAMA_VERSION = "0.4.0.post1"
TOKENIZER_FILE = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
WEIGHTS_FILE = Path("weights") / "l2_supercat_256.safetensors"
SPACE = "\u2581"  # the tokenizer's word-start mark
MAX_PIECE_CHARS = 96  # longest piece in the labelled data: 68 characters


class EncoderMissing(RuntimeError):
    """The WordLlama wheel is not installed; the message says how to install it."""


def wordllama_dir() -> Path:
    """Folder of the installed wordllama wheel, found without importing it (no numpy)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderMissing(
            "the detector needs the wordllama wheel's files: "
            f"pip install --no-deps wordllama=={WORDLLAMA_VERSION}"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / TOKENIZER_FILE).is_file():
        raise EncoderMissing(f"wordllama at {folder} has no {TOKENIZER_FILE}")
    return folder


class BpeTokenizer:
    """Byte-fallback BPE over SentencePiece-style pieces, as the wheel's tokenizer defines it."""

    def __init__(self, vocab: dict[str, int], merges: list[str]) -> None:
        self._vocab = vocab
        # Keyed by the merge's own "left right" string: building tuples costs 3x the load time.
        self._ranks: dict[str, int] = {merge: rank for rank, merge in enumerate(merges)}
        self._bytes = [vocab[f"<0x{b:02X}>"] for b in range(256)]
        self._unk = vocab.get("<unk>", 0)
        # Pieces are at most MAX_PIECE_CHARS long, so the cache stays a few MB at most.
        self.piece_ids = lru_cache(maxsize=16_384)(self._piece_ids)

    @classmethod
    def from_file(cls, path: Path) -> BpeTokenizer:
        model = json.loads(path.read_text("utf-8"))["model"]
        if model.get("type") != "BPE" or not model.get("byte_fallback"):
            raise ValueError(f"{path} is not a byte-fallback BPE tokenizer")
        return cls(model["vocab"], model["merges"])

    def encode(self, text: str) -> list[int]:
        """Token ids for text; no special tokens (the head never saw any)."""
        if not text:
            return []
        normal = SPACE + text.replace(" ", SPACE)
        ids: list[int] = []
        # No vocabulary entry has the word-start mark after its first character (a test
        # checks), so no merge crosses a piece that starts with it: BPE runs per piece.
        for piece in _pieces(normal):
            # No word is this long; a crafted one would make BPE quadratic, so it is cut.
            for start in range(0, len(piece), MAX_PIECE_CHARS):
                ids.extend(self.piece_ids(piece[start : start + MAX_PIECE_CHARS]))
        return ids

    def _piece_ids(self, piece: str) -> tuple[int, ...]:
        symbols = list(piece)
        ranks = self._ranks
        while len(symbols) > 1:
            # The lowest-ranked merge present; all its occurrences merge left to right, as
            # the reference's rank-then-position order does (a pair's rank is unique).
            best_rank = -1
            best: tuple[str, str] | None = None
            for left, right in zip(symbols, symbols[1:], strict=False):
                rank = ranks.get(left + " " + right)
                if rank is not None and (best_rank < 0 or rank < best_rank):
                    best_rank, best = rank, (left, right)
            if best is None:
                break
            left, right = best
            merged: list[str] = []
            at, last = 0, len(symbols) - 1
            while at <= last:
                if at < last and symbols[at] == left and symbols[at + 1] == right:
                    merged.append(left + right)
                    at += 2
                else:
                    merged.append(symbols[at])
                    at += 1
            symbols = merged
        ids: list[int] = []
        for symbol in symbols:
            known = self._vocab.get(symbol)
            if known is not None:
                ids.append(known)
            else:
                ids.extend(self._bytes[b] for b in symbol.encode("utf-8"))
        return tuple(ids)


# A piece is a run of word-start marks and what follows up to the next mark.
_PIECE = re.compile(f"{SPACE}+[^{SPACE}]*|[^{SPACE}]+")


def _pieces(normal: str) -> list[str]:
    return _PIECE.findall(normal)


@dataclass(frozen=True, slots=True)
class TokenTable:
    """The wheel's static token vectors (float16), for training; the runtime never loads them."""

    rows: int
    dim: int
    data: bytes

    @classmethod
    def from_safetensors(cls, path: Path) -> TokenTable:
        raw = path.read_bytes()
        (header_len,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8 : 8 + header_len])
        tensors = [(k, v) for k, v in header.items() if k != "__metadata__"]
        if len(tensors) != 1 or tensors[0][1]["dtype"] != "F16":
            raise ValueError(f"{path}: expected one float16 tensor")
        info = tensors[0][1]
        begin, end = info["data_offsets"]
        rows, dim = info["shape"]
        return cls(rows, dim, raw[8 + header_len + begin : 8 + header_len + end])


def load_tokenizer() -> BpeTokenizer:
    return BpeTokenizer.from_file(wordllama_dir() / TOKENIZER_FILE)


def load_token_table() -> TokenTable:
    return TokenTable.from_safetensors(wordllama_dir() / WEIGHTS_FILE)
