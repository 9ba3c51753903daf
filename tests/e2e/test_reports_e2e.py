"""Reports end to end (issue 17): bookings and receipts through the running local stack, then the report agrees
with the messages actually sent, delivered and read, counted independently from the message history."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import eventually, http
from tests.support.builders import SH_STORE, booking_event

pytestmark = pytest.mark.e2e

INBOX = f"/v1/stores/{SH_STORE}/conversations"
SENT = ("sent", "delivered", "read", "failed")


def _report(stack, query: str) -> dict:
    status, body = stack.staff("GET", f"/v1/chains/{stack.info['chain_id']}/reports?{query}")
    assert status == 200, body
    return body


def _row(body: dict, key: str) -> dict:
    return next((r for r in body["rows"] if r["key"] == key), {})


def _agora_message(stack, user: str, text: str) -> None:
    agora = stack.info["agora"]
    ts = int(time.time() * 1000)
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    body = {
        "callId": call_id,
        "eventType": "chat",
        "chat_type": "chat",
        "timestamp": ts,
        "security": hashlib.md5(f"{call_id}{agora['callback_secret']}{ts}".encode()).hexdigest(),  # noqa: S324
        "from": user,
        "to": f"store-{SH_STORE}",
        "msg_id": str(uuid.uuid4().int)[:15],
        "payload": {"bodies": [{"type": "txt", "msg": text}], "ext": {}},
    }
    status, answer = http(
        "POST",
        stack.api + agora["callback_url_path"],
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200 and answer["result"] == "stored", answer


def _outbound(stack, member_id: str) -> list[dict]:
    return [m for m in stack.messages(SH_STORE, member_id) if m["direction"] == "out"]


def test_a_report_over_the_run_matches_the_message_history(stack):
    zone = ZoneInfo(stack.store(SH_STORE)["timezone"])
    today = stack.now().astimezone(zone).date()
    days = f"from={(today - timedelta(days=1)).isoformat()}&to={(today + timedelta(days=3)).isoformat()}"
    by_channel = f"{days}&store={SH_STORE}&group_by=channel"
    before_store = _row(_report(stack, f"{days}&store={SH_STORE}"), SH_STORE)
    before_agora = _row(_report(stack, by_channel), "agora")

    # a booking: its confirmation goes by SMS at once
    run = uuid.uuid4().hex[:8]
    member = f"rp-m-{run}"
    status, _ = stack.post_booking(
        booking_event(
            booking_id=f"rp-{run}",
            member_id=member,
            stylist=f"rp-st-{run}",
            store_id=SH_STORE,
            start=stack.local(SH_STORE, 2, 15),
            occurred_at=stack.now(),
            phone="+8613900139017",
        ),
        twice=True,  # the booking system's retry counts nothing more
    )
    assert status == 202
    stack.wait_sent(SH_STORE, member, ["confirmation"])

    # a member writes on Agora Chat: the automatic answer and a staff reply go back by Agora
    user = f"ag-rp-{run}"
    _agora_message(stack, user, "甲片翘边了")
    eventually(lambda: any(m["status"] in SENT for m in _outbound(stack, user)), what="an Agora answer")
    status, _ = stack.staff(
        "POST", f"{INBOX}/{user}/messages", {"text": "您好，明天 15:00 来店帮您免费修补。"}
    )
    assert status == 200
    eventually(lambda: sum(m["status"] in SENT for m in _outbound(stack, user)) >= 2, what="the staff reply")

    # her app acknowledges: every message delivered, the first one read -- each ack sent twice by the provider
    fake = stack.info["agora"]["chat_base_url"]
    got = http("GET", f"{fake}/_fake/messages?to={user}")[1]["messages"]
    assert len(got) >= 2
    for i, sent in enumerate(got):
        for _ in range(2):
            assert http("POST", f"{fake}/_fake/messages/{sent['msg_id']}/delivered", b"", {})[0] == 200
            if i == 0:
                assert http("POST", f"{fake}/_fake/messages/{sent['msg_id']}/read", b"", {})[0] == 200
    eventually(
        lambda: sum(m["status"] in ("delivered", "read") for m in _outbound(stack, user)) == len(got),
        what="the acks applied",
    )

    # counted independently: her message history
    agora_out = [m for m in _outbound(stack, user) if m["channel"] == "agora"]
    sent = sum(m["status"] in SENT for m in agora_out)
    delivered = sum(m["status"] in ("delivered", "read") for m in agora_out)
    read = sum(m["status"] == "read" for m in agora_out)
    assert (sent, delivered, read) == (len(got), len(got), 1)

    def agrees():
        agora = _row(_report(stack, by_channel), "agora")
        grew = {
            figure: agora.get(figure, 0) - before_agora.get(figure, 0)
            for figure in ("messages_sent", "messages_delivered", "messages_read", "replies")
        }
        return (
            grew
            if grew
            == {
                "messages_sent": sent,
                "messages_delivered": delivered,
                "messages_read": read,
                "replies": 1,
            }
            else None
        )

    eventually(agrees, what="the report's Agora row to match her message history")
    store = _row(_report(stack, f"{days}&store={SH_STORE}"), SH_STORE)
    assert store["bookings"] - before_store.get("bookings", 0) == 1
    confirmations = sum(m["status"] in SENT for m in _outbound(stack, member))
    assert confirmations == 1
    assert store["messages_sent"] - before_store.get("messages_sent", 0) >= sent + confirmations
    assert store["messages_delivered"] - before_store.get("messages_delivered", 0) >= delivered
