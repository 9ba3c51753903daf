"""Someone answers, fast (issue 17 part 3) on mock_aws: staff presence, hand-off routing (own stylist, then the
front desk, then the manager by SMS), take / reassign / release, and the response alarm, by the harness clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.contracts.hand_off import HandOffCheck
from chalicelib.dal.models import ConversationItem, MessageItem, StaffPresenceItem, StoreItem
from chalicelib.resources import ENV_JWT_SECRET
from chalicelib.services.auth import issue_token
from tests.integration.conftest import START
from tests.support.builders import SH_STORE, booking_event

PRESENCE = f"/v1/stores/{SH_STORE}/staff/presence"
INBOX = f"/v1/stores/{SH_STORE}/conversations"
ASSIGN = f"{INBOX}/m-1/assignment"
STORE_PHONE = "+862162880000"
COMPLAINT = "烫坏了，我要投诉！"


def token(harness, subject: str, role: str) -> str:
    return issue_token(
        harness.env[ENV_JWT_SECRET],
        subject=subject,
        chain_id="demo-chain",
        role=role,
        store_ids=[SH_STORE],
        now=datetime.now(UTC),
    )


def call(harness, method: str, path: str, tok: str, body: dict | None = None):
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    raw = json.dumps(body).encode() if body is not None else b""
    response = getattr(harness.client.http, method.lower())(path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body) if response.body else None


def online(harness, tok: str) -> list[tuple[str, str]]:
    status, body = call(harness, "GET", PRESENCE, tok)
    assert status == 200, body
    return [(s["staff_id"], s["role"]) for s in body["staff"]]


def complain(harness, text: str = COMPLAINT, msg_id: str = "msg-complaint-1") -> dict:
    status, body = harness.post_message(
        {
            "event_id": f"evt-{msg_id}",
            "store_id": SH_STORE,
            "member_id": "m-1",
            "channel": "sms",
            "message": {"id": msg_id, "type": "text", "text": text},
            "sent_at": "2026-11-22T10:00:00+08:00",
        }
    )
    assert status == 200, body
    return body


def conversation(harness) -> dict:
    status, body = harness.staff("GET", f"{INBOX}?status=needs_human")
    assert status == 200, body
    [item] = [c for c in body["items"] if c["id"] == "m-1"]
    return item


def texts_to(harness, phone: str) -> list[str]:
    return [text for to, text in harness.sms() if to == phone]


# --- presence -----------------------------------------------------------------------------------------------


def test_a_heartbeat_puts_staff_online_until_it_expires_by_the_clock_and_delete_takes_them_off(harness):
    desk, amy = token(harness, "desk-1", "front_desk"), token(harness, "sh-amy", "stylist")

    assert call(harness, "PUT", PRESENCE, desk)[0] == 200
    status, body = call(harness, "PUT", PRESENCE, amy)
    assert status == 200 and body["online"] is True
    assert online(harness, desk) == [("desk-1", "front_desk"), ("sh-amy", "stylist")]
    assert StaffPresenceItem.get(*StaffPresenceItem.key(SH_STORE, "sh-amy")).stylist_id == "sh-amy"

    harness.clock.set(START + timedelta(seconds=90))
    assert call(harness, "PUT", PRESENCE, desk)[0] == 200  # only the desk's console is still open
    harness.clock.set(START + timedelta(seconds=121))
    assert online(harness, desk) == [("desk-1", "front_desk")]  # amy's item is there (TTL is lazy), expired

    assert call(harness, "DELETE", PRESENCE, desk)[0] == 200
    assert online(harness, amy) == []


def test_a_console_beating_faster_than_needed_writes_once(harness):
    desk = token(harness, "desk-1", "front_desk")
    call(harness, "PUT", PRESENCE, desk)
    harness.clock.set(START + timedelta(seconds=10))
    call(harness, "PUT", PRESENCE, desk)
    item = StaffPresenceItem.get(*StaffPresenceItem.key(SH_STORE, "desk-1"))
    assert item.seen_at == int(START.timestamp())  # the second beat wrote nothing

    harness.clock.set(START + timedelta(seconds=60))
    call(harness, "PUT", PRESENCE, desk)
    item = StaffPresenceItem.get(*StaffPresenceItem.key(SH_STORE, "desk-1"))
    assert item.seen_at == int(START.timestamp()) + 60


def test_presence_of_a_store_the_token_cannot_see_is_404(harness):
    other = issue_token(
        harness.env[ENV_JWT_SECRET],
        subject="x",
        chain_id="demo-chain",
        role="front_desk",
        store_ids=["ldn-soho"],
        now=datetime.now(UTC),
    )
    assert call(harness, "PUT", PRESENCE, other)[0] == 404
    assert call(harness, "GET", PRESENCE, other)[0] == 404


# --- routing ------------------------------------------------------------------------------------------------


def test_a_hand_off_goes_to_her_own_stylist_when_online(harness):
    harness.post(booking_event())  # her stylist: sh-xiaowang
    call(harness, "PUT", PRESENCE, token(harness, "desk-1", "front_desk"))
    call(harness, "PUT", PRESENCE, token(harness, "sh-xiaowang", "stylist"))
    call(harness, "PUT", PRESENCE, token(harness, "sh-amy", "stylist"))

    body = complain(harness)

    [handed] = [a for a in body["actions"] if a["action"] == "needs_human"]
    assert handed["routing"] == "assigned" and handed["assignee"] == "sh-xiaowang"
    item = conversation(harness)
    assert (item["assignee"], item["assignee_role"]) == ("sh-xiaowang", "stylist")
    assert item["waiting_since"] == "2026-11-22T10:00:00+08:00"
    assert texts_to(harness, STORE_PHONE) == []  # someone online has her: no text


def test_a_hand_off_goes_to_the_front_desk_when_her_stylist_is_offline(harness):
    harness.post(booking_event())
    call(harness, "PUT", PRESENCE, token(harness, "sh-amy", "stylist"))  # not hers
    call(harness, "PUT", PRESENCE, token(harness, "desk-1", "front_desk"))
    call(harness, "PUT", PRESENCE, token(harness, "sh-xiaowang", "stylist"))
    harness.clock.set(START + timedelta(minutes=3))  # her stylist's console closed 3 minutes ago
    call(harness, "PUT", PRESENCE, token(harness, "desk-1", "front_desk"))
    call(harness, "PUT", PRESENCE, token(harness, "sh-amy", "stylist"))

    complain(harness)

    assert conversation(harness)["assignee"] == "desk-1"
    assert texts_to(harness, STORE_PHONE) == []


def test_a_hand_off_with_nobody_online_texts_the_manager_once_however_often_it_is_handled(harness):
    harness.post(booking_event())
    set_store(harness, manager_phone="+8613900000001")

    body = complain(harness)
    [handed] = [a for a in body["actions"] if a["action"] == "needs_human"]
    assert handed["routing"] == "manager_texted" and handed["alert"] == "alerted"
    # the inbound record delivered again: the same message routes again, and texts nobody twice
    message = inbound_message()
    again = harness.container.hand_offs.opened(
        harness.container.stores.get(SH_STORE), message, None, "complaint"
    )

    assert again["routing"] == "manager_texted" and again["alert"] == "already_alerted"
    assert conversation(harness)["assignee"] is None
    texts = texts_to(harness, "+8613900000001")
    assert len(texts) == 1 and "需要人工处理" in texts[0]
    assert texts_to(harness, STORE_PHONE) == []  # notify_staff found the message's alert already sent


def set_store(harness, **values) -> None:
    StoreItem(*StoreItem.key(SH_STORE)).update(
        actions=[getattr(StoreItem, name).set(value) for name, value in values.items()]
    )
    harness.container.stores._cache.clear()  # cached a minute per container


def inbound_message():
    [m] = [
        m
        for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1"), MessageItem.sk.startswith("MSG#"))
        if m.direction == "in"
    ]
    return m


# --- take, reassign, release -------------------------------------------------------------------------------


def test_two_staff_taking_at_once_one_wins_the_other_gets_409(harness):
    harness.post(booking_event())
    complain(harness)  # nobody online: unassigned
    desk, amy = token(harness, "desk-1", "front_desk"), token(harness, "sh-amy", "stylist")
    repo = harness.container.hand_offs._repo
    real_assign = repo.assign
    raced = []

    def desk_takes_first(*args, **kwargs):
        # amy read the conversation unassigned; the desk's take lands before amy's write
        if args[2] == "sh-amy" and not raced:
            raced.append(real_assign(SH_STORE, "m-1", "desk-1", "front_desk", START, expect=""))
        return real_assign(*args, **kwargs)

    repo.assign = desk_takes_first
    try:
        status, body = call(harness, "POST", ASSIGN, amy, {"action": "take"})
    finally:
        repo.assign = real_assign

    assert status == 409 and body["error"] == "conflict", body
    assert conversation(harness)["assignee"] == "desk-1"
    assert call(harness, "POST", ASSIGN, amy, {"action": "take"})[0] == 409  # taken: reassign, not take
    assert call(harness, "POST", ASSIGN, desk, {"action": "take"})[0] == 200  # her own again: fine


def test_take_reassign_and_release(harness):
    harness.post(booking_event())
    complain(harness)
    desk, amy = token(harness, "desk-1", "front_desk"), token(harness, "sh-amy", "stylist")
    call(harness, "PUT", PRESENCE, amy)

    status, body = call(harness, "POST", ASSIGN, desk, {"action": "take"})
    assert status == 200 and body["conversation"]["assignee"] == "desk-1"
    status, body = call(harness, "POST", ASSIGN, desk, {"action": "reassign", "staff_id": "sh-amy"})
    assert status == 200
    assert (body["conversation"]["assignee"], body["conversation"]["assignee_role"]) == ("sh-amy", "stylist")
    assert call(harness, "POST", ASSIGN, amy, {"action": "reassign", "staff_id": "desk-1"})[0] == 403
    status, body = call(harness, "POST", ASSIGN, amy, {"action": "release"})
    assert status == 200 and body["conversation"]["assignee"] is None
    assert conversation(harness)["assignee"] is None


def test_a_stylist_cannot_release_someone_elses_conversation(harness):
    harness.post(booking_event())
    complain(harness)
    call(harness, "POST", ASSIGN, token(harness, "desk-1", "front_desk"), {"action": "take"})
    status, body = call(harness, "POST", ASSIGN, token(harness, "sh-amy", "stylist"), {"action": "release"})
    assert status == 409 and "action" in body["fields"]
    assert conversation(harness)["assignee"] == "desk-1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "grab"}, "action"),
        ({}, "action"),
        ({"action": "reassign"}, "staff_id"),
        ({"action": "reassign", "staff_id": "bad id!"}, "staff_id"),
        ({"action": "take", "staff_id": "desk-2"}, "staff_id"),
    ],
)
def test_bad_assignment_requests_name_the_field(harness, body, field):
    harness.post(booking_event())
    complain(harness)
    status, answer = call(harness, "POST", ASSIGN, token(harness, "desk-1", "front_desk"), body)
    assert status == 400 and field in answer["fields"], answer


def test_an_unknown_conversation_is_404(harness):
    status, _ = call(
        harness, "POST", f"{INBOX}/m-none/assignment", token(harness, "d", "front_desk"), {"action": "take"}
    )
    assert status == 404


# --- the response alarm ------------------------------------------------------------------------------------


def alarms(harness) -> list[str]:
    return [t for t in texts_to(harness, STORE_PHONE) if "分钟无人回复" in t]


def test_an_unanswered_hand_off_alerts_the_manager_once_after_the_limit_not_before(harness):
    harness.post(booking_event())
    complain(harness)  # nobody online; Sunday 10:00, the store is open 10:00-21:00

    harness.advance_to(START + timedelta(minutes=14))
    assert alarms(harness) == []
    harness.advance_to(START + timedelta(minutes=15, seconds=1))
    assert len(alarms(harness)) == 1 and "15" in alarms(harness)[0] and "10:00" in alarms(harness)[0]
    harness.advance_to(START + timedelta(hours=3))
    assert len(alarms(harness)) == 1


def test_a_staff_reply_before_the_limit_means_no_alarm(harness):
    harness.post(booking_event())
    complain(harness)
    harness.advance_to(START + timedelta(minutes=10))
    status, body = harness.staff("POST", f"{INBOX}/m-1/messages", {"text": "非常抱歉，我们马上为您处理"})
    assert status == 200, body
    assert conversation(harness)["waiting_since"] is None

    harness.advance_to(START + timedelta(hours=1))
    assert alarms(harness) == []


def test_the_limit_counts_opening_hours_only(harness):
    harness.post(booking_event())
    harness.clock.set(datetime.fromisoformat("2026-11-22T20:55:00+08:00"))  # Sunday, closes 21:00
    complain(harness, msg_id="msg-late")

    harness.advance_to("2026-11-23T10:09:00+08:00")
    assert alarms(harness) == []
    harness.advance_to("2026-11-23T10:10:01+08:00")  # 5 minutes Sunday night + 10 Monday morning
    assert len(alarms(harness)) == 1


def test_a_store_limit_overrides_the_default(harness):
    harness.post(booking_event())
    set_store(harness, handoff_limit_minutes=5)
    complain(harness)
    harness.advance_to(START + timedelta(minutes=5, seconds=1))
    assert len(alarms(harness)) == 1


def test_the_conversation_item_keeps_the_wait_opened_by_the_first_message(harness):
    harness.post(booking_event())
    complain(harness, msg_id="msg-a")
    harness.clock.set(START + timedelta(minutes=2))
    complain(harness, "还有，你们的态度也很差，我要投诉", msg_id="msg-b")
    item = ConversationItem.get(*ConversationItem.key(SH_STORE, "m-1"))
    first = next(m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1")) if m.text == COMPLAINT)
    assert (item.handoff_id, item.waiting_since) == (first.message_id, START)


def test_the_alarm_delivered_twice_texts_once_and_one_fired_early_does_nothing(harness):
    harness.post(booking_event())
    complain(harness)
    [schedule] = [s for s in harness.schedules() if s["Name"].startswith("handoff-")]
    check = HandOffCheck.from_json(schedule["Target"]["Input"])

    assert harness.container.hand_offs.check(check) == "not_due"
    harness.clock.set(START + timedelta(minutes=15))
    assert harness.container.hand_offs.check(check) == "alerted"
    assert harness.container.hand_offs.check(check) == "already_alerted"
    assert len(alarms(harness)) == 1
