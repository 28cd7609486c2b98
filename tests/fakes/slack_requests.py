"""Signed requests, sent over real HTTP the way Slack sends them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM = "T0TEAM"
BOT_USER = "UBOT"


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class SlackSender:
    def __init__(self, base_url: str, secret: str = SIGNING_SECRET) -> None:
        self.base_url = base_url.rstrip("/")
        self.verifier = SignatureVerifier(secret)
        self._event_counter = 0

    def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        path: str = "/slack/events",
    ) -> Reply:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        request = urllib.request.Request(
            self.base_url + path,
            data=body.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sig,
                **(headers or {}),
            },
        )
        return _send(request)

    def get(self, path: str) -> Reply:
        return _send(urllib.request.Request(self.base_url + path, method="GET"))

    # -- payload shapes ---------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
        team: str = TEAM,
        envelope: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Reply:
        self._event_counter += 1
        payload = {
            "token": "legacy-unused",
            "team_id": team,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": event_id or f"Ev{self._event_counter:08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
            "event": event,
            **(envelope or {}),
        }
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(payload), "application/json", headers=headers, **kw)

    def message(
        self,
        text: str,
        *,
        channel: str = "C0DEAL",
        user: str = "U0REP",
        ts: str = "1700000000.000100",
        **fields: Any,
    ) -> Reply:
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "channel_type": "channel",
            **fields,
        }
        return self.event(event)

    def command(
        self,
        text: str,
        *,
        user: str = "U0REP",
        channel: str = "C0DEAL",
        response_url: str = "http://127.0.0.1:9/none",
        team: str = TEAM,
        **fields: str,
    ) -> Reply:
        form = {
            "token": "legacy-unused",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "deal-acme",
            "user_id": user,
            "user_name": "rep",
            "command": "/reframe",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": "1337.42.abcd",
            **fields,
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def action(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0REP",
        response_url: str,
        container: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        team: str = TEAM,
    ) -> Reply:
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": "test"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A0APP",
            "token": "legacy-unused",
            "trigger_id": "1337.42.abcd",
            "response_url": response_url,
            "container": container
            or {
                "type": "message",
                "is_ephemeral": True,
                "channel_id": "C0DEAL",
                "message_ts": "1700000000.000200",
            },
            "channel": {"id": "C0DEAL"},
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "type": "button",
                    "action_ts": "1700000001.0",
                }
            ],
            **(extra or {}),
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, dict[str, Any]]],
        *,
        private_metadata: str = "",
        user: str = "U0REP",
    ) -> Reply:
        """A modal's Submit: `values` is state.values, {block_id: {action_id: {...}}}."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0APP",
            "token": "legacy-unused",
            "trigger_id": "1337.43.abcd",
            "view": {
                "id": "V0VIEW",
                "team_id": TEAM,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "1.abc",
            },
        }
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )


def _send(request: urllib.request.Request) -> Reply:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers))
