"""The weekly check-in in Block Kit: the DM, its answered state, the note modal, App Home.

Pure functions from data to blocks; the words come from bot/content/checkin.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
)
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain.content import SourceName, invalid, names_in
from bot.domain.schedule import week_label
from bot.services.checkins import ANSWERS, NOTE_MAX_CHARS, CheckinView, HomeSummary
from bot.services.checkins import describe_status as describe_checkin_status

THE_QUESTION = "Am I building trust and excitement, or chasing happiness?"
ANSWER_ACTION_PREFIX = "checkin_answer_"
ANSWER_ACTIONS = {f"{ANSWER_ACTION_PREFIX}{code}": code for code in ANSWERS}
NOTE_ACTION = "checkin_note"
NOTE_VIEW = "checkin_note_modal"
NOTE_BLOCK, NOTE_INPUT = "note", "note_text"
PAUSE_ACTION, RESUME_ACTION = "checkin_home_pause", "checkin_home_resume"
INVITE_JOIN, INVITE_DECLINE = "checkin_invite_join", "checkin_invite_decline"
INVITE_TEXT = "Would a weekly one-question check-in help? Join, or No thanks."
BUTTON_LIMIT = 75
MODAL_TITLE_LIMIT = 24
CONTENT_FILE = "bot/content/checkin.json"
SECTION_LIMIT = 3000


@dataclass(frozen=True, slots=True)
class AnswerContent:
    label: str
    mark: str
    follow_up: str


@dataclass(frozen=True, slots=True)
class CheckinContent:
    question: str
    context: str
    answers: Mapping[str, AnswerContent]
    no_answer_mark: str
    reminder: str
    note: Mapping[str, str]
    closed: str

    @classmethod
    def load(cls) -> CheckinContent:
        raw = resources.files("bot.content").joinpath("checkin.json").read_text("utf-8")
        return cls.from_data(json.loads(raw), origin=CONTENT_FILE)

    @classmethod
    def from_data(cls, data: object, *, origin: str = CONTENT_FILE) -> CheckinContent:
        """Build from the JSON structure; raises ValueError naming the file and, for
        each problem, the field."""
        try:
            parsed = CheckinFile.model_validate(data, context={"sources": _sources_in(data)})
        except ValidationError as error:
            raise invalid("check-in content", origin, error, data) from None
        answers = {
            code: AnswerContent(entry.label, entry.mark, entry.follow_up)
            for code, entry in parsed.answers.items()
        }
        return cls(
            question=parsed.question,
            context=parsed.context,
            answers=answers,
            no_answer_mark=parsed.no_answer_mark,
            reminder=parsed.reminder,
            note=parsed.note.model_dump(),
            closed=parsed.closed,
        )


# -- the file's shape and rules (pydantic) -------------------------------------------------


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must be a non-empty string")
    return text


Filled = Annotated[str, AfterValidator(_not_blank)]


class AnswerEntry(BaseModel):
    label: Annotated[str, Field(max_length=BUTTON_LIMIT), AfterValidator(_not_blank)]  # a button
    mark: Filled
    follow_up: Filled
    source: SourceName

    @field_validator("follow_up")
    @classmethod
    def _asks(cls, follow_up: str) -> str:
        if not follow_up.rstrip().endswith("?"):
            raise ValueError("follow_up must end with a question")
        return follow_up


class NoteWords(BaseModel):
    """The note button and modal; Slack cuts a modal title at 24 characters."""

    button: str
    edit_button: str
    title: Annotated[str, Field(max_length=MODAL_TITLE_LIMIT)]
    label: str
    placeholder: str
    saved: str


class CheckinFile(BaseModel):
    """bot/content/checkin.json: the question (word for word), its context, the three
    answers, the reminder and the note modal's words, each with its source."""

    sources: dict[str, str]
    question: str
    context: Filled
    context_source: SourceName
    answers: dict[str, AnswerEntry]
    no_answer_mark: Filled
    reminder: Filled
    note: NoteWords
    closed: Filled

    @field_validator("question")
    @classmethod
    def _word_for_word(cls, question: str) -> str:
        if question != THE_QUESTION:
            raise ValueError(f"the question must read exactly {THE_QUESTION!r}")
        return question

    @field_validator("answers", mode="before")
    @classmethod
    def _the_three_answers(cls, answers: object) -> object:
        if isinstance(answers, dict) and set(answers) != set(ANSWERS):
            raise ValueError(f"'answers' must have exactly {', '.join(ANSWERS)}")
        return answers


