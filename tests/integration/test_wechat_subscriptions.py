"""WeChat subscription messages (订阅通知, issue 15 §1-2): a follower's service follow-ups go by WeChat, one message
per "accept" she gave in the subscribe pop-up, against the fake WeChat server over real HTTP and the real
callback, app, worker and plumbing on mock_aws."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.channels.wechat.client import WeChatClient
from chalicelib.channels.wechat.subscriptions import WeChatSubscribeChannel
from chalicelib.channels.wechat.templates import TemplateMapping
from chalicelib.dal.models import MemberItem, MessageItem
from chalicelib.dal.wechat_follow import MAX_GRANTS, WeChatFollowRepository
from chalicelib.errors import PermanentSendError, TransientSendError
from devstack.fakes.wechat_api import SUBSCRIBE_SEND_PATH
from devstack.seed import DEMO_WECHAT_SUBSCRIPTIONS, demo_wechat_registrations
from tests.support.builders import SH_STORE, booking_event

CHAIN = "demo-chain"
OPENID = "o-li-openid"
FEEDBACK = DEMO_WECHAT_SUBSCRIPTIONS["feedback_request"]["template_id"]
FOLLOW_UP = DEMO_WECHAT_SUBSCRIPTIONS["checkin_1_month"]["template_id"]


def grants(member_id: str = "m-1") -> set[str]:
    member = MemberItem.get(*MemberItem.key(CHAIN, member_id), consistent_read=True)
    return set(member.wechat_grants or ())


def outbound(member_id: str = "m-1") -> dict[str, MessageItem]:
    items = MessageItem.query(
        MessageItem.pk_for(SH_STORE, member_id), MessageItem.sk.startswith("MSG#"), consistent_read=True
    )
    return {m.kind: m for m in items if m.direction == "out"}


def she_books(harness, **extra) -> None:
    event = booking_event(**extra)
    event["booking"]["member"]["wechat_openid"] = OPENID
    assert harness.post(event)[0] == 202


def she_allows(harness, template_ids: list[str], accept: bool = True) -> bytes:
    """Her choice in the subscribe pop-up, as WeChat reports it to the store's account (signed, encrypted)."""
    xml = harness.fakes["wechat"].subscribe(OPENID, template_ids, accept=accept)
    status, body = harness.wechat(SH_STORE, xml)
    assert (status, body) == (200, b"success")
    return xml


@pytest.fixture
def wechat(harness):
    fake = harness.fakes["wechat"]
    for template_id, keywords in demo_wechat_registrations().items():
        fake.register_template(template_id, keywords)
    return fake


# --- the fake speaks WeChat's rule: no grant, no message ------------------------------------------------


def test_the_fake_sends_one_subscription_message_per_accept(wechat):
    client = WeChatClient(
        wechat.app_id, wechat.app_secret, base_url=wechat.base_url, clock=time.time, timeout=2
    )
    data = {"thing1": "静安寺店", "thing2": "染发", "phrase3": "待评价"}

    with pytest.raises(PermanentSendError, match="43101"):
        client.send_subscription(OPENID, FEEDBACK, data)
    wechat.subscribe(OPENID, [FEEDBACK])
    msgid = client.send_subscription(OPENID, FEEDBACK, data)
    with pytest.raises(PermanentSendError, match="43101"):
        client.send_subscription(OPENID, FEEDBACK, data)

    [body] = wechat.subscription_sends
    assert body == {
        "touser": OPENID,
        "template_id": FEEDBACK,
        "data": {key: {"value": value} for key, value in data.items()},
    }
    assert msgid == str(wechat.shown[-1]["msgid"])


# --- her choices, through the account's callback ------------------------------------------------------


def test_each_accept_is_one_grant_a_redelivery_adds_none_and_her_settings_switch_drops_them(harness, wechat):
    she_books(harness)
    popup = she_allows(harness, [FEEDBACK, FOLLOW_UP])
    assert {g.split(" ")[0] for g in grants()} == {FEEDBACK, FOLLOW_UP}

    # WeChat's retry of the same push (same sender and CreateTime, new nonce): the same grants, not more
    assert harness.wechat(SH_STORE, popup.decode() if isinstance(popup, bytes) else popup)[0] == 200
    assert len(grants()) == 2
    # a reject grants nothing
    she_allows(harness, [FEEDBACK], accept=False)
    assert len(grants()) == 2

    status, _ = harness.wechat(SH_STORE, wechat.turn_off(OPENID, FOLLOW_UP))
    assert status == 200
    assert {g.split(" ")[0] for g in grants()} == {FEEDBACK}


def test_a_profile_keeps_at_most_its_bound_of_grants(harness, wechat):
    she_books(harness)
    for _ in range(MAX_GRANTS + 3):
        she_allows(harness, [FEEDBACK])
    assert len(grants()) == MAX_GRANTS


# --- the journey -------------------------------------------------------------------------------------


