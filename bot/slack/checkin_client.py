"""What check-ins need from Slack's Web API, for any workspace (implements CheckinSlack)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.caches import TeamCache
from bot.services.checkins import OutgoingCheckin, PostedMessage, RepProfile
from bot.slack.checkin_blocks import (
    INVITE_TEXT,
    CheckinContent,
    build_checkin_blocks,
    build_invitation_blocks,
    build_reminder_blocks,
)
from bot.slack.client import delivery_failure
from bot.slack.message_metadata import carries, post_metadata

log = logging.getLogger(__name__)

# Our posts carry this in Slack message metadata, so a retry can find an
# earlier post of the same check-in instead of sending it twice.
METADATA_EVENT = "reframe_checkin"
REMINDER_EVENT = "reframe_checkin_reminder"
_HISTORY_PAGE = 50
# Clients kept per (workspace, token): a reinstall's new token gets a new one.
CLIENT_CACHE_MAX = 1_000
CLIENT_CACHE_TTL = timedelta(minutes=30)

# Makes a Web API client from a token and a base URL (the composition root's factory).
MakeClient = Callable[[str | None, str], WebClient]


def profile_from_user(user: dict[str, Any]) -> RepProfile:
    """Bots, deleted accounts and guests (single- or multi-channel) are never enrolled."""
    excluded = any(
        bool(user.get(flag))
        for flag in ("is_bot", "deleted", "is_restricted", "is_ultra_restricted")
    )
    if user.get("id") == "USLACKBOT":
        excluded = True
    tz = user.get("tz")
    return RepProfile(eligible=not excluded, tz=tz if isinstance(tz, str) and tz else None)


class SlackCheckins:
    """Takes each team's token from `client_for`, but calls Slack with its own
    client, from `make_client`, that never retries by itself: the check-in service
    waits out 429s across all its workers, and re-posts only after checking the DM,
    which a blind SDK retry after a timeout could not do."""

    def __init__(
        self,
        *,
        client_for: Callable[[str], WebClient],
        content: CheckinContent,
        make_client: MakeClient,
    ) -> None:
        self._team_client = client_for
        self._content = content
        self._make_client = make_client
        self._clients: TeamCache[WebClient] = TeamCache(
            maxsize=CLIENT_CACHE_MAX, ttl=CLIENT_CACHE_TTL
        )
        self._lock = threading.Lock()  # one client per key, however many workers ask

    def _client_for(self, team_id: str) -> WebClient:
        shared = self._team_client(team_id)
        key = (team_id, shared.token or "", shared.base_url)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._make_client(shared.token, shared.base_url)
                self._clients.put(key, client)
        return client

    def forget_team(self, team_id: str) -> None:
        """The workspace uninstalled: drop its clients (and the token they hold)."""
        self._clients.forget(team_id)

    def user_profile(self, team_id: str, user_id: str) -> RepProfile:
        try:
            response = self._client_for(team_id).users_info(user=user_id)
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error
        user = response.get("user")
        return profile_from_user(user if isinstance(user, dict) else {})

    def post_invitation(self, team_id: str, channel_id: str, user_id: str, schedule: str) -> None:
        try:
            self._client_for(team_id).chat_postEphemeral(
                channel=channel_id,
                user=user_id,
                text=INVITE_TEXT,
                blocks=build_invitation_blocks(
                    self._content, schedule=schedule, owner=f"{team_id}:{user_id}"
                ),
            )
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error

    def post_checkin(self, checkin: OutgoingCheckin) -> PostedMessage:
        # Posting to the user id opens (or reuses) the DM: no conversations.open trip.
        try:
            response = self._client_for(checkin.team_id).chat_postMessage(
                channel=checkin.user_id,
                text=self._content.question,
                blocks=build_checkin_blocks(self._content, checkin.checkin_id),
                metadata=post_metadata(
                    METADATA_EVENT, checkin_id=checkin.checkin_id, week=checkin.week
                ),
                unfurl_links=False,
            )
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error
        return PostedMessage(channel_id=str(response["channel"]), ts=str(response["ts"]))

    def find_checkin(self, team_id: str, user_id: str, checkin_id: int) -> PostedMessage | None:
        # The bot's DM with a rep is quiet (check-ins, reminders, the odd nudge), so
        # an earlier post of this week's check-in is among the latest few messages.
        try:
            client = self._client_for(team_id)
            opened = client.conversations_open(users=user_id)
            channel_id = str((opened.get("channel") or {}).get("id"))
            history = client.conversations_history(
                channel=channel_id,
                include_all_metadata=True,
                limit=_HISTORY_PAGE,
            )
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error
        for message in history.get("messages") or []:
            if carries(message, METADATA_EVENT, checkin_id=checkin_id):
                return PostedMessage(channel_id=channel_id, ts=str(message.get("ts")))
        return None

    def post_reminder(self, team_id: str, channel_id: str, checkin_id: int) -> None:
        try:
            self._client_for(team_id).chat_postMessage(
                channel=channel_id,
                text=self._content.reminder,
                blocks=build_reminder_blocks(self._content),
                metadata=post_metadata(REMINDER_EVENT, checkin_id=checkin_id),
            )
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error

    def find_reminder(self, team_id: str, channel_id: str, checkin_id: int) -> bool:
        try:
            history = self._client_for(team_id).conversations_history(
                channel=channel_id, include_all_metadata=True, limit=_HISTORY_PAGE
            )
        except (SlackClientError, OSError) as error:
            raise delivery_failure(error) from error
        return any(
            carries(message, REMINDER_EVENT, checkin_id=checkin_id)
            for message in history.get("messages") or []
        )
