"""The thinking traps Reframe names, and the fixed order that picks the main one."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Trap(StrEnum):
    """Trap codes are public (the CLI prints them), so their values never change."""

    COMPETITOR_BIAS = "competitor_bias"
    CHASING_HAPPINESS = "chasing_happiness"
    CONVINCING_VALUE = "convincing_value"
    LABELING = "labeling"
    BLAMING = "blaming"
    MIND_READING = "mind_reading"
    FORTUNE_TELLING = "fortune_telling"
    OVERGENERALIZING = "overgeneralizing"


# Root cause first (a lean to a competitor read as a flaw), then the two beliefs,
# then verdicts about the person, then the softer patterns that ride along.
TRAP_PRIORITY: tuple[Trap, ...] = (
    Trap.COMPETITOR_BIAS,
    Trap.CHASING_HAPPINESS,
    Trap.CONVINCING_VALUE,
    Trap.LABELING,
    Trap.BLAMING,
    Trap.MIND_READING,
    Trap.FORTUNE_TELLING,
    Trap.OVERGENERALIZING,
)

_RANK: dict[Trap, int] = {trap: rank for rank, trap in enumerate(TRAP_PRIORITY)}

_DESCRIPTIONS: dict[Trap, str] = {
    Trap.COMPETITOR_BIAS: (
        "treating the customer's lean towards a competitor as a flaw in them "
        "rather than a fact to work with"
    ),
    Trap.CHASING_HAPPINESS: (
        "making the customer's happiness the goal, instead of their sense of safety and excitement"
    ),
    Trap.CONVINCING_VALUE: (
        "piling on value to prove we are good enough, rather than because it helps them"
    ),
    Trap.LABELING: "calling the customer names rather than describing what they did",
    Trap.BLAMING: "making the customer the cause of our result",
    Trap.MIND_READING: "stating the customer's hidden motive or feeling as if it were a fact",
    Trap.FORTUNE_TELLING: "declaring the deal lost or the effort pointless before it is over",
    Trap.OVERGENERALIZING: (
        "turning some moments into always, never, everyone or no one about the customer"
    ),
}


def describe(trap: Trap) -> str:
    """A plain-words description of the trap, fit to show a rep."""
    return _DESCRIPTIONS[trap]


def sort_by_priority(traps: Iterable[Trap]) -> tuple[Trap, ...]:
    """Distinct traps in priority order, so the first one is the main trap."""
    return tuple(sorted(set(traps), key=_RANK.__getitem__))