def test_a_followers_service_follow_ups_go_by_subscription_message_once_per_grant_then_by_sms(
    harness, wechat
):
    # Given a follower who allowed the feedback request and one follow-up in the booking page's pop-up
    harness.clock.set(datetime.fromisoformat("2026-11-20T10:00:00+08:00"))
    she_books(harness, event_id="bk-made")
    she_allows(harness, [FEEDBACK, FOLLOW_UP])

    # When her first visit is done and the follow-ups come due (day 1, day 2, day 30)
    harness.advance_to("2026-11-25T16:30:00+08:00")
    done = booking_event(
        event_id="bk-done", type="booking.completed", occurred_at="2026-11-25T16:30:00+08:00"
    )
    done["booking"]["member"]["wechat_openid"] = OPENID
    assert harness.post(done)[0] == 202
    harness.advance_to("2026-11-28T12:00:00+08:00")

    # Then the first-visit follow-up and the feedback request went by subscription message, each spending a grant
    sent = outbound()
    for kind in ("first_visit_followup", "feedback_request"):
        assert (sent[kind].channel, sent[kind].route_reason, sent[kind].status) == (
            "wechat_subscribe",
            "wechat_subscribed",
            "sent",
        ), kind
    assert sorted(b["template_id"] for b in wechat.subscription_sends) == sorted([FOLLOW_UP, FEEDBACK])
    assert grants() == set()
    assert not any(text for _, text in harness.sms() if "满意" in text)  # no SMS of the feedback request

    # And WeChat's subscribe_msg_sent_event makes them delivered
    store = next(s for s in harness.chain["stores"] if s["id"] == SH_STORE)
    for params, body in wechat.take_events(store["wechat_token"], store.get("wechat_encoding_aes_key")):
        from urllib.parse import quote, urlencode

        response = harness.client.http.post(
            f"/v1/channels/wechat/{SH_STORE}?{urlencode(params, quote_via=quote)}",
            headers={"Content-Type": "text/xml"},
            body=body,
        )
        assert response.status_code == 200
    sent = outbound()
    assert sent["feedback_request"].status == sent["first_visit_followup"].status == "delivered"

    # And the one-month check-in, whose template's one grant was spent, goes by SMS
    harness.advance_to("2026-12-26T12:00:00+08:00")
    checkin = outbound()["checkin_1_month"]
    assert (checkin.channel, checkin.route_reason) == ("sms", "sms"), (checkin.tried_channels, checkin.error)
    assert len(wechat.subscription_sends) == 2


# --- the channel's grant accounting --------------------------------------------------------------------


def _outgoing(kind: str = "feedback_request", **extra) -> Outgoing:
    values = {"chain_id": CHAIN, "member_id": "m-1", "service_name": "染发", **extra}
    return Outgoing(kind=kind, text="您好", subject="静安寺店", values=values)


def test_the_channel_gives_the_grant_back_when_wechat_was_busy_and_never_spends_one_on_marketing(
    harness, wechat
):
    she_books(harness)
    she_allows(harness, [FEEDBACK])
    client = WeChatClient(
        wechat.app_id, wechat.app_secret, base_url=wechat.base_url, clock=time.time, timeout=2
    )
    mapping = TemplateMapping(FEEDBACK, {"thing1": "store_name", "thing2": "service_name"})
    channel = WeChatSubscribeChannel(client, {"feedback_request": mapping}, WeChatFollowRepository())
    her = Contact(wechat_openid=OPENID, wechat_grants=frozenset(grants()))

    wechat.fail_next(1, "busy", path=SUBSCRIBE_SEND_PATH)
    with pytest.raises(TransientSendError):
        channel.send_outgoing(her, _outgoing())
    assert len(grants()) == 1  # given back
    with pytest.raises(PermanentSendError, match="marketing"):
        channel.send_outgoing(her, Outgoing(kind="feedback_request", text="x", subject="s", marketing=True))
    with pytest.raises(PermanentSendError, match="no template"):
        channel.send_outgoing(her, _outgoing(kind="checkin_1_month"))
    assert len(grants()) == 1

    assert channel.send_outgoing(her, _outgoing())
    assert grants() == set()
    # a second message with the same (now stale) view of her grants finds it spent: no second send
    with pytest.raises(PermanentSendError, match="spent"):
        channel.send_outgoing(her, _outgoing())
    assert len(wechat.subscription_sends) == 1


def test_the_subscription_samples_reach_the_app_a_grant_and_a_receipt(harness, wechat):
    from pathlib import Path

    from tests.support.receipt_checks import RecordingSink

    sink = RecordingSink()
    harness.container.receipt_sink = sink  # before the account's events service is built
    events = Path(__file__).resolve().parents[2] / "events"
    event = booking_event()
    event["booking"]["member"]["wechat_openid"] = "oX7pQ5vK2mN8rT1yB4cD6fG9hJ0k"
    assert harness.post(event)[0] == 202

    assert harness.wechat(SH_STORE, (events / "wechat_subscribe_msg_popup.xml").read_text()) == (
        200,
        b"success",
    )
    assert {g.split(" ")[0] for g in grants()} == {FEEDBACK}  # the accepted one only

    assert harness.wechat(SH_STORE, (events / "wechat_subscribe_msg_sent.xml").read_text()) == (
        200,
        b"success",
    )
    [receipt] = sink.receipts
    assert (receipt.provider, receipt.provider_message_id, receipt.status, receipt.code) == (
        "wechat_subscribe",
        "3487542469355618900",
        "delivered",
        "0 success",
    )
