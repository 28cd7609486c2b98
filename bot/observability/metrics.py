"""Counters for operators, exposed as Prometheus text at /metrics.

Services call `count("nudges_sent")`-style functions and know nothing else about
Prometheus. Under gunicorn with several workers each worker has its own
counters; when PROMETHEUS_MULTIPROC_DIR is set (`python -m bot web` sets it:
bot/processes/roles.py) prometheus-client's multiprocess mode sums them across
workers at scrape time.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from bot.domain.statuses import NudgeState

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Label-free counters, by the short name services use.
_SIMPLE: dict[str, Counter] = {
    name: Counter(f"reframe_{name}_total", help_text)
    for name, help_text in {
        "nudges_recorded": "Nudges decided and written to the database",
        "nudges_sent": "Nudges delivered to Slack",
        "nudges_retry": "Nudge deliveries that failed and will be retried",
        "nudges_failed": "Nudges given up on (permanent Slack error or too many attempts)",
        "nudges_expired": "Nudges dropped because Slack was unreachable for too long",
        "nudges_unconfirmed": "Ephemeral nudges not posted again: an earlier try may have shown",
        "nudges_found": "Nudges found already posted when an earlier try was in doubt",
        "nudge_claims_lost": "Deliveries that finished after another worker took the nudge over",
        "checkins_sent": "Check-in messages delivered",
        "checkins_failed": "Check-in messages given up on",
        "checkins_answered": "Check-in answers recorded",
        "slow_requests_cut_off": "Connections closed because the request did not arrive "
        "within HTTP_READ_TIMEOUT_SECONDS",
    }.items()
}

SLACK_REQUESTS = Counter(
    "reframe_slack_requests_total",
    "Requests on /slack/events by kind (event type, command, action) and HTTP status",
    ["kind", "status"],
)
SLACK_ERRORS = Counter(
    "reframe_slack_errors_total",
    "Web API calls that failed, by Slack error code or exception type",
    ["reason"],
)
SLACK_CONNECTIONS = Counter(
    "reframe_slack_connections_total",
    "Connections opened to the Slack Web API, by why the thread's last one was not "
    "reused: first, idle (past the idle limit), closed_by_server, after_error",
    ["reason"],
)
ACK_SECONDS = Histogram(
    "reframe_slack_ack_seconds",
    "Time from receiving a Slack request to answering it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# Nudge statuses as `NudgeService._finish` writes them, mapped to counters.
_NUDGE_OUTCOMES = {
    NudgeState.SENT: "nudges_sent",
    NudgeState.PENDING: "nudges_retry",
    NudgeState.FAILED: "nudges_failed",
    NudgeState.EXPIRED: "nudges_expired",
    NudgeState.UNCONFIRMED: "nudges_unconfirmed",
}


def count(name: str, amount: int = 1) -> None:
    """Add to a label-free counter. An unknown name is a bug: fail loudly in tests."""
    _SIMPLE[name].inc(amount)


def value(name: str) -> float:
    """A counter's value in this process (tests and the benchmark read it)."""
    if name not in _SIMPLE:
        raise KeyError(f"no counter named {name!r}")
    sample = REGISTRY.get_sample_value(f"reframe_{name}_total")
    return sample if sample is not None else 0.0


def nudge_outcome(status: NudgeState) -> None:
    name = _NUDGE_OUTCOMES.get(status)
    if name is not None:
        count(name)


def slack_error(reason: str) -> None:
    # Reasons are Slack error codes or exception class names: a small, bounded set.
    SLACK_ERRORS.labels(reason=reason[:64]).inc()


def slack_connection(reason: str) -> None:
    # Reasons come from bot/slack/transport.py's fixed set.
    SLACK_CONNECTIONS.labels(reason=reason).inc()


def slack_request(kind: str, status: int, seconds: float) -> None:
    SLACK_REQUESTS.labels(kind=kind, status=str(status)).inc()
    ACK_SECONDS.observe(seconds)


def render() -> tuple[bytes, str]:
    """The Prometheus text for /metrics (summed over workers in multiprocess mode)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Tell multiprocess mode a gunicorn worker is gone (its live gauges are dropped)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
