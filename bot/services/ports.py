"""The small interfaces services need from the outside world (Slack).

Tests fake these; `bot.slack` implements them with slack_sdk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.statuses import DeliveryMode
from bot.domain.traps import Trap


class PostPacer(Protocol):
    """Spaces one workspace's posts so that Slack's rate limit is not hit."""

    def reserve(self, team_id: str) -> float:
        """Take the next posting slot; seconds to wait before using it."""
        ...

    def rate_limited(self, team_id: str, retry_after: float) -> None:
        """Slack answered 429 with this Retry-After."""
        ...

    def posted_late(self, team_id: str, lateness: float) -> None:
        """A post is leaving this many seconds after the slot `reserve` gave it."""
        ...


class SlackUnavailable(Exception):
    """Slack could not answer a question we cannot decide without (try again later)."""


class DeliveryFailed(Exception):
    """Slack did not take the message. `retryable` says whether trying later may work;
    `maybe_delivered` that Slack may have taken it after all (the answer was lost:
    a timeout, a dropped connection), so look before posting it again."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True, slots=True)
class OutgoingNudge:
    nudge_id: int
    team_id: str
    channel_id: str
    user_id: str
    message_ts: str
    thread_ts: str | None
    delivery: DeliveryMode
    question: str
    # Traps heard, shown only when the rep asked (@Reframe), as /reframe shows them.
    heard: tuple[Trap, ...] = ()


class ChannelNameLookup(Protocol):
    def channel_name(self, team_id: str, channel_id: str) -> str | None:
        """The channel's name, or None when Slack says there is none for us.

        Raises SlackUnavailable when Slack failed to answer at all."""
        ...


class NudgeSender(Protocol):
    def send_nudge(self, nudge: OutgoingNudge) -> None:
        """Post the nudge; raise DeliveryFailed when Slack refuses or fails."""
        ...

    def find_nudge(self, nudge: OutgoingNudge) -> bool | None:
        """Whether Slack already shows this nudge (an earlier try whose answer was lost).

        None when Slack cannot say (an ephemeral message leaves no trace to look
        up); raises DeliveryFailed when the lookup itself failed."""
        ...


class ChannelPermissions(Protocol):
    def may_make_nudges_visible(self, team_id: str, channel_id: str, user_id: str) -> bool:
        """True for the channel's creator and the workspace's admins and owners.

        Raises SlackUnavailable when Slack cannot say.
        """
