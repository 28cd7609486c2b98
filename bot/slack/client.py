"""Web API clients and the gateway that implements the services' ports."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import metrics
from bot.services.ports import DeliveryFailed, OutgoingNudge, SlackUnavailable
from bot.slack.blocks import build_nudge_blocks

log = logging.getLogger(__name__)

# Slack's answers that will not change if we try again.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_in_channel",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "msg_too_long",
        "invalid_blocks",
        "restricted_action",
    }
)


def build_web_client(
    *, token: str | None, base_url: str, timeout: int = 10, patient: bool = True
) -> WebClient:
    """A WebClient pointed at `base_url` (Slack, or a stand-in in tests).

    A patient client (background delivery) waits out 429s as `Retry-After`
    says and retries 5xx and dropped connections; an impatient one (inside
    a request Slack is waiting on) only retries a dropped connection once.
    """
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=1)]
    if patient:
        client.retry_handlers += [
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return client


def delivery_failure(error: Exception) -> DeliveryFailed:
    """Turn an SDK error into a retryable or final failure."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error", "")) if error.response.data else ""
        retry_after = error.response.headers.get("retry-after") or error.response.headers.get(
            "Retry-After"
        )
        if status == 429 or code == "ratelimited":
            wait = float(retry_after[0] if isinstance(retry_after, list) else retry_after or 30)
            return DeliveryFailed("ratelimited", retryable=True, retry_after=wait)
        if status >= 500:
            return DeliveryFailed(f"http_{status}", retryable=True)
        return DeliveryFailed(code or f"http_{status}", retryable=code not in PERMANENT_ERRORS)
    # Timeouts, refused connections, malformed responses: worth another try later.
    return DeliveryFailed(type(error).__name__, retryable=True)


class SlackGateway:
    """What the services need from Slack, for any workspace."""

    def __init__(
        self,
        *,
        background: Callable[[str], WebClient],
        interactive: Callable[[str], WebClient],
    ) -> None:
        self._background = background
        self._interactive = interactive

    def channel_name(self, team_id: str, channel_id: str) -> str | None:
        try:
            response = self._interactive(team_id).conversations_info(channel=channel_id)
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response.data else ""
            if code in PERMANENT_ERRORS:
                return None  # not a channel we can see: not a deal channel
            raise SlackUnavailable(_describe(error)) from error
        except (SlackClientError, OSError) as error:
            # Deciding "not a deal channel" now would lose the vent for good;
            # failing the event makes Slack deliver it again later.
            raise SlackUnavailable(_describe(error)) from error
        channel = response.get("channel") or {}
        name = channel.get("name")
        return str(name) if name else None

    def send_nudge(self, nudge: OutgoingNudge) -> None:
        blocks = build_nudge_blocks(
            nudge.nudge_id,
            nudge.question,
            delivery=nudge.delivery,
            channel_id=nudge.channel_id,
            heard=nudge.heard,
        )
        thread = nudge.thread_ts or nudge.message_ts
        try:
            # Inside the try: in OAuth mode finding the team's token can fail too
            # (uninstalled meanwhile), and that must end as a DeliveryFailed.
            client = self._background(nudge.team_id)
            if nudge.delivery == "ephemeral":
                client.chat_postEphemeral(
                    channel=nudge.channel_id,
                    user=nudge.user_id,
                    thread_ts=thread,
                    text=nudge.question,
                    blocks=blocks,
                )
            elif nudge.delivery == "thread":
                client.chat_postMessage(
                    channel=nudge.channel_id, thread_ts=thread, text=nudge.question, blocks=blocks
                )
            else:
                client.chat_postMessage(channel=nudge.user_id, text=nudge.question, blocks=blocks)
        except (SlackClientError, OSError) as error:
            failure = delivery_failure(error)
            metrics.slack_error(failure.reason)
            raise failure from error


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"{error.response.status_code} {error.response.get('error', '')}"
    return type(error).__name__
