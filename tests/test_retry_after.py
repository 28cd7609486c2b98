"""Retry-After in both its HTTP forms: delta-seconds and an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack.client import (
    DEFAULT_RETRY_AFTER,
    MAX_INLINE_RETRY_AFTER,
    PatientRateLimitHandler,
    retry_after_seconds,
)

NOW = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 2 ", 2.0),
        ("0.5", 0.5),
        (["7"], 7.0),
        (format_datetime(NOW + timedelta(seconds=70), usegmt=True), 70.0),
        ("Wed, 02 Dec 2026 10:01:30 GMT", 90.0),
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),  # already past
        ("-3", 0.0),
    ],
)
def test_both_forms_give_seconds_to_wait(value: str | list[str], seconds: float) -> None:
    assert retry_after_seconds(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "Blursday, 99 Foo", []])
def test_anything_else_waits_the_default_instead_of_crashing(value: str | None) -> None:
    assert retry_after_seconds(value, now=NOW) == DEFAULT_RETRY_AFTER
    assert retry_after_seconds(value, now=NOW, default=1.0) == 1.0


def _can_retry(retry_after: str) -> bool:
    handler = PatientRateLimitHandler(max_retry_count=2)
    request = HttpRequest(method="POST", url="http://127.0.0.1/api/chat.postMessage", headers={})
    response = HttpResponse(status_code=429, headers={"Retry-After": retry_after})
    return handler.can_retry(state=RetryState(), request=request, response=response)


def test_a_short_wait_is_retried_inside_the_call_and_a_long_one_left_to_the_caller() -> None:
    assert _can_retry("2")
    assert _can_retry(format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True))
    assert not _can_retry(str(int(MAX_INLINE_RETRY_AFTER) + 50))
    assert not _can_retry(format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True))
