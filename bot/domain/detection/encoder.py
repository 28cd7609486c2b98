"""The pretrained part of the detector: WordLlama's tokenizer and token table, read from its wheel.

WordLlama (MIT) ships a 32,000-token BPE tokenizer and a static 256-d embedding per token
inside its wheel. We read both files directly instead of importing the package: its loader
looks for the tokenizer in the wrong folder and then tries the network, and importing it
pulls in numpy. Nothing here downloads anything; a missing wheel fails with one clear line.

The tokenizer is a byte-fallback BPE (the Llama-2 vocabulary). `BpeTokenizer` reimplements
it in pure Python; a test checks it against the `tokenizers` library on every labelled line.
It differs only where a piece is longer than MAX_PIECE_CHARS (no real word is): such a
piece is cut first, to keep crafted input from making BPE quadratic.

The wheel's tokenizer file is JSON (1.8 MB, 93,000 strings); what BPE runs on is a few flat
arrays of ints (`BpeTables`). Working them out takes several times as long as reading them,
so they ship beside the head, in `tokenizer.bin` (`python -m bot train tokenizer` writes
it), with the SHA-256 of the wheel file they came from: a process reads them when the
installed wheel's file has that digest, and works them out from the file when not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import struct
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, repeat
from operator import add, mul
from pathlib import Path

WORDLLAMA_VERSION = "0.4.0.post1"
TOKENIZER_FILE = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
WEIGHTS_FILE = Path("weights") / "l2_supercat_256.safetensors"
TABLES_FILE = Path(__file__).with_name("tokenizer.bin")
TABLES_MAGIC = b"REFRAME-BPE-1\n"
SPACE = "\u2581"  # the tokenizer's word-start mark
MAX_PIECE_CHARS = 96  # longest piece in the labelled data: 68 characters
NO_MERGE = 1 << 31  # above every rank


log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class BpeTables:
    """The tokenizer file as flat arrays: what BpeTokenizer runs on.

    A merge (left, right) sits among the merges of `left`, which are together in `rights`
    (sorted, from `starts[left]` to `starts[left + 1]`); its rank (its place in the file,
    lower merges first) beside it in `ranks`; the token it makes at `merged[rank]`. BPE
    starts from single characters (`chars`, their ids in `char_ids`), or from a character's
    UTF-8 bytes (`byte_ids`) when the vocabulary lacks it.
    """

    chars: str
    char_ids: array[int]
    byte_ids: array[int]
    starts: array[int]
    rights: array[int]
    ranks: array[int]
    merged: array[int]

    @classmethod
    def from_vocab(cls, vocab: dict[str, int], merges: list[str]) -> BpeTables:
        # C-level maps and one sort: a Python loop over 61,000 merges would take several
        # times as long. "a b" -> a, b: no token holds a space (the mark stands for it).
        halves = " ".join(merges).split(" ")
        # "a b" -> "ab" for every merge at once (no token holds a newline either).
        joined = "\n".join(merges).replace(" ", "").split("\n")
        if len(halves) != 2 * len(merges) or len(joined) != len(merges):
            raise ValueError("a merge is not two tokens")
        ids = list(map(vocab.__getitem__, halves))
        left_ids, right_ids = ids[0::2], ids[1::2]
        size = max(vocab.values()) + 1
        keys = list(map(add, map(mul, left_ids, repeat(size)), right_ids))
        by_pair = sorted(range(len(keys)), key=keys.__getitem__)
        counts = Counter(left_ids)
        chars = "".join(token for token in vocab if len(token) == 1)
        return cls(
            chars=chars,
            char_ids=array("i", map(vocab.__getitem__, chars)),
            byte_ids=array("i", (vocab[f"<0x{b:02X}>"] for b in range(256))),
            starts=array("i", accumulate(map(counts.__getitem__, range(size)), initial=0)),
            rights=array("i", map(right_ids.__getitem__, by_pair)),
            ranks=array("i", by_pair),
            merged=array("i", map(vocab.__getitem__, joined)),
        )

    @classmethod
    def from_file(cls, path: Path) -> BpeTables:
        return cls.from_json(path.read_bytes(), str(path))

    @classmethod
    def from_json(cls, raw: bytes, name: str) -> BpeTables:
        model = json.loads(raw)["model"]
        if model.get("type") != "BPE" or not model.get("byte_fallback"):
            raise ValueError(f"{name} is not a byte-fallback BPE tokenizer")
        return cls.from_vocab(model["vocab"], model["merges"])

    @classmethod
    def load(cls, source: Path, shipped: Path = TABLES_FILE) -> BpeTables:
        """The tables of the tokenizer file `source`: the shipped ones when they were made
        from a file with the same SHA-256, else worked out from `source` itself."""
        raw = source.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        try:
            return cls.from_bytes(shipped.read_bytes(), source_sha256=digest)
        except (OSError, ValueError, KeyError) as why:
            log.warning("tokenizer tables worked out from %s (%s)", source, why)
        return cls.from_json(raw, str(source))

    def to_bytes(self, source_sha256: str) -> bytes:
        """MAGIC, the header's length (4 bytes), a JSON header, then each array as
        little-endian int32s."""
        arrays = self._arrays()
        header = json.dumps(
            {"source_sha256": source_sha256, "lengths": {k: len(v) for k, v in arrays.items()}}
        ).encode()
        body = bytearray(TABLES_MAGIC + len(header).to_bytes(4, "little") + header)
        for values in arrays.values():
            values = array("i", values)
            if sys.byteorder == "big":
                values.byteswap()
            body += values.tobytes()
        return bytes(body)

    @classmethod
    def from_bytes(cls, raw: bytes, *, source_sha256: str) -> BpeTables:
        """Tables written by `to_bytes`; ValueError when they came from another file."""
        if not raw.startswith(TABLES_MAGIC):
            raise ValueError("not a tokenizer tables file")
        start = len(TABLES_MAGIC) + 4
        size = int.from_bytes(raw[len(TABLES_MAGIC) : start], "little")
        header = json.loads(raw[start : start + size])
        if header["source_sha256"] != source_sha256:
            raise ValueError("the shipped tables were made from another tokenizer file")
        view, at = memoryview(raw), start + size
        arrays: dict[str, array[int]] = {}
        for name, length in header["lengths"].items():
            values = array("i")
            values.frombytes(view[at : at + 4 * length])
            if sys.byteorder == "big":
                values.byteswap()
            arrays[name] = values
            at += 4 * length
        if at != len(raw) or list(arrays) != list(cls.__slots__):
            raise ValueError("the tokenizer tables file is cut short or malformed")
        chars = "".join(map(chr, arrays.pop("chars")))
        return cls(chars=chars, **arrays)

    def _arrays(self) -> dict[str, array[int]]:
        return {
            "chars": array("i", map(ord, self.chars)),
            "char_ids": self.char_ids,
            "byte_ids": self.byte_ids,
            "starts": self.starts,
            "rights": self.rights,
            "ranks": self.ranks,
            "merged": self.merged,
        }


class BpeTokenizer:
    """Byte-fallback BPE over SentencePiece-style pieces, as the wheel's tokenizer defines it.

    It runs on token ids and holds the file as flat arrays (`BpeTables`), not as dicts of
    strings: every web worker keeps one, and the vocabulary and merges as Python objects
    cost over 10 MB a process.
    """

    def __init__(self, tables: BpeTables) -> None:
        self._chars = dict(zip(tables.chars, tables.char_ids, strict=True))
        self._bytes = tables.byte_ids
        self._starts = tables.starts
        self._rights = tables.rights
        self._ranks = tables.ranks
        self._merged = tables.merged
        # Pieces are at most MAX_PIECE_CHARS long, so the cache stays a few MB at most.
        self.piece_ids = lru_cache(maxsize=16_384)(self._piece_ids)

    @classmethod
    def from_file(cls, path: Path) -> BpeTokenizer:
        return cls(BpeTables.from_file(path))

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

    def _rank(self, left: int, right: int) -> int:
        """The rank of merging left with right; NO_MERGE when the file has no such merge."""
        low, high = self._starts[left], self._starts[left + 1]
        at = bisect_left(self._rights, right, low, high)
        return self._ranks[at] if at < high and self._rights[at] == right else NO_MERGE

    def _piece_ids(self, piece: str) -> tuple[int, ...]:
        ids: list[int] = []
        for char in piece:
            known = self._chars.get(char)
            if known is not None:
                ids.append(known)
            else:  # byte fallback; no merge takes a byte token (a test checks)
                ids.extend(self._bytes[b] for b in char.encode("utf-8"))
        rank = self._rank
        pair_ranks = [rank(a, b) for a, b in zip(ids, ids[1:], strict=False)]
        while pair_ranks:
            # The lowest-ranked merge present; all its occurrences merge left to right, as
            # the reference's rank-then-position order does (a pair's rank is unique).
            best = min(pair_ranks)
            if best == NO_MERGE:
                break
            merged = self._merged[best]
            new_ids: list[int] = []
            new_ranks: list[int] = []
            at, last, fresh = 0, len(ids) - 1, False
            while at <= last:
                # Only pairs next to a merged token are looked up again.
                if at < last and pair_ranks[at] == best:
                    token, step, was_fresh, fresh = merged, 2, fresh, True
                else:
                    token, step, was_fresh, fresh = ids[at], 1, fresh, False
                if new_ids:
                    unchanged = not (fresh or was_fresh)
                    new_ranks.append(pair_ranks[at - 1] if unchanged else rank(new_ids[-1], token))
                new_ids.append(token)
                at += step
            ids, pair_ranks = new_ids, new_ranks
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
    return BpeTokenizer(BpeTables.load(wordllama_dir() / TOKENIZER_FILE))


def write_tables(out: Path = TABLES_FILE) -> Path:
    """`python -m bot train tokenizer`: the installed wheel's tokenizer, as shipped tables."""
    source = wordllama_dir() / TOKENIZER_FILE
    raw = source.read_bytes()
    tables = BpeTables.from_json(raw, str(source))
    out.write_bytes(tables.to_bytes(hashlib.sha256(raw).hexdigest()))
    return out


def load_token_table() -> TokenTable:
    return TokenTable.from_safetensors(wordllama_dir() / WEIGHTS_FILE)
