"""Block Kit builders: pure functions from data to blocks, testable without Slack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.statuses import DeliveryMode, NudgeFeedback
from bot.domain.traps import Trap, describe

if TYPE_CHECKING:
    # Types only: `python -m bot web` checks the bot token (bot.slack.client) before it
    # starts gunicorn, and should not import the services and the database to do it.
    from bot.services.nudges import FeedbackChoice
    from bot.services.reframe import Reframe

NUDGE_ACTIONS: dict[str, tuple[str, FeedbackChoice]] = {
    "nudge_helpful": ("Helpful", NudgeFeedback.HELPFUL),
    "nudge_not_for_me": ("Not for me", NudgeFeedback.NOT_FOR_ME),
    "nudge_pause": ("Pause for a week", NudgeFeedback.PAUSE),
}
SECTION_LIMIT = 3000


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:SECTION_LIMIT])


def build_nudge_blocks(
    nudge_id: int,
    question: str,
    *,
    delivery: DeliveryMode,
    channel_id: str | None = None,
    heard: Sequence[Trap] = (),
) -> list[Block]:
    """One question, one line of context, three buttons.

    An answer to `@Reframe` (``heard`` given) also says what was heard, as `/reframe` does.
    """
    where = {
        DeliveryMode.EPHEMERAL: "Only you can see this.",
        DeliveryMode.THREAD: "A question from Reframe for the thread.",
        DeliveryMode.DM: f"About your message in <#{channel_id}>."
        if channel_id
        else "About your message.",
    }[delivery]
    blocks: list[Block] = []
    if heard:
        blocks.append(SectionBlock(text=_md(_heard_text([(describe(t), ()) for t in heard]))))
    blocks += [
        SectionBlock(block_id="nudge_question", text=_md(question)),
        ContextBlock(
            elements=[_md(f":thought_balloon: {where} A question to think with, not a verdict.")]
        ),
        _feedback_buttons(nudge_id),
    ]
    return blocks


def nudge_blocks_json(
    nudge_id: int,
    question: str,
    *,
    delivery: DeliveryMode,
    channel_id: str | None = None,
    heard: Sequence[Trap] = (),
) -> list[dict[str, Any]]:
    """`build_nudge_blocks` as the JSON Slack receives, for posting.

    The SDK validates every block each time it turns one into JSON, which cost
    more CPU than the rest of a nudge's delivery. The blocks depend on the nudge
    only through the buttons' value, so the JSON is made once per question and
    place, and each nudge gets a copy with its id in the buttons.
    """
    frame = _nudge_frame(
        question, delivery, channel_id if delivery == DeliveryMode.DM else None, tuple(heard)
    )
    value = str(nudge_id)
    blocks = [dict(block) for block in frame]
    buttons = blocks[-1]
    buttons["elements"] = [{**button, "value": value} for button in buttons["elements"]]
    return blocks


@lru_cache(maxsize=1024)
def _nudge_frame(
    question: str, delivery: DeliveryMode, channel_id: str | None, heard: tuple[Trap, ...]
) -> tuple[dict[str, Any], ...]:
    blocks = build_nudge_blocks(0, question, delivery=delivery, channel_id=channel_id, heard=heard)
    return tuple(block.to_dict() for block in blocks)


def _feedback_buttons(nudge_id: int) -> ActionsBlock:
    return ActionsBlock(
        block_id="nudge_feedback",
        elements=[
            ButtonElement(text=label, action_id=action_id, value=str(nudge_id))
            for action_id, (label, _) in NUDGE_ACTIONS.items()
        ],
    )


def _heard_text(heard: Sequence[tuple[str, Sequence[str]]]) -> str:
    lines = []
    for meaning, evidence in heard:
        words = ", ".join(f"_{phrase}_" for phrase in evidence[:2])
        lines.append(f"• {meaning}" + (f" ({words})" if words else ""))
    return "*What I heard*\n" + "\n".join(lines)


def build_feedback_done_blocks(
    question: str, choice: NudgeFeedback, paused_until: datetime | None
) -> list[Block]:
    """The nudge after the rep answered: the question stays, the buttons go."""
    thanks = {
        NudgeFeedback.HELPFUL: "Glad it helped. :pray:",
        NudgeFeedback.NOT_FOR_ME: "Noted, thanks. We'll use that to ask better questions.",
        NudgeFeedback.PAUSE: (
            f"Paused. No nudges from Reframe until {paused_until:%A %d %B}."
            if paused_until
            else "Paused for a week."
        ),
    }[choice]
    return [SectionBlock(text=_md(question)), ContextBlock(elements=[_md(thanks)])]


def build_reframe_blocks(answer: Reframe) -> list[Block]:
    """The private `/reframe <situation>` answer: what we heard, then the questions."""
    blocks: list[Block] = []
    if answer.heard:
        heard = [(h.meaning, h.evidence) for h in answer.heard]
        blocks.append(SectionBlock(text=_md(_heard_text(heard))))
        intro = "*Questions worth a minute*"
    else:
        intro = "*No thinking trap stood out. A few questions worth a minute anyway*"
    questions = "\n".join(f"{i}. {q.text}" for i, q in enumerate(answer.questions, 1))
    blocks.append(SectionBlock(text=_md(f"{intro}\n{questions}")))
    if answer.nudge_id is None:
        blocks.append(ContextBlock(elements=[_md("Only you can see this.")]))
    else:
        note = "Only you can see this. The buttons rate question 1."
        blocks.append(ContextBlock(elements=[_md(note)]))
        blocks.append(_feedback_buttons(answer.nudge_id))
    return blocks


def build_reflect_blocks(question: str) -> list[Block]:
    return [
        SectionBlock(text=_md(f"*One question to reflect on*\n{question}")),
        ContextBlock(elements=[_md("Describe a situation after `/reframe` for a reframe of it.")]),
    ]


def build_help_blocks(usages: Sequence[tuple[str, str]], note: str | None = None) -> list[Block]:
    lines = "\n".join(f"`{usage}` {summary}" for usage, summary in usages)
    blocks: list[Block] = []
    if note:
        blocks.append(SectionBlock(text=_md(note)))
    blocks.append(SectionBlock(text=_md(f"*Reframe commands*\n{lines}")))
    return blocks


def build_text_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=_md(text))]
