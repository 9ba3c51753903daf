"""Member care on mock_aws: the profile built from bookings, and the send-time policy of every care message
(consent, opt-out, needs_human, quiet hours, frequency cap, primary store, once per occasion)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from chalicelib.care.outreach import CareMessage, Outcome
from chalicelib.dal.models import CareClaimItem, MemberItem, TagMemberItem
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.care import visit

CHAIN = "demo-chain"


def member(member_id: str = "m-1") -> MemberItem:
    return MemberItem.get(*MemberItem.key(CHAIN, member_id), consistent_read=True)


def care(
    member_id: str = "m-1", occasion: str = "reactivation:2026-11-20", kind: str = "reactivation", **extra
) -> CareMessage:
    return CareMessage(chain_id=CHAIN, member_id=member_id, kind=kind, occasion=occasion, **extra)


def deliver(harness, message: CareMessage):
    return harness.container.outreach.deliver(message)


def birthday(member_id: str = "m-1", year: int = 2026) -> CareMessage:
    return care(member_id, f"birthday:{year}", "birthday", coupon={"offer": "护理8折", "valid_days": 30})


# --- the profile ------------------------------------------------------------------------------------
def test_visits_spend_tags_and_indexes_are_built_from_bookings_and_a_duplicate_counts_once(harness):
    visit(harness, start="2026-10-01T15:00:00+08:00")
    first = booking_event(
        type="booking.completed",
        booking_id="bk-2",
        start="2026-11-01T15:00:00+08:00",
        occurred_at="2026-11-22T09:00:00+08:00",
        category="hair_colour",
        member={"id": "m-1", "name": "李女士", "phone": "+8613800138000", "birthday": "1990-05-01"},
    )
    harness.post(first)
    harness.post(first)  # the booking system retries

    m = member()
    assert m.visits == 2 and m.total_spend == "776.00" and m.spend_currency == "CNY"
    assert m.primary_store_id == SH_STORE and m.last_visit_at.isoformat().startswith("2026-11-01T07:00")
    assert m.auto_tags == ["colour_client"] and m.tags == ["colour_client"]
    assert m.gsi1pk == f"STOREMEMBERS#{SH_STORE}" and m.gsi1sk.endswith("#m-1")
    assert m.gsi3pk == f"BIRTHDAY#{SH_STORE}#05-01" and m.gsi3sk == "m-1" and m.gsi2pk is None
    assert m.marketing_consent is True  # from her first booking; the second said nothing
    assert TagMemberItem.get(*TagMemberItem.key(CHAIN, "colour_client", "m-1")).visits == 2


def test_primary_store_is_the_store_of_most_visits(harness):
    visit(harness, store_id=LDN_STORE, stylist="ldn-sophie", start="2026-09-01T15:00:00+01:00")
    visit(harness, start="2026-10-01T15:00:00+08:00")
    visit(harness, start="2026-10-15T15:00:00+08:00")
    assert member().primary_store_id == SH_STORE


# --- the policy -------------------------------------------------------------------------------------
def test_a_consenting_member_gets_one_birthday_text_with_a_coupon_however_often_it_is_delivered(harness):
    visit(harness)
    sent = len(harness.sms())

    outcomes = [deliver(harness, birthday()).outcome for _ in range(3)]

    assert outcomes == [Outcome.SENT, Outcome.DUPLICATE, Outcome.DUPLICATE]
    texts = [t for _, t in harness.sms()[sent:]]
    assert len(texts) == 1 and "生日快乐" in texts[0]
    claim = CareClaimItem.get(*CareClaimItem.key(CHAIN, "m-1", "birthday:2026"))
    assert claim.status == "sent" and claim.coupon_code and claim.coupon_code in texts[0]


def test_duplicate_queue_deliveries_send_once(harness):
    visit(harness)
    sent = len(harness.sms())
    harness.container.outreach.enqueue([birthday(), birthday(), birthday()])
    harness.pump()
    assert len(harness.sms()) == sent + 1


@pytest.mark.parametrize("consent", [None, False])
def test_without_marketing_consent_nothing_is_sent(harness, consent):
    visit(harness, consent=consent)
    sent = len(harness.sms())
    decision = deliver(harness, birthday())
    assert (decision.outcome, decision.reason) == (Outcome.SKIPPED, "no_consent")
    assert len(harness.sms()) == sent


def test_an_opted_out_member_is_never_reached(harness):
    visit(harness)
    status, body = harness.post_message(
        {
            "event_id": "evt-td",
            "store_id": SH_STORE,
            "member_id": "m-1",
            "channel": "sms",
            "message": {"id": "msg-td", "type": "text", "text": "TD"},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
    )
    assert status == 200, body
    visit(harness)  # the booking system still says "yes": the withdrawal wins
    sent = len(harness.sms())
    decision = deliver(harness, care())
    assert (decision.outcome, decision.reason) == (Outcome.SKIPPED, "opted_out")
    assert len(harness.sms()) == sent


def test_a_member_whose_conversation_needs_a_human_is_held_back(harness):
    visit(harness)
    harness.post_message(
        {
            "event_id": "evt-c",
            "store_id": SH_STORE,
            "member_id": "m-1",
            "channel": "sms",
            "message": {"id": "msg-c", "type": "text", "text": "烫坏了，我要投诉！"},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
    )
    sent = len(harness.sms())
    decision = deliver(harness, care())
    assert (decision.outcome, decision.reason) == (Outcome.SKIPPED, "needs_human")
    assert len(harness.sms()) == sent


def test_quiet_hours_defer_until_the_store_opens_and_do_not_drop(harness):
    visit(harness)
    harness.clock.set(datetime.fromisoformat("2026-11-22T22:30:00+08:00"))
    decision = deliver(harness, care())
    assert decision.outcome is Outcome.DEFERRED and decision.delay_seconds == 10 * 3600 + 30 * 60
    assert (
        harness.container.care_repo.claim_of(CHAIN, "m-1", "reactivation:2026-11-20") is None
    )  # nothing decided yet
    harness.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))
    assert deliver(harness, care()).outcome is Outcome.SENT


def test_the_frequency_cap_skips_the_third_marketing_message_in_seven_days_but_not_a_birthday(harness):
    visit(harness)
    assert deliver(harness, care(occasion="holiday:ha:2026", kind="holiday")).outcome is Outcome.SENT
    assert deliver(harness, care(occasion="holiday:hb:2026", kind="holiday")).outcome is Outcome.SENT
    third = deliver(harness, care(occasion="holiday:hc:2026", kind="holiday"))
    assert (third.outcome, third.reason) == (Outcome.SKIPPED, "frequency_cap")
    assert deliver(harness, birthday()).outcome is Outcome.SENT  # exempt
    harness.clock.set(datetime.fromisoformat("2026-11-29T10:00:01+08:00"))  # a week after the first two
    assert deliver(harness, care(occasion="holiday:hd:2026", kind="holiday")).outcome is Outcome.SENT


def test_only_the_primary_store_speaks_to_a_member(harness):
    visit(harness)
    decision = deliver(harness, care(store_id=LDN_STORE))
    assert (decision.outcome, decision.reason) == (Outcome.SKIPPED, "not_primary_store")
    assert (
        deliver(harness, care(occasion="holiday:h2:2026", kind="holiday", store_id=SH_STORE)).outcome
        is Outcome.SENT
    )


def test_a_failed_send_does_not_use_up_her_cap_and_malformed_bodies_are_dead_lettered(harness):
    visit(harness)
    harness.faults.add("sms", permanent=1)  # the next SMS fails for good
    assert deliver(harness, care(occasion="holiday:ha:2026", kind="holiday")).outcome is Outcome.FAILED
    assert deliver(harness, care(occasion="holiday:hb:2026", kind="holiday")).outcome is Outcome.SENT
    assert deliver(harness, care(occasion="holiday:hc:2026", kind="holiday")).outcome is Outcome.SENT
    sqs = harness.session.client("sqs")
    sqs.send_message(
        QueueUrl=harness.container.settings.care_queue_url, MessageBody=json.dumps({"type": "care"})
    )
    harness.pump()
    got = sqs.receive_message(QueueUrl=harness.container.settings.care_dlq_url, MessageAttributeNames=["All"])
    assert "not a care message" in got["Messages"][0]["MessageAttributes"]["failure_reason"]["StringValue"]


# --- issue 12: every care text names its store and ends with her country's opt-out line ----------------
def care_text(harness, store_id: str, member_id: str, kind: str = "birthday") -> str:
    [text] = [m["text"] for m in harness.messages(store_id, member_id) if m["kind"] == kind]
    return text


def test_care_texts_name_the_store_and_end_with_the_opt_out_line_of_her_locale_and_country(
    harness, monkeypatch
):
    # Marketing email needs its one-click unsubscribe link, built on the stage's public base URL, which the
    # harness runs without (a deployed stage has its region's: infra/regions.py).
    monkeypatch.setattr(harness.container.unsubscribe_links, "_base", "https://members.example")
    visit(harness, "m-zh")  # Chinese, a Chinese mobile
    visit(harness, "m-en-cn", locale="en", phone="+8613800138111", name="Emma")  # English, a Chinese mobile
    visit(
        harness,
        "m-us",
        store_id="nyc-soho",
        stylist="nyc-jess",
        start="2026-11-20T15:00:00-05:00",
        locale="en",
        phone="+12125550123",
        name="Ana",
    )
    visit(
        harness,
        "m-uk",
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-20T15:00:00+00:00",
        locale="en",
        phone=None,
        name="Kate",
    )  # no phone: the store's country decides
    MemberItem.get(*MemberItem.key(CHAIN, "m-uk")).update(actions=[MemberItem.email.set("kate@example.com")])
    for moment, members in (
        ("2026-11-22T10:00:00+00:00", ("m-zh", "m-en-cn", "m-uk")),  # daytime in each store
        ("2026-11-22T15:00:00+00:00", ("m-us",)),
    ):
        harness.clock.set(datetime.fromisoformat(moment))
        for member_id in members:
            assert deliver(harness, birthday(member_id)).outcome is Outcome.SENT, member_id

    zh = care_text(harness, SH_STORE, "m-zh")
    assert zh.startswith("【花漾·静安店】") and zh.endswith("回复TD退订") and zh.count("退订") == 1
    en_cn = care_text(harness, SH_STORE, "m-en-cn")
    assert en_cn.startswith("花漾·静安店: ") and en_cn.endswith("Reply TD to opt out.")
    assert "STOP" not in en_cn
    us = care_text(harness, "nyc-soho", "m-us")
    assert (
        us.startswith("Huayang SoHo NYC: ")
        and us.endswith("Reply STOP to opt out.")
        and us.count("opt out") == 1
    )
    uk = care_text(harness, LDN_STORE, "m-uk")
    assert (
        uk.startswith("Huayang Soho: ") and uk.endswith("Reply STOP to opt out.") and uk.count("opt out") == 1
    )
