"""The booking webhook's hand reader accepts and refuses what its pydantic models did, naming the same fields.

The reference is the pydantic contract it replaced (tests/support/booking_event_reference.py); events are the
sample webhook with parts replaced by arbitrary JSON or removed, as the webhook fuzz test makes them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.contracts.booking_event import parse_booking_event
from chalicelib.errors import ValidationFailed, invalid_fields
from tests.support.booking_event_reference import BookingEvent as Reference
from tests.support.builders import booking_event
from tests.support.mutations import mutate, paths

_TEMPLATE = booking_event(email="li@example.com") | {
    "booking": booking_event()["booking"] | {"buffer_minutes": 15}
}
_TEMPLATE["booking"]["member"] |= {
    "email": "li@example.com",
    "marketing_consent": True,
    "birthday": "1990-05-01",
}
_TEMPLATE["booking"]["coupon_code"] = "WELCOME-10"

_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_values = (
    _leaves
    | st.sampled_from(
        [
            "",
            " ",
            "90",
            " 90 ",
            "90.0",
            "1e3",
            "true",
            "no",
            "Y",
            "2026-11-25T15:00:00+08:00",
            "2026-11-25T15:00:00Z",
            "2026-11-25 15:00:00+08:00",
            "2026-11-25",
            "1795312800",
            "1795312800.5",
            "2026-11-25T15:00:00.1234567+08:00",
            "2026-11-25T15:00+0800",
            "2026-11-25T15:00:00+08",
            "2026-11-25t15:00:00z",
            "2026-02-30T15:00:00+08:00",
            "2026-11-25T15:00:00+24:00",
            "2026-11-25T15:00:60+08:00",
            "20261125T150000+0800",
            "+86 138 0013 8000",
            "388",
            "-1",
            "NaN",
            "Infinity",
            "CNY",
            "cny",
            " sh-jingan ",
            "a\nb",
        ]
    )
    | st.lists(_leaves, max_size=2)
    | st.dictionaries(st.text(max_size=8), _leaves, max_size=2)
)


_TEMPLATE_PATHS = paths(_TEMPLATE)


@st.composite
def events(draw) -> Any:
    return mutate(draw, json.loads(json.dumps(_TEMPLATE)), _TEMPLATE_PATHS, _values)


def _reference(payload: Any) -> tuple[dict | None, set[str]]:
    try:
        event = Reference.model_validate(payload)
    except ValidationError as exc:
        return None, set(invalid_fields("x", exc).fields)
    return event.model_dump(mode="json"), set()


def _compare(payload: Any) -> None:
    ref, ref_fields = _reference(payload)
    try:
        event = parse_booking_event(payload)
    except ValidationFailed as exc:
        assert ref is None, f"refused what pydantic accepted: {exc.fields}"
        assert set(exc.fields) == ref_fields, (exc.fields, ref_fields)
        return
    assert ref is not None, f"accepted what pydantic refused: {ref_fields}"
    assert event.booking.as_json() == ref["booking"]
    assert (event.event_id, event.type) == (ref["event_id"], ref["type"])
    assert event.occurred_at == Reference.model_validate(payload).occurred_at


def test_the_sample_event_reads_as_pydantic_read_it() -> None:
    _compare(_TEMPLATE)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"booking": []},
        {"event_id": "e-1", "type": "booking.exploded", "occurred_at": 0, "booking": {}},
        _TEMPLATE | {"occurred_at": 1795312800},
        _TEMPLATE | {"occurred_at": 1795312800000},
        _TEMPLATE
        | {"booking": _TEMPLATE["booking"] | {"duration_minutes": "90", "price": None, "notes": None}},
        _TEMPLATE
        | {
            "booking": _TEMPLATE["booking"]
            | {"duration_minutes": 90.0, "price": {"amount": 388, "currency": "CNY"}}
        },
    ],
)
def test_chosen_events_read_as_pydantic_read_them(payload: Any) -> None:
    _compare(payload)


@settings(max_examples=400, deadline=None)
@given(payload=events())
@example(payload={"booking": {"member": {"phone": "+" + "9" * 300}}})
def test_any_changed_event_reads_as_pydantic_read_it(payload: Any) -> None:
    _compare(payload)
