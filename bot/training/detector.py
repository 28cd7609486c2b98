"""Train the detector head on the labelled lines: `python -m bot train detector`.

The encoder (WordLlama's static token vectors) stays frozen. The head is one hidden layer,
applied to each piece of a message (see features.chunks); the most vent-like piece counts:

    hidden = relu(mean_t(E[t]) @ A  +  mean_g(G[g])  +  b1)
    logits = hidden @ W2 + b2      # [nudge, one per trap in priority order]

E is the wheel's 32,000 x 256 token table, A projects it, G holds a vector per hashed word
n-gram (plain, pairs, and tagged by the side a clause is about). Because the mean of E[t]
is projected linearly, the exported file stores the projection per token (E @ A, 32,000 x H):
the runtime then needs no numpy and never loads the 16 MB table. Training is seeded and in
float32; export rounds the big tables to int8 with a scale per column.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.domain.detection.encoder import BpeTokenizer, TokenTable
from bot.domain.detection.features import NGRAM_BUCKETS, message_features, model_text
from bot.domain.traps import TRAP_PRIORITY

OUTPUTS = ("nudge", *(str(trap) for trap in TRAP_PRIORITY))
DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"


def training_files(data_dir: Path = DATA_DIR) -> list[Path]:
    """The tuning data: the dev split and every author under authors/. Never the frozen
    test split (detector_test.jsonl) or the unseen-voices set (unseen/)."""
    return [data_dir / "detector_dev.jsonl", *sorted((data_dir / "authors").glob("*.jsonl"))]


@dataclass(frozen=True)
class Config:
    hidden: int = 32
    epochs: int = 30
    batch: int = 32
    lr: float = 0.003
    weight_decay: float = 3e-3
    trap_weight: float = 0.5
    dropout: float = 0.2
    seed: int = 20261202
    # Chosen on leave-one-author-out runs over the training authors, never the frozen sets
    # (`python -m bot train detector --cv` prints them): the lowest score at which held-out
    # authors' precision reached 0.95, since a misfire costs more than a miss.
    nudge_threshold: float = 0.77
    # A trap is heard when its score is at least this share of the strongest trap's; the
    # main trap is the first heard in priority order (best on the same runs: 0.87).
    trap_share: float = 0.5


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    nudge: bool
    traps: tuple[str, ...]
    kind: str


def load_rows(paths: Iterable[Path]) -> list[Row]:
    rows = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append(
                    Row(item["id"], item["text"], item["nudge"], tuple(item["traps"]), item["kind"])
                )
    return rows


def data_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class Batchable:
    """Messages as pieces (see features.chunks), each piece's ids as an array."""

    pieces: list[list[tuple[np.ndarray, np.ndarray]]]  # per message, per piece: (tokens, n-grams)
    targets: np.ndarray  # (n, outputs) 0/1
    vent: np.ndarray  # (n,) bool

    def subset(self, idx: np.ndarray) -> Batchable:
        return Batchable([self.pieces[i] for i in idx], self.targets[idx], self.vent[idx])


def prepare(rows: Sequence[Row], tokenizer: BpeTokenizer) -> Batchable:
    pieces = []
    targets = np.zeros((len(rows), len(OUTPUTS)), np.float32)
    for n, row in enumerate(rows):
        pieces.append(
            [
                (np.array(f.tokens or (0,), np.int64), np.array(f.ngrams, np.int64))
                for f in message_features(model_text(row.text), tokenizer)
            ]
        )
        targets[n, 0] = row.nudge
        for trap in row.traps:
            targets[n, OUTPUTS.index(trap)] = 1.0
    vent = targets[:, 0] > 0
    return Batchable(pieces, targets, vent)