def _sources_in(data: object) -> frozenset[str]:
    """Source names, read before validation: an answer cannot see the file's `sources`."""
    return names_in(data.get("sources") if isinstance(data, dict) else None)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:SECTION_LIMIT])


def _answer_buttons(
    content: CheckinContent, checkin_id: int, chosen: str | None, has_note: bool
) -> ActionsBlock:
    buttons = [
        ButtonElement(
            text=content.answers[code].label,
            action_id=action_id,
            value=str(checkin_id),
            style="primary" if code == chosen else None,
        )
        for action_id, code in ANSWER_ACTIONS.items()
    ]
    note_label = content.note["edit_button" if has_note else "button"]
    buttons.append(ButtonElement(text=note_label, action_id=NOTE_ACTION, value=str(checkin_id)))
    return ActionsBlock(block_id="checkin_answer", elements=buttons)


def build_checkin_blocks(content: CheckinContent, checkin_id: int) -> list[Block]:
    """The weekly DM: the question, one line of context, three answers and a note."""
    return [
        SectionBlock(block_id="checkin_question", text=_md(f"*{content.question}*")),
        ContextBlock(elements=[_md(content.context)]),
        _answer_buttons(content, checkin_id, chosen=None, has_note=False),
    ]


def build_answered_blocks(content: CheckinContent, checkin: CheckinView) -> list[Block]:
    """The same message after a tap: the choice, a fitting follow-up, still changeable."""
    blocks: list[Block] = [
        SectionBlock(block_id="checkin_question", text=_md(f"*{content.question}*"))
    ]
    if checkin.answer is not None:
        chosen = content.answers[checkin.answer]
        blocks.append(SectionBlock(text=_md(f"{chosen.mark} You said: *{chosen.label}*")))
        blocks.append(SectionBlock(block_id="checkin_follow_up", text=_md(chosen.follow_up)))
    if checkin.note:
        blocks.append(ContextBlock(elements=[_md(f":memo: {content.note['saved']}")]))
    if checkin.open:
        blocks.append(
            _answer_buttons(content, checkin.checkin_id, checkin.answer, bool(checkin.note))
        )
    else:
        blocks.append(ContextBlock(elements=[_md(content.closed)]))
    return blocks


def build_reminder_blocks(content: CheckinContent) -> list[Block]:
    return [SectionBlock(text=_md(content.reminder))]


def build_note_modal(content: CheckinContent, checkin: CheckinView) -> View:
    """A private reflection for the week; opens with the current note to edit."""
    return View(
        type="modal",
        callback_id=NOTE_VIEW,
        private_metadata=str(checkin.checkin_id),
        title=PlainTextObject(text=content.note["title"]),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            InputBlock(
                block_id=NOTE_BLOCK,
                label=PlainTextObject(text=content.note["label"]),
                optional=True,
                element=PlainTextInputElement(
                    action_id=NOTE_INPUT,
                    multiline=True,
                    max_length=NOTE_MAX_CHARS,
                    initial_value=checkin.note or None,
                    placeholder=PlainTextObject(text=content.note["placeholder"]),
                ),
            ),
            ContextBlock(elements=[_md(f"The {week_label(checkin.week)}. Only you can see this.")]),
        ],
    )


