"""What the detector holds in every web worker: the tokenizer as flat arrays (shipped in
tokenizer.bin, made from the wheel's file), each head table once. (Token for token against
the `tokenizers` library, on every labelled line: tests/test_detector_training.py.)"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import random
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.domain.detection.encoder import (
    MAX_PIECE_CHARS,
    SPACE,
    TABLES_FILE,
    TOKENIZER_FILE,
    BpeTables,
    _pieces,
    load_tokenizer,
    wordllama_dir,
    write_tables,
)
from bot.domain.detection.features import model_text
from bot.domain.detection.head import HEAD_FILE, MAGIC, Head

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def tokenizer_file() -> dict[str, Any]:
    model: dict[str, Any] = json.loads((wordllama_dir() / TOKENIZER_FILE).read_text("utf-8"))[
        "model"
    ]
    return model


def _string_bpe(vocab: dict[str, int], merges: list[str]) -> Callable[[str], list[int]]:
    """BPE as the file states it, on strings, every pair looked up on every round: slow
    and plain, the rule the id arrays must reproduce."""
    ranks = {merge: rank for rank, merge in enumerate(merges)}

    def piece_ids(piece: str) -> list[int]:
        symbols = list(piece)
        while True:
            pairs = [
                (ranks[f"{a} {b}"], a, b)
                for a, b in zip(symbols, symbols[1:], strict=False)
                if f"{a} {b}" in ranks
            ]
            if not pairs:
                break
            _, left, right = min(pairs)
            merged: list[str] = []
            at = 0
            while at < len(symbols):
                if symbols[at : at + 2] == [left, right]:
                    merged.append(left + right)
                    at += 2
                else:
                    merged.append(symbols[at])
                    at += 1
            symbols = merged
        ids: list[int] = []
        for symbol in symbols:
            if symbol in vocab:
                ids.append(vocab[symbol])
            else:
                ids.extend(vocab[f"<0x{b:02X}>"] for b in symbol.encode("utf-8"))
        return ids

    def encode(text: str) -> list[int]:
        if not text:
            return []
        ids: list[int] = []
        for piece in _pieces(SPACE + text.replace(" ", SPACE)):
            for start in range(0, len(piece), MAX_PIECE_CHARS):
                ids.extend(piece_ids(piece[start : start + MAX_PIECE_CHARS]))
        return ids

    return encode


def test_the_id_arrays_tokenize_a_sample_as_the_string_merges_do(
    tokenizer_file: dict[str, Any],
) -> None:
    lines = [
        json.loads(line)["text"]
        for path in sorted(DATA.rglob("*.jsonl"))
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    sample = random.Random(7).sample(lines, 300)
    sample += [model_text(text) for text in sample[:100]]
    sample += ["x" * 90, "aaaaab" * 15, "naïve café 🤡 データ", "a\u200bb", "", "   "]
    reference = _string_bpe(tokenizer_file["vocab"], tokenizer_file["merges"])
    ours = load_tokenizer()
    assert [text for text in sample if ours.encode(text) != reference(text)] == []


def test_every_merge_joins_two_tokens_once_and_never_a_byte_token(
    tokenizer_file: dict[str, Any],
) -> None:
    """What running BPE on ids relies on: a pair has one rank (the arrays find one), the
    merged token exists, and no merge takes a byte token (a character missing from the
    vocabulary enters as its byte tokens, which must then merge with nothing)."""
    vocab, merges = tokenizer_file["vocab"], tokenizer_file["merges"]
    pairs = [merge.split(" ") for merge in merges]
    assert all(len(pair) == 2 for pair in pairs)
    assert len({(a, b) for a, b in pairs}) == len(merges)
    assert [
        (a, b) for a, b in pairs if a not in vocab or b not in vocab or a + b not in vocab
    ] == []
    assert [merge for merge in merges if "<0x" in merge] == []


def _wheel_file() -> tuple[Path, str]:
    source = wordllama_dir() / TOKENIZER_FILE
    return source, hashlib.sha256(source.read_bytes()).hexdigest()


def test_the_shipped_tables_are_the_installed_wheel_s_tokenizer() -> None:
    """`python -m bot train tokenizer` rewrites them; they must be what the file gives."""
    source, digest = _wheel_file()
    shipped = BpeTables.from_bytes(TABLES_FILE.read_bytes(), source_sha256=digest)
    assert shipped == BpeTables.from_file(source)


def test_writing_the_tables_again_gives_the_shipped_file(tmp_path: Path) -> None:
    assert write_tables(tmp_path / "tokenizer.bin").read_bytes() == TABLES_FILE.read_bytes()


def test_tables_made_from_another_file_are_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, digest = _wheel_file()
    other = tmp_path / "tokenizer.bin"
    other.write_bytes(BpeTables.from_file(source).to_bytes(source_sha256="0" * 64))
    with pytest.raises(ValueError, match="another tokenizer file"):
        BpeTables.from_bytes(other.read_bytes(), source_sha256=digest)
    with caplog.at_level(logging.WARNING):
        assert BpeTables.load(source, shipped=other) == BpeTables.from_file(source)
    assert "worked out from" in caplog.text


@pytest.mark.parametrize("damage", ["cut", "missing", "garbage"])
def test_a_damaged_tables_file_falls_back_to_the_wheel_s_file(tmp_path: Path, damage: str) -> None:
    source, digest = _wheel_file()
    good = BpeTables.from_file(source).to_bytes(source_sha256=digest)
    shipped = tmp_path / "tokenizer.bin"
    if damage == "cut":
        shipped.write_bytes(good[:-4])
    elif damage == "garbage":
        shipped.write_bytes(b"REFRAME-BPE-1\n" + b"\xff" * 64)
    assert BpeTables.load(source, shipped=shipped) == BpeTables.from_file(source)


def _retained_bytes(load: Callable[[], object]) -> int:
    """Bytes still allocated once `load()` returned, what it returned kept alive."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = load()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept is not None
    return after - before


def test_the_tokenizer_holds_its_file_in_about_a_megabyte() -> None:
    # As dicts of strings (vocabulary and merges) it held 12 MB; as arrays of ints, 1 MB
    # plus the single characters BPE starts from.
    assert _retained_bytes(load_tokenizer) < 1_500_000


def test_the_head_holds_each_table_once() -> None:
    header = Head.load().header["arrays"]
    tables = sum(
        int(header[name]["rows"]) * int(header[name]["width"]) for name in ("mean", "grams")
    )
    assert _retained_bytes(Head.load) < tables * 1.1


def test_a_head_row_reads_the_int8_values_of_the_file() -> None:
    head = Head.load()
    spec = head.header["arrays"]["grams"]
    raw = HEAD_FILE.read_bytes()
    # The file: MAGIC, the header's length (4 bytes), the header, then the tables.
    tables = len(MAGIC) + 4 + int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 4], "little")
    start = tables + int(spec["offset"])
    width = int(spec["width"])
    for row in (0, 1234, int(spec["rows"]) - 1):
        expected = memoryview(raw[start + row * width : start + (row + 1) * width]).cast("b")
        assert head._grams.row(row).tolist() == expected.tolist()
