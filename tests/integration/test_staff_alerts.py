"""Staff alerts on mock_aws: one text to the store per member message, however often the record comes again."""

from __future__ import annotations

import itertools

from chalicelib.channels.base import Contact
from chalicelib.conversations.outbound import StaffAlerts
from chalicelib.dal.models import MessageItem
from chalicelib.dal.staff_alerts import StaffAlertClaims
from chalicelib.errors import TransientSendError
from tests.support.builders import SH_STORE

STORE_PHONE = "+862162880000"


def _message(message_id: str) -> MessageItem:
    return MessageItem(
        MessageItem.pk_for(SH_STORE, "m-1"),
        MessageItem.sk_for("2026-11-22T02:05:00.000000Z", message_id),
        message_id=message_id,
        chain_id="demo-chain",
        store_id=SH_STORE,
        member_id="m-1",
        direction="in",
    )


class FlakySms:
    name = "sms"

    def __init__(self, real, fail_first: int) -> None:
        self._real, self._fails = real, fail_first

    def can_reach(self, contact: Contact) -> bool:
        return True

    def send(self, contact: Contact, text: str, subject: str) -> str:
        if self._fails:
            self._fails -= 1
            raise TransientSendError("sns: Throttling")
        return self._real.send(contact, text, subject)


def store_texts(harness) -> int:
    return sum(1 for phone, _ in harness.sms() if phone == STORE_PHONE)


def test_a_message_alerts_the_store_once_however_often_it_is_handled(harness):
    clock = itertools.count(1_800_000_000)
    alerts = StaffAlerts(harness.container.channels.base["sms"], StaffAlertClaims(), lambda: next(clock))
    store = harness.container.stores.get(SH_STORE)

    first = alerts.alert(store, _message("in-1"), "complaint")
    again = alerts.alert(store, _message("in-1"), "complaint")
    other = alerts.alert(store, _message("in-2"), "complaint")

    assert (first, again, other) == (
        {"result": "alerted"},
        {"result": "already_alerted"},
        {"result": "alerted"},
    )
    assert store_texts(harness) == 2


def test_a_failed_alert_is_tried_again_by_the_next_delivery_and_a_dead_workers_claim_expires(harness):
    now = [1_800_000_000]
    sms = FlakySms(harness.container.channels.base["sms"], fail_first=1)
    alerts = StaffAlerts(sms, StaffAlertClaims(), lambda: now[0])
    store = harness.container.stores.get(SH_STORE)

    assert alerts.alert(store, _message("in-3"), "complaint")["result"] == "failed"
    assert alerts.alert(store, _message("in-3"), "complaint") == {"result": "alerted"}  # released, so retried
    assert store_texts(harness) == 1

    claims = StaffAlertClaims()  # a worker claimed in-4 and died before texting
    assert claims.claim("demo-chain", "in-4", lease_until=now[0] + 60, now=now[0])
    assert alerts.alert(store, _message("in-4"), "complaint") == {
        "result": "already_alerted"
    }  # lease is live
    now[0] += 61
    assert alerts.alert(store, _message("in-4"), "complaint") == {"result": "alerted"}
    assert store_texts(harness) == 2
