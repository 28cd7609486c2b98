"""The reframing question library and the rule for which question a rep gets next."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.domain.traps import TRAP_PRIORITY, Trap

MAX_QUESTION_CHARS = 200
MIN_QUESTIONS_PER_TRAP = 4
MIN_REFLECTIVE_QUESTIONS = 6
KNOWN_MOVES: frozenset[str] = frozenset(
    {
        "perspective_swap",
        "evidence_check",
        "mindset_mirror",
        "half_full_glass",
        "ownership",
        "honest_exit",
        "safety_over_happiness",
        "care_not_convince",
    }
)
_KEBAB_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A nudge never quotes the rep back at them, so quote marks have no place in a question.
_QUOTE_MARKS = re.compile(r"[\"\u201c\u201d\u2018\u2019`]|(?<!\w)'|'(?!\w)")


@dataclass(frozen=True)
class Question:
    id: str
    move: str
    traps: tuple[Trap, ...]
    text: str
    source: str
    # Traps that must have been heard before this question makes sense: "setting the label
    # aside" only fits when a label was heard, "if they leaned towards us" only a lean.
    needs: tuple[Trap, ...] = ()

    def fits(self, heard: Iterable[Trap]) -> bool:
        return set(self.needs) <= set(heard)

    @property
    def is_reflective(self) -> bool:
        """Reflective questions fit no trap: they are for /reframe without text."""
        return not self.traps


class QuestionLibrary:
    """Validated, ordered questions; choice is deterministic so tests and reps see stable picks."""

    def __init__(
        self,
        questions: Sequence[Question],
        moves: Mapping[str, str],
        sources: Mapping[str, str],
    ) -> None:
        self._questions = tuple(questions)
        self.moves = dict(moves)
        self.sources = dict(sources)
        self._by_id = {question.id: question for question in self._questions}

    @classmethod
    def load(cls) -> QuestionLibrary:
        """Read and validate bot/content/questions.json shipped with the package."""
        raw = resources.files("bot.content").joinpath("questions.json").read_text("utf-8")
        return cls.from_data(json.loads(raw))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> QuestionLibrary:
        """Build from the JSON structure; raises ValueError listing every problem found."""
        problems = _problems_in(data)
        if problems:
            raise ValueError("invalid question library: " + "; ".join(problems))
        questions = [
            Question(
                id=entry["id"],
                move=entry["move"],
                traps=tuple(Trap(code) for code in entry["traps"]),
                text=entry["text"],
                source=entry["source"],
                needs=tuple(Trap(code) for code in entry.get("needs", [])),
            )
            for entry in data["questions"]
        ]
        return cls(questions, data["moves"], data["sources"])

    @property
    def questions(self) -> tuple[Question, ...]:
        return self._questions

    def get(self, question_id: str) -> Question | None:
        return self._by_id.get(question_id)

    def for_trap(self, trap: Trap, heard: Sequence[Trap] = ()) -> tuple[Question, ...]:
        """Questions fitting the trap and what was heard (the trap alone by default); those
        that name the trap first (the closest fit) come first."""
        heard_set = {trap, *heard}
        fitting = [q for q in self._questions if trap in q.traps and q.fits(heard_set)]
        return tuple(sorted(fitting, key=lambda question: question.traps.index(trap)))

    def reflective(self) -> tuple[Question, ...]:
        return tuple(question for question in self._questions if question.is_reflective)

    def choose(
        self,
        trap: Trap | None,
        recently_used: Sequence[str],
        *,
        heard: Sequence[Trap] = (),
        move_scores: Mapping[str, int] | None = None,
    ) -> Question:
        """Next question for this rep: one they have not had, else the one had longest ago.

        ``recently_used`` holds the ids the rep already got, newest first. ``heard`` is every
        trap detected (the main one first); ``move_scores`` is the rep's own feedback per
        move (see `move_scores`): among questions they have not had, moves they found helpful
        come first and moves that were "not for me" come last.
        """
        if trap is None:
            candidates: Sequence[Question] = self.reflective()
        else:
            candidates = self.for_trap(trap, heard)
        if move_scores:
            candidates = sorted(candidates, key=lambda q: -move_scores.get(q.move, 0))
        picked = _least_recent(candidates, recently_used, exclude=())
        if picked is None:  # unreachable with a validated library; guards hand-built ones
            raise LookupError(f"no question for trap {trap!r}")
        return picked

    def choose_several(
        self, traps: Sequence[Trap], recently_used: Sequence[str], k: int = 3
    ) -> list[Question]:
        """Up to k distinct questions: main trap, second trap, then other moves to widen the view.

        No traps means the rep asked without text: reflective questions only.
        """
        chosen: list[Question] = []
        if not traps:
            return self._fill(chosen, self.reflective(), recently_used, k)
        for trap in traps[:2]:
            self._add_preferring_new_move(chosen, self.for_trap(trap, traps), recently_used, k)
        fitting = [
            q for q in self._questions if q.fits(traps) and any(trap in q.traps for trap in traps)
        ]
        self._fill(chosen, fitting, recently_used, k)
        self._fill(chosen, self.reflective(), recently_used, k)
        return self._fill(chosen, [q for q in self._questions if q.fits(traps)], recently_used, k)

    def _add_preferring_new_move(
        self,
        chosen: list[Question],
        candidates: Sequence[Question],
        recently_used: Sequence[str],
        k: int,
    ) -> None:
        if len(chosen) >= k:
            return
        used_moves = {question.move for question in chosen}
        fresh_moves = [question for question in candidates if question.move not in used_moves]
        picked = _least_recent(fresh_moves, recently_used, exclude=chosen)
        picked = picked or _least_recent(candidates, recently_used, exclude=chosen)
        if picked is not None:
            chosen.append(picked)

    def _fill(
        self,
        chosen: list[Question],
        candidates: Sequence[Question],
        recently_used: Sequence[str],
        k: int,
    ) -> list[Question]:
        while len(chosen) < k:
            before = len(chosen)
            self._add_preferring_new_move(chosen, candidates, recently_used, k)
            if len(chosen) == before:
                break
        return chosen


def move_scores(feedback: Iterable[tuple[str, str]], library: QuestionLibrary) -> dict[str, int]:
    """Per move, the rep's "helpful" answers minus their "not for me" answers."""
    scores: dict[str, int] = {}
    for question_id, choice in feedback:
        question = library.get(question_id)
        if question is None:
            continue
        step = {"helpful": 1, "not_for_me": -1}.get(choice, 0)
        scores[question.move] = scores.get(question.move, 0) + step
    return scores


