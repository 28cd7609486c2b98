"""Health endpoints for processes that serve no Slack HTTP: the scheduler role and a
Socket Mode process. `/healthz` (alive), `/readyz` (every named check passes),
`/metrics` (Prometheus text). The web role answers the same paths in
bot/processes/web.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bot.observability import metrics


class HealthWSGI:
    """The only HTTP of the scheduler and of a Socket Mode process: liveness,
    readiness (every named check must pass) and metrics."""

    def __init__(
        self, *, live: Callable[[], bool], ready: Mapping[str, Callable[[], bool]]
    ) -> None:
        self._live = live
        self._ready = ready

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            body, content_type = metrics.render()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/healthz":
            ok = self._live()
            return _json(start_response, ok, {"ok": ok})
        if path == "/readyz":
            checks = {name: check() for name, check in self._ready.items()}
            ok = all(checks.values())
            return _json(start_response, ok, {"ok": ok, **checks})
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


def _json(start_response: Callable[..., Any], ok: bool, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        "200 OK" if ok else "503 Service Unavailable",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
