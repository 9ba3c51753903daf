"""Always-on care end to end: each store's recurring schedule fires at 10:00 store-local on the running local stack,
and a birthday member and a dormant member of a Shanghai and a London store are reached on the right local day and
hour -- each once -- with the clock moved over HTTP."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import eventually
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

pytestmark = pytest.mark.e2e


def _member(stack, store_id: str, prefix: str, n: int, *, visit, birthday: str | None = None) -> dict:
    """A consenting member with one completed visit at the store, created by the signed booking webhook."""
    run = uuid.uuid4().hex[:8]
    ids = {"booking_id": f"{prefix}-{run}", "member_id": f"{prefix}-m-{run}", "stylist": f"{prefix}-st-{run}"}
    locale, phone = ("zh-CN", f"+861390013{n:04d}") if store_id == SH_STORE else ("en", f"+4479110{n:05d}")
    event = booking_event(
        type="booking.completed",
        store_id=store_id,
        start=visit,
        occurred_at=stack.now(),
        category="hair_cut",
        locale=locale,
        phone=phone,
        **ids,
    )
    event["booking"]["member"].update(birthday=birthday, marketing_consent=True)
    status, body = stack.post_booking(event, twice=True)
    assert status == 202, body
    return {"id": ids["member_id"], "phone": phone, "store": store_id}


def _care(stack, member: dict) -> list[str]:
    care = ("birthday", "holiday", "reactivation", "rebook_reminder")
    return [kind for kind in stack.sent(member["store"], member["id"]) if kind in care]


def test_birthday_and_dormant_members_are_reached_at_ten_local_in_shanghai_and_london(stack):
    days = 3
    day = stack.now().date() + timedelta(days=days)  # the same calendar day for both stores
    if (day.month, day.day) == (2, 29):
        days, day = days + 1, day + timedelta(days=1)
    birthday = f"1990-{day:%m-%d}"

    def at(store_id: str, hour: int, minute: int, later: int = 0) -> datetime:  # fixed now: the clock moves
        local = day + timedelta(days=later)
        return datetime(
            local.year,
            local.month,
            local.day,
            hour,
            minute,
            tzinfo=ZoneInfo(stack.store(store_id)["timezone"]),
        )

    members = {}
    for store_id, prefix, n in ((SH_STORE, "sh", 1), (LDN_STORE, "ldn", 2)):
        members[f"{prefix}-birthday"] = _member(
            stack,
            store_id,
            f"{prefix}bd",
            n * 100 + 1,
            birthday=birthday,
            visit=stack.local(store_id, days - 10, 11),
        )
        # Her last visit was 90 days before that day: dormant on it (no future booking).
        members[f"{prefix}-dormant"] = _member(
            stack, store_id, f"{prefix}dm", n * 100 + 2, visit=stack.local(store_id, days - 90, 15)
        )

    stack.advance_to(at(SH_STORE, 9, 58))
    time.sleep(1.5)  # the plumbing polls every 0.2 s: a tick fired too early would have been sent by now
    assert all(_care(stack, m) == [] for m in members.values())

    stack.advance_to(at(SH_STORE, 10, 1))  # 10:01 in Shanghai is 02:01 in London
    eventually(
        lambda: _care(stack, members["sh-birthday"]) == ["birthday"], what="the Shanghai birthday greeting"
    )
    eventually(lambda: _care(stack, members["sh-dormant"]) == ["reactivation"], what="the Shanghai win-back")
    [greeting] = [text for text in stack.sms_to(members["sh-birthday"]["phone"]) if "生日快乐" in text]
    assert "券码" in greeting  # with her birthday coupon
    assert _care(stack, members["ldn-birthday"]) == [] and _care(stack, members["ldn-dormant"]) == []

    stack.advance_to(at(LDN_STORE, 10, 1))
    eventually(
        lambda: _care(stack, members["ldn-birthday"]) == ["birthday"], what="the London birthday greeting"
    )
    eventually(lambda: _care(stack, members["ldn-dormant"]) == ["reactivation"], what="the London win-back")
    assert any("Happy birthday" in text for text in stack.sms_to(members["ldn-birthday"]["phone"]))

    stack.advance_to(at(LDN_STORE, 10, 30, later=1))  # the next day's ticks: nobody hears it twice
    time.sleep(1.5)
    assert {name: _care(stack, m) for name, m in members.items()} == {
        "sh-birthday": ["birthday"],
        "sh-dormant": ["reactivation"],
        "ldn-birthday": ["birthday"],
        "ldn-dormant": ["reactivation"],
    }
