"""Letting go of data: a workspace uninstalling Reframe, and `/reframe forget-me`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.oauth.installation_store import InstallationStore

from bot.services.privacy import Deleted, PrivacyService
from bot.slack.commands import CommandReply, CommandRequest, SubcommandHandler
from bot.slack.listeners.actor import team_and_user, team_of
from bot.slack.listeners.after_ack import HANDOFF, Reply, send_reply

log = logging.getLogger(__name__)

FORGET_CONFIRM = "forget_me_confirm"
FORGET_CANCEL = "forget_me_cancel"
FORGET_USAGE = "/reframe forget-me"
FORGET_SUMMARY = "delete everything Reframe stores about you in this workspace"


# -- Block Kit ------------------------------------------------------------


def build_forget_me_confirm_blocks(*, team_id: str, user_id: str) -> list[Block]:
    """Ask before deleting: this cannot be undone. The button carries whose data
    it deletes, so the click can be checked against who clicked."""
    return [
        SectionBlock(
            block_id="forget_me_question",
            text=MarkdownTextObject(
                text="*Delete everything Reframe stores about you in this workspace?*\n"
                "That is the questions you were sent and your feedback on them, your "
                "weekly check-in answers and notes, and your settings. This cannot be undone. "
                "Reframe then leaves you out (no nudges in deal channels, no check-ins) "
                "until you ask for it again."
            ),
        ),
        ActionsBlock(
            block_id="forget_me_actions",
            elements=[
                ButtonElement(
                    text="Yes, delete my data",
                    action_id=FORGET_CONFIRM,
                    value=owner_key(team_id, user_id),
                    style="danger",
                ),
                ButtonElement(text="Cancel", action_id=FORGET_CANCEL, value="cancel"),
            ],
        ),
    ]


def build_forget_me_done_blocks(deleted: Deleted) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=forgotten_text(deleted))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Reframe leaves you out from now on: no nudges in deal channels and "
                    "no weekly check-ins. To have it back, run `/reframe checkin on` or "
                    "mention @Reframe."
                )
            ]
        ),
    ]


def forgotten_text(deleted: Deleted) -> str:
    if deleted.total == 0:
        return (
            "Done. Reframe had nothing stored about you in this workspace, "
            "and will leave you out until you ask for it."
        )
    return (
        f"Done. Deleted {deleted.nudges} nudge(s), {deleted.checkins} check-in(s) "
        "and your settings. All Reframe keeps is that you asked to be left out."
    )


def owner_key(team_id: str, user_id: str) -> str:
    return f"{team_id}:{user_id}"


# -- /reframe forget-me ---------------------------------------------------


def forget_me_subcommand() -> SubcommandHandler:
    """Nothing is deleted here: the reply asks for confirmation."""

    def handle(request: CommandRequest) -> CommandReply:
        return CommandReply(
            text="Delete everything Reframe stores about you in this workspace?",
            blocks=build_forget_me_confirm_blocks(team_id=request.team_id, user_id=request.user_id),
        )

    return handle


# -- listeners ------------------------------------------------------------


@dataclass(frozen=True)
class Uninstall:
    """What an uninstall needs: the data, the tokens, and this process's memory."""

    privacy: PrivacyService
    installation_store: InstallationStore | None
    on_workspace_removed: Callable[[str], None]

    def remove_workspace(self, context: BoltContext) -> None:
        team_id = team_of(context)
        if team_id is None:
            log.warning("uninstall event without a team id; nothing deleted")
            return
        if self.installation_store is not None:
            self.installation_store.delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
        self.privacy.forget_team(team_id)
        self.on_workspace_removed(team_id)


def handle_app_uninstalled(context: BoltContext, *, uninstall: Uninstall) -> None:
    uninstall.remove_workspace(context)


def handle_tokens_revoked(
    event: dict[str, Any], context: BoltContext, *, uninstall: Uninstall
) -> None:
    tokens = event.get("tokens") or {}
    if tokens.get("bot"):
        # Without its bot token Reframe can do nothing there: same as an uninstall.
        uninstall.remove_workspace(context)
        return
    store, team_id = uninstall.installation_store, team_of(context)
    if store is not None and team_id is not None:
        for user_id in tokens.get("oauth") or []:
            store.delete_installation(
                enterprise_id=context.enterprise_id, team_id=team_id, user_id=user_id
            )


def handle_forget_me_confirm(
    ack: Ack,
    action: dict[str, Any],
    context: BoltContext,
    *,
    privacy: PrivacyService,
) -> None:
    """The ack half: delete (only the clicker's own data); `send_reply` says so."""
    ack()
    clicker = team_and_user(context)
    if clicker is None or action.get("value") != owner_key(*clicker):
        context[HANDOFF] = Reply(
            "Only the person who asked can confirm this; nothing was deleted.",
            replace_original=False,
        )
        return
    team_id, user_id = clicker
    deleted = privacy.forget_rep(team_id=team_id, user_id=user_id)
    context[HANDOFF] = Reply(
        forgotten_text(deleted),
        blocks=build_forget_me_done_blocks(deleted),
        replace_original=True,
    )


def handle_forget_me_cancel(ack: Ack, context: BoltContext) -> None:
    ack()
    context[HANDOFF] = Reply("Cancelled. Nothing was deleted.", replace_original=True)


def register(
    app: App,
    *,
    privacy: PrivacyService,
    installation_store: InstallationStore | None,
    on_workspace_removed: Callable[[str], None] = lambda _team_id: None,
) -> None:
    uninstall = Uninstall(privacy, installation_store, on_workspace_removed)
    app.event("app_uninstalled")(partial(handle_app_uninstalled, uninstall=uninstall))
    app.event("tokens_revoked")(partial(handle_tokens_revoked, uninstall=uninstall))
    app.action(FORGET_CONFIRM)(
        ack=partial(handle_forget_me_confirm, privacy=privacy), lazy=[send_reply]
    )
    app.action(FORGET_CANCEL)(ack=handle_forget_me_cancel, lazy=[send_reply])
