"""The labelled data behind the detector: well-formed, big enough, many voices, splits apart.

Reads every file for its shape and counts only; no test here looks at how the detector
does on the frozen sets (that is `python -m bot bench detector`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.domain.traps import TRAP_PRIORITY

DATA = Path(__file__).resolve().parent / "data"
SILENT_KINDS = {
    "update",
    "bad_news",
    "own_side",
    "self_reflection",
    "quote",
    "negated",
    "praise",
    "question",
    "logistics",
    "mixed_fact",
}
TRAINING = [DATA / "detector_dev.jsonl", *sorted((DATA / "authors").glob("*.jsonl"))]
FROZEN = [DATA / "detector_test.jsonl", *sorted((DATA / "unseen").glob("*.jsonl"))]
# The dev split holds four authors by id range (tests/data/README.md); every other file is one.
DEV_AUTHORS = 4


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


ALL = {path: _rows(path) for path in TRAINING + FROZEN}


@pytest.mark.parametrize("path", TRAINING + FROZEN, ids=lambda p: p.name)
def test_every_line_follows_the_labelling_guide(path: Path) -> None:
    rank = {str(trap): i for i, trap in enumerate(TRAP_PRIORITY)}
    for row in ALL[path]:
        assert set(row) == {"id", "text", "nudge", "traps", "kind"}, row
        assert isinstance(row["text"], str) and row["text"].strip(), row
        traps = row["traps"]
        assert isinstance(traps, list) and all(t in rank for t in traps), row
        assert traps == sorted(traps, key=rank.__getitem__) and len(set(traps)) == len(traps)
        if row["nudge"] is True:
            assert traps and row["kind"] == "vent", row
        else:
            assert row["nudge"] is False and not traps and row["kind"] in SILENT_KINDS, row


def test_ids_are_unique_across_every_file() -> None:
    ids = Counter(row["id"] for rows in ALL.values() for row in rows)
    assert [i for i, n in ids.items() if n > 1] == []


def test_size_voices_and_balance() -> None:
    rows = [row for rows in ALL.values() for row in rows]
    authors = DEV_AUTHORS + len(ALL) - 1
    silent = sum(1 for row in rows if not row["nudge"])
    assert len(rows) >= 6_000
    assert authors >= 10
    assert silent / len(rows) >= 0.5


def test_the_unseen_voices_set_is_big_and_apart_from_training() -> None:
    unseen = [row for path in FROZEN[1:] for row in ALL[path]]
    assert len(unseen) >= 1_000
    assert len(FROZEN) - 1 >= 2  # at least two authors


def test_no_frozen_line_also_sits_in_the_training_data() -> None:
    from bot.training.detector import training_files

    assert set(training_files()) == set(TRAINING)
    assert not set(training_files()) & set(FROZEN)
    # Stand-up answers ("nope", "same as yesterday", ":+1:") recur in any team's channel, so
    # only lines of four words or more count as leaked when they repeat.
    seen = {str(row["text"]).strip().lower() for path in TRAINING for row in ALL[path]}
    leaked = [
        row["id"]
        for path in FROZEN
        for row in ALL[path]
        if len(str(row["text"]).split()) > 3 and str(row["text"]).strip().lower() in seen
    ]
    assert leaked == []


def test_every_trap_leads_in_every_new_voice() -> None:
    for path in TRAINING[1:] + FROZEN[1:]:
        mains = Counter(row["traps"][0] for row in ALL[path] if row["nudge"])
        assert set(mains) == {str(trap) for trap in TRAP_PRIORITY}, path.name
