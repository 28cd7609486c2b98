"""The type checker's settings say what we mean: bot/domain is checked as strictly as
`mypy --strict` checks, and that strictness stays in the domain. (`make test` runs
mypy itself; this only reads its configuration, with mypy's own parser.)"""

from __future__ import annotations

import io
from pathlib import Path

import mypy.config_parser as mypy_config
import mypy.main as mypy_main
import mypy.options as mypy_options

ROOT = Path(__file__).resolve().parents[1]


def strict_per_module_flags() -> dict[str, object]:
    """The per-module flags `--strict` changes, with the values it gives them."""
    no_config = "--config-file="  # mypy's defaults, not this project's settings
    _, plain = mypy_main.process_options([no_config, "x.py"])
    _, strict = mypy_main.process_options([no_config, "--strict", "x.py"])
    return {
        name: getattr(strict, name)
        for name in sorted(mypy_options.PER_MODULE_OPTIONS)
        if getattr(plain, name, None) != getattr(strict, name, None)
    }


def project_options() -> mypy_options.Options:
    options = mypy_options.Options()
    strict_asked: list[bool] = []
    errors = io.StringIO()
    mypy_config.parse_config_file(
        options, lambda: strict_asked.append(True), str(ROOT / "pyproject.toml"), stderr=errors
    )
    assert not errors.getvalue(), errors.getvalue()
    # `strict = true` anywhere, even in an override, turns strict on for every module.
    assert not strict_asked, "spell the flags out: strict = true is never per module"
    return options


def test_the_domain_gets_every_flag_strict_would_give_it() -> None:
    wanted = strict_per_module_flags()
    assert "disallow_untyped_defs" in wanted and "warn_return_any" in wanted
    options = project_options()
    for module in ("bot.domain", "bot.domain.detection.head", "bot.domain.schedule"):
        effective = options.clone_for_module(module)
        missing = {k: v for k, v in wanted.items() if getattr(effective, k) != v}
        assert not missing, f"{module} lacks {missing}"


def test_strictness_stays_in_the_domain_and_mypy_checks_bot() -> None:
    options = project_options()
    outside = options.clone_for_module("bot.processes.cli")
    assert not outside.disallow_untyped_calls and not outside.warn_return_any
    assert outside.check_untyped_defs and outside.warn_unused_ignores
    assert options.files == ["bot"]
