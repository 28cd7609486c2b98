"""Web API clients and the gateway that implements the services' ports."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.domain.statuses import DeliveryMode
from bot.observability import metrics
from bot.services.ports import DeliveryFailed, OutgoingNudge, SlackUnavailable
from bot.slack.blocks import nudge_blocks_json
from bot.slack.message_metadata import carries, post_metadata
from bot.slack.transport import KeepAliveWebClient

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


# A longer Retry-After is not slept through inside a call: the caller reschedules the work.
MAX_INLINE_RETRY_AFTER = 10.0
DEFAULT_RETRY_AFTER = 30.0


def retry_after_seconds(
    value: str | list[str] | None,
    *,
    now: datetime | None = None,
    default: float = DEFAULT_RETRY_AFTER,
) -> float:
    """Seconds to wait from a Retry-After header, given as seconds or as an HTTP date.

    Both forms are valid HTTP (RFC 9110 10.2.3); a date in the past means now, and a
    value that is neither is read as `default` rather than crashing the delivery.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or not value.strip():
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _retry_after_header(response: HttpResponse) -> str | list[str] | None:
    for name, value in response.headers.items():
        if name.lower() == "retry-after":
            return value
    return None


class PatientRateLimitHandler(RateLimitErrorRetryHandler):
    """The SDK's 429 retry, reading Retry-After in both its forms (the SDK's own handler
    raises ValueError on an HTTP date) and leaving long waits to the caller."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(_retry_after_header(response), default=1.0)
        return wait <= MAX_INLINE_RETRY_AFTER

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # never: can_retry agrees only to a 429 response
            raise error or RuntimeError("a retry was asked for without a response")
        state.next_attempt_requested = True
        wait = retry_after_seconds(_retry_after_header(response), default=1.0)
        time.sleep(min(wait, MAX_INLINE_RETRY_AFTER) + random.random())
        state.increment_current_attempt()


class RequestNotSentRetryHandler(ConnectionErrorRetryHandler):
    """Retry a call only when it never reached Slack (the connection was refused or
    failed while sending, which urllib reports as URLError).

    The SDK's own handler also retries a connection reset or dropped while Slack
    was answering: by then Slack may have posted the message, and a retry posts it
    twice. Those errors go to the caller, who looks before posting again.
    """

    def __init__(self, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count, error_types=[URLError])


def build_web_client(
    *,
    token: str | None,
    base_url: str,
    timeout: float = 10,
    patient: bool = True,
    retries: bool = True,
    logger: logging.Logger | None = None,
) -> WebClient:
    """A WebClient pointed at `base_url` (Slack, or a stand-in in tests), sending on
    kept connections (bot/slack/transport.py).

    A patient client (background delivery) waits out 429s as `Retry-After`
    says and retries 5xx and refused connections; an impatient one (inside
    a request Slack is waiting on) only retries a refused connection once.
    Neither retries a call Slack may have acted on (see RequestNotSentRetryHandler).
    Without `retries` the client retries nothing: its caller waits out 429s and
    retries itself (check-ins, which look in the DM before posting again).
    """
    # slack-sdk annotates timeout as int; it hands it to urllib, which takes a float.
    client = KeepAliveWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,  # type: ignore[arg-type]
        logger=logger,
    )
    if not retries:
        client.retry_handlers = []
        return client
    client.retry_handlers = [RequestNotSentRetryHandler(max_retry_count=1)]
    if patient:
        client.retry_handlers += [
            PatientRateLimitHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ]
    return client


def token_problem(token: str, base_url: str) -> str | None:
    """Slack's reason for refusing a bot token (auth.test), or None when it is accepted.

    A Slack that cannot be reached says nothing about the token: that is None too, and
    the caller goes on (deliveries retry once Slack answers).
    """
    client = WebClient(token=token, base_url=base_url, timeout=10)
    try:
        client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "")) if error.response.data else ""
        return code or f"http_{error.response.status_code}"
    except (SlackClientError, OSError) as error:
        log.warning("could not check the bot token with Slack: %s", type(error).__name__)
    return None


def delivery_failure(error: Exception) -> DeliveryFailed:
    """Turn an SDK error into a retryable or final failure."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error", "")) if error.response.data else ""
        if status == 429 or code == "ratelimited":
            headers = error.response.headers or {}
            header = headers.get("retry-after") or headers.get("Retry-After")
            wait = retry_after_seconds(header)
            return DeliveryFailed("ratelimited", retryable=True, retry_after=wait)
        if status >= 500:
            return DeliveryFailed(f"http_{status}", retryable=True)
        return DeliveryFailed(code or f"http_{status}", retryable=code not in PERMANENT_ERRORS)
    # A refused connection never reached Slack. Timeouts, connections dropped while
    # Slack was answering, malformed answers: Slack may have acted, so look first.
    return DeliveryFailed(
        type(error).__name__, retryable=True, maybe_delivered=not _never_sent(error)
    )


