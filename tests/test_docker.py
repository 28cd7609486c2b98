"""The Docker image, checked without a Docker engine: the Dockerfile and compose
file say what we mean, and the image's steps work on a fresh install."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from bot.processes.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
# One xdist worker for the module: the fresh install (a venv and a pip install, about 3 s)
# is made once, not by every worker that runs one of its tests.
pytestmark = pytest.mark.xdist_group("fresh_install")


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            pairs.append((instruction.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def command_words(value: str) -> list[str]:
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def is_valid_command(words: list[str]) -> bool:
    """`python app.py` or a `python -m bot …` command our CLI accepts."""
    if words == ["python", "app.py"]:
        return (ROOT / "app.py").is_file()
    if words[:3] != ["python", "-m", "bot"]:
        return False
    args = build_parser().parse_args(words[3:])
    return getattr(args, "handler", None) is not None


def test_images_are_slim_python() -> None:
    bases = [args.split()[0] for op, args in dockerfile() if op == "FROM"]
    assert len(bases) == 2, "a builder stage and a final stage"
    assert all(base.startswith(("python:3.11-slim", "python:3.12-slim")) for base in bases)


def test_final_stage_runs_as_a_non_root_user_and_copies_only_the_venv() -> None:
    stage = final_stage()
    users = [args for op, args in stage if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [args for op, args in stage if op == "COPY"]
    assert any(c.startswith("--from=builder /opt/venv") for c in copies)
    for copy in copies:
        if not copy.startswith("--from"):
            for source in copy.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_healthcheck_probes_healthz_without_curl() -> None:
    [check] = [args for op, args in final_stage() if op == "HEALTHCHECK"]
    assert "/healthz" in check and "urllib" in check and "curl" not in check
    words = command_words(check[check.index("CMD") + 3 :].strip())
    assert words[:2] == ["python", "-c"]
    compile(words[2], "<healthcheck>", "exec")  # the one-liner is valid Python


def default_command() -> list[str]:
    [cmd] = [args for op, args in final_stage() if op == "CMD"]
    return command_words(cmd)


def test_default_command_is_the_gunicorn_web_role() -> None:
    assert default_command() == ["python", "-m", "bot", "web"]
    assert is_valid_command(default_command())
    assert not [op for op, _ in final_stage() if op == "ENTRYPOINT"]


def test_the_all_in_one_process_is_still_in_the_image() -> None:
    copied = [args.split()[:-1] for op, args in final_stage() if op == "COPY"]
    assert any("app.py" in sources for sources in copied)
    assert is_valid_command(["python", "app.py"])


def builder_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[:last_from]


def pip_installs(steps: list[tuple[str, str]]) -> list[list[str]]:
    """The arguments of every `pip install` in the RUN steps."""
    found = []
    for op, args in steps:
        if op == "RUN":
            for command in args.split("&&"):
                words = shlex.split(command)
                if words[:2] == ["pip", "install"]:
                    found.append(words[2:])
    return found


def test_the_image_installs_the_runtime_lock_with_hashes_before_the_code() -> None:
    stage = builder_stage()
    installs = pip_installs(stage)
    locked = ["--require-hashes", "-r", "requirements/runtime.txt"]
    assert installs[0] == locked
    copies = [args for op, args in stage if op == "COPY"]
    assert copies[0].split()[0] == "requirements/runtime.txt"  # its own cached layer
    assert (ROOT / "requirements" / "runtime.txt").is_file()


def test_nothing_else_the_image_installs_resolves_dependencies_of_its_own() -> None:
    """After the lock, each install is --no-deps and names one exact thing: Reframe
    itself, or the encoder at its pinned version."""
    for args in pip_installs(builder_stage())[1:]:
        assert "--no-deps" in args, args
        [target] = [a for a in args if not a.startswith("-")]
        assert target == "." or "==" in target, args


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".git", ".venv", "*.db"):
        assert entry in ignored


def test_compose_runs_postgres_web_and_scheduler_with_valid_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "web", "scheduler"} <= set(services)
    assert services["web"]["command"] == ["python", "-m", "bot", "web"]
    assert services["scheduler"]["command"] == ["python", "-m", "bot", "scheduler"]
    for name in ("web", "scheduler"):
        service = services[name]
        assert is_valid_command(service["command"])
        assert service["environment"]["DATABASE_URL"].startswith("postgresql")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]


# -- the image's steps on a fresh install ---------------------------------------------


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Dockerfile builds: `pip install .` from only the files it copies,
    into a new virtualenv (dependencies borrowed from this one, to stay offline)."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    app = work / "app"
    app.mkdir()
    shutil.copytree(ROOT / "migrations", app / "migrations")
    shutil.copy(ROOT / "app.py", app / "app.py")
    venv = work / "venv"
    # Without pip, since ensurepip would add Python 3.11's own setuptools 65, too old for
    # pyproject's SPDX license: this process's pip installs into it, and the build imports
    # the setuptools borrowed from here (the one pyproject.toml pins; see deps.pth).
    subprocess.run(
        [_base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    site = Path(
        subprocess.check_output(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            text=True,
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(source),
        ],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    (work / "install.log").write_text(built.stdout + built.stderr)
    return work


def _base_python() -> str:
    return str(Path(sys.base_prefix) / "bin" / "python3")


def _run_in_image(work: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    clean.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(work / "venv" / "bin" / "python"), *args],
        cwd=work / "app",
        env={**clean, "REFRAME_MIGRATIONS_DIR": str(work / "app" / "migrations"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_fresh_install_imports_from_its_own_site_packages(fresh_install: Path) -> None:
    result = _run_in_image(
        fresh_install,
        "-c",
        "import bot.processes.roles, bot.processes.gunicorn_conf; print(bot.__file__)",
    )
    assert result.returncode == 0, result.stderr
    assert str(fresh_install / "venv") in result.stdout


def test_fresh_install_builds_without_a_warning(fresh_install: Path) -> None:
    # setuptools warned on every install that the `license` table stops working in 2027.
    log = (fresh_install / "install.log").read_text()
    assert "Warning" not in log, log
    read = "import importlib.metadata as m; print(m.metadata('reframe-bot')['License-Expression'])"
    result = _run_in_image(fresh_install, "-c", read)
    assert result.stdout.strip() == "LicenseRef-Proprietary", result.stderr


@pytest.mark.parametrize("role", ["web", "scheduler", "db"])
def test_fresh_install_role_commands_answer_help(fresh_install: Path, role: str) -> None:
    result = _run_in_image(fresh_install, "-m", "bot", role, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m bot" in result.stdout


def test_fresh_install_migrates_a_new_database(fresh_install: Path) -> None:
    database = fresh_install / "fresh.db"
    result = _run_in_image(
        fresh_install, "-m", "bot", "db", "upgrade", DATABASE_URL=f"sqlite:///{database}"
    )
    assert result.returncode == 0, result.stderr
    assert database.is_file()
    tables = subprocess.check_output(
        [
            sys.executable,
            "-c",
            f"import sqlite3; print(sqlite3.connect('{database}').execute("
            "\"select group_concat(name) from sqlite_master where type='table'\").fetchone()[0])",
        ],
        text=True,
    )
    assert "nudges" in tables and "alembic_version" in tables


@pytest.mark.parametrize("process", ["default", "all-in-one"])
def test_fresh_install_commands_explain_missing_settings(fresh_install: Path, process: str) -> None:
    command = default_command() if process == "default" else ["python", "app.py"]
    assert command[0] == "python"
    result = _run_in_image(fresh_install, *command[1:])
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr


def test_fresh_install_ships_the_detector_head_and_loads_it(fresh_install: Path) -> None:
    code = (
        "from bot.domain.detection import Detector, detect\n"
        "from bot.domain.detection.head import HEAD_FILE\n"
        "Detector.load()\n"
        "print(HEAD_FILE)\n"
        "print(detect('their CFO is a clueless jerk and he will never sign').nudge)\n"
    )
    result = _run_in_image(fresh_install, "-c", code)
    assert result.returncode == 0, result.stderr
    head_path, verdict = result.stdout.split()
    assert head_path.startswith(str(fresh_install / "venv")) and verdict == "True"


def test_the_image_installs_the_encoder_the_detector_expects() -> None:
    from bot.domain.detection.encoder import WORDLLAMA_VERSION

    runs = [value for kind, value in dockerfile() if kind == "RUN"]
    pinned = f"pip install --no-deps wordllama=={WORDLLAMA_VERSION}"
    assert any(pinned in run for run in runs)
    assert f"wordllama=={WORDLLAMA_VERSION}" in (ROOT / "Makefile").read_text()