class Head:
    def __init__(self, config: Config, table: np.ndarray) -> None:
        rng = np.random.default_rng(config.seed)
        self.config = config
        self.E = table
        d, h = table.shape[1], config.hidden
        scale = 1.0 / np.sqrt(d)
        self.params = {
            "A": rng.normal(0, scale, (d, h)).astype(np.float32) * 4,
            "G": rng.normal(0, 0.01, (NGRAM_BUCKETS, h)).astype(np.float32),
            "b1": np.zeros(h, np.float32),
            "W2": rng.normal(0, 1 / np.sqrt(h), (h, len(OUTPUTS))).astype(np.float32),
            "b2": np.zeros(len(OUTPUTS), np.float32),
        }
        self.rng = rng
        self._m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._step = 0

    # -- forward ------------------------------------------------------------------------
    def _gather(self, data: Batchable, idx: np.ndarray) -> dict[str, np.ndarray]:
        pieces = [piece for i in idx for piece in data.pieces[i]]
        counts = np.array([len(data.pieces[i]) for i in idx])
        toks = [piece[0] for piece in pieces]
        grams = [piece[1] for piece in pieces]
        tok_len = np.array([len(t) for t in toks])
        gram_len = np.array([len(g) for g in grams])
        return {
            "piece_msg": np.repeat(np.arange(len(idx)), counts),
            "tok": np.concatenate(toks),
            "tok_seg": np.repeat(np.arange(len(pieces)), tok_len),
            "tok_start": np.concatenate(([0], np.cumsum(tok_len)[:-1])),
            "tok_len": tok_len,
            "gram": np.concatenate(grams),
            "gram_seg": np.repeat(np.arange(len(pieces)), gram_len),
            "gram_start": np.concatenate(([0], np.cumsum(gram_len)[:-1])),
            "gram_len": gram_len,
        }

    def forward(self, g: dict[str, np.ndarray], train: bool = False) -> dict[str, np.ndarray]:
        p, c = self.params, self.config
        n = len(g["tok_len"])  # pieces
        pre = np.tile(p["b1"], (n, 1))
        cache: dict[str, np.ndarray] = {}
        emb = self.E[g["tok"]]
        mean = np.add.reduceat(emb, g["tok_start"], axis=0) / g["tok_len"][:, None]
        cache["mean"] = mean
        pre += mean @ p["A"]
        sums = np.add.reduceat(p["G"][g["gram"]], g["gram_start"], axis=0)
        pre += sums / g["gram_len"][:, None]
        hidden = np.maximum(pre, 0)
        if train and c.dropout:
            keep = (self.rng.random(hidden.shape) >= c.dropout) / (1 - c.dropout)
            hidden = hidden * keep
            cache["keep"] = keep
        cache["pre"] = pre
        cache["hidden"] = hidden
        piece_logits = hidden @ p["W2"] + p["b2"]
        # A message reads as its most vent-like piece: every output comes from that piece.
        order = np.lexsort((-piece_logits[:, 0], g["piece_msg"]))
        first = np.r_[True, g["piece_msg"][order][1:] != g["piece_msg"][order][:-1]]
        chosen = order[first]
        cache["chosen"] = chosen
        cache["logits"] = piece_logits[chosen]
        return cache

    def predict(self, data: Batchable) -> np.ndarray:
        out = []
        for start in range(0, len(data.pieces), 256):
            idx = np.arange(start, min(start + 256, len(data.pieces)))
            out.append(_sigmoid(self.forward(self._gather(data, idx))["logits"]))
        return np.concatenate(out)

    # -- training -----------------------------------------------------------------------
    def fit(self, data: Batchable) -> None:
        c = self.config
        n = len(data.pieces)
        for _ in range(c.epochs):
            order = self.rng.permutation(n)
            for start in range(0, n, c.batch):
                self._train_step(data, order[start : start + c.batch])

    def _train_step(self, data: Batchable, idx: np.ndarray) -> None:
        p, c = self.params, self.config
        g = self._gather(data, idx)
        cache = self.forward(g, train=True)
        y = data.targets[idx]
        weight = np.ones_like(y)
        weight[:, 1:] = c.trap_weight * data.vent[idx][:, None]  # traps only on vents
        dchosen = (_sigmoid(cache["logits"]) - y) * weight / len(idx)
        dlogits = np.zeros((len(g["tok_len"]), len(OUTPUTS)), np.float32)
        dlogits[cache["chosen"]] = dchosen
        grads = {k: np.zeros_like(v) for k, v in p.items() if k != "G"}
        grads["W2"] = cache["hidden"].T @ dlogits
        grads["b2"] = dlogits.sum(0)
        dhidden = dlogits @ p["W2"].T
        if "keep" in cache:
            dhidden *= cache["keep"]
        dpre = dhidden * (cache["pre"] > 0)
        grads["b1"] = dpre.sum(0)
        grads["A"] = cache["mean"].T @ dpre
        # Only the n-gram rows in this batch get a gradient: sum it per row.
        per_gram = (dpre / g["gram_len"][:, None])[g["gram_seg"]]
        order = np.argsort(g["gram"], kind="stable")
        ordered = g["gram"][order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self._adam(grads, np.add.reduceat(per_gram[order], starts, axis=0), ordered[starts])

    def _adam(self, grads: dict[str, np.ndarray], gram_grad: np.ndarray, rows: np.ndarray) -> None:
        c = self.config
        self._step += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        corr1 = 1 - b1**self._step
        corr2 = 1 - b2**self._step
        for k, grad in grads.items():
            if k in ("A", "W2"):
                grad = grad + c.weight_decay * self.params[k]
            self._m[k] = b1 * self._m[k] + (1 - b1) * grad
            self._v[k] = b2 * self._v[k] + (1 - b2) * grad * grad
            self.params[k] -= c.lr * (self._m[k] / corr1) / (np.sqrt(self._v[k] / corr2) + eps)
        # Lazy (sparse) Adam: only the n-gram rows this batch touched move.
        m, v, G = self._m["G"], self._v["G"], self.params["G"]
        m[rows] = b1 * m[rows] + (1 - b1) * gram_grad
        v[rows] = b2 * v[rows] + (1 - b2) * gram_grad * gram_grad
        G[rows] -= c.lr * (m[rows] / corr1) / (np.sqrt(v[rows] / corr2) + eps)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def table_array(table: TokenTable) -> np.ndarray:
    return np.frombuffer(table.data, np.float16).reshape(table.rows, table.dim).astype(np.float32)


def config_dict(config: Config) -> dict[str, object]:
    return asdict(config)


def _quantize(matrix: np.ndarray) -> tuple[bytes, list[float]]:
    """int8 per column, scale = max |value| / 127 (a column of zeros keeps scale 1)."""
    peak = np.abs(matrix).max(axis=0)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float64)
    values = np.clip(np.rint(matrix / scales), -127, 127).astype(np.int8)
    return values.tobytes(), [float(s) for s in scales]


