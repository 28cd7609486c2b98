"""One place builds things: bot/wiring.py (the composition root). Elsewhere code is
handed its database, clients and services, or asks a builder in wiring for them."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"

# What only the composition root (or the one factory named) may construct.
BUILT_ONLY_IN = {
    "Database.connect": {"wiring.py"},
    "WebClient": {"slack/client.py"},  # build_web_client, and the start-up token check
}
SERVICE_SUFFIXES = ("Service", "Directory", "Delivery")


def _calls(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.append((func.id, node.lineno))
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                found.append((f"{func.value.id}.{func.attr}", node.lineno))
    return found


def test_engines_clients_and_services_are_built_only_in_the_composition_root() -> None:
    strays = []
    for path in sorted(BOT.rglob("*.py")):
        where = path.relative_to(BOT).as_posix()
        for name, line in _calls(path):
            allowed = BUILT_ONLY_IN.get(name)
            if name.endswith(SERVICE_SUFFIXES) and name[0].isupper():
                allowed = {"wiring.py"}
            if allowed is not None and where not in allowed:
                strays.append(f"bot/{where}:{line} builds {name}")
    assert strays == []
