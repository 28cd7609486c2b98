"""`python -m bot reframe` and `python -m bot classify`, as people and scripts use them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bot.domain.questions import QuestionLibrary
from bot.processes.cli import classify_stream, main

ROOT = Path(__file__).resolve().parents[1]


def test_classify_writes_one_line_per_input_and_survives_bad_lines() -> None:
    source = io.StringIO(
        '{"id": 1, "text": "their EB is a weasel and they will never sign"}\n'
        '{"id": "b", "text": "pricing call moved to Friday"}\n'
        "not json\n"
        "\n"
        '{"id": 4}\n'
        "[1, 2]\n"
        '{"id": 6, "text": 42}\n'
    )
    sink = io.StringIO()
    classify_stream(source, sink, QuestionLibrary.load())
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert len(lines) == 6
    vent, neutral, bad_json, no_text, not_object, bad_type = lines
    assert vent["id"] == 1 and vent["nudge"] is True
    assert vent["traps"][0] == "labeling" and "fortune_telling" in vent["traps"]
    assert vent["question"].endswith("?")
    assert neutral == {"id": "b", "nudge": False, "traps": [], "question": None}
    assert "error" in bad_json and bad_json["line"] == 3
    assert "error" in no_text and no_text["id"] == 4
    assert "error" in not_object and "error" in bad_type


def test_classify_reports_json_that_python_refuses_and_goes_on() -> None:
    """Valid-looking JSON that json.loads still rejects (a plain ValueError for a
    number past Python's digit limit, RecursionError for deep nesting) is a bad line
    like any other: it gets its error object and the stream goes on."""
    source = io.StringIO(
        '{"id": '
        + "1" * 5000
        + ', "text": "x"}\n'
        + "[" * 100_000
        + "\n"
        + '{"id": 3, "text": "pricing call moved to Friday"}\n'
    )
    sink = io.StringIO()
    classify_stream(source, sink, QuestionLibrary.load())
    huge_number, deep, fine = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert huge_number["line"] == 1 and "digits" in huge_number["error"]
    assert deep["line"] == 2 and "nested" in deep["error"]
    assert fine == {"id": 3, "nudge": False, "traps": [], "question": None}


def test_reframe_prints_what_it_heard(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["reframe", "he's", "basically", "on", "Oracle's", "payroll"]) == 0
    out = capsys.readouterr().out
    assert "competitor_bias" in out
    assert "1." in out and "?" in out


def test_classify_as_a_real_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "classify"],
        input='{"id": 7, "text": "no one at Globex ever reads our emails, they always ignore us"}'
        + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    out = json.loads(result.stdout)
    assert out["id"] == 7 and out["nudge"] is True and "overgeneralizing" in out["traps"]


def test_no_command_prints_help() -> None:
    assert main([]) == 2
