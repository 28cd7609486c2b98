"""What the check-ins need from Slack, as small interfaces; bot/slack/checkin_client.py
implements them with slack_sdk and the tests use it against a fake Web API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RepProfile:
    eligible: bool  # a full member: not a bot, not deleted, not a guest
    tz: str | None


@dataclass(frozen=True, slots=True)
class OutgoingCheckin:
    checkin_id: int
    team_id: str
    user_id: str
    week: str


@dataclass(frozen=True, slots=True)
class PostedMessage:
    channel_id: str
    ts: str


class CheckinSlack(Protocol):
    def user_profile(self, team_id: str, user_id: str) -> RepProfile:
        """users.info, reduced to what we keep; raises DeliveryFailed."""
        ...

    def post_invitation(self, team_id: str, channel_id: str, user_id: str, schedule: str) -> None:
        """Show the rep, privately in the channel, the invitation to join; raises
        DeliveryFailed."""
        ...

    def post_checkin(self, checkin: OutgoingCheckin) -> PostedMessage:
        """DM the rep this week's question; raises DeliveryFailed."""
        ...

    def find_checkin(self, team_id: str, user_id: str, checkin_id: int) -> PostedMessage | None:
        """Our earlier post of this check-in among the latest messages of the rep's DM."""
        ...

    def post_reminder(self, team_id: str, channel_id: str, checkin_id: int) -> None:
        """One short follow-up in the DM; raises DeliveryFailed."""
        ...

    def find_reminder(self, team_id: str, channel_id: str, checkin_id: int) -> bool:
        """Whether our reminder for this check-in is among the DM's latest messages;
        raises DeliveryFailed."""
        ...
