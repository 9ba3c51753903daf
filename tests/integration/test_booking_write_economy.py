"""Writes a status-only booking event leaves out (docs/PERFORMANCE.md): what did not change is not rewritten."""

from __future__ import annotations

from chalicelib.dal.models import ContactLookupItem, MemberItem
from tests.support.builders import booking_event


def lookups() -> dict[str, tuple[str | None, object]]:
    return {
        item.pk: (item.store_id, item.updated_at)
        for item in ContactLookupItem.scan()  # test-only scan
        if item.pk.startswith(("PHONE#", "WXOPENID#"))
    }


def profile() -> MemberItem:
    return MemberItem.get(*MemberItem.key("demo-chain", "m-1"), consistent_read=True)


def test_check_in_rewrites_neither_the_contact_lookups_nor_an_unchanged_profile(harness):
    harness.post(booking_event(event_id="evt-w1"))
    written, version = lookups(), profile().profile_version
    assert len(written) == 1 and version is not None
    harness.advance_to("2026-11-25T14:55:00+08:00")

    status, body = harness.post(
        booking_event(event_id="evt-w2", type="booking.checked_in", occurred_at="2026-11-25T14:55:00+08:00")
    )

    assert (status, body["status"]) == (202, "checked_in")
    assert lookups() == written  # same updated_at: not rewritten
    assert profile().profile_version == version  # nothing in the built profile changed

    harness.advance_to("2026-11-25T16:30:00+08:00")
    harness.post(
        booking_event(event_id="evt-w3", type="booking.completed", occurred_at="2026-11-25T16:30:00+08:00")
    )
    after = profile()
    assert (after.visits, after.profile_version) == (1, version + 1)  # a visit changes it: written


def test_a_new_phone_or_store_on_a_later_event_writes_its_lookup(harness):
    harness.post(booking_event(event_id="evt-w4"))
    harness.advance_to("2026-11-25T14:55:00+08:00")
    harness.post(
        booking_event(
            event_id="evt-w5",
            type="booking.checked_in",
            occurred_at="2026-11-25T14:55:00+08:00",
            phone="+8613900139000",
        )
    )
    assert len(lookups()) == 2  # the old number's lookup stays (as before), the new one is written
