"""Issue 17 "Done when": a hand-off with nobody online alerts the manager once after the limit -- over HTTP against
the running local stack, its domain clock moved, the manager's texts read back from the SMS outbox (moto)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from devstack.seed import STORES
from tests.e2e.conftest import eventually, http
from tests.support.builders import booking_event

pytestmark = pytest.mark.e2e
# A store no console test signs in to (they work at the Shanghai store), so nobody is online there.
STORE = "nyc-soho"
PRESENCE = f"/v1/stores/{STORE}/staff/presence"
UNANSWERED = ("分钟无人回复", "no staff answer")  # the alarm text (replies.toml staff_alert_unanswered)


def test_a_hand_off_with_nobody_online_alerts_the_manager_once_after_the_limit(stack):
    # the demo store names no manager_phone: the manager is reached on the store's phone
    manager = next(s["phone"] for s in STORES if s["id"] == STORE)
    status, body = stack.staff("GET", PRESENCE)
    assert status == 200 and body["staff"] == [], body  # nobody's console is open
    member = f"ho-e2e-{uuid.uuid4().hex[:6]}"
    event = booking_event(
        booking_id=f"bk-{member}",
        member_id=member,
        start=stack.local(STORE, 3, 11),
        stylist="nyc-jess",
        occurred_at=stack.now(),
        phone="+12125550177",
    )
    assert stack.post_booking(event)[0] == 202
    before = len([t for t in stack.sms_to(manager) if any(m in t for m in UNANSWERED)])

    status, body = stack.member_says(STORE, member, "烫坏了，我要投诉！")
    assert status == 200 and body["intent"] == "complaint", body
    [handed] = [a for a in body["actions"] if a["action"] == "needs_human"]
    assert handed["routing"] == "manager_texted", handed
    alarm_at = datetime.fromisoformat(handed["alarm_at"])
    status, inbox = stack.staff("GET", f"/v1/stores/{STORE}/conversations?status=needs_human")
    [mine] = [c for c in inbox["items"] if c["id"] == member]
    assert mine["assignee"] is None
    waiting_since = datetime.fromisoformat(mine["waiting_since"])
    assert alarm_at - waiting_since >= timedelta(minutes=15)  # the limit, counted in opening hours

    def alarms() -> list[str]:
        return [t for t in stack.sms_to(manager) if any(m in t for m in UNANSWERED)][before:]

    stack.advance_to(alarm_at - timedelta(minutes=1))
    http("GET", stack.api + "/v1/health")  # a moment for the plumbing to look at the clock
    assert alarms() == []

    stack.advance_to(alarm_at + timedelta(seconds=1))
    eventually(lambda: alarms() or None, 30, "the manager's alarm")
    stack.advance(3600)
    assert len(alarms()) == 1, alarms()
