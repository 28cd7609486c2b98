"""`/reframe` and its subcommands.

Each feature adds its subcommands to one router (in the composition root), so
`/reframe help` always lists every one of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.models.blocks import Block

from bot.slack.blocks import build_help_blocks

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    team_id: str
    user_id: str
    channel_id: str
    channel_name: str | None
    text: str  # what follows the subcommand
    trigger_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommandReply:
    text: str
    blocks: list[Block] = field(default_factory=list)
    visible: bool = False  # False: only the person who typed it sees it


SubcommandHandler = Callable[[CommandRequest], CommandReply]


@dataclass(frozen=True, slots=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: SubcommandHandler


class CommandRouter:
    """Sends `/reframe <word> …` to the subcommand for <word>, or to `fallback`."""

    def __init__(self, fallback: SubcommandHandler, fallback_usages: list[tuple[str, str]]) -> None:
        self._fallback = fallback
        self._fallback_usages = fallback_usages
        self._subcommands: dict[str, Subcommand] = {}

    def add(self, name: str, usage: str, summary: str, handler: SubcommandHandler) -> None:
        if name in self._subcommands:
            raise ValueError(f"subcommand {name!r} registered twice")
        self._subcommands[name] = Subcommand(name, usage, summary, handler)

    def usages(self) -> list[tuple[str, str]]:
        listed = list(self._fallback_usages)
        listed += [(s.usage, s.summary) for s in self._subcommands.values()]
        listed.append(("/reframe help", "this list"))
        return listed

    def help(self, note: str | None = None) -> CommandReply:
        return CommandReply(
            text="Reframe commands: " + ", ".join(u for u, _ in self.usages()),
            blocks=build_help_blocks(self.usages(), note),
        )

    def route(self, request: CommandRequest) -> CommandReply:
        text = " ".join(request.text.split())
        word, _, rest = text.partition(" ")
        key = word.lower()
        if key in ("help", "-h", "--help", "?"):
            return self.help()
        subcommand = self._subcommands.get(key)
        if subcommand is not None:
            return subcommand.handler(_with_text(request, rest))
        if word and not rest and word.isalpha() and len(word) <= 20:
            # One bare word is far more often a mistyped subcommand than a situation.
            return self.help(
                f"I don't know `/reframe {word}`. To get a reframe, describe the situation "
                "in a sentence, for example `/reframe their CFO keeps stalling and I think "
                "he's just playing games`."
            )
        return self._fallback(_with_text(request, text))


def _with_text(request: CommandRequest, text: str) -> CommandRequest:
    return CommandRequest(
        team_id=request.team_id,
        user_id=request.user_id,
        channel_id=request.channel_id,
        channel_name=request.channel_name,
        text=text,
        trigger_id=request.trigger_id,
    )
