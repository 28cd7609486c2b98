"""Logging format: readable text by default, one JSON object per line when asked.

Only fields we put in `extra` are added, so message text and tokens never
reach the logs by accident.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from slack_bolt.request import BoltRequest

from bot.observability import metrics
from bot.processes.web import BOLT_REQUEST, RAW_BODY, prepare_bolt_request

log = logging.getLogger(__name__)

# Fields listeners and services may attach with `extra=`; nothing else is copied.
EXTRA_FIELDS = (
    "team_id",
    "event_id",
    "nudge_id",
    "checkin_id",
    "traps",
    "reason",
    "retryable",
    "latency_ms",
    "status",
    "kind",
    "retry",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = list(value) if isinstance(value, tuple) else value
        if record.exc_info and record.exc_info[0] is not None:
            payload["error"] = record.exc_info[0].__name__
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_log_format(fmt: str) -> None:
    root = logging.getLogger()
    formatter: logging.Formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    for handler in root.handlers:
        handler.setFormatter(formatter)
    # The SDKs log request bodies (what reps wrote) at DEBUG; keep them above it.
    for noisy in ("slack_bolt", "slack_sdk", "urllib3"):
        logger = logging.getLogger(noisy)
        logger.setLevel(max(logging.INFO, root.level))
    # APScheduler says "Running job" and "executed successfully" on every tick of
    # every job (11,500 lines a day); our jobs log what they did themselves.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


# -- one log line and one metric per Slack request ------------------------------

_ID = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")
# An answer slower than this is logged at INFO whatever its status (Slack waits 3 s).
SLOW_REQUEST_SECONDS = 1.0
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ObservedWSGI:
    """Wraps the WSGI app: logs team, event id, kind, status and latency of every
    /slack/events request, and counts it. Only identifiers are read from the
    body, never its text; values that do not look like Slack ids are dropped,
    so nothing a sender controls can grow the logs or the metric labels.
    """

    def __init__(self, app: WSGIApp, *, timer: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        # A monotonic timer, not the Clock: this measures a duration, not a moment.
        self._timer = timer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != "/slack/events" or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        started = self._timer()
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: Any, *rest: Any) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, *rest)

        try:
            result = self.app(environ, recording_start_response)
        finally:
            self._record(environ, seen.get("status", 500), self._timer() - started)
        return result

    def _record(self, environ: dict[str, Any], status: int, seconds: float) -> None:
        ids = _ids_of(environ)
        # Only verified requests may name their kind; a label per forged type
        # would let anyone grow the metrics without bound.
        kind = ids.get("kind", "unknown") if status < 400 else "refused"
        if kind not in METRIC_KINDS:
            kind = "other"  # labels come from a fixed set, whatever a payload names
        metrics.slack_request(kind, status, seconds)
        retry = environ.get("HTTP_X_SLACK_RETRY_NUM")
        # A quick 2xx is routine: counted above, and logged only at DEBUG (at a
        # thousand events a second one line each is most of the log). Refusals,
        # errors, Slack's retries and slow answers are logged at INFO.
        routine = status < 300 and not retry and seconds < SLOW_REQUEST_SECONDS
        level = logging.DEBUG if routine else logging.INFO
        if not log.isEnabledFor(level):
            return
        log.log(
            level,
            "slack request",
            extra={
                "team_id": ids.get("team_id"),
                "event_id": ids.get("event_id"),
                "kind": kind,
                "status": status,
                "latency_ms": round(seconds * 1000, 1),
                "retry": retry if retry and retry.isdigit() else None,
            },
        )


def _ids_of(environ: dict[str, Any]) -> dict[str, str]:
    """The ids of the request the app parsed, or (a refused request) of its raw body,
    parsed the way the app would have."""
    request = environ.get(BOLT_REQUEST)
    if not isinstance(request, BoltRequest):
        raw = environ.get(RAW_BODY)
        request = prepare_bolt_request(raw, environ) if isinstance(raw, bytes) and raw else None
    return ids_in(request.body) if request is not None and isinstance(request.body, dict) else {}


# Every kind Reframe listens to or Slack sends it; anything else is counted as "other".
METRIC_KINDS = frozenset(
    {
        "message",
        "app_mention",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
        "channel_rename",
        "group_rename",
        "member_joined_channel",
        "/reframe",
        "block_actions",
        "view_submission",
        "view_closed",
        "url_verification",
        "event_callback",
        "unknown",
        "refused",
    }
)


def ids_in(body: dict[str, Any]) -> dict[str, str]:
    """team_id, event_id and kind of a Slack payload, when they look like ids."""
    event = body.get("event")
    team = body.get("team")
    candidates = {
        "team_id": body.get("team_id") or (team.get("id") if isinstance(team, dict) else None),
        "event_id": body.get("event_id"),
        "kind": (event.get("type") if isinstance(event, dict) else None)
        or body.get("command")
        or body.get("type"),
    }
    return {k: v for k, v in candidates.items() if isinstance(v, str) and _ID.match(v)}
