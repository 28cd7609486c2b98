"""`/reframe <situation>`, `@Reframe <text>`, `python -m bot reframe`: heard, then ask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.detection import Detection, detect
from bot.domain.questions import Question, QuestionLibrary
from bot.domain.traps import describe


@dataclass(frozen=True, slots=True)
class Heard:
    trap: str
    meaning: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reframe:
    detection: Detection
    heard: tuple[Heard, ...]
    questions: tuple[Question, ...]


class ReframeService:
    def __init__(
        self,
        *,
        library: QuestionLibrary,
        clock: Clock,
        detector: Callable[[str], Detection] = detect,
    ) -> None:
        self._library = library
        self._clock = clock
        self._detect = detector

    def reframe(self, situation: str, *, count: int = 3) -> Reframe:
        """The traps heard in plain words and two or three questions (the main trap's first).

        With no trap found it still offers good questions rather than an empty reply.
        """
        detection = self._detect(situation)
        heard = tuple(
            Heard(
                trap=str(trap),
                meaning=describe(trap),
                evidence=tuple(e.phrase for e in detection.evidence if e.trap == trap),
            )
            for trap in detection.traps
        )
        questions = tuple(self._library.choose_several(detection.traps, [], k=count))
        return Reframe(detection=detection, heard=heard, questions=questions)

    def reflect(self, user_id: str) -> Question:
        """One question to sit with; it changes day by day and differs between reps."""
        questions = self._library.reflective()
        day = self._clock.now().toordinal()
        return questions[(day + sum(map(ord, user_id))) % len(questions)]