def _least_recent(
    candidates: Iterable[Question], recently_used: Sequence[str], exclude: Iterable[Question]
) -> Question | None:
    """Unused questions first (in candidate order), then the one used longest ago."""
    excluded = {question.id for question in exclude}
    recency: dict[str, int] = {}
    for position, question_id in enumerate(recently_used):
        recency.setdefault(question_id, position)
    best: Question | None = None
    best_key: tuple[int, int] | None = None
    for order, question in enumerate(candidates):
        if question.id in excluded:
            continue
        key = (1, -recency[question.id]) if question.id in recency else (0, order)
        if best_key is None or key < best_key:
            best, best_key = question, key
    return best


def _problems_in(data: Mapping[str, Any]) -> list[str]:
    sources = data.get("sources")
    moves = data.get("moves")
    entries = data.get("questions")
    if not (isinstance(sources, dict) and isinstance(moves, dict) and isinstance(entries, list)):
        return ["expected 'sources' and 'moves' objects and a 'questions' list"]
    problems = [f"unknown move {name!r} in moves" for name in moves if name not in KNOWN_MOVES]
    problems += [f"move {name!r} has no description" for name in KNOWN_MOVES - moves.keys()]
    seen: set[str] = set()
    for entry in entries:
        problems += _entry_problems(entry, moves, sources, seen)
    problems += _coverage_problems(entries)
    return problems


def _entry_problems(
    entry: Any, moves: Mapping[str, str], sources: Mapping[str, str], seen: set[str]
) -> list[str]:
    if not isinstance(entry, dict):
        return [f"question entry {entry!r} is not an object"]
    qid = str(entry.get("id", ""))
    problems: list[str] = []
    if not _KEBAB_ID.match(qid):
        problems.append(f"question id {qid!r} is not kebab-case")
    if qid in seen:
        problems.append(f"duplicate question id {qid!r}")
    seen.add(qid)
    if entry.get("move") not in moves:
        problems.append(f"{qid}: unknown move {entry.get('move')!r}")
    if entry.get("source") not in sources:
        problems.append(f"{qid}: unknown source {entry.get('source')!r}")
    traps = entry.get("traps")
    if not isinstance(traps, list):
        problems.append(f"{qid}: traps must be a list")
    else:
        known = {trap.value for trap in Trap}
        problems += [f"{qid}: unknown trap {code!r}" for code in traps if code not in known]
        needs = entry.get("needs", [])
        valid = isinstance(needs, list) and all(isinstance(code, str) for code in needs)
        if not valid or not set(needs) <= {code for code in traps if isinstance(code, str)}:
            problems.append(f"{qid}: needs must list traps the question fits")
    problems += _text_problems(qid, entry.get("text"))
    return problems


def _text_problems(qid: str, text: Any) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        return [f"{qid}: text is missing"]
    problems = []
    if len(text) >= MAX_QUESTION_CHARS:
        problems.append(f"{qid}: text is {len(text)} chars, must be under {MAX_QUESTION_CHARS}")
    if not text.endswith("?") or text.count("?") != 1:
        problems.append(f"{qid}: text must be a single question ending in '?'")
    if _QUOTE_MARKS.search(text):
        problems.append(f"{qid}: text must not contain quote marks")
    return problems


def _coverage_problems(entries: list[Any]) -> list[str]:
    valid = [entry for entry in entries if isinstance(entry, dict)]
    problems = []
    for trap in TRAP_PRIORITY:
        # Count what can be asked when this trap is the only one heard.
        count = sum(
            1
            for entry in valid
            if trap.value in (entry.get("traps") or [])
            and all(code == trap.value for code in entry.get("needs") or [])
        )
        if count < MIN_QUESTIONS_PER_TRAP:
            needed = MIN_QUESTIONS_PER_TRAP
            problems.append(f"trap {trap.value} has {count} questions, needs {needed}")
    used_moves = {entry.get("move") for entry in valid}
    problems += [f"move {move!r} has no question" for move in sorted(KNOWN_MOVES - used_moves)]
    reflective = sum(1 for entry in valid if entry.get("traps") == [])
    if reflective < MIN_REFLECTIVE_QUESTIONS:
        problems.append(f"only {reflective} reflective questions, needs {MIN_REFLECTIVE_QUESTIONS}")
    return problems
