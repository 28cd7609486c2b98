"""The learned detector's build: the tokenizer, the shipped head, and retraining it.

`python -m bot train detector` must rebuild `bot/domain/detection/head.bin` from the labelled
training files; these tests retrain it (about half a minute) and compare.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from bot.domain.detection.encoder import SPACE, TOKENIZER_FILE, load_tokenizer, wordllama_dir
from bot.domain.detection.features import message_features, model_text
from bot.domain.detection.head import HEAD_FILE, Head
from bot.training import detector as training

# One xdist worker for the module: the head is retrained once (about 10 s of CPU), not per worker.
pytestmark = pytest.mark.xdist_group("retrained_head")

MAX_HEAD_BYTES = 5_000_000
# Retraining on the same machine kind gives the same file; across BLAS builds float sums may
# differ in the last bits, so scores are compared with this tolerance, decisions exactly
# but for this share of lines.
SCORE_TOLERANCE = 0.02
DECISION_FLIPS_ALLOWED = 0.002


def _all_texts() -> list[str]:
    data = Path(__file__).resolve().parent / "data"
    return [
        json.loads(line)["text"]
        for path in sorted(data.rglob("*.jsonl"))
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]


def test_the_pure_python_tokenizer_matches_the_reference_implementation() -> None:
    reference = Tokenizer.from_file(str(wordllama_dir() / TOKENIZER_FILE))
    ours = load_tokenizer()
    tricky = [
        "naïve café — déjà vu",
        "データ連携 の件",
        "emoji 🤡🔥 in text",
        "tabs\tand  double  spaces",
        "   leading and trailing   ",
        "ALL CAPS, MiXeD, snake_case, kebab-case, 3.14, $1,200, 50%",
        "\u200bzero width",
        "x" * 90,  # runs: every occurrence of a merge applies in the reference's order
        "a" * 60 + " " + "ab" * 45,
        "aaaaab" * 15,
        "looooooooooooooooooooooooooool",
    ]
    texts = _all_texts()
    samples = texts + [model_text(text) for text in texts] + tricky
    mismatched = [
        text
        for text in samples
        if ours.encode(text) != reference.encode(text, add_special_tokens=False).ids
    ]
    assert mismatched == []


def test_no_vocabulary_entry_has_the_word_mark_after_its_start() -> None:
    # The pure-Python tokenizer runs BPE per piece; that is exact only under this property.
    vocab = json.loads((wordllama_dir() / TOKENIZER_FILE).read_text("utf-8"))["model"]["vocab"]
    inside = [t for t in vocab if SPACE in t[1:] and set(t) != {SPACE}]
    assert inside == []


def test_the_shipped_head_names_the_data_and_settings_it_came_from() -> None:
    header = Head.load().header
    assert header["data_sha256"] == training.data_hash(training.training_files())
    assert header["data_files"] == sorted(p.name for p in training.training_files())
    assert header["config"] == asdict(training.Config())
    assert HEAD_FILE.stat().st_size <= MAX_HEAD_BYTES


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, training.Head]:
    out = tmp_path_factory.mktemp("head") / "head.bin"
    head, provenance = training.train(training.training_files())
    thresholds = training.thresholds(training.Config())
    training.export(head, out, thresholds=thresholds, provenance=provenance)
    return out, head


def _scores(head: Head, texts: list[str]) -> np.ndarray:
    tokenizer = load_tokenizer()
    return np.array(
        [
            max(
                (head.scores_of(f) for f in message_features(model_text(t), tokenizer)),
                key=lambda s: s["nudge"],
            )["nudge"]
            for t in texts
        ]
    )


def test_retraining_reproduces_the_shipped_head(retrained: tuple[Path, training.Head]) -> None:
    out, _ = retrained
    rows = training.load_rows(training.training_files())
    texts = [row.text for row in rows]
    shipped, rebuilt = Head.load(), Head.load(out)
    assert rebuilt.header["data_sha256"] == shipped.header["data_sha256"]
    assert rebuilt.header["config"] == shipped.header["config"]
    assert rebuilt.thresholds == shipped.thresholds
    a, b = _scores(shipped, texts), _scores(rebuilt, texts)
    assert np.abs(a - b).max() <= SCORE_TOLERANCE
    threshold = shipped.thresholds["nudge"]
    flips = np.mean((a >= threshold) != (b >= threshold))
    assert flips <= DECISION_FLIPS_ALLOWED


def test_the_runtime_head_computes_what_training_computed(
    retrained: tuple[Path, training.Head],
) -> None:
    out, numpy_head = retrained
    rows = training.load_rows(training.training_files())
    expected = numpy_head.predict(training.prepare(rows, load_tokenizer()))[:, 0]
    got = _scores(Head.load(out), [row.text for row in rows])
    # int8 tables with a scale per column: small differences, rare flips at the threshold.
    assert np.abs(expected - got).max() <= 0.08
    threshold = training.Config().nudge_threshold
    assert np.mean((expected >= threshold) != (got >= threshold)) <= 0.003
