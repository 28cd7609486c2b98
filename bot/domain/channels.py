"""Which channels are deal channels."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches_deal_pattern(name: str, patterns: Iterable[str]) -> bool:
    """Shell-style match (`deal-*`), case-insensitive, ignoring a leading '#'."""
    candidate = name.lstrip("#").lower()
    return any(fnmatchcase(candidate, pattern.lower()) for pattern in patterns)


def is_deal_channel(name: str | None, patterns: Iterable[str], override: bool | None) -> bool:
    """A channel switched on or off with `/reframe channel` wins over its name."""
    if override is not None:
        return override
    return name is not None and matches_deal_pattern(name, patterns)
