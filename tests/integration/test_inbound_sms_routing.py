"""Issue 12: an inbound SMS reaches the chain (and store) of the number it was sent to, matched on the number it came
from; never "the most recent lookup of any chain". Through SNS -> the inbound queue -> the inbound worker on moto.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from chalicelib.dal.models import ContactLookupItem, ConversationItem, MessageItem, StoreItem
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

PHONE = "+8613800138000"  # the demo member m-1's number (booking_event's default)
CHAIN_NUMBER = "+8610690000"  # devstack/seed.py: the demo chain's number
SH_NUMBER, LDN_NUMBER = "+8610690001", "+447700900100"  # the stores' numbers
OTHER_CHAIN, OTHER_STORE = "other-chain", "other-xuhui"


def text(harness, sender: str, to: str, body: str) -> None:
    sns = harness.session.client("sns")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("sms-inbound"))
    sns.publish(
        TopicArn=topic,
        Message=json.dumps(
            {
                "originationNumber": sender,
                "destinationNumber": to,
                "messageKeyword": "KEYWORD_x",
                "messageBody": body,
                "inboundMessageId": f"in-{uuid.uuid4().hex[:10]}",
                "previousPublishedMessageId": "p-1",
            }
        ),
    )
    harness.pump()


def inbound(store_id: str, member_id: str) -> list[MessageItem]:
    return [m for m in MessageItem.query(MessageItem.pk_for(store_id, member_id)) if m.direction == "in"]


def all_inbound_of(store_id: str, conversation_ids: list[str]) -> list[str]:
    return [m.text for cid in conversation_ids for m in inbound(store_id, cid)]


def another_chain_knows_the_same_number_more_recently(harness) -> None:
    """The same phone is a member of another chain too, seen there after her booking here."""
    from chalicelib.dal.models import ChainItem

    ChainItem(*ChainItem.key(OTHER_CHAIN), chain_id=OTHER_CHAIN, name="Other Salons").save()
    StoreItem(
        *StoreItem.key(OTHER_STORE),
        store_id=OTHER_STORE,
        chain_id=OTHER_CHAIN,
        name="Other",
        timezone="Asia/Shanghai",
    ).save()
    hashed = harness.container.conversations.address_digest(PHONE)
    ContactLookupItem(
        *ContactLookupItem.key("PHONE", hashed, OTHER_CHAIN, "other-member"),
        chain_id=OTHER_CHAIN,
        member_id="other-member",
        store_id=OTHER_STORE,
        updated_at=datetime.now(UTC) + timedelta(days=1),
    ).save()


def test_an_sms_to_the_chains_number_reaches_that_chain_even_when_another_chain_saw_the_sender_last(harness):
    harness.post(booking_event())  # m-1 at the Shanghai store, phone PHONE
    another_chain_knows_the_same_number_more_recently(harness)

    text(harness, PHONE, CHAIN_NUMBER, "请问周六可以改时间吗")

    assert [m.text for m in inbound(SH_STORE, "m-1")] == ["请问周六可以改时间吗"]
    assert inbound(OTHER_STORE, "other-member") == []


def test_an_sms_to_a_stores_number_is_kept_at_that_store(harness):
    harness.post(booking_event())  # her booking is at the Shanghai store

    text(harness, PHONE, LDN_NUMBER, "Do you have a slot on Saturday?")

    assert [m.text for m in inbound(LDN_STORE, "m-1")] == ["Do you have a slot on Saturday?"]
    assert inbound(SH_STORE, "m-1") == []


def test_an_unknown_sender_gets_a_conversation_at_that_number_marked_unknown_that_staff_can_open(harness):
    stranger = "+8613911112222"

    text(harness, stranger, SH_NUMBER, "你好，请问怎么预约？")

    _, inbox = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations")
    [conversation] = inbox["items"]
    assert conversation["unknown_sender"] is True
    assert "13911112222" not in conversation["id"]  # the id is a keyed hash, never the number
    status, page = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations/{conversation['id']}/messages")
    assert status == 200 and [m["text"] for m in page["items"] if m["direction"] == "in"] == [
        "你好，请问怎么预约？"
    ]
    stored = ConversationItem.get(*ConversationItem.key(SH_STORE, conversation["id"]))
    assert stored.unknown_sender is True and stored.last_inbound_address == stranger


def test_an_unknown_sender_to_the_chains_number_lands_at_its_home_store_and_a_second_text_joins_it(harness):
    stranger = "+447700900555"

    text(harness, stranger, CHAIN_NUMBER, "hello?")
    text(harness, stranger, CHAIN_NUMBER, "anyone there?")

    _, inbox = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations")
    [conversation] = inbox["items"]
    assert conversation["unknown_sender"] is True
    assert sorted(all_inbound_of(SH_STORE, [conversation["id"]])) == ["anyone there?", "hello?"]


def test_an_sms_to_a_number_that_is_no_ones_is_dropped(harness):
    harness.post(booking_event())

    text(harness, PHONE, "+8610690999", "退订")

    assert inbound(SH_STORE, "m-1") == []
    assert harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations")[1]["items"] == []
