"""Campaigns end to end on the running local stack, over HTTP like a real client: members made by the signed
booking webhook, tagged by staff, then a campaign that reaches only those it may -- a member over the frequency
cap is skipped and reported with that reason, an opted-out member ("TD") and a member whose conversation needs a
person (a complaint) are never reached."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import eventually
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e


def _member(stack, run: str, name: str, n: int) -> dict:
    member_id, phone = f"cp-{name}-{run}", f"+86137{run_digits(run)}{n:02d}"
    event = booking_event(
        booking_id=f"cp-bk-{name}-{run}",
        member_id=member_id,
        stylist=f"cp-st-{name}-{run}",
        start=stack.local(SH_STORE, 9, 11),
        occurred_at=stack.now(),
        phone=phone,
    )
    event["booking"]["member"]["marketing_consent"] = True
    status, body = stack.post_booking(event)
    assert status == 202, body
    return {"id": member_id, "phone": phone}


def run_digits(run: str) -> str:
    return f"{int(run, 16) % 10**6:06d}"


def _tag(stack, member: dict, *tags: str) -> None:
    status, body = stack.staff(
        "POST", f"/v1/stores/{SH_STORE}/members/{member['id']}/tags", {"add": list(tags)}
    )
    assert status == 200, body


def _say(stack, member: dict, text: str) -> None:
    status, body = stack.signed(
        "/v1/webhooks/messages",
        {
            "event_id": f"cp-e-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": member["id"],
            "channel": "sms",
            "message": {"id": f"cp-m-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
            "sent_at": stack.now().isoformat(),
        },
    )
    assert status == 200, body


def _campaign(stack, campaign_id: str, tag: str, text: str) -> dict:
    chain = stack.info["chain_id"]
    body = {
        "campaign_id": campaign_id,
        "segment": {"tags_all": [tag]},
        "template": {"zh-CN": text, "en": text},
    }
    status, created = stack.staff("POST", f"/v1/chains/{chain}/campaigns", body)
    assert status == 201, created
    return eventually(
        lambda: (lambda got: got if got["status"] == "done" else None)(
            stack.staff("GET", f"/v1/chains/{chain}/campaigns/{campaign_id}")[1]
        ),
        60,
        f"campaign {campaign_id} done",
    )


def test_a_campaign_skips_the_capped_and_never_reaches_the_opted_out_or_a_member_needing_a_person(stack):
    run = uuid.uuid4().hex[:8]
    stack.advance_to(stack.local(SH_STORE, 1, 11))  # Shanghai daytime: no quiet hours
    ok, capped, opted_out, upset = (
        _member(stack, run, name, n) for n, name in enumerate(("ok", "capped", "td", "upset"))
    )
    everyone, busy = f"spring-{run}", f"busy-{run}"
    for member in (ok, capped, opted_out, upset):
        _tag(stack, member, everyone)
    _tag(stack, capped, busy)
    for i in (1, 2):  # two marketing messages this week already
        result = _campaign(stack, f"cp-warmup{i}-{run}", busy, f"预热{i}号")
        assert result["sent"] == 1, result
    _say(stack, opted_out, "TD")
    _say(stack, upset, "烫坏了，我要投诉！")
    chain = stack.info["chain_id"]
    status, preview = stack.staff(
        "POST",
        f"/v1/chains/{chain}/campaigns/preview",
        {"segment": {"tags_all": [everyone]}, "template": {"zh-CN": "{{ member.name }}春季新品"}},
    )
    assert status == 200 and preview["targeted"] == 1, preview

    result = _campaign(stack, f"cp-spring-{run}", everyone, "{{ member.name }}您好，春季新品法式水钻上线")

    assert result["targeted"] == 4 and result["sent"] == 1 and result["failed"] == 0
    assert result["skipped"] == {"frequency_cap": 1, "opted_out": 1, "needs_human": 1}, result
    assert preview["skipped"] == result["skipped"]
    spring = lambda m: [t for t in stack.sms_to(m["phone"]) if "春季新品" in t]  # noqa: E731
    assert len(spring(ok)) == 1
    assert spring(capped) == [] and spring(opted_out) == [] and spring(upset) == []
    status, rows = stack.staff("GET", f"/v1/chains/{chain}/campaigns/cp-spring-{run}/results?status=skipped")
    assert status == 200
    assert {r["member_id"]: r["reason"] for r in rows["items"]} == {
        capped["id"]: "frequency_cap",
        opted_out["id"]: "opted_out",
        upset["id"]: "needs_human",
    }
