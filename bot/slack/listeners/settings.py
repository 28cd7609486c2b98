"""Workspace settings inside Slack: App Home's section for settings admins, the edit
modal, and saving it. Everyone else sees no settings, and a forged submission from
someone who is not a settings admin changes nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import Block

from bot.domain.workspace_settings import SettingsInvalid
from bot.services.ports import SlackUnavailable
from bot.services.workspace_settings import WorkspaceSettingsService
from bot.slack.listeners.actor import team_and_user
from bot.slack.listeners.after_ack import HANDOFF, acknowledge
from bot.slack.settings_blocks import (
    SETTINGS_EDIT,
    SETTINGS_VIEW,
    build_settings_home_blocks,
    build_settings_modal,
    read_submission,
)

log = logging.getLogger(__name__)

ADMIN_SECONDS = 600.0  # how long Slack's word on someone's admin rights is reused


class SettingsAdmins:
    """Who may change a workspace's settings: Slack's admins and owners (asked with
    users.info, remembered briefly) and the people they named in the settings."""

    def __init__(
        self,
        *,
        settings: WorkspaceSettingsService,
        slack_admin: Callable[[str, str], bool],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._slack_admin = slack_admin
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], tuple[float, bool]] = {}

    def allowed(self, team_id: str, user_id: str) -> bool:
        """Raises SlackUnavailable when Slack cannot say and nothing is remembered."""
        return self._settings.is_settings_admin(
            team_id, user_id, slack_admin=self._is_slack_admin(team_id, user_id)
        )

    def _is_slack_admin(self, team_id: str, user_id: str) -> bool:
        key, now = (team_id, user_id), self._monotonic()
        with self._lock:
            hit = self._known.get(key)
        if hit is not None and now - hit[0] < ADMIN_SECONDS:
            return hit[1]
        answer = self._slack_admin(team_id, user_id)
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[key] = (now, answer)
        return answer

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if k[0] != team_id}


def home_blocks(
    settings: WorkspaceSettingsService, admins: SettingsAdmins
) -> Callable[[str, str], list[Block]]:
    """The settings section for App Home: for settings admins only, else nothing."""

    def blocks(team_id: str, user_id: str) -> list[Block]:
        try:
            if not admins.allowed(team_id, user_id):
                return []
        except SlackUnavailable:
            return []  # shown the next time Home opens
        return build_settings_home_blocks(
            settings.effective(team_id), settings.recent_changes(team_id)
        )

    return blocks


@dataclass(frozen=True)
class SettingsUI:
    settings: WorkspaceSettingsService
    admins: SettingsAdmins
    republish_home: Callable[[WebClient, str, str], None]


def open_settings_modal(
    body: dict[str, Any], context: BoltContext, client: WebClient, *, ui: SettingsUI
) -> None:
    admin, trigger_id = team_and_user(context), body.get("trigger_id")
    if admin is None or not isinstance(trigger_id, str):
        return
    team_id, user_id = admin
    try:
        if not ui.admins.allowed(team_id, user_id):
            log.warning("refused to open workspace settings for someone who is no admin")
            return
    except SlackUnavailable:
        log.warning("could not check settings rights with Slack; modal not opened")
        return
    modal = build_settings_modal(ui.settings.effective(team_id))
    client.views_open(trigger_id=trigger_id, view=modal)


def handle_settings_submission(
    ack: Ack, body: dict[str, Any], context: BoltContext, *, ui: SettingsUI
) -> None:
    admin, view = team_and_user(context), body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    if admin is None or not isinstance(values, dict):
        ack(response_action="errors", errors={"deal_channel_patterns": "Please try again."})
        return
    team_id, user_id = admin
    try:
        allowed = ui.admins.allowed(team_id, user_id)
    except SlackUnavailable:
        ack(
            response_action="errors",
            errors={"deal_channel_patterns": "Slack did not answer; nothing was saved."},
        )
        return
    if not allowed:
        log.warning(
            "refused a settings change from someone who is not a settings admin",
            extra={"team_id": team_id},
        )
        ack(
            response_action="errors",
            errors={"deal_channel_patterns": "Only workspace admins can change settings."},
        )
        return
    try:
        ui.settings.update(team_id, user_id, read_submission(values))
    except SettingsInvalid as invalid:
        ack(response_action="errors", errors=invalid.problems)
        return
    ack()
    context[HANDOFF] = (team_id, user_id)


def show_saved_settings(context: BoltContext, client: WebClient, *, ui: SettingsUI) -> None:
    who = context.get(HANDOFF)
    if isinstance(who, tuple):
        try:
            ui.republish_home(client, *who)
        except SlackClientError as error:
            log.warning("App Home not refreshed after a settings change: %s", error)


def register(
    app: App,
    *,
    settings: WorkspaceSettingsService,
    admins: SettingsAdmins,
    republish_home: Callable[[WebClient, str, str], None],
) -> None:
    ui = SettingsUI(settings, admins, republish_home)
    app.action(SETTINGS_EDIT)(ack=acknowledge, lazy=[partial(open_settings_modal, ui=ui)])
    app.view(SETTINGS_VIEW)(
        ack=partial(handle_settings_submission, ui=ui),
        lazy=[partial(show_saved_settings, ui=ui)],
    )
