"""Logging format: readable text by default, one JSON object per line when asked.

Only fields we put in `extra` are added, so message text and tokens never
reach the logs by accident.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

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
    for noisy in ("slack_bolt", "slack_sdk", "urllib3", "apscheduler"):
        logger = logging.getLogger(noisy)
        logger.setLevel(max(logging.INFO, root.level))