def export(head: Head, path: Path, *, thresholds: dict[str, float], provenance: dict) -> None:
    """Write the runtime file: folded token tables, n-gram table, output layer (see head.py)."""
    from bot.domain.detection.head import MAGIC

    p = head.params
    # The mean of E[t] @ A is E-mean @ A, and the max is over E[t] @ B: fold both per token.
    tables = {"mean": head.E @ p["A"], "grams": p["G"]}
    blob = bytearray()
    arrays: dict[str, dict[str, object]] = {}
    for name, matrix in tables.items():
        data, scales = _quantize(matrix)
        arrays[name] = {
            "offset": len(blob),
            "rows": matrix.shape[0],
            "width": matrix.shape[1],
            "scales": scales,
        }
        blob += data
    for name, vector in (("b1", p["b1"]), ("W2", p["W2"].T), ("b2", p["b2"])):
        while len(blob) % 4:
            blob += b"\0"
        flat = np.ascontiguousarray(vector, dtype="<f4").ravel()
        arrays[name] = {"offset": len(blob), "count": int(flat.size)}
        blob += flat.tobytes()
    header = {
        "outputs": list(OUTPUTS),
        "hidden": head.config.hidden,
        "thresholds": thresholds,
        "arrays": arrays,
        **provenance,
    }
    encoded = json.dumps(header, sort_keys=True).encode()
    path.write_bytes(MAGIC + len(encoded).to_bytes(4, "little") + encoded + bytes(blob))


def train(paths: Sequence[Path], config: Config = Config()) -> tuple[Head, dict]:
    from bot.domain.detection.encoder import load_token_table, load_tokenizer

    rows = load_rows(paths)
    head = Head(config, table_array(load_token_table()))
    head.fit(prepare(rows, load_tokenizer()))
    provenance = {
        "data_sha256": data_hash(paths),
        "data_files": sorted(p.name for p in paths),
        "rows": len(rows),
        "config": config_dict(config),
    }
    return head, provenance


