"""Message metadata: posted as the SDK's `Metadata`, read back as plain JSON, one helper."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.message_metadata import carries, payload_of, post_metadata
from tests.fakes.slack_api import FakeSlack


def test_a_post_sends_the_metadata_as_plain_json(fake_slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake_slack.api_url)
    client.chat_postMessage(
        channel="U0REP",
        text="hi",
        metadata=post_metadata("reframe_checkin", checkin_id=7, week="w"),
    )
    sent = fake_slack.calls("chat.postMessage")[0].params["metadata"]
    assert sent == {
        "event_type": "reframe_checkin",
        "event_payload": {"checkin_id": 7, "week": "w"},
    }


def test_reading_back_finds_only_our_kind_with_the_right_ids() -> None:
    ours = {
        "ts": "1.1",
        "metadata": {"event_type": "reframe_nudge", "event_payload": {"nudge_id": 3}},
    }
    assert payload_of(ours, "reframe_nudge") == {"nudge_id": 3}
    assert carries(ours, "reframe_nudge", nudge_id=3)
    assert not carries(ours, "reframe_nudge", nudge_id=4)
    assert not carries(ours, "reframe_checkin", nudge_id=3)
    # Someone else's metadata, none at all, or a shape Slack never sends: not ours.
    for message in (
        {"ts": "1.2"},
        {"metadata": {"event_type": "reframe_nudge", "event_payload": "3"}},
        {"metadata": ["reframe_nudge"]},
        "not a message",
        None,
    ):
        assert payload_of(message, "reframe_nudge") is None
        assert not carries(message, "reframe_nudge", nudge_id=3)
