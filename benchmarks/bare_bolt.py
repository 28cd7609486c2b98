"""The yardstick for `python -m benchmarks.load`: a Bolt app that only acks events.

    gunicorn --config python:bot.processes.gunicorn_conf 'benchmarks.bare_bolt:create_app()'

Served exactly like Reframe's web role (same gunicorn config, so the same worker
class, worker and thread counts, bind and logging), through Bolt's WSGI adapter,
with Bolt's own signature verification and `process_before_response` as ours.
It keeps nothing, calls Slack once (Bolt's auth.test for the token, cached), and
has a /healthz so its cold start is timed the same way. Whatever Reframe spends
beyond this per event is Reframe's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_app() -> WSGIApp:
    client = WebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = App(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=client,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        token_verification_enabled=False,
    )

    @app.event("message")
    def ack_only() -> None:
        """Bolt answers 200 once the listener returns."""

    @app.event("app_mention")
    def ack_mention() -> None:
        """Likewise."""

    slack = SlackRequestHandler(app)
    print("bare worker ready", file=sys.stderr, flush=True)  # benchmarks/load.py waits for it

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        return slack(environ, start_response)

    return wsgi
