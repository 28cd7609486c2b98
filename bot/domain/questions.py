"""The reframing question library and the rule for which question a rep gets next."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.domain.content import invalid, known, names_in
from bot.domain.traps import TRAP_PRIORITY, Trap

CONTENT_FILE = "bot/content/questions.json"
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
        return cls.from_data(json.loads(raw), origin=CONTENT_FILE)

    @classmethod
    def from_data(cls, data: object, *, origin: str = CONTENT_FILE) -> QuestionLibrary:
        """Build from the JSON structure; raises ValueError naming the file and, for
        each problem, the entry and field."""
        try:
            parsed = QuestionFile.model_validate(data, context=_references(data))
        except ValidationError as error:
            raise invalid("question library", origin, error, data) from None
        questions = [
            Question(
                id=entry.id,
                move=entry.move,
                traps=entry.traps,
                text=entry.text,
                source=entry.source,
                needs=entry.needs,
            )
            for entry in parsed.questions
        ]
        return cls(questions, parsed.moves, parsed.sources)

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


# -- the file's shape and rules (pydantic) -------------------------------------------------


class QuestionEntry(BaseModel):
    """One entry of `questions`; `move` and `source` must name the file's own lists."""

    model_config = ConfigDict(frozen=True)

    id: str
    move: str
    traps: tuple[Trap, ...]
    text: str
    source: str
    needs: tuple[Trap, ...] = ()

    @field_validator("id")
    @classmethod
    def _kebab_case(cls, qid: str) -> str:
        if not _KEBAB_ID.match(qid):
            raise ValueError(f"question id {qid!r} is not kebab-case")
        return qid

    @field_validator("move")
    @classmethod
    def _known_move(cls, move: str, info: ValidationInfo) -> str:
        if move not in known(info, "moves"):
            raise ValueError(f"unknown move {move!r}")
        return move

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str, info: ValidationInfo) -> str:
        if source not in known(info, "sources"):
            raise ValueError(f"unknown source {source!r}")
        return source

    @field_validator("traps", "needs", mode="before")
    @classmethod
    def _known_traps(cls, codes: object) -> object:
        # Our words for an unknown code, not pydantic's list of every enum value.
        if isinstance(codes, list):
            unknown = [code for code in codes if code not in _TRAP_CODES]
            if unknown:
                raise ValueError(", ".join(f"unknown trap {code!r}" for code in unknown))
        return codes

    @field_validator("text")
    @classmethod
    def _one_short_question(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is missing")
        problems = []
        if len(text) >= MAX_QUESTION_CHARS:
            problems.append(f"text is {len(text)} chars, must be under {MAX_QUESTION_CHARS}")
        if not text.endswith("?") or text.count("?") != 1:
            problems.append("text must be a single question ending in '?'")
        if _QUOTE_MARKS.search(text):
            problems.append("text must not contain quote marks")
        if problems:
            raise ValueError("; ".join(problems))
        return text

    @model_validator(mode="after")
    def _needs_what_it_fits(self) -> QuestionEntry:
        if not set(self.needs) <= set(self.traps):
            raise ValueError("needs must list traps the question fits")
        return self


class QuestionFile(BaseModel):
    """bot/content/questions.json: where questions come from, the moves, the questions."""

    sources: dict[str, str]
    moves: dict[str, str]
    questions: list[QuestionEntry]

    @field_validator("moves")
    @classmethod
    def _the_known_moves(cls, moves: dict[str, str]) -> dict[str, str]:
        problems = [f"unknown move {name!r} in moves" for name in moves if name not in KNOWN_MOVES]
        problems += [
            f"move {name!r} has no description" for name in sorted(KNOWN_MOVES - moves.keys())
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return moves

    @field_validator("questions")
    @classmethod
    def _unique_and_enough(cls, questions: list[QuestionEntry]) -> list[QuestionEntry]:
        problems = _duplicate_problems(questions) + _coverage_problems(questions)
        if problems:
            raise ValueError("; ".join(problems))
        return questions


_TRAP_CODES = frozenset(trap.value for trap in Trap)


def _references(data: object) -> dict[str, frozenset[str]]:
    """The names entries may use, read before validation: an entry cannot see its siblings."""
    raw = data if isinstance(data, dict) else {}
    return {"moves": names_in(raw.get("moves")), "sources": names_in(raw.get("sources"))}


def _duplicate_problems(questions: Sequence[QuestionEntry]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for question in questions:
        if question.id in seen:
            problems.append(f"duplicate question id {question.id!r}")
        seen.add(question.id)
    return problems


def _coverage_problems(questions: Sequence[QuestionEntry]) -> list[str]:
    problems = []
    for trap in TRAP_PRIORITY:
        # Count what can be asked when this trap is the only one heard.
        count = sum(1 for q in questions if trap in q.traps and set(q.needs) <= {trap})
        if count < MIN_QUESTIONS_PER_TRAP:
            needed = MIN_QUESTIONS_PER_TRAP
            problems.append(f"trap {trap.value} has {count} questions, needs {needed}")
    used_moves = {question.move for question in questions}
    problems += [f"move {move!r} has no question" for move in sorted(KNOWN_MOVES - used_moves)]
    reflective = sum(1 for question in questions if not question.traps)
    if reflective < MIN_REFLECTIVE_QUESTIONS:
        problems.append(f"only {reflective} reflective questions, needs {MIN_REFLECTIVE_QUESTIONS}")
    return problems
