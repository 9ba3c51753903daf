"""The store wake's body (contracts/store_wake.py): what a schedule puts on the steps queue, read back strictly."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.contracts.step import message_type
from chalicelib.contracts.store_wake import STORE_WAKE, StoreWake
from chalicelib.errors import ValidationFailed

WAKE = StoreWake("demo-chain", "sh-jingan", "2026-11-25", "2026-11-24T02:00:00+00:00")


def test_a_wake_round_trips_and_says_what_it_is():
    body = WAKE.to_json()
    assert message_type(body) == STORE_WAKE
    assert StoreWake.from_json(body) == WAKE


def test_its_schedule_name_is_short_valid_and_names_the_store_the_moment_and_the_day():
    name = WAKE.schedule_name
    assert len(name) <= 64 and re.fullmatch(r"[0-9a-zA-Z_.-]+", name)
    assert name.endswith("-20261124T020000-20261125")
    others = {
        StoreWake("demo-chain", "sh-xuhui", WAKE.day, WAKE.due_at).schedule_name,
        StoreWake("other-chain", "sh-jingan", WAKE.day, WAKE.due_at).schedule_name,
        StoreWake("demo-chain", "sh-jingan", "2026-11-26", WAKE.due_at).schedule_name,
        StoreWake("demo-chain", "sh-jingan", WAKE.day, "2026-11-24T03:00:00+00:00").schedule_name,
    }
    assert name not in others and len(others) == 4
    same_moment = StoreWake("demo-chain", "sh-jingan", WAKE.day, "2026-11-24T10:00:00+08:00")
    assert same_moment.schedule_name == name  # the moment, whatever zone it is written in


@pytest.mark.parametrize(
    "change",
    [
        {"type": "journey_step"},
        {"day": "tomorrow"},
        {"due_at": "2026-11-24T02:00:00"},  # no zone
        {"due_at": "soon"},
        {"store_id": 7},
        {"chain_id": None},
    ],
)
def test_a_malformed_wake_is_refused(change):
    body = {**json.loads(WAKE.to_json()), **change}
    with pytest.raises(ValidationFailed):
        StoreWake.from_json(json.dumps(body))


@pytest.mark.parametrize("body", ["", "[]", "null", '{"type":"store_wake"}'])
def test_what_is_not_a_wake_object_is_refused(body):
    with pytest.raises(ValidationFailed):
        StoreWake.from_json(body)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([STORE_WAKE, "journey_step"]) | st.text(max_size=12),
        "chain_id": st.text(max_size=12) | _JSON,
        "store_id": st.text(max_size=12) | _JSON,
        "day": st.sampled_from(["2026-11-25", "2026-02-30", ""]) | _JSON,
        "due_at": st.sampled_from(["2026-11-24T02:00:00+00:00", "2026-11-24T02:00:00"]) | _JSON,
    },
)


@settings(deadline=None)
@given(body=st.one_of(_JSON.map(json.dumps), _FIELDS.map(json.dumps), st.text(max_size=60)))
def test_any_body_is_a_wake_that_round_trips_or_is_refused_cleanly(body):
    try:
        wake = StoreWake.from_json(body)
    except ValidationFailed:
        return
    assert StoreWake.from_json(wake.to_json()) == wake and len(wake.schedule_name) <= 64