def build_invitation_blocks(content: CheckinContent, *, schedule: str, owner: str) -> list[Block]:
    """The one private invitation a rep sees after their first post in a deal channel.

    The buttons carry whose invitation it is (`team:user`), checked on click."""
    return [
        SectionBlock(
            block_id="checkin_invite",
            text=_md(
                "*A weekly one-question check-in?*\n"
                f"Once a week ({schedule}) I would send you one question in a DM: "
                f"_{content.question}_\nOne tap to answer, a minute at most. "
                "Only you see your answers."
            ),
        ),
        ActionsBlock(
            block_id="checkin_invite_actions",
            elements=[
                ButtonElement(text="Join", action_id=INVITE_JOIN, value=owner, style="primary"),
                ButtonElement(text="No thanks", action_id=INVITE_DECLINE, value=owner),
            ],
        ),
        ContextBlock(
            elements=[
                _md(
                    "I ask once. Change your mind any time: `/reframe checkin on` "
                    "or `/reframe checkin off`."
                )
            ]
        ),
    ]


def build_invitation_answered_blocks(*, joined: bool, schedule: str) -> list[Block]:
    text = (
        f"You're in. Your first check-in comes {schedule}; "
        "change the day and time with `/reframe checkin fri 4:30pm`."
        if joined
        else "No check-ins, then. I won't ask again; `/reframe checkin on` if you change your mind."
    )
    return [SectionBlock(text=_md(text))]


def build_welcome_home_view(content: CheckinContent, schedule: str) -> View:
    """App Home for someone not (yet) in the check-ins: what it is, and a way in."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="Welcome to Reframe"),
            SectionBlock(
                text=_md(
                    "Reframe helps you catch the thinking traps every seller falls into, "
                    "right where deals are discussed: when a message in a deal channel "
                    "sounds like one, you get a private question that helps you look at "
                    "it another way. `/reframe <situation>` asks for one any time."
                )
            ),
            DividerBlock(),
            SectionBlock(
                block_id="checkin_invite",
                text=_md(
                    "*A weekly one-question check-in*\n"
                    f"Once a week ({schedule}), one question in a DM: _{content.question}_\n"
                    "Your answers build up here, week by week. Only you see them."
                ),
            ),
            ActionsBlock(
                block_id="checkin_toggle",
                elements=[
                    ButtonElement(
                        text="Join the weekly check-in",
                        action_id=INVITE_JOIN,
                        value="home",
                        style="primary",
                    )
                ],
            ),
        ],
    )


def build_home_view(content: CheckinContent, home: HomeSummary) -> View:
    """App Home: twelve weeks at a glance, the schedule, pause or resume."""
    weeks = list(reversed(home.weeks))  # oldest on the left, like reading a calendar
    strip = " ".join(_mark(content, week.answer) for week in weeks)
    legend = (
        "  ".join(f"{answer.mark} {answer.label}" for answer in content.answers.values())
        + f"  {content.no_answer_mark} No answer"
    )
    lines = "\n".join(
        f"{_mark(content, week.answer)} {week_label(week.week).capitalize()}: "
        f"{_label(content, week.answer, week.sent)}"
        for week in home.weeks
    )
    toggle = (
        ButtonElement(text="Pause check-ins", action_id=PAUSE_ACTION, value="pause")
        if home.status.enabled
        else ButtonElement(
            text="Resume check-ins", action_id=RESUME_ACTION, value="resume", style="primary"
        )
    )
    blocks: list[Block] = [
        HeaderBlock(text="Your weekly check-in"),
        SectionBlock(text=_md(f"_{content.question}_")),
        SectionBlock(block_id="checkin_weeks", text=_md(f"*Last {len(weeks)} weeks*\n{strip}")),
        ContextBlock(elements=[_md(legend)]),
        SectionBlock(text=_md(lines)),
        DividerBlock(),
        SectionBlock(block_id="checkin_schedule", text=_md(describe_checkin_status(home.status))),
        ActionsBlock(block_id="checkin_toggle", elements=[toggle]),
        ContextBlock(elements=[_md("Change the day and time with `/reframe checkin fri 4:30pm`.")]),
    ]
    return View(type="home", blocks=blocks)


def _mark(content: CheckinContent, answer: str | None) -> str:
    entry = content.answers.get(answer) if answer is not None else None
    return entry.mark if entry is not None else content.no_answer_mark


def _label(content: CheckinContent, answer: str | None, sent: bool) -> str:
    entry = content.answers.get(answer) if answer is not None else None
    if entry is not None:
        return entry.label
    return "no answer" if sent else "no check-in"
