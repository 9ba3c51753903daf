"""The channel router in the journey (issue 15 §1), through the real app, worker and plumbing on mock_aws:
which channel carries a step and why, the fallback on a permanent failure, the one fallback when no receipt
came within the route's wait, never twice on one channel, and never marketing by WeChat template message."""

from __future__ import annotations

import json

from chalicelib.care.outreach import CareMessage, Outcome
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.dal.models import MemberItem, MessageItem
from tests.support.builders import SH_STORE, booking_event
from tests.support.care import visit
from tests.support.receipt_checks import (
    check_comes_again,
    let_delays_pass,
    receipt_checks,
    ses_sent,
    sms_waits_for_receipts,
)

CHAIN = "demo-chain"
EMAIL = "li@example.com"


def stored(member_id: str = "m-1") -> list[MessageItem]:
    """Her conversation's outbound messages as stored, oldest first."""
    items = MessageItem.query(
        MessageItem.pk_for(SH_STORE, member_id), MessageItem.sk.startswith("MSG#"), consistent_read=True
    )
    return [m for m in items if m.direction == "out"]


def her_template_reported(harness, status: str, code: str | None = None) -> str:
    """WeChat's TEMPLATESENDJOBFINISH for her one outbound message, through the receipts service."""
    [message] = stored()
    receipt = ProviderReceipt(
        message.provider, message.provider_message_id, status, harness.clock.now(), code
    )
    return harness.container.receipts.apply(receipt)


def with_openid(event: dict, openid: str = "o-li-openid") -> dict:
    event["booking"]["member"]["wechat_openid"] = openid
    return event


# --- which channel, and why -------------------------------------------------------------------------
def test_an_sms_only_member_gets_the_confirmation_by_sms_with_its_reason_and_provider(harness):
    harness.post(booking_event())
    harness.pump()

    [message] = stored()
    assert (message.channel, message.route_reason, message.status) == ("sms", "sms", "sent")
    assert message.tried_channels == ["sms"] and message.provider
    # Nothing else could carry it: no receipt check is queued (it would only cost).
    assert receipt_checks() == []


def test_a_wechat_follower_gets_her_confirmation_by_template_message(harness):
    harness.post(with_openid(booking_event()))
    harness.pump()

    [message] = stored()
    assert (message.channel, message.route_reason) == ("wechat_template", "wechat_template")
    assert len(harness.fakes["wechat"].templates) == 1
    assert harness.fakes["wechat"].templates[0]["touser"] == "o-li-openid"
    assert harness.sms() == []


def test_her_preference_comes_first(harness):
    harness.post(with_openid(booking_event(event_id="evt-seen")))  # her profile exists after the booking
    MemberItem(*MemberItem.key(CHAIN, "m-1")).update(actions=[MemberItem.preferred_channel.set("sms")])
    harness.post(
        with_openid(booking_event(booking_id="bk-2", start="2026-11-26T15:00:00+08:00", event_id="evt-2"))
    )
    harness.pump()

    by_booking = {m.booking_id: m for m in stored()}
    assert (by_booking["bk-2"].channel, by_booking["bk-2"].route_reason) == ("sms", "preferred")


def test_a_member_known_not_to_follow_gets_no_template_message(harness):
    harness.post(with_openid(booking_event(event_id="evt-first")))
    harness.pump()
    MemberItem(*MemberItem.key(CHAIN, "m-1")).update(actions=[MemberItem.wechat_following.set(False)])

    harness.post(
        with_openid(booking_event(booking_id="bk-2", start="2026-11-26T15:00:00+08:00", event_id="evt-2"))
    )
    harness.pump()

    by_booking = {m.booking_id: m for m in stored()}
    assert by_booking["bk-2"].channel == "sms"
    assert len(harness.fakes["wechat"].templates) == 1  # the first booking's only


# --- fallback on a permanent failure ----------------------------------------------------------------------
def test_sms_waits_for_no_receipt_unless_the_chain_says_its_provider_reports(harness):
    harness.post(booking_event(email=EMAIL))
    harness.pump()

    assert (
        receipt_checks() == []
    )  # SNS's receipts need the account's delivery-status logs: no fallback by default


def test_a_permanent_failure_falls_back_to_the_next_route_and_says_so(harness):
    harness.faults.add("sms", permanent=1)
    harness.post(booking_event(email=EMAIL))
    harness.pump()

    [message] = stored()
    assert (message.status, message.channel, message.route_reason) == ("sent", "email", "fallback_permanent")
    assert message.tried_channels == ["sms", "email"]
    assert "permanent" in message.error
    assert harness.sms() == []
    # Staff see why, in the conversation.
    [shown] = harness.messages(SH_STORE, "m-1")
    assert (shown["channel"], shown["route_reason"]) == ("email", "fallback_permanent")


