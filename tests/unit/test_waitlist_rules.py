"""The waitlist's pure rules: parts of the day by store-local start, and the queue's message shape."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.services.waitlist import Freed, part_of_day


@pytest.mark.parametrize(
    ("local", "part"),
    [
        ("2026-11-25T09:00:00+08:00", "morning"),
        ("2026-11-25T11:59:00+08:00", "morning"),
        ("2026-11-25T12:00:00+08:00", "afternoon"),
        ("2026-11-25T17:59:00+08:00", "afternoon"),
        ("2026-11-25T18:00:00+08:00", "evening"),
    ],
)
def test_parts_of_the_day_go_by_the_store_local_start(local, part):
    assert part_of_day(datetime.fromisoformat(local)) == part


def test_a_freed_message_round_trips_and_names_its_slot_by_what_freed_it():
    freed = Freed.of(
        {
            "type": "freed",
            "chain_id": "demo-chain",
            "store_id": "sh-jingan",
            "stylist_id": "sh-amy",
            "start": "2026-11-25T15:00:00+08:00",
            "minutes": 90,
            "booking_id": "bk-1",
            "version": 3,
            "member_id": "m-1",
        }
    )

    assert Freed.of(freed.body()) == freed
    assert freed.slot_ref == "sh-amy.20261125T0700.bk-1.v3"
    assert freed.body("offer_expired", round=2)["round"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {
            "chain_id": "c",
            "store_id": "s",
            "stylist_id": "x",
            "start": "soon",
            "minutes": 1,
            "booking_id": "b",
            "version": 1,
        },
    ],
)
def test_a_malformed_message_is_refused(body):
    with pytest.raises(ValidationFailed):
        Freed.of(body)
