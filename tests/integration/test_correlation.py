"""API log lines carry the Lambda request id and a correlation id (the caller's X-Correlation-Id when it is a safe
id, else the request's own), the answer echoes it, and nothing carries over to the next request."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from chalicelib.api.correlation import HEADER, correlation_id
from chalicelib.observability import SERVICE, logger
from tests.support.builders import booking_event


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(logger.registered_formatter.format(record)))


@pytest.fixture
def lines() -> Iterator[list[dict]]:
    handler = _Lines()
    logging.getLogger(SERVICE).addHandler(handler)
    try:
        yield handler.lines
    finally:
        logging.getLogger(SERVICE).removeHandler(handler)


def _post(harness, event: dict, headers: dict[str, str]):
    from chalicelib.services.signatures import sign

    raw = json.dumps(event).encode()
    ts = str(int(time.time()))
    return harness.client.http.post(
        "/v1/webhooks/bookings",
        body=raw,
        headers={
            "Content-Type": "application/json",
            "X-Chairside-Chain": harness.chain["chain_id"],
            "X-Chairside-Timestamp": ts,
            "X-Chairside-Signature": sign(harness.chain["webhook_secret"], ts, raw),
            **headers,
        },
    )


def _applied(lines: list[dict]) -> dict:
    return next(line for line in lines if line["message"] == "booking event applied")


def test_given_a_correlation_id_when_a_booking_event_is_posted_then_its_log_lines_carry_it_and_the_request_id(
    harness, lines
):
    response = _post(harness, booking_event(event_id="evt-corr-1"), {HEADER: "shop-42:retry_1.a"})

    assert response.status_code == 202
    assert response.headers[HEADER] == "shop-42:retry_1.a"
    applied = _applied(lines)
    assert applied["correlation_id"] == "shop-42:retry_1.a"
    assert applied["function_request_id"]


def test_without_a_usable_correlation_id_the_request_id_is_used_and_echoed(harness, lines):
    response = _post(harness, booking_event(event_id="evt-corr-2"), {HEADER: "two words<script>"})

    applied = _applied(lines)
    assert response.headers[HEADER] == applied["correlation_id"] != "two words<script>"
    assert applied["correlation_id"] in (applied["function_request_id"], applied.get("request_id"))


def test_the_ids_are_cleared_after_the_request(harness, lines):
    _post(harness, booking_event(event_id="evt-corr-3"), {HEADER: "first-request"})
    logger.info("after the request")

    after = lines[-1]
    assert after["message"] == "after the request"
    assert "correlation_id" not in after and "function_request_id" not in after


def test_an_error_answer_echoes_the_correlation_id_too(harness):
    response = harness.client.http.post(
        "/v1/webhooks/bookings",
        body=b"{}",
        headers={"Content-Type": "application/json", HEADER: "bad-request-7"},
    )

    assert response.status_code in (400, 401)
    assert response.headers[HEADER] == "bad-request-7"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("a" * 128, "a" * 128),
        ("a" * 129, "req-1"),
        ("", "req-1"),
        (None, "req-1"),
        ("x\ny", "req-1"),
        ("trailing\n", "req-1"),
        ("ünicode", "req-1"),
    ],
)
def test_a_correlation_id_is_safe_id_characters_at_most_128(given, used):
    assert correlation_id(given, "req-1") == used
