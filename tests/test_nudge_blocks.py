"""The nudge's JSON for posting: what the SDK's blocks give, made once per question."""

from __future__ import annotations

import json

import pytest

from bot.domain.statuses import DeliveryMode
from bot.domain.traps import Trap
from bot.slack.blocks import build_nudge_blocks, nudge_blocks_json


@pytest.mark.parametrize("delivery", list(DeliveryMode))
@pytest.mark.parametrize("heard", [(), (Trap.LABELING,)])
def test_the_json_is_what_the_sdk_blocks_give(
    delivery: DeliveryMode, heard: tuple[Trap, ...]
) -> None:
    for nudge_id, channel in ((7, "C0DEAL"), (12345, "C0OTHER")):
        expected = [
            block.to_dict()
            for block in build_nudge_blocks(
                nudge_id,
                "What would he need to see?",
                delivery=delivery,
                channel_id=channel,
                heard=heard,
            )
        ]
        got = nudge_blocks_json(
            nudge_id,
            "What would he need to see?",
            delivery=delivery,
            channel_id=channel,
            heard=heard,
        )
        assert got == expected


def test_each_nudge_gets_its_own_copy_with_its_own_id() -> None:
    first = nudge_blocks_json(1, "A question?", delivery=DeliveryMode.EPHEMERAL)
    first[-1]["elements"][0]["value"] = "tampered"
    first[0]["block_id"] = "tampered"
    second = nudge_blocks_json(2, "A question?", delivery=DeliveryMode.EPHEMERAL)
    assert {button["value"] for button in second[-1]["elements"]} == {"2"}
    assert "tampered" not in json.dumps(second)
