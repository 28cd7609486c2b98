"""bot/content/checkin.json: every rule its loader enforces, and how a problem reads."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

from bot.slack.checkin_blocks import THE_QUESTION, CheckinContent

Change = Callable[[dict[str, Any]], object]


@pytest.fixture(scope="module")
def raw_data() -> dict[str, Any]:
    return json.loads(resources.files("bot.content").joinpath("checkin.json").read_text("utf-8"))


def _answer(code: str, **fields: Any) -> Change:
    return lambda data: data["answers"][code].update(fields)


BROKEN: dict[str, tuple[Change, str]] = {
    "question reworded": (
        lambda d: d.update(question="Am I chasing happiness?"),
        r"question: the question must read exactly 'Am I building trust",
    ),
    "blank context": (lambda d: d.update(context="  "), "context: must be a non-empty string"),
    "blank reminder": (lambda d: d.update(reminder=""), "reminder: must be a non-empty string"),
    "closed missing": (lambda d: d.pop("closed"), "closed: Field required"),
    "mark not text": (
        lambda d: d.update(no_answer_mark=5),
        "no_answer_mark: Input should be a valid string",
    ),
    "context source unknown": (
        lambda d: d.update(context_source="internet"),
        "context_source: must name one of 'sources'",
    ),
    "no sources": (lambda d: d.pop("sources"), "sources: Field required"),
    "an answer missing": (
        lambda d: d["answers"].pop("both"),
        "'answers' must have exactly trust_excitement, chasing_happiness, both",
    ),
    "an extra answer": (
        lambda d: d["answers"].update(maybe=d["answers"]["both"]),
        "'answers' must have exactly",
    ),
    "answer not an object": (
        lambda d: d["answers"].update(both="A bit of both"),
        "answers.both: Input should be a valid dictionary",
    ),
    "blank label": (_answer("both", label=" "), "answers.both.label: must be a non-empty string"),
    "long label": (
        _answer("both", label="x" * 76),
        "answers.both.label: String should have at most 75 characters",
    ),
    "blank mark": (_answer("both", mark=""), "answers.both.mark: must be a non-empty string"),
    "follow-up no question": (
        _answer("both", follow_up="Good."),
        "answers.both.follow_up: follow_up must end with a question",
    ),
    "answer source unknown": (
        _answer("both", source="internet"),
        "answers.both.source: must name one of 'sources'",
    ),
    "note word missing": (lambda d: d["note"].pop("saved"), "note.saved: Field required"),
    "note word not text": (
        lambda d: d["note"].update(label=["A", "note"]),
        "note.label: Input should be a valid string",
    ),
    "long modal title": (
        lambda d: d["note"].update(title="Your reflection this week"),
        "note.title: String should have at most 24 characters",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validation_names_the_problem(raw_data: dict[str, Any], case: str) -> None:
    change, named = BROKEN[case]
    data = copy.deepcopy(raw_data)
    change(data)
    with pytest.raises(ValueError, match=named):
        CheckinContent.from_data(data)


def test_a_problem_names_the_file_and_the_field(raw_data: dict[str, Any]) -> None:
    data = copy.deepcopy(raw_data)
    data["answers"]["both"]["source"] = "internet"
    data["note"]["title"] = "x" * 30
    with pytest.raises(ValueError) as raised:
        CheckinContent.from_data(data)
    assert str(raised.value) == (
        "invalid check-in content (bot/content/checkin.json): "
        "answers.both.source: must name one of 'sources'; "
        "note.title: String should have at most 24 characters"
    )


def test_not_an_object_at_all_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid check-in content"):
        CheckinContent.from_data(["not", "an", "object"])


def test_the_shipped_file_loads_with_its_words(raw_data: dict[str, Any]) -> None:
    content = CheckinContent.load()
    assert content.question == THE_QUESTION
    assert set(content.answers) == set(raw_data["answers"])
    assert content.answers["both"].label == raw_data["answers"]["both"]["label"]
    assert dict(content.note) == raw_data["note"]
    assert content.closed == raw_data["closed"]
