"""`GET …/messages?since_seq=N` (issue 15 §7): a device that follows the arrival sequence misses no message and
no status, even a journey message recorded late at an earlier due time (Given / When / Then, on mock_aws)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.dal.models import MessageItem
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

CONV = f"/v1/stores/{SH_STORE}/conversations/m-1/messages"
MEMBER = f"/v1/stores/{SH_STORE}/members/m-1/messages"


def _inbound(harness, text: str) -> None:
    status, body = harness.post_message(
        {
            "event_id": f"evt-{uuid.uuid4().hex[:8]}",
            "store_id": SH_STORE,
            "member_id": "m-1",
            "channel": "sms",
            "message": {"id": f"msg-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
            "sent_at": harness.clock.now().isoformat(),
        }
    )
    assert status == 200, body


def _follow(harness, path: str, since: int, limit: int) -> tuple[list[dict], int]:
    """Every event after `since`, page by page as a device would; and the seq to ask after next time."""
    events: list[dict] = []
    while True:
        status, body = harness.staff("GET", f"{path}?since_seq={since}&limit={limit}")
        assert status == 200, body
        events += body["events"]
        if body["next_seq"] == since:
            return events, since
        since = body["next_seq"]


def test_a_late_journey_message_at_an_earlier_due_time_reaches_a_device_that_synced_past_it(harness):
    # Given a confirmed booking and a member who wrote in (so staff can answer)
    harness.post(booking_event(event_id="evt-sync-1"))
    harness.pump()
    _inbound(harness, "你好")
    _, page = harness.staff("GET", CONV)
    events, seen = _follow(harness, CONV, 0, 2)
    assert seen == page["next_seq"] and [e["seq"] for e in events] == list(range(1, seen + 1))

    # When the day-before reminder (due 10:00) is held up, staff answer at 11:00 and the reminder goes at 12:00
    harness.clock.set(datetime.fromisoformat("2026-11-24T11:00:00+08:00"))
    status, _ = harness.staff("POST", CONV, {"text": "明天见", "client_message_id": "c-1"})
    assert status == 200
    harness.clock.set(datetime.fromisoformat("2026-11-24T12:00:00+08:00"))
    harness.pump()

    # Then following from where the device was gives the staff answer, then the reminder, in arrival order
    events, _ = _follow(harness, CONV, seen, 1)
    kinds = [e["message"]["kind"] for e in events if e["type"] == "message"]
    assert kinds == ["staff_reply", "reminder_day_before"]
    reminder = events[-1]["message"]
    assert reminder["created_at"] > events[0]["message"]["created_at"]
    # ... although the conversation shows the reminder before the answer (it sorts at its due time)
    _, newest = harness.staff("GET", CONV + "?order=desc&limit=2")
    assert [m["kind"] for m in newest["items"]] == ["staff_reply", "reminder_day_before"]


def test_status_changes_come_in_sequence_with_no_gap_across_pages(harness):
    harness.post(booking_event(event_id="evt-sync-2"))
    harness.pump()
    _, page = harness.staff("GET", MEMBER)
    start = page["next_seq"]
    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1")) if m.kind == "confirmation"]

    for status in ("delivered", "read", "delivered"):  # the last one is late: a no-op, not an event
        harness.container.receipts.apply(
            ProviderReceipt("sns", sent.provider_message_id, status, harness.clock.now())
        )

    events, end = _follow(harness, MEMBER, start, 1)
    assert [(e["type"], e["message_id"]) for e in events] == [
        ("status", sent.message_id),
        ("status", sent.message_id),
    ]
    assert [e["seq"] for e in events] == [start + 1, start + 2] and end == start + 2
    assert events[-1]["status"] == "read" and events[-1]["read_at"] is not None


def test_a_page_tells_where_to_follow_from_and_bad_since_seq_is_a_400(harness):
    harness.post(booking_event(event_id="evt-sync-3"))
    harness.pump()

    _, page = harness.staff("GET", MEMBER)
    assert page["next_seq"] >= 1
    status, body = harness.staff("GET", f"{MEMBER}?since_seq={page['next_seq']}")
    assert status == 200 and body == {"events": [], "next_seq": page["next_seq"]}

    for bad in ("-1", "x", "1.5", "9" * 13):
        status, body = harness.staff("GET", f"{MEMBER}?since_seq={bad}")
        assert status == 400 and "since_seq" in body["fields"], bad
    status, body = harness.staff("GET", f"{CONV}?since_seq=0&cursor=abc")
    assert status in (400, 404) and (status == 404 or "cursor" in body["fields"])


def test_staff_of_another_store_cannot_follow_a_conversation(harness):
    harness.post(booking_event(event_id="evt-sync-4"))
    harness.pump()
    _inbound(harness, "你好")
    other = harness.chain["store_tokens"][LDN_STORE]
    for path in (CONV, MEMBER):
        status, body = harness.staff("GET", f"{path}?since_seq=0", token=other)
        assert status == 404 and "events" not in body
        status, body = harness.staff("GET", f"{path}?since_seq=0")
        assert status == 200 and body["events"]


def test_erasure_leaves_nothing_of_her_sequence_or_her_sends_provider_index(harness):
    from chalicelib.dal.models import MessageChangeItem, ProviderMessageItem

    harness.post(booking_event(event_id="evt-sync-5"))
    harness.pump()
    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1")) if m.kind == "confirmation"]
    pk = MessageItem.pk_for(SH_STORE, "m-1")
    assert list(MessageChangeItem.query(pk, MessageChangeItem.sk.startswith("SEQ#")))
    index = ProviderMessageItem.key("sns", sent.provider_message_id)
    assert ProviderMessageItem.get(*index).message_pk == pk

    response = harness.client.http.delete(
        f"/v1/stores/{SH_STORE}/members/m-1",
        headers={"Authorization": f"Bearer {harness.chain['staff_token']}"},
    )

    assert response.status_code == 200
    assert list(MessageChangeItem.query(pk, MessageChangeItem.sk.startswith("SEQ#"))) == []
    assert ProviderMessageItem.count(index[0]) == 0


def _mine(harness, path: str, token: str) -> tuple[int, dict]:
    response = harness.client.http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, json.loads(response.body)


def test_a_member_sees_her_own_list_with_read_state_and_follows_it(harness):
    harness.post(booking_event(event_id="evt-sync-6"))
    harness.pump()
    _inbound(harness, "你好")
    token = harness.container.member_tokens.issue("demo-chain", "m-1")[0]
    mine = f"/v1/stores/{SH_STORE}/me/messages"
    status, page = _mine(harness, mine, token)
    assert status == 200
    [hers] = [m for m in page["items"] if m["direction"] == "in"]
    assert hers["status"] == "delivered" and "intent" not in hers and "sender" not in hers

    harness.staff("POST", f"/v1/stores/{SH_STORE}/conversations/m-1/read")
    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1")) if m.kind == "confirmation"]
    harness.container.receipts.apply(
        ProviderReceipt("sns", sent.provider_message_id, "delivered", harness.clock.now())
    )

    status, page_after = _mine(harness, mine, token)
    shown = {m["id"]: m for m in page_after["items"]}
    assert shown[hers["id"]]["status"] == "read"  # staff read hers
    assert shown[sent.message_id]["status"] == "delivered" and shown[sent.message_id]["delivered_at"]
    status, followed = _mine(harness, f"{mine}?since_seq={page['next_seq']}", token)
    assert status == 200
    assert [(e["type"], e["message_id"], e["status"]) for e in followed["events"]] == [
        ("status", sent.message_id, "delivered")
    ]


def test_a_member_cannot_read_another_chains_store_or_with_a_booking_link(harness):
    harness.post(booking_event(event_id="evt-sync-7"))
    harness.pump()
    other_chain = harness.container.member_tokens.issue("other-chain", "m-1")[0]
    link_only = harness.container.member_tokens.issue("demo-chain", "m-1", booking_id="bk-1")[0]
    mine = f"/v1/stores/{SH_STORE}/me/messages"

    assert _mine(harness, mine, other_chain)[0] == 404
    assert _mine(harness, mine, link_only)[0] == 404
    assert (
        harness.client.http.get(
            mine, headers={"Authorization": f"Bearer {harness.chain['staff_token']}"}
        ).status_code
        == 401
    )
