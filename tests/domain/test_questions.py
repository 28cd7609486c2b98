"""The question library: valid content, and rotation so a rep never hears a repeat too soon."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from bot.domain.questions import KNOWN_MOVES, Question, QuestionLibrary, move_scores
from bot.domain.traps import TRAP_PRIORITY, Trap, describe, sort_by_priority


@pytest.fixture(scope="module")
def library() -> QuestionLibrary:
    return QuestionLibrary.load()


@pytest.fixture(scope="module")
def raw_data() -> dict[str, Any]:
    text = resources.files("bot.content").joinpath("questions.json").read_text("utf-8")
    return json.loads(text)


# --- traps -----------------------------------------------------------------------------------


def test_trap_codes_are_the_public_eight() -> None:
    assert {trap.value for trap in Trap} == {
        "competitor_bias",
        "chasing_happiness",
        "convincing_value",
        "labeling",
        "blaming",
        "mind_reading",
        "fortune_telling",
        "overgeneralizing",
    }


def test_priority_follows_labelling_guide() -> None:
    assert [trap.value for trap in TRAP_PRIORITY] == [
        "competitor_bias",
        "chasing_happiness",
        "convincing_value",
        "labeling",
        "blaming",
        "mind_reading",
        "fortune_telling",
        "overgeneralizing",
    ]


def test_sort_by_priority_puts_main_trap_first_and_drops_duplicates() -> None:
    traps = [Trap.OVERGENERALIZING, Trap.LABELING, Trap.COMPETITOR_BIAS, Trap.LABELING]
    assert sort_by_priority(traps) == (Trap.COMPETITOR_BIAS, Trap.LABELING, Trap.OVERGENERALIZING)
    assert sort_by_priority([]) == ()


@pytest.mark.parametrize("trap", list(Trap))
def test_every_trap_has_a_plain_description(trap: Trap) -> None:
    description = describe(trap)
    assert 20 < len(description) < 120
    assert "_" not in description


# --- library content -------------------------------------------------------------------------


def test_library_loads(library: QuestionLibrary) -> None:
    assert len(library.questions) >= 30
    assert set(library.sources) == {"brock", "beliefs"}


@pytest.mark.parametrize("trap", list(Trap))
def test_each_trap_has_at_least_four_questions(library: QuestionLibrary, trap: Trap) -> None:
    assert len(library.for_trap(trap)) >= 4


def test_every_move_is_used_and_described(library: QuestionLibrary) -> None:
    assert {question.move for question in library.questions} == KNOWN_MOVES
    assert set(library.moves) == KNOWN_MOVES


def test_at_least_six_reflective_questions(library: QuestionLibrary) -> None:
    reflective = library.reflective()
    assert len(reflective) >= 6
    assert all(question.traps == () for question in reflective)


def test_question_texts_are_short_single_questions_without_quotes(
    library: QuestionLibrary,
) -> None:
    for question in library.questions:
        assert len(question.text) < 200, question.id
        assert question.text.endswith("?") and question.text.count("?") == 1, question.id
        assert not any(mark in question.text for mark in '"\u201c\u201d\u2018`'), question.id
        assert question.text[0].isupper(), question.id


def test_questions_speak_to_the_rep(library: QuestionLibrary) -> None:
    second_person = [q for q in library.questions if " you" in f" {q.text.lower()}"]
    assert len(second_person) >= len(library.questions) * 0.8


def test_ids_are_unique_and_stable(library: QuestionLibrary) -> None:
    ids = [question.id for question in library.questions]
    assert len(ids) == len(set(ids))
    assert library.get("swap-lean") is not None
    assert library.get("no-such-question") is None


def test_the_weekly_check_in_question_is_in_the_library(library: QuestionLibrary) -> None:
    texts = [question.text.lower() for question in library.reflective()]
    assert any("building trust and excitement, or chasing happiness" in t for t in texts)


# --- validation ------------------------------------------------------------------------------


def _broken(raw: dict[str, Any], change: str) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    first = data["questions"][0]
    if change == "duplicate":
        data["questions"].append(dict(first))
    elif change == "move":
        first["move"] = "pep_talk"
    elif change == "trap":
        first["traps"] = ["grumpiness"]
    elif change == "source":
        first["source"] = "internet"
    elif change == "long":
        first["text"] = "Why " + "really " * 40 + "?"
    elif change == "no-question":
        first["text"] = "Think about it."
    elif change == "quote":
        first["text"] = 'Why did you say "jerk"?'
    elif change == "coverage":
        data["questions"] = [q for q in data["questions"] if "blaming" not in q["traps"]]
    elif change == "kebab":
        first["id"] = "Swap_Lean"
    elif change == "needs":
        first["needs"] = ["blaming"]
    elif change == "needs-unknown":
        first["needs"] = ["grumpiness"]
    elif change == "traps-not-a-list":
        first["traps"] = "labeling"
    elif change == "no-text":
        first["text"] = "   "
    elif change == "text-missing":
        del first["text"]
    elif change == "two-questions":
        first["text"] = "Why? And why now?"
    elif change == "extra-move":
        data["moves"]["pep_talk"] = "Cheer them up"
    elif change == "undescribed-move":
        del data["moves"]["ownership"]
    elif change == "unused-move":
        data["questions"] = [q for q in data["questions"] if q["move"] != "ownership"]
    elif change == "few-reflective":
        data["questions"] = [q for q in data["questions"] if q["traps"]]
    elif change == "not-an-object":
        data["questions"].append("swap-lean")
    elif change == "no-moves":
        del data["moves"]
    return data


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("duplicate", "duplicate question id"),
        ("move", "unknown move 'pep_talk'"),
        ("trap", "unknown trap 'grumpiness'"),
        ("source", "unknown source 'internet'"),
        ("long", "must be under 200"),
        ("no-question", "ending in '?'"),
        ("quote", "quote marks"),
        ("coverage", "trap blaming has 0 questions"),
        ("kebab", "question id 'Swap_Lean' is not kebab-case"),
        ("needs", "needs must list traps the question fits"),
        ("needs-unknown", r"needs: unknown trap 'grumpiness'"),
        ("traps-not-a-list", r"\.traps: .*valid tuple"),
        ("no-text", "text is missing"),
        ("text-missing", r"\.text: Field required"),
        ("two-questions", "single question ending in '?'"),
        ("extra-move", "unknown move 'pep_talk' in moves"),
        ("undescribed-move", "move 'ownership' has no description"),
        ("unused-move", "move 'ownership' has no question"),
        ("few-reflective", "only 0 reflective questions, needs 6"),
        ("not-an-object", r"questions\[\d+\]: Input should be a valid dictionary"),
        ("no-moves", "moves: Field required"),
    ],
)
def test_validation_names_the_problem(raw_data: dict[str, Any], change: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        QuestionLibrary.from_data(_broken(raw_data, change))


def test_a_problem_names_the_file_the_entry_and_the_field(raw_data: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as raised:
        QuestionLibrary.from_data(_broken(raw_data, "move"))
    assert str(raised.value) == (
        "invalid question library (bot/content/questions.json): "
        "questions[0] 'swap-lean'.move: unknown move 'pep_talk'"
    )


def test_every_broken_entry_is_reported_at_once(raw_data: dict[str, Any]) -> None:
    data = copy.deepcopy(raw_data)
    data["questions"][0]["source"] = "internet"
    data["questions"][2]["traps"] = ["grumpiness"]
    with pytest.raises(ValueError) as raised:
        QuestionLibrary.from_data(data)
    problems = str(raised.value).split(": ", 1)[1].split("; ")
    assert problems == [
        "questions[0] 'swap-lean'.source: unknown source 'internet'",
        f"questions[2] {data['questions'][2]['id']!r}.traps: unknown trap 'grumpiness'",
    ]


def test_validation_accepts_the_shipped_file(raw_data: dict[str, Any]) -> None:
    assert len(QuestionLibrary.from_data(raw_data).questions) == len(raw_data["questions"])


# --- rotation --------------------------------------------------------------------------------


def _ask_repeatedly(library: QuestionLibrary, trap: Trap | None, times: int) -> list[Question]:
    history: list[str] = []  # newest first, as storage hands it over
    asked = []
    for _ in range(times):
        question = library.choose(trap, history)
        asked.append(question)
        history.insert(0, question.id)
    return asked


@pytest.mark.parametrize("trap", list(Trap))
def test_no_repeat_until_the_traps_list_is_used_up(library: QuestionLibrary, trap: Trap) -> None:
    pool = library.for_trap(trap)
    asked = _ask_repeatedly(library, trap, len(pool))
    assert {q.id for q in asked} == {q.id for q in pool}
    assert all(trap in q.traps for q in asked)


@pytest.mark.parametrize("trap", list(Trap))
def test_after_the_list_is_used_up_the_oldest_comes_back(
    library: QuestionLibrary, trap: Trap
) -> None:
    pool_size = len(library.for_trap(trap))
    asked = _ask_repeatedly(library, trap, pool_size * 2)
    assert [q.id for q in asked[pool_size:]] == [q.id for q in asked[:pool_size]]


def test_choice_is_deterministic(library: QuestionLibrary) -> None:
    history = ["evidence-said-done", "swap-lean"]
    first = library.choose(Trap.LABELING, history)
    assert all(library.choose(Trap.LABELING, history) == first for _ in range(5))
    assert first.id not in history


def test_oldest_is_reused_even_when_history_has_other_traps(library: QuestionLibrary) -> None:
    pool = [q.id for q in library.for_trap(Trap.CONVINCING_VALUE)]
    # newest first: pool[1] was used longest ago, with unrelated ids in between
    history = [pool[0], "reflect-trust", *pool[2:], "own-ours", pool[1]]
    assert library.choose(Trap.CONVINCING_VALUE, history).id == pool[1]


def test_no_trap_gives_a_reflective_question(library: QuestionLibrary) -> None:
    asked = _ask_repeatedly(library, None, len(library.reflective()))
    assert all(q.is_reflective for q in asked)
    assert len({q.id for q in asked}) == len(library.reflective())


def test_choose_several_fits_main_and_second_trap(library: QuestionLibrary) -> None:
    chosen = library.choose_several([Trap.COMPETITOR_BIAS, Trap.FORTUNE_TELLING], [], k=3)
    assert len(chosen) == 3
    assert len({q.id for q in chosen}) == 3
    assert Trap.COMPETITOR_BIAS in chosen[0].traps
    assert Trap.FORTUNE_TELLING in chosen[1].traps
    assert len({q.move for q in chosen}) == 3


def test_choose_several_skips_recently_used(library: QuestionLibrary) -> None:
    first = library.choose_several([Trap.BLAMING], [], k=3)
    second = library.choose_several([Trap.BLAMING], [q.id for q in first], k=3)
    assert not {q.id for q in first} & {q.id for q in second}
    assert Trap.BLAMING in second[0].traps


def test_choose_several_without_traps_reflects(library: QuestionLibrary) -> None:
    chosen = library.choose_several([], [], k=3)
    assert len(chosen) == 3
    assert all(q.is_reflective for q in chosen)


def test_choose_several_with_one_trap_still_fills(library: QuestionLibrary) -> None:
    chosen = library.choose_several([Trap.CHASING_HAPPINESS], [], k=4)
    assert len({q.id for q in chosen}) == 4
    assert Trap.CHASING_HAPPINESS in chosen[0].traps


# --- questions that fit what was heard, steered by the rep's feedback --------------------------


@pytest.mark.parametrize("trap", list(Trap))
def test_a_question_never_presumes_a_trap_that_was_not_heard(
    library: QuestionLibrary, trap: Trap
) -> None:
    asked = _ask_repeatedly(library, trap, 2 * len(library.questions))
    assert all(set(q.needs) <= {trap} for q in asked)
    several = library.choose_several([trap], [], k=len(library.questions))
    assert all(set(q.needs) <= {trap} for q in several)


def test_setting_the_label_aside_needs_a_label(library: QuestionLibrary) -> None:
    label_aside = [q for q in library.questions if "label" in q.text.lower()]
    assert label_aside and all(Trap.LABELING in q.needs for q in label_aside)
    without = {q.id for q in library.for_trap(Trap.FORTUNE_TELLING)}
    with_label = {q.id for q in library.for_trap(Trap.FORTUNE_TELLING, [Trap.LABELING])}
    assert {q.id for q in label_aside} <= with_label - without


def test_a_rep_s_first_nudges_for_one_trap_are_all_different(library: QuestionLibrary) -> None:
    asked = _ask_repeatedly(library, Trap.LABELING, 4)
    assert len({q.id for q in asked}) == 4


def test_helpful_moves_come_first_and_not_for_me_moves_last(library: QuestionLibrary) -> None:
    pool = library.for_trap(Trap.MIND_READING)
    first_move = pool[0].move
    last_move = next(q.move for q in reversed(pool) if q.move != first_move)
    liked = next(q for q in library.questions if q.move == last_move)
    disliked = next(q for q in library.questions if q.move == first_move)
    scores = move_scores([(liked.id, "helpful"), (disliked.id, "not_for_me")], library)
    assert scores == {last_move: 1, first_move: -1}
    steered = library.choose(Trap.MIND_READING, [], move_scores=scores)
    assert steered.move == last_move
    # Every unused question still comes before a repeat, even one of a disliked move.
    asked: list[str] = []
    for _ in range(len(pool)):
        asked.insert(0, library.choose(Trap.MIND_READING, asked, move_scores=scores).id)
    assert set(asked) == {q.id for q in pool}
    disliked_count = sum(q.move == first_move for q in pool)
    assert {library.get(i).move for i in asked[:disliked_count]} == {first_move}  # last out


def test_move_scores_ignore_unknown_questions_and_other_answers(library: QuestionLibrary) -> None:
    assert move_scores([("gone-question", "helpful"), ("swap-lean", "pause")], library) == {
        "perspective_swap": 0
    }
