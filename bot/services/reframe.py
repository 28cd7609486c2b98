"""`/reframe <situation>`, `@Reframe <text>`, `python -m bot reframe`: heard, then ask."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.clock import Clock
from bot.domain.detection import Detection, detect
from bot.domain.questions import Question, QuestionLibrary, move_scores
from bot.domain.statuses import DeliveryMode, NudgeState, NudgeTrigger
from bot.domain.traps import Trap, describe
from bot.storage import repos
from bot.storage.db import Database
from bot.storage.models import Nudge


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
    nudge_id: int | None = None  # the recorded answer the rep can rate; None offline


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, so the answer can follow their history and be rated."""

    team_id: str
    user_id: str
    channel_id: str


class ReframeService:
    def __init__(
        self,
        *,
        library: QuestionLibrary,
        clock: Clock,
        detector: Callable[[str], Detection] = detect,
        db: Database | None = None,
    ) -> None:
        self._library = library
        self._clock = clock
        self._detect = detector
        self._db = db

    def reframe(self, situation: str, *, count: int = 3, asker: Asker | None = None) -> Reframe:
        """The traps heard in plain words and two or three questions (the main trap's first).

        With no trap found it still offers good questions rather than an empty reply. With
        an asker (and a database), the questions follow the rep's history like a nudge does:
        what they were asked lately comes last, moves they rated come first or last, and the
        answer is recorded (question id and traps, never the text) so asking twice gives a
        different first question and the rep can rate it.
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
        if asker is None or self._db is None:
            questions = tuple(self._library.choose_several(detection.traps, [], k=count))
            return Reframe(detection=detection, heard=heard, questions=questions)
        return self._answer_for(asker, detection, heard, count)

    def _answer_for(
        self, asker: Asker, detection: Detection, heard: tuple[Heard, ...], count: int
    ) -> Reframe:
        assert self._db is not None
        now = self._clock.now()
        with self._db.transaction() as session:
            used = repos.recent_question_ids(session, team_id=asker.team_id, user_id=asker.user_id)
            feedback = repos.recent_feedback(session, team_id=asker.team_id, user_id=asker.user_id)
            questions = tuple(
                self._choose(detection.traps, used, move_scores(feedback, self._library), count)
            )
            row = Nudge(
                team_id=asker.team_id,
                channel_id=asker.channel_id,
                user_id=asker.user_id,
                # Unique per answer; a command has no message of its own to key on.
                message_ts=f"cmd-{secrets.token_hex(12)}",
                trigger=NudgeTrigger.COMMAND,
                traps=",".join(detection.traps),
                question_id=questions[0].id,
                delivery=DeliveryMode.EPHEMERAL,
                # Answered in the command's reply: never swept or re-sent.
                status=NudgeState.ANSWERED,
                attempts=0,
                created_at=now,
                sent_at=now,
            )
            session.add(row)
            session.flush()
            nudge_id = row.id
        return Reframe(detection=detection, heard=heard, questions=questions, nudge_id=nudge_id)

    def _choose(
        self,
        traps: Sequence[Trap],
        used: Sequence[str],
        scores: dict[str, int],
        count: int,
    ) -> list[Question]:
        first = self._library.choose(
            traps[0] if traps else None, used, heard=traps, move_scores=scores
        )
        rest = self._library.choose_several(traps, [first.id, *used], k=count)
        return [first, *[q for q in rest if q.id != first.id]][:count]

    def reflect(self, user_id: str) -> Question:
        """One question to sit with; it changes day by day and differs between reps."""
        questions = self._library.reflective()
        day = self._clock.now().toordinal()
        return questions[(day + sum(map(ord, user_id))) % len(questions)]
