"""`python app.py` as an operator runs it: a real process, real HTTP, fake Slack."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import unmigrated
from tests.fakes.ports import free_port
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SIGNING_SECRET, SlackSender

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(extra)
    return env


def test_without_credentials_it_explains_what_to_set(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    # Run from another folder: the hint names an interpreter that works from there.
    python = result.stderr.split(" -m bot reframe")[0].split()[-1]
    resolved = shutil.which(python, path=_env().get("PATH")) or python
    assert os.path.realpath(resolved) == os.path.realpath(sys.executable)


def test_serves_events_and_health_then_stops_cleanly(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake_slack.api_url,
            DATABASE_URL=unmigrated(database_url, tmp_path),  # it migrates at start
            PORT=str(port),
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        sender = SlackSender(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                if sender.get("/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the bot did not become healthy"
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.1)
        assert (
            sender.message("their champion is useless, he never does what he promises").status
            == 200
        )
        # A first post that vents: its nudge, and the one invitation to check-ins.
        posts = fake_slack.wait_for("chat.postEphemeral", 2, timeout=10)
        invitations = [c for c in posts if "checkin_invite" in str(c.params.get("blocks"))]
        assert (len(posts), len(invitations)) == (2, 1)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "xoxb-test" not in output


def _start_fails(tmp_path: Path, fake_slack: FakeSlack, **env: str) -> str:
    """Start app.py as an operator would; it must exit 2. Returns what it printed."""
    settings = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(free_port()),
        **env,
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=_env(**settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    return result.stderr


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_a_token_slack_refuses_stops_the_start_in_one_line(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    from tests.fakes.slack_api import Fault

    fake_slack.fail("auth.test", Fault(200, error="invalid_auth"))
    stderr = _start_fails(
        tmp_path,
        fake_slack,
        SLACK_BOT_TOKEN="xoxb-placeholder-from-the-readme",
        DATABASE_URL=database_url,
    )
    lines = _lines(stderr)
    assert len(lines) == 1, stderr
    assert "SLACK_BOT_TOKEN" in lines[0] and "invalid_auth" in lines[0]
    assert "placeholder-from-the-readme" not in stderr


def test_a_database_that_does_not_answer_is_one_line(tmp_path: Path, fake_slack: FakeSlack) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    lines = _lines(
        _start_fails(
            tmp_path,
            fake_slack,
            DATABASE_URL=f"postgresql+psycopg://reframe:s3cret@127.0.0.1:{dead_port}/reframe",
        )
    )
    assert len(lines) == 1, lines
    assert "database" in lines[0] and "DATABASE_URL" in lines[0] and "s3cret" not in lines[0]


def test_a_busy_port_is_one_line(tmp_path: Path, fake_slack: FakeSlack, database_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        lines = _lines(
            _start_fails(tmp_path, fake_slack, DATABASE_URL=database_url, PORT=str(port))
        )
    # Start-up logs its usual lines first (migrations); the failure itself is one line.
    assert not any("Traceback" in line for line in lines), lines
    [failure] = [line for line in lines if "cannot start" in line]
    assert failure == lines[-1]
    assert f"port {port}" in failure and "PORT" in failure
