"""Unit tests for the small pure parts: calendar buckets, cursors, step messages, backoff, channels,
error classification, the local clock and the booking event's validation."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.channels.base import PERMANENT_CODES, classify
from chalicelib.clock import FixedClock, OffsetFileClock
from chalicelib.contracts.booking_event import parse_booking_event
from chalicelib.contracts.step import StepMessage, booking_ref, schedule_name
from chalicelib.cursors import CursorSigner
from chalicelib.dal.bookings import slot_buckets
from chalicelib.dal.messages import decode_cursor, encode_cursor
from chalicelib.dal.models import MessageItem
from chalicelib.errors import PermanentSendError, TransientSendError, ValidationFailed
from chalicelib.workers.steps import backoff_seconds
from tests.support.builders import booking_event

# --- stylist calendar buckets --------------------------------------------------------------------


def test_given_an_on_grid_booking_when_bucketed_then_it_claims_each_five_minutes_it_covers():
    buckets = slot_buckets("sty-1", datetime.fromisoformat("2026-11-25T15:00:00+08:00"), 30)

    assert buckets == {"sty-1|2026-11-25": ["0700", "0705", "0710", "0715", "0720", "0725"]}


def test_given_an_off_grid_booking_when_bucketed_then_the_start_rounds_down_and_the_end_rounds_up():
    buckets = slot_buckets("sty-1", datetime.fromisoformat("2026-11-25T07:03:00+00:00"), 10)

    assert buckets == {"sty-1|2026-11-25": ["0700", "0705", "0710"]}  # 07:03-07:13


def test_given_seconds_off_the_grid_when_bucketed_then_the_partial_bucket_is_claimed():
    buckets = slot_buckets("sty-1", datetime.fromisoformat("2026-11-25T07:04:59.5+00:00"), 5)

    assert buckets == {"sty-1|2026-11-25": ["0700", "0705"]}


def test_given_a_booking_across_utc_midnight_when_bucketed_then_it_splits_into_two_days():
    # 07:50 in Shanghai is 23:50 UTC the day before.
    buckets = slot_buckets("sty-1", datetime.fromisoformat("2026-11-26T07:50:00+08:00"), 20)

    assert buckets == {"sty-1|2026-11-25": ["2350", "2355"], "sty-1|2026-11-26": ["0000", "0005"]}


def test_given_two_touching_bookings_when_bucketed_then_they_share_no_bucket():
    first = slot_buckets("sty-1", datetime.fromisoformat("2026-11-25T10:00:00+00:00"), 60)
    second = slot_buckets("sty-1", datetime.fromisoformat("2026-11-25T11:00:00+00:00"), 60)

    assert not set(first["sty-1|2026-11-25"]) & set(second["sty-1|2026-11-25"])


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.sampled_from([UTC])
    ),
    minutes=st.integers(min_value=5, max_value=24 * 60),
)
def test_given_any_booking_when_bucketed_then_the_buckets_cover_it_exactly_on_the_grid(start, minutes):
    buckets = slot_buckets("s", start, minutes)

    instants = sorted(
        datetime.fromisoformat(f"{key.split('|')[1]}T{hhmm[:2]}:{hhmm[2:]}:00+00:00")
        for key, hhmms in buckets.items()
        for hhmm in hhmms
    )
    assert all(moment.minute % 5 == 0 for moment in instants)
    assert instants[0] <= start < instants[0] + timedelta(minutes=5)
    assert instants[-1] < start + timedelta(minutes=minutes) <= instants[-1] + timedelta(minutes=5)
    assert all(b - a == timedelta(minutes=5) for a, b in zip(instants, instants[1:], strict=False))


# --- message cursors -----------------------------------------------------------------------------
CURSORS = CursorSigner(lambda: b"cursor-key-of-32-bytes-for-tests")


def test_given_a_sort_key_when_encoded_then_the_cursor_decodes_to_the_exclusive_start_key():
    sk = "MSG#2026-11-22T02:00:00+00:00#out-abc-confirmation-v1"

    cursor = encode_cursor(CURSORS, "sh-jingan", "m-1", sk)

    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", cursor)  # URL-safe, unpadded: key . MAC
    assert decode_cursor(CURSORS, cursor, "sh-jingan", "m-1") == {
        "pk": {"S": MessageItem.pk_for("sh-jingan", "m-1")},
        "sk": {"S": sk},
    }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "not a cursor",
        "é",
        "a",
        _b64(b"not json"),
        _b64(b"\xff\xfe\xfd"),
        _b64(b"[]"),
        _b64(b"null"),
        _b64(b'"MSG#x"'),
        _b64(b"{}"),
        _b64(b'{"sk": 5}'),
        _b64(b'{"sk": null}'),
        _b64(b'{"sk": "CONV#other"}'),
        _b64(json.dumps({"sk": "MSG#" + "x" * 600}).encode()),
        "A" * 513,
    ],
)
def test_given_a_garbage_cursor_when_decoded_then_validation_fails_naming_the_cursor(cursor):
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(CURSORS, cursor, "sh-jingan", "m-1")

    assert set(caught.value.fields) == {"cursor"}


@pytest.mark.parametrize(
    ("store_id", "member_id", "newest_first"),
    [("sh-jingan", "m-2", True), ("ldn-soho", "m-1", True), ("sh-jingan", "m-1", False)],
)
def test_given_a_cursor_of_another_listing_when_decoded_then_validation_fails(
    store_id, member_id, newest_first
):
    cursor = encode_cursor(CURSORS, "sh-jingan", "m-1", "MSG#2026-11-22T02:00:00+00:00#in-1")

    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(CURSORS, cursor, store_id, member_id, newest_first)

    assert set(caught.value.fields) == {"cursor"}
    with pytest.raises(ValidationFailed):  # and one signed with another key
        decode_cursor(CursorSigner(lambda: b"another-key-of-32-bytes-for-test"), cursor, "sh-jingan", "m-1")


# --- step messages -------------------------------------------------------------------------------


def step(**changes) -> StepMessage:
    values = dict(
        chain_id="demo-chain",
        store_id="sh-jingan",
        booking_id="bk-1",
        member_id="m-1",
        kind="reminder_day_before",
        when="upcoming",
        version=3,
        due_at="2026-11-24T02:00:00+00:00",
    )
    values.update(changes)
    return StepMessage(**values)


def test_given_a_step_message_when_round_tripped_through_json_then_it_is_unchanged():
    message = step(member_id="李女士😀")

    assert StepMessage.from_json(message.to_json()) == message
    assert json.loads(message.to_json())["type"] == "journey_step"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        "null",
        '"x"',
        json.dumps({k: v for k, v in json.loads(step().to_json()).items() if k != "kind"}),
        json.dumps({**json.loads(step().to_json()), "type": "something_else"}),
        json.dumps({**json.loads(step().to_json()), "due_at": "tomorrow"}),
        json.dumps({**json.loads(step().to_json()), "due_at": 5}),
        json.dumps({**json.loads(step().to_json()), "version": "three"}),
        json.dumps({**json.loads(step().to_json()), "version": None}),
    ],
)
def test_given_a_malformed_step_body_when_parsed_then_validation_fails(body):
    with pytest.raises(ValidationFailed):
        StepMessage.from_json(body)


SCHEDULE_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")
KINDS = (
    "confirmation",
    "reschedule_confirmation",
    "reminder_day_before",
    "reminder_2h",
    "no_show_followup",
    "aftercare",
    "feedback_request",
    "review_request",
    "checkin_1_month",
)


@pytest.mark.parametrize("booking_id", ["bk-1", "x" * 128, "a:b@c.d_e-f", "预约/001 #?*", "../../etc", ""])
@pytest.mark.parametrize("kind", KINDS)
def test_given_any_booking_id_when_a_schedule_is_named_then_it_is_short_and_name_safe(booking_id, kind):
    name = step(booking_id=booking_id, kind=kind, version=9999).schedule_name

    assert SCHEDULE_NAME.fullmatch(name), name
    assert name == schedule_name("demo-chain", booking_id, kind, 9999)  # deterministic


@settings(max_examples=200, deadline=None)
@given(
    chain=st.text(),
    booking=st.text(),
    version=st.integers(min_value=1, max_value=10**6),
    kind=st.sampled_from(KINDS),
)
def test_given_arbitrary_ids_when_a_schedule_is_named_then_it_is_deterministic_short_and_safe(
    chain, booking, version, kind
):
    name = schedule_name(chain, booking, kind, version)

    assert SCHEDULE_NAME.fullmatch(name), name
    assert name == schedule_name(chain, booking, kind, version)


def test_given_different_bookings_steps_or_versions_when_named_then_the_names_differ():
    names = {
        schedule_name("demo-chain", "bk-1", "reminder_2h", 1),
        schedule_name("demo-chain", "bk-2", "reminder_2h", 1),
        schedule_name("other-chain", "bk-1", "reminder_2h", 1),
        schedule_name("demo-chain", "bk-1", "reminder_day_before", 1),
        schedule_name("demo-chain", "bk-1", "reminder_2h", 2),
        schedule_name("demo-chai", "nbk-1", "reminder_2h", 1),  # no ambiguity where the ids meet
    }
    assert len(names) == 6
    assert booking_ref("demo-chain", "bk-1") != booking_ref("demo-chai", "nbk-1")
    assert step().message_id == f"out-{booking_ref('demo-chain', 'bk-1')}-reminder_day_before-v3"


# --- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attempt, expected",
    [(0, 30), (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 900), (7, 900), (100, 900), (10_000, 900)],
)
def test_given_attempts_when_backing_off_then_the_delay_doubles_up_to_the_cap(attempt, expected):
    assert backoff_seconds(attempt, 30, 900) == expected


def test_given_a_cap_over_twelve_hours_when_backing_off_then_sqs_maximum_wins():
    assert backoff_seconds(30, 60, 10**9) == 43_200
    assert backoff_seconds(1, 0, 900) == 0
    assert isinstance(backoff_seconds(3, 1.5, 900), int)


# --- channels ------------------------------------------------------------------------------------


def client_error(code: str | None, message: str = "boom") -> ClientError:
    error = {"Code": code, "Message": message} if code else {}
    return ClientError({"Error": error}, "Publish")


@pytest.mark.parametrize("code", sorted(PERMANENT_CODES))
def test_given_a_permanent_provider_code_when_classified_then_it_is_permanent(code):
    result = classify(client_error(code), "sns")

    assert isinstance(result, PermanentSendError)
    assert result.reason == f"sns: {code}: boom"


@pytest.mark.parametrize(
    "code",
    [
        "Throttling",
        "ThrottlingException",
        "InternalError",
        "ServiceUnavailable",
        "KMSThrottlingException",
        "invalidparameter",
        None,
    ],
)
def test_given_a_retryable_or_unknown_provider_code_when_classified_then_it_is_transient(code):
    result = classify(client_error(code), "ses")

    assert isinstance(result, TransientSendError) and not isinstance(result, PermanentSendError)
    assert result.reason.startswith("ses: ")


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="https://sns.example"),
        ReadTimeoutError(endpoint_url="https://sns.example"),
        TimeoutError("slow"),
        RuntimeError("surprise"),
    ],
)
def test_given_a_connection_problem_or_surprise_when_classified_then_it_is_transient(exc):
    result = classify(exc, "sns")

    assert type(result) is TransientSendError
    assert result.reason.startswith("sns: ") and type(exc).__name__ in result.reason


# --- clocks --------------------------------------------------------------------------------------


def test_given_an_offset_clock_when_advanced_then_other_instances_on_the_same_file_see_it(tmp_path):
    path = tmp_path / "local" / "clock.json"
    writer, reader = OffsetFileClock(path), OffsetFileClock(path)
    assert reader.offset_seconds() == 0.0

    moved = writer.advance(3600)

    assert reader.offset_seconds() == 3600.0
    assert OffsetFileClock(path).offset_seconds() == 3600.0
    assert abs((reader.now() - datetime.now(UTC)) - timedelta(hours=1)) < timedelta(seconds=5)
    assert abs(moved - reader.now()) < timedelta(seconds=5)

    reader.advance(-600)
    reader.advance(60)
    assert writer.offset_seconds() == 3060.0
    assert json.loads(path.read_text()) == {"offset_seconds": 3060.0}
    assert [p.name for p in path.parent.iterdir()] == ["clock.json"]  # no temporary files left


def test_given_a_corrupt_clock_file_when_read_then_the_offset_is_zero(tmp_path):
    path = tmp_path / "clock.json"
    path.write_text("{not json")

    assert OffsetFileClock(path).offset_seconds() == 0.0
    assert OffsetFileClock(path).advance(10) - datetime.now(UTC) > timedelta(seconds=5)


def test_given_a_fixed_clock_when_advanced_or_set_then_it_stays_aware_utc():
    clock = FixedClock(datetime.fromisoformat("2026-11-22T10:00:00+08:00"))

    assert clock.now() == datetime(2026, 11, 22, 2, tzinfo=UTC) and clock.now().utcoffset() == timedelta(0)
    assert clock.advance(hours=1) == datetime(2026, 11, 22, 3, tzinfo=UTC)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 11, 22))


# --- the booking event ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_phone, e164",
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("+44 20 7946 0000", "+442079460000"),
        ("  +1 (415) 555-2671 ", "+14155552671"),
        ("", None),
        (None, None),
    ],
)
def test_given_a_member_phone_when_parsed_then_it_is_normalised_to_e164(given_phone, e164):
    event = parse_booking_event(booking_event(phone=given_phone))

    assert event.booking.member.phone == e164


def test_given_a_valid_event_when_parsed_then_the_fields_are_typed():
    event = parse_booking_event(booking_event(email="li@example.com"))

    assert event.type == "booking.created"
    assert event.booking.start == datetime.fromisoformat("2026-11-25T15:00:00+08:00")
    assert event.booking.price.amount == "388.00" and event.booking.member.email == "li@example.com"


@pytest.mark.parametrize(
    "mutate, fields",
    [
        (lambda e: e["booking"]["member"].update(phone="13800138000"), {"booking.member.phone"}),
        (lambda e: e["booking"]["member"].update(phone="+86 123"), {"booking.member.phone"}),
        (lambda e: e["booking"]["member"].pop("id"), {"booking.member.id"}),
        (lambda e: e["booking"]["service"].update(category="Hair Colour"), {"booking.service.category"}),
        (
            lambda e: e["booking"]["price"].update(currency="cny", amount="-1"),
            {"booking.price.currency", "booking.price.amount"},
        ),
        (lambda e: e["booking"].update(start="2026-11-25T15:00:00"), {"booking.start"}),
        (lambda e: e["booking"].update(start="1999-11-25T15:00:00+08:00"), {"booking.start"}),
        (lambda e: e["booking"].update(duration_minutes=24 * 60 + 1), {"booking.duration_minutes"}),
        (lambda e: e["booking"]["stylist"].update(id="has space"), {"booking.stylist.id"}),
        (lambda e: e.update(type="booking.exploded"), {"type"}),
        (lambda e: (e.pop("event_id"), e.pop("occurred_at")), {"event_id", "occurred_at"}),
    ],
)
def test_given_an_invalid_event_when_parsed_then_the_error_names_each_nested_field(mutate, fields):
    event = booking_event()
    mutate(event)

    with pytest.raises(ValidationFailed) as caught:
        parse_booking_event(event)

    assert set(caught.value.fields) == fields
    assert all(isinstance(message, str) and message for message in caught.value.fields.values())


def test_given_an_unknown_event_type_when_parsed_then_the_message_lists_the_known_ones():
    with pytest.raises(ValidationFailed) as caught:
        parse_booking_event(booking_event(type="booking.exploded"))

    assert (
        "booking.created" in caught.value.fields["type"] and "booking.no_show" in caught.value.fields["type"]
    )


@pytest.mark.parametrize("payload", [[], None, "event", 5])
def test_given_a_body_that_is_not_an_object_when_parsed_then_the_body_is_named(payload):
    with pytest.raises(ValidationFailed) as caught:
        parse_booking_event(payload)

    assert set(caught.value.fields) == {"body"}
