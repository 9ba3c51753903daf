"""Items written before the keys-only indexes (bookings on gsi1/gsi2, birthdays on gsi2) are still erased, and
`ops.reindex` moves them so a member's bookings, a store's day and its birthdays read them again."""

from __future__ import annotations

import io

from chalicelib.dal.member_data import MemberDataRepository
from chalicelib.dal.models import BookingItem, MemberItem
from ops.reindex import reindex
from tests.support.builders import SH_STORE, booking_event


def _make_old(ddb, table: str) -> None:
    """Turn what the webhook wrote into the earlier layout: the keys on gsi1/gsi2, none on gsi3/gsi4."""
    booking_key = {"pk": {"S": "BOOKING#demo-chain#bk-1"}, "sk": {"S": "BOOKING"}}
    ddb.update_item(
        TableName=table,
        Key=booking_key,
        UpdateExpression="SET gsi1pk = gsi3pk, gsi1sk = gsi3sk, gsi2pk = gsi4pk, gsi2sk = gsi4sk "
        "REMOVE gsi3pk, gsi3sk, gsi4pk, gsi4sk",
    )
    member_key = {"pk": {"S": "MEMBER#demo-chain#m-1"}, "sk": {"S": "PROFILE"}}
    ddb.update_item(
        TableName=table,
        Key=member_key,
        UpdateExpression="SET gsi2pk = gsi3pk, gsi2sk = gsi3sk REMOVE gsi3pk, gsi3sk",
    )


def test_old_keys_are_moved_once_and_reads_find_the_items_again(harness, aws):
    status, _ = harness.post(booking_event(event_id="evt-1"))
    assert status == 202
    table, ddb = BookingItem.Meta.table_name, aws.client("dynamodb")
    _make_old(ddb, table)
    day = BookingItem.store_day_key(SH_STORE, "2026-11-25")
    assert list(BookingItem.by_store_day.query(day)) == []
    assert list(MemberItem.by_birthday.query(MemberItem.birthday_key(SH_STORE, "05-01"))) == []

    out = io.StringIO()
    assert reindex(ddb, table, dry_run=True, out=out) == 2
    assert reindex(ddb, table, out=out) == 2
    assert reindex(ddb, table, out=out) == 0  # nothing left: safe to run again

    assert [b.pk for b in BookingItem.by_store_day.query(day)] == ["BOOKING#demo-chain#bk-1"]
    assert [m.pk for m in MemberItem.by_birthday.query(MemberItem.birthday_key(SH_STORE, "05-01"))] == [
        "MEMBER#demo-chain#m-1"
    ]
    booking = BookingItem.get("BOOKING#demo-chain#bk-1", "BOOKING")
    assert booking.gsi1pk is None and booking.gsi2pk is None and booking.gsi3pk == "MEMBERBK#demo-chain#m-1"


def test_erasure_finds_a_booking_still_on_the_earlier_index(harness, aws):
    status, _ = harness.post(booking_event(event_id="evt-1"))
    assert status == 202
    table, ddb = BookingItem.Meta.table_name, aws.client("dynamodb")
    _make_old(ddb, table)
    assert [b.booking_id for b in MemberDataRepository(ddb, table).bookings("demo-chain", "m-1")] == ["bk-1"]
