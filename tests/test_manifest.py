"""manifest.json is what people paste into Slack: it must validate and match the code."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((ROOT / "manifest.json").read_text())


def test_manifest_validates_against_slacks_schema(manifest: dict) -> None:
    assert SCHEMA.is_file(), f"Slack's manifest schema is expected at {SCHEMA}"
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    assert errors == [], [e.message for e in errors]


def test_manifest_declares_what_the_code_listens_to(manifest: dict) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "app_mention"} <= events
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/reframe"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "channels:history", "groups:history", "commands"} <= scopes


def test_every_url_points_at_the_one_endpoint(manifest: dict) -> None:
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]
    assert {u.rsplit("/", 2)[-2:] == ["slack", "events"] for u in urls} == {True}
