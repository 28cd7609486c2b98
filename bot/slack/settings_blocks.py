"""Workspace settings in Block Kit: the admins' section of App Home, the edit modal,
and reading the modal's submitted state back. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.schedule import WEEKDAY_NAMES, format_time
from bot.domain.workspace_settings import LABELS, WorkspaceConfig, show
from bot.services.workspace_settings import RecordedChange

SETTINGS_EDIT = "workspace_settings_edit"
SETTINGS_VIEW = "workspace_settings_modal"

JOIN_CHOICES = {
    "invite": "Invite each rep once (Join / No thanks)",
    "auto": "Enrol on their first post in a deal channel",
    "manual": "Only when they run /reframe checkin on",
}
VISIBLE_CHOICES = {
    "creator_or_admin": "The channel's creator, or a workspace admin",
    "admins": "Workspace admins only",
}
_TEXT_FIELDS = (
    "deal_channel_patterns",
    "checkin_time",
    "digest_time",
    "digest_min_reps",
    "nudge_cooldown_hours",
    "nudge_daily_limit",
)


def build_settings_home_blocks(
    config: WorkspaceConfig, recent: Sequence[RecordedChange]
) -> list[Block]:
    """App Home's section for settings admins: what is in force, an Edit button, and
    the latest changes (who, when, what)."""
    lines = "\n".join(f"*{LABELS[name]}:* {_shown(config, name)}" for name in LABELS)
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Workspace settings"),
        SectionBlock(block_id="workspace_settings", text=MarkdownTextObject(text=lines)),
        ActionsBlock(
            block_id="workspace_settings_actions",
            elements=[ButtonElement(text="Edit settings", action_id=SETTINGS_EDIT, value="edit")],
        ),
    ]
    if recent:
        changed = "\n".join(
            f"<@{c.user_id}> changed {LABELS.get(c.setting, c.setting).lower()} from "
            f"{c.old or 'none'} to {c.new or 'none'}, {c.at:%d %b %H:%M} UTC"
            for c in recent
        )
        blocks.append(
            ContextBlock(
                block_id="workspace_settings_changes",
                elements=[MarkdownTextObject(text=f"*Recent changes*\n{changed}")],
            )
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Only workspace admins and the people they name see this section."
                )
            ]
        )
    )
    return blocks


def build_settings_modal(config: WorkspaceConfig) -> View:
    days = [Option(value=str(i), label=name.capitalize()) for i, name in enumerate(WEEKDAY_NAMES)]

    def day_select(action: str, chosen: int) -> StaticSelectElement:
        return StaticSelectElement(action_id=action, options=days, initial_option=days[chosen])

    def text(action: str, value: str, hint: str | None = None) -> PlainTextInputElement:
        return PlainTextInputElement(
            action_id=action,
            initial_value=value,
            placeholder=PlainTextObject(text=hint) if hint else None,
        )

    def choice(action: str, choices: dict[str, str], chosen: str) -> StaticSelectElement:
        options = [Option(value=k, label=v) for k, v in choices.items()]
        initial = next(o for o in options if o.value == chosen)
        return StaticSelectElement(action_id=action, options=options, initial_option=initial)

    def field(name: str, element: Any, *, optional: bool = False, hint: str | None = None) -> Block:
        return InputBlock(
            block_id=name,
            label=PlainTextObject(text=LABELS[name]),
            element=element,
            optional=optional,
            hint=PlainTextObject(text=hint) if hint else None,
        )

    digest_channel = ConversationSelectElement(
        action_id="digest_channel",
        initial_conversation=config.digest_channel,
        filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
    )
    return View(
        type="modal",
        callback_id=SETTINGS_VIEW,
        title=PlainTextObject(text="Workspace settings"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            field(
                "deal_channel_patterns",
                text("deal_channel_patterns", ", ".join(config.deal_channel_patterns)),
                hint="Comma-separated, * for any letters: deal-*, deals-*",
            ),
            field("checkin_weekday", day_select("checkin_weekday", config.checkin_weekday)),
            field(
                "checkin_time",
                text("checkin_time", format_time(config.checkin_time)),
                hint="In each rep's own time zone, e.g. 09:00 or 4:30pm",
            ),
            field("join_mode", choice("join_mode", JOIN_CHOICES, config.join_mode)),
            field(
                "digest_channel",
                digest_channel,
                optional=True,
                hint="Leave empty for no digest. Invite @Reframe to that channel.",
            ),
            field(
                "digest_dm_users",
                UserMultiSelectElement(
                    action_id="digest_dm_users",
                    initial_users=sorted(config.digest_dm_users) or None,
                ),
                optional=True,
                hint="Managers who get the digest in a DM (as well as, or instead of, a channel)",
            ),
            field("digest_weekday", day_select("digest_weekday", config.digest_weekday)),
            field("digest_time", text("digest_time", format_time(config.digest_time))),
            field(
                "digest_min_reps",
                text("digest_min_reps", str(config.digest_min_reps)),
                hint="A figure shows only when at least this many reps are behind it (3 or more)",
            ),
            field(
                "nudge_cooldown_hours",
                text("nudge_cooldown_hours", _number(config.nudge_cooldown_hours)),
            ),
            field("nudge_daily_limit", text("nudge_daily_limit", str(config.nudge_daily_limit))),
            field(
                "visible_mode_by",
                choice("visible_mode_by", VISIBLE_CHOICES, config.visible_mode_by),
            ),
            field(
                "settings_admins",
                UserMultiSelectElement(
                    action_id="settings_admins",
                    initial_users=sorted(config.settings_admins) or None,
                ),
                optional=True,
                hint="Slack's workspace admins and owners can always change settings",
            ),
        ],
    )


def read_submission(values: dict[str, Any]) -> dict[str, str | None]:
    """The modal's state.values as {setting: raw text}; unknown blocks are ignored."""
    submitted: dict[str, str | None] = {}
    for name in LABELS:
        state = (values.get(name) or {}).get(name)
        if not isinstance(state, dict):
            continue
        kind = state.get("type")
        if kind == "plain_text_input" or name in _TEXT_FIELDS:
            submitted[name] = _str(state.get("value"))
        elif kind == "static_select":
            option = state.get("selected_option") or {}
            submitted[name] = _str(option.get("value") if isinstance(option, dict) else None)
        elif kind == "conversations_select":
            submitted[name] = _str(state.get("selected_conversation"))
        elif kind == "multi_users_select":
            users = state.get("selected_users") or []
            submitted[name] = ",".join(u for u in users if isinstance(u, str))
    return submitted


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _shown(config: WorkspaceConfig, name: str) -> str:
    if name == "join_mode":
        return JOIN_CHOICES[config.join_mode]
    if name == "visible_mode_by":
        return VISIBLE_CHOICES[config.visible_mode_by]
    if name == "digest_channel":
        return f"<#{config.digest_channel}>" if config.digest_channel else "none (no digest)"
    if name in ("settings_admins", "digest_dm_users"):
        return " ".join(f"<@{u}>" for u in sorted(getattr(config, name))) or "none"
    return show(config, name)
