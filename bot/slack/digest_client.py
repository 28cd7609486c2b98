"""What the team digest needs from Slack's Web API (implements DigestSlack)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.domain.digest import Digest
from bot.observability import metrics
from bot.services.ports import DeliveryFailed
from bot.slack.client import delivery_failure
from bot.slack.digest_blocks import DigestWording, build_digest_blocks, digest_summary
from bot.slack.message_metadata import carries, post_metadata

# Our posts carry this in Slack message metadata (with the week, nothing else),
# so a retry can find an earlier post instead of posting twice.
DIGEST_EVENT = "reframe_digest"
_HISTORY_PAGE = 100


class SlackDigests:
    """Posts with each workspace's bot token, on the patient client (the SDK's
    own retries for 429, 5xx and refused connections)."""

    def __init__(self, *, client_for: Callable[[str], WebClient], wording: DigestWording) -> None:
        self._client_for = client_for
        self._wording = wording

    def post_digest(self, team_id: str, destination: str, digest: Digest) -> None:
        # A user id as the channel posts in the bot's DM with that person.
        try:
            self._client_for(team_id).chat_postMessage(
                channel=destination,
                text=digest_summary(digest),
                blocks=build_digest_blocks(digest, self._wording),
                metadata=post_metadata(DIGEST_EVENT, week=digest.week),
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError) as error:
            raise _failed(error) from error

    def find_digest(self, team_id: str, destination: str, week: str, since: datetime) -> bool:
        try:
            client = self._client_for(team_id)
            channel = destination
            if destination.startswith(("U", "W")):
                opened = client.conversations_open(users=destination)
                channel = str((opened.get("channel") or {}).get("id"))
            history = client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                include_all_metadata=True,
                limit=_HISTORY_PAGE,
            )
        except (SlackClientError, OSError) as error:
            raise _failed(error) from error
        return any(
            carries(message, DIGEST_EVENT, week=week) for message in history.get("messages") or []
        )


def _failed(error: Exception) -> DeliveryFailed:
    failure = delivery_failure(error)
    metrics.slack_error(failure.reason)
    return failure
