"""TEST_DATABASE_URL gets its public schema dropped: the suite refuses, before any
test runs, a database whose name does not say it is for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WIPE_ANYWAY, unsafe_test_database, worker_database_url

ROOT = Path(__file__).resolve().parents[1]
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.mark.parametrize(
    "name", ["test", "TEST", "reframe_test", "test_reframe", "reframe-tests", "ci_testing"]
)
def test_a_database_named_for_tests_may_be_wiped(name: str) -> None:
    assert unsafe_test_database(f"{SERVER}/{name}", {}) is None


@pytest.mark.parametrize(
    "url",
    [
        f"{SERVER}/reframe",
        f"{SERVER}/postgres",
        f"{SERVER}/latest",
        f"{SERVER}/contest_entries",
        "postgresql+psycopg://reframe:s3cret@db.example.com:5432/production",
        SERVER,  # no name: the server's default database for that user
        "not a database url",
    ],
)
def test_any_other_database_is_refused(url: str) -> None:
    problem = unsafe_test_database(url, {})
    assert problem is not None and "TEST_DATABASE_URL" in problem
    assert "s3cret" not in problem


def test_the_refusal_says_what_would_happen_and_how_to_go_ahead() -> None:
    problem = unsafe_test_database("postgresql://u:pw@db.example.com/reframe", {})
    assert problem is not None
    assert "'reframe'" in problem and "db.example.com" in problem
    assert "DROP SCHEMA public CASCADE" in problem and f"{WIPE_ANYWAY}=1" in problem


def test_only_the_explicit_override_lets_any_database_through() -> None:
    url = f"{SERVER}/reframe"
    assert unsafe_test_database(url, {WIPE_ANYWAY: "1"}) is None
    for value in ("", "0", "yes", "true"):
        assert unsafe_test_database(url, {WIPE_ANYWAY: value}) is not None


@pytest.mark.parametrize("name", ["test", "reframe_test", "test-ci"])
def test_each_xdist_worker_gets_its_own_database_named_for_tests(name: str) -> None:
    url = f"postgresql+psycopg://postgres:pw@127.0.0.1:5432/{name}?connect_timeout=3"
    assert worker_database_url(url, None) == url  # not under xdist: the database given
    mine = worker_database_url(url, "gw0")
    assert mine == f"postgresql+psycopg://postgres:pw@127.0.0.1:5432/{name}_gw0?connect_timeout=3"
    assert mine != worker_database_url(url, "gw1")
    assert unsafe_test_database(mine, {}) is None


def test_the_suite_stops_at_start_without_touching_the_database() -> None:
    env = {k: v for k, v in os.environ.items() if k != WIPE_ANYWAY}
    # Port 1 has no server: a connection attempt would fail differently, and later.
    env["TEST_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/reframe"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_cli.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "database 'reframe'" in result.stderr and "passed" not in result.stdout
