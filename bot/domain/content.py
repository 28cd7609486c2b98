"""Shared by the content files' pydantic models (bot/content/*.json): how an entry
checks a name against the file's own lists, and how problems are reported.

A problem reads as `file: where: what`, where `where` is the path to the field with
the entry's id when it has one: `questions[3] 'swap-lean'.move: unknown move 'pep_talk'`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationError, ValidationInfo


def names_in(value: object) -> frozenset[str]:
    """The keys of a JSON object (the names a file defines), or none for anything else."""
    if not isinstance(value, dict):
        return frozenset()
    return frozenset(key for key in value if isinstance(key, str))


def known(info: ValidationInfo, kind: str) -> frozenset[str]:
    """Names of this kind defined in the file being validated (passed as validation
    context by the loader, since an entry cannot see its siblings)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    names = context.get(kind)
    return names if isinstance(names, frozenset) else frozenset()


def _names_a_source(source: str, info: ValidationInfo) -> str:
    if source not in known(info, "sources"):
        raise ValueError("must name one of 'sources'")
    return source


# A field holding the name of one of the file's own `sources`.
SourceName = Annotated[str, AfterValidator(_names_a_source)]


def problems(error: ValidationError, data: object) -> list[str]:
    """One line per problem pydantic found, located in `data`."""
    lines = []
    for found in error.errors():
        message = found["msg"]
        cause = (found.get("ctx") or {}).get("error")
        if found["type"] == "value_error" and cause is not None:
            message = str(cause)  # our own words, without pydantic's "Value error, "
        where = _where(found["loc"], data)
        lines.append(f"{where}: {message}" if where else message)
    return lines


def invalid(what: str, origin: str, error: ValidationError, data: object) -> ValueError:
    """The ValueError a loader raises: every problem, and which file."""
    return ValueError(f"invalid {what} ({origin}): " + "; ".join(problems(error, data)))


def _where(loc: Sequence[int | str], data: object) -> str:
    parts: list[str] = []
    node: Any = data
    for step in loc:
        if isinstance(step, int):
            parts.append(f"[{step}]")
            node = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
            entry_id = node.get("id") if isinstance(node, dict) else None
            if isinstance(entry_id, str) and entry_id:
                parts.append(f" {entry_id!r}")
        else:
            parts.append(f".{step}" if parts else step)
            node = node.get(step) if isinstance(node, dict) else None
    return "".join(parts)