def thresholds(config: Config) -> dict[str, float]:
    return {"nudge": config.nudge_threshold, "trap_share": config.trap_share}


def build(out: Path, config: Config = Config()) -> dict:
    paths = training_files()
    head, provenance = train(paths, config)
    export(head, out, thresholds=thresholds(config), provenance=provenance)
    return provenance


# The dev split holds four authors by id range (tests/data/README.md); other files are one each.
_DEV_AUTHORS = ((647, "dev-1"), (954, "dev-2"), (1254, "dev-3"), (10**9, "dev-4"))


def author_of(row: Row) -> str:
    prefix, _, number = row.id.rpartition("-")
    if prefix == "dev":
        return next(name for last, name in _DEV_AUTHORS if int(number) <= last)
    return prefix


def cross_validate(config: Config = Config(), processes: int = 2) -> tuple[list[Row], np.ndarray]:
    """Leave one author out: every training author is scored by a head that never saw them."""
    import multiprocessing

    from bot.domain.detection.encoder import load_token_table, load_tokenizer

    rows = load_rows(training_files())
    data = prepare(rows, load_tokenizer())
    table = table_array(load_token_table())
    authors = np.array([author_of(row) for row in rows])
    scores = np.zeros((len(rows), len(OUTPUTS)))

    def fold(author: str) -> tuple[np.ndarray, np.ndarray]:
        held = np.flatnonzero(authors == author)
        head = Head(config, table)
        head.fit(data.subset(np.flatnonzero(authors != author)))
        return held, head.predict(data.subset(held))

    global _FOLD
    _FOLD = fold  # fork-based workers inherit it
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for held, predicted in pool.map(_run_fold, sorted(set(authors))):
            scores[held] = predicted
    return rows, scores


_FOLD = None


def _run_fold(author: str) -> tuple[np.ndarray, np.ndarray]:
    assert _FOLD is not None
    return _FOLD(author)


def cv_report(rows: Sequence[Row], scores: np.ndarray, config: Config) -> str:
    truth = np.array([row.nudge for row in rows])
    lines = ["threshold  precision  recall  FPR    main trap (on true nudges)"]
    for threshold in (0.5, 0.6, 0.7, config.nudge_threshold, 0.8, 0.9):
        said = scores[:, 0] >= threshold
        hits = np.flatnonzero(said & truth)
        main = [_main_trap(scores[i, 1:], config.trap_share) for i in hits]
        main_ok = np.mean([m == rows[int(i)].traps[0] for m, i in zip(main, hits, strict=True)])
        lines.append(
            f"{threshold:9.2f}  {len(hits) / max(said.sum(), 1):9.3f}  "
            f"{len(hits) / truth.sum():6.3f}  {(said & ~truth).sum() / (~truth).sum():5.3f}  "
            f"{main_ok:.3f}"
        )
    return "\n".join(lines)


def _main_trap(trap_scores: np.ndarray, share: float) -> str:
    floor = share * trap_scores.max()
    return OUTPUTS[1 + int(np.argmax(trap_scores >= floor))]


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import time

    from bot.domain.detection.head import HEAD_FILE

    parser = argparse.ArgumentParser(prog="python -m bot train detector")
    parser.add_argument("--out", type=Path, default=HEAD_FILE, help="where to write the head")
    parser.add_argument(
        "--cv",
        action="store_true",
        help="instead: leave each training author out in turn and print how the held-out "
        "lines score at several thresholds (how the shipped thresholds were chosen; ~3 min)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.cv:
        rows, scores = cross_validate()
        print(f"leave-one-author-out over {len(rows)} training lines")
        print(cv_report(rows, scores, Config()))
        print(f"({time.perf_counter() - started:.0f} s; raw detector, before rules)")
        return 0
    provenance = build(args.out)
    print(
        f"trained on {provenance['rows']} lines from {len(provenance['data_files'])} files "
        f"(data sha256 {provenance['data_sha256'][:16]}) in {time.perf_counter() - started:.1f} s"
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0
