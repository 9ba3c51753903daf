"""The contact lookup hash and the masks every log line goes through (chalicelib/pii.py, observability.py)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging

import pytest

from chalicelib.errors import PermanentSendError, TransientSendError
from chalicelib.pii import LookupHasher, lookup_digest, mask_text, mask_value

# --- the lookup hash ------------------------------------------------------------------------------------


def test_the_lookup_digest_is_the_first_32_hex_digits_of_hmac_sha256_of_the_address():
    key = b"k" * 32
    expected = hmac.new(key, b"+8613800138000", hashlib.sha256).hexdigest()[:32]

    assert lookup_digest(key, "+8613800138000") == expected
    assert LookupHasher(lambda: "k" * 32)("+8613800138000") == expected


def test_a_different_key_gives_a_different_digest_and_the_key_is_read_once():
    reads = []

    def source() -> str:
        reads.append(1)
        return "a-key-of-enough-length-000000000"

    hasher = LookupHasher(source)
    first, second = hasher("+8613800138000"), hasher("o-openid")

    assert len(reads) == 1 and first != second
    assert first != LookupHasher(lambda: "another-key-of-enough-length-000")("+8613800138000")


def test_a_missing_or_short_key_refuses_to_hash():
    with pytest.raises(RuntimeError):
        LookupHasher(lambda: "short")("+8613800138000")


# --- the masks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("+8613800138000", "+86******8000"),
        ("to +447911123456.", "to +44******3456."),
        ("call +44 20 7946 0000 (work)", "call +44******0000 (work)"),
        ("+1 (415) 555-2671", "+14******2671"),
        ("我的新号码是15987654321，谢谢", "我的新号码是159****4321，谢谢"),
        ("138 0013 8000", "138****8000"),
        ("008613800138000", "138****8000"),
        ("phone=%2B8613800138000", "phone=+86******8000"),
        ("lily.chen@example.com", "l***@example.com"),
        ("mail 13800138000@qq.com now", "mail 1***@qq.com now"),
        (
            "sns: InvalidParameter: Invalid parameter: PhoneNumber Reason: +8613800138000 is not valid",
            "sns: InvalidParameter: Invalid parameter: PhoneNumber Reason: +86******8000 is not valid",
        ),
    ],
)
def test_phone_numbers_and_emails_are_masked(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-22T10:00:00+08:00",
        "2026-11-21 22:38:03,552+0800",
        "epoch ms 1732251234567, version 3, booking bk-1",
        "in-sms-2a9a59e9fa18080128bd",
        "hash ab13912345678cd",
        "price 388.00 CNY",
    ],
)
def test_times_ids_and_hashes_are_left_alone(text):
    assert mask_text(text) == text


def test_nested_fields_are_masked_and_other_values_kept():
    fields = {
        "a": ["+8613800138000", 13800138000, 5, True, None, 1.5],
        "b": {"c": ("x@y.co",)},
        "d": ValueError("bad number +447911123456"),
    }

    assert mask_value(fields) == {
        "a": ["+86******8000", "138****8000", 5, True, None, 1.5],
        "b": {"c": ["x***@y.co"]},
        "d": "bad number +44******3456",
    }


def test_channel_error_reasons_are_masked_when_raised():
    assert PermanentSendError("sns: +8613800138000 is opted out").reason == "sns: +86******8000 is opted out"
    assert str(TransientSendError("ses: throttled for a@b.com")) == "ses: throttled for a***@b.com"


# --- every log line -----------------------------------------------------------------------------------


@pytest.fixture
def log_output():
    from chalicelib.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_the_logger_masks_the_message_every_extra_field_and_the_exception(log_output):
    from chalicelib.observability import logger

    logger.info(
        "sending to %s",
        "+8613800138000",
        extra={"to": "lily.chen@example.com", "nested": {"numbers": ["13912345678"]}},
    )
    try:
        raise ValueError("member +447911123456 refused, write to sam@example.org")
    except ValueError:
        logger.exception("send failed")

    text = log_output.getvalue()
    for raw in ("8613800138000", "lily.chen@", "13912345678", "447911123456", "sam@example.org"):
        assert raw not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["message"] == "sending to +86******8000" and first["to"] == "l***@example.com"
    assert first["nested"] == {"numbers": ["139****5678"]}
    assert "+44******3456" in second["exception"] and "s***@example.org" in second["exception"]


def test_records_of_any_other_logger_are_masked_too():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    other = logging.getLogger("tests.some.library")
    other.addHandler(handler)
    try:
        other.warning("could not reach %s", "+8613800138000")
        try:
            raise RuntimeError("lily.chen@example.com bounced")
        except RuntimeError:
            other.exception("boom")
    finally:
        other.removeHandler(handler)

    text = stream.getvalue()
    assert "could not reach +86******8000" in text and "l***@example.com bounced" in text
    assert "8613800138000" not in text and "lily.chen@" not in text
