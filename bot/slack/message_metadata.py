"""Slack message metadata on our own posts: how a retry finds an earlier post.

Each post that must not go out twice (a nudge, a check-in, its reminder, a digest)
carries `Metadata(event_type=…, event_payload=…)`; before posting again, we read the
conversation back with `include_all_metadata=True` and look for it. Posting takes the
SDK's `Metadata` object (the Web client sends its `to_dict()`); reading back gets plain
JSON, read here in one place.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.metadata import Metadata


def post_metadata(event_type: str, **payload: str | int) -> Metadata:
    """What a post carries: its kind and the few ids a retry looks for (never content)."""
    return Metadata(event_type=event_type, event_payload=dict(payload))


def payload_of(message: object, event_type: str) -> dict[str, Any] | None:
    """The `event_payload` of a message from conversations.history or .replies when it
    carries our metadata of this kind, else None."""
    metadata = message.get("metadata") if isinstance(message, dict) else None
    if not isinstance(metadata, dict) or metadata.get("event_type") != event_type:
        return None
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, dict) else None


def carries(message: object, event_type: str, **expected: str | int) -> bool:
    """Whether a message read back is our post of this kind with these payload values."""
    payload = payload_of(message, event_type)
    return payload is not None and all(payload.get(k) == v for k, v in expected.items())