# --- no receipt within the wait ----------------------------------------------------------------------------
def test_no_receipt_within_the_wait_sends_on_the_next_route_exactly_once(harness):
    sms_waits_for_receipts()
    harness.post(booking_event(email=EMAIL))
    harness.pump()
    [(check, delay)] = receipt_checks()
    assert check["waited_on"] == "sms" and check["kind"] == "confirmation" and delay == 600

    check_comes_again(harness, check)  # the second finds the fallback taken
    let_delays_pass(harness, 600)

    [message] = stored()
    assert (message.status, message.channel, message.route_reason) == ("sent", "email", "fallback_no_receipt")
    assert message.tried_channels == ["sms", "email"]
    assert len(harness.sms()) == 1
    assert len(ses_sent(harness)) == 1
    assert receipt_checks() == []  # the fallback is the last hop: no check after it


def test_a_receipt_before_the_wait_ends_means_no_fallback(harness):
    sms_waits_for_receipts()
    harness.post(booking_event(email=EMAIL))
    harness.pump()
    [message] = stored()
    # The receipts service (services/receipts.py) recorded the SMS as delivered.
    message.update(actions=[MessageItem.status.set("delivered")])

    let_delays_pass(harness, 600)

    [message] = stored()
    assert (message.status, message.channel) == ("delivered", "sms")
    assert ses_sent(harness) == []


def test_a_template_reported_failed_after_the_send_falls_back_once_when_its_check_comes(harness):
    # WeChat accepted the template, then reported it undelivered (TEMPLATESENDJOBFINISH "failed:user block").
    harness.post(with_openid(booking_event()))
    harness.pump()
    [(check, delay)] = receipt_checks()
    assert check["waited_on"] == "wechat_template" and delay == 300
    assert her_template_reported(harness, "failed", "failed:user block") == "applied"
    assert stored()[0].status == "failed"

    check_comes_again(harness, check)
    let_delays_pass(harness, 300)

    [message] = stored()
    assert (message.status, message.channel, message.route_reason) == ("sent", "sms", "fallback_permanent")
    assert message.tried_channels == ["wechat_template", "sms"]
    assert message.error == "wechat_template failed: wechat: failed:user block"
    assert len(harness.sms()) == 1  # once, although the check came twice
    assert len(harness.fakes["wechat"].templates) == 1


def test_a_check_after_a_delivered_receipt_sends_nothing(harness):
    harness.post(with_openid(booking_event()))
    harness.pump()
    [message] = stored()
    delivered = ProviderReceipt(
        message.provider, message.provider_message_id, "delivered", harness.clock.now()
    )
    harness.container.receipts.apply(delivered)

    let_delays_pass(harness, 300)

    [message] = stored()
    assert (message.status, message.channel, message.tried_channels) == (
        "delivered",
        "wechat_template",
        ["wechat_template"],
    )
    assert harness.sms() == []


def test_a_redelivered_step_and_check_never_send_twice_on_one_channel(harness):
    sms_waits_for_receipts()
    harness.post(booking_event(email=EMAIL))
    harness.pump()
    [(check, _)] = receipt_checks()
    let_delays_pass(harness, 600)
    assert len(harness.sms()) == 1 and len(ses_sent(harness)) == 1

    sqs, url = harness.session.client("sqs"), harness.container.settings.steps_queue_url
    step = {k: v for k, v in check.items() if k != "waited_on"} | {"type": "journey_step"}
    for body in (step, check, check | {"waited_on": "email"}):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    harness.pump()

    assert len(harness.sms()) == 1 and len(ses_sent(harness)) == 1
    [message] = stored()
    assert message.tried_channels == ["sms", "email"] and message.channel == "email"


def test_a_check_for_a_booking_that_moved_on_sends_nothing(harness):
    sms_waits_for_receipts()
    harness.post(booking_event(email=EMAIL))
    harness.pump()
    harness.post(booking_event(type="booking.cancelled", occurred_at="2026-11-22T10:01:00+08:00"))

    let_delays_pass(harness, 600)

    assert ses_sent(harness) == []


# --- marketing ---------------------------------------------------------------------------------------------------
def test_marketing_never_goes_by_wechat_template_even_to_a_follower(harness):
    visit(harness)
    MemberItem(*MemberItem.key(CHAIN, "m-1")).update(
        actions=[MemberItem.wechat_openid.set("o-li-openid"), MemberItem.wechat_following.set(True)]
    )
    templates_before = len(harness.fakes["wechat"].templates)

    decision = harness.container.outreach.deliver(
        CareMessage(chain_id=CHAIN, member_id="m-1", kind="birthday", occasion="birthday:2026")
    )

    assert decision.outcome is Outcome.SENT and decision.channel == "sms"
    assert len(harness.fakes["wechat"].templates) == templates_before
    care = [m for m in stored() if m.kind == "birthday"]
    assert [(m.channel, m.route_reason) for m in care] == [("sms", "sms")]