def _never_sent(error: Exception) -> bool:
    """urllib reports errors while connecting or sending as URLError; an error after
    that (waiting for or reading the answer) leaves Slack's side unknown."""
    return isinstance(error, URLError)


class SlackGateway:
    """What the services need from Slack, for any workspace."""

    def __init__(
        self,
        *,
        background: Callable[[str], WebClient],
        interactive: Callable[[str], WebClient],
        visible_policy: Callable[[str], str] = lambda _team_id: "creator_or_admin",
    ) -> None:
        self._background = background
        self._interactive = interactive
        # Whether a channel's creator may make its nudges visible, or admins only.
        self._visible_policy = visible_policy

    def may_make_nudges_visible(self, team_id: str, channel_id: str, user_id: str) -> bool:
        client = self._interactive(team_id)
        try:
            channel = client.conversations_info(channel=channel_id).get("channel") or {}
            creator_may = self._visible_policy(team_id) == "creator_or_admin"
            if creator_may and channel.get("creator") == user_id:
                return True
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response.data else ""
            if code in PERMANENT_ERRORS:
                return False  # a user or channel Slack does not show us: no say over it
            raise SlackUnavailable(_describe(error)) from error
        except (SlackClientError, OSError) as error:
            raise SlackUnavailable(_describe(error)) from error
        return bool(user.get("is_admin") or user.get("is_owner"))

    def is_workspace_admin(self, team_id: str, user_id: str) -> bool:
        """Slack's admins and owners of the workspace; raises SlackUnavailable."""
        try:
            user = self._interactive(team_id).users_info(user=user_id).get("user") or {}
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response.data else ""
            if code in PERMANENT_ERRORS:
                return False
            raise SlackUnavailable(_describe(error)) from error
        except (SlackClientError, OSError) as error:
            raise SlackUnavailable(_describe(error)) from error
        return bool(user.get("is_admin") or user.get("is_owner"))

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
        blocks = nudge_blocks_json(
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
            if nudge.delivery == DeliveryMode.EPHEMERAL:
                client.chat_postEphemeral(
                    channel=nudge.channel_id,
                    user=nudge.user_id,
                    thread_ts=thread,
                    text=nudge.question,
                    blocks=blocks,
                )
            elif nudge.delivery == DeliveryMode.THREAD:
                client.chat_postMessage(
                    channel=nudge.channel_id,
                    thread_ts=thread,
                    text=nudge.question,
                    blocks=blocks,
                    metadata=post_metadata(NUDGE_EVENT, nudge_id=nudge.nudge_id),
                )
            else:
                client.chat_postMessage(
                    channel=nudge.user_id,
                    text=nudge.question,
                    blocks=blocks,
                    metadata=post_metadata(NUDGE_EVENT, nudge_id=nudge.nudge_id),
                )
        except (SlackClientError, OSError) as error:
            failure = delivery_failure(error)
            metrics.slack_error(failure.reason)
            raise failure from error

    def find_nudge(self, nudge: OutgoingNudge) -> bool | None:
        """Look in the thread or the DM for this nudge, by the metadata it was posted with.

        An ephemeral message is shown to one person and never stored: nothing to
        find, so None ("cannot say").
        """
        if nudge.delivery == DeliveryMode.EPHEMERAL:
            return None
        try:
            client = self._background(nudge.team_id)
            if nudge.delivery == DeliveryMode.THREAD:
                # The nudge is a reply in the rep's thread, posted soon after the
                # message: among the thread's first replies.
                page = client.conversations_replies(
                    channel=nudge.channel_id,
                    ts=nudge.thread_ts or nudge.message_ts,
                    include_all_metadata=True,
                    limit=_LOOKUP_PAGE,
                )
            else:
                opened = client.conversations_open(users=nudge.user_id)
                channel_id = str((opened.get("channel") or {}).get("id"))
                # The bot's DM with a rep is quiet: an earlier try is among the latest.
                page = client.conversations_history(
                    channel=channel_id, include_all_metadata=True, limit=_LOOKUP_PAGE
                )
        except (SlackClientError, OSError) as error:
            failure = delivery_failure(error)
            metrics.slack_error(failure.reason)
            raise failure from error
        return any(
            carries(m, NUDGE_EVENT, nudge_id=nudge.nudge_id) for m in page.get("messages") or []
        )


NUDGE_EVENT = "reframe_nudge"
_LOOKUP_PAGE = 100


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return f"{error.response.status_code} {error.response.get('error', '')}"
    return type(error).__name__
