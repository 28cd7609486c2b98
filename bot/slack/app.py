"""Build the Bolt app: verification, error handling, and every listener."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

log = logging.getLogger(__name__)


def build_bolt_app(
    *,
    signing_secret: str,
    client: WebClient,
    token: str | None = None,
    authorize: Any = None,
    oauth_flow: Any = None,
    installation_store: Any = None,
    listener_executor: Executor | None = None,
    verified_before: bool = False,
) -> App:
    """A Bolt app that records its decisions before answering Slack.

    `process_before_response=True`: a listener records what it decided in the
    database before Slack sees 200, so a crash cannot lose a nudge and a retry
    finds the record. Slow work (posting to Slack) comes after the answer: on a
    background pool, or in a lazy listener run on `listener_executor`
    (listeners/after_ack.py).

    `verified_before`: every HTTP request reaches this app through ReframeWSGI
    (bot/processes/web.py), which checks its signature with the same secret before
    Bolt sees it, so Bolt does not compute the same HMAC again. (Socket Mode's
    requests carry no signature; Bolt never checks those.)
    """
    _quiet_token_warning()
    app = App(
        signing_secret=signing_secret,
        token=token,
        client=client,
        authorize=authorize,
        oauth_flow=oauth_flow,
        installation_store=installation_store,
        listener_executor=listener_executor,
        process_before_response=True,
        request_verification_enabled=not verified_before,
        raise_error_for_unhandled_request=False,
        # The token is checked when the first request arrives, not at import,
        # so the process starts (and /healthz answers) while Slack is unreachable.
        token_verification_enabled=False,
    )

    @app.error
    def handle_errors(
        error: Exception, body: dict[str, Any], response: BoltResponse
    ) -> BoltResponse:
        # Log the kind of request and error, never the payload: it holds what reps wrote.
        kind = body.get("type") if isinstance(body, dict) else None
        event = body.get("event") if isinstance(body, dict) else None
        event_type = event.get("type") if isinstance(event, dict) else None
        log.error(
            "listener failed: %s (request %s %s)",
            type(error).__name__,
            kind,
            event_type or "",
            exc_info=error,
        )
        # 500 makes Slack retry an event later; the database keeps the retry from doubling.
        return BoltResponse(status=500, body="")

    return app


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


_TOKEN_SKIPPED = "As you gave `client` as well, `token` will be unused."


def _quiet_token_warning() -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment even when it is given a client
    (ours: its base URL and retry handlers), then warns on every start that the token
    is unused. It is used: the client carries it. Drop that one line."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _DropMessage) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropMessage(_TOKEN_SKIPPED))
