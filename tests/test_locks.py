"""The lock files say exactly what gets installed, and still agree with pyproject.toml:
a dependency added or narrowed there without `make lock` fails here, not in the image."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = ROOT / "requirements" / "runtime.txt"
DEV = ROOT / "requirements" / "dev.txt"


def locked(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """Name -> (pinned requirement, its hashes), for the entries that apply here."""
    text = path.read_text().replace("\\\n", " ")
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        entries[canonicalize_name(requirement.name)] = (requirement, hashes)
    return entries


def pinned_version(requirement: Requirement) -> str:
    [spec] = requirement.specifier
    assert spec.operator == "==", requirement
    return spec.version


def wanted(group: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    names = project["dependencies"] + (project["optional-dependencies"][group] if group else [])
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("path", "group"), [(RUNTIME, None), (DEV, "dev")])
def test_every_dependency_is_locked_at_a_version_pyproject_allows(
    path: Path, group: str | None
) -> None:
    entries = locked(path)
    for requirement in wanted(group):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{name} is not in {path.name}: run `make lock`"
        version = pinned_version(entries[name][0])
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{path.name} has {name}=={version}, pyproject.toml asks {requirement}: run `make lock`"
        )
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert canonicalize_name(f"{name}-{extra}") in entries, (name, extra)


@pytest.mark.parametrize("path", [RUNTIME, DEV])
def test_every_locked_package_is_one_exact_version_with_hashes(path: Path) -> None:
    entries = locked(path)
    assert len(entries) > 10
    for name, (requirement, hashes) in entries.items():
        pinned_version(requirement)
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name
    assert "make lock" in path.read_text().splitlines()[1]  # how to rewrite it


def test_runtime_and_dev_locks_agree_on_every_shared_package() -> None:
    runtime, dev = locked(RUNTIME), locked(DEV)
    assert set(runtime) <= set(dev)
    for name, (requirement, _) in runtime.items():
        assert pinned_version(requirement) == pinned_version(dev[name][0]), name


def test_the_tools_that_build_and_judge_the_code_are_pinned_exactly() -> None:
    dev = {canonicalize_name(r.name): r for r in wanted("dev")}
    for tool in ("ruff", "mypy", "setuptools"):
        assert str(dev[tool].specifier).startswith("=="), tool
    [backend] = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert backend.name == "setuptools" and backend.specifier == dev["setuptools"].specifier
    # PEP 639's SPDX `license` string needs setuptools 77 or newer.
    assert int(pinned_version(backend).split(".")[0]) >= 77
    assert PYPROJECT["project"]["license"] == "LicenseRef-Proprietary"


def test_make_installs_the_dev_lock_and_nothing_unlocked() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    installs = [
        shlex.split(line.strip())[1:]
        for line in recipe.splitlines()
        if line.strip().startswith("$(BIN)/pip install")
    ]
    assert ["install", "--quiet", "--require-hashes", "-r", "requirements/dev.txt"] in installs
    for args in installs:
        if "-r" not in args and args[1:] != ["--quiet", "$(PIP)"]:
            assert "--no-deps" in args, args
    assert re.search(r"^PIP := pip==\S+$", makefile, re.M)
    assert "requirements/dev.txt" in recipe.splitlines()[0]  # a new lock reinstalls
