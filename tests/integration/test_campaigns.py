"""Tags, segments, campaigns and coupons on mock_aws, through the HTTP API and the care queue."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from chalicelib.care import campaigns as campaigns_module
from chalicelib.care import segments
from chalicelib.dal.models import CouponItem, MemberItem, TagMemberItem
from tests.support.builders import LDN_STORE, SH_STORE, booking_event
from tests.support.care import visit

CHAIN = "demo-chain"
BASE = f"/v1/chains/{CHAIN}/campaigns"
TEMPLATE = {
    "zh-CN": "{{ member.name }}您好，{{ store.name }}新品法式水钻上线！{% if coupon.code %}券码{{ coupon.code }}{% endif %}",
    "en": "Hi {{ member.name }}, new rhinestones at {{ store.name }}!",
}


def tags(harness, member_id: str, body: dict, token: str | None = None, store: str = SH_STORE):
    return harness.staff("POST", f"/v1/stores/{store}/members/{member_id}/tags", body, token=token)


def role(harness, name: str) -> str:
    return harness.chain["role_tokens"][name]


def member(member_id: str) -> MemberItem:
    return MemberItem.get(*MemberItem.key(CHAIN, member_id), consistent_read=True)


# --- profile and tags --------------------------------------------------------------------------------
def test_the_profile_shows_what_her_bookings_and_chat_say(harness):
    visit(harness, "m-p", start="2026-10-01T15:00:00+08:00")
    visit(harness, "m-p", start="2026-11-01T15:00:00+08:00")
    harness.post(booking_event(booking_id="bk-next", member_id="m-p", start="2026-12-01T15:00:00+08:00"))

    status, body = harness.staff("GET", f"/v1/stores/{SH_STORE}/members/m-p")

    assert status == 200, body
    assert body["visits"] == 2 and body["last_visit_at"] == "2026-11-01T15:00:00+08:00"
    assert body["next_booking_at"] == "2026-12-01T15:00:00+08:00"
    assert body["consent"] == {"transactional": True, "marketing": True}
    assert body["tags"] == ["colour_client"] and body["services"] == ["染发"] and body["stylists"] == ["小王"]
    assert body["spend"] == {"total": "776.00", "currency": "CNY"} and body["birthday"] == "1990-05-01"
    assert (
        body["preferred_channel"] == "sms"
        and body["status"] == "active"
        and body["primary_store_id"] == SH_STORE
    )


def test_manual_tags_are_added_and_removed_idempotently_and_follow_the_tag_index(harness):
    visit(harness, "m-t", start="2026-10-01T15:00:00+08:00")
    visit(harness, "m-t")
    for _ in range(2):
        status, body = tags(harness, "m-t", {"add": ["法式控", "vip_manual"]})
        assert status == 200, body
    assert body["tags"] == ["colour_client", "vip_manual", "法式控"] and body["manual_tags"] == [
        "vip_manual",
        "法式控",
    ]
    status, body = tags(harness, "m-t", {"remove": ["vip_manual", "colour_client"]})
    assert body["tags"] == ["colour_client", "法式控"]  # an automatic tag stays the rules'
    assert TagMemberItem.count(TagMemberItem.pk_for(CHAIN, "vip_manual")) == 0
    assert TagMemberItem.count(TagMemberItem.pk_for(CHAIN, "法式控")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add": ["has space"]}, "add[0]"),
        ({"add": "vip"}, "add"),
        ({"remove": ["ok", "#hash"]}, "remove[1]"),
        ({"add": ["a"], "remove": ["a"]}, "remove"),
        ({"add": ["x" * 41]}, "add[0]"),
    ],
)
def test_bad_tags_get_400_naming_the_field(harness, body, field):
    visit(harness, "m-t")
    status, answer = tags(harness, "m-t", body)
    assert status == 400 and field in answer["fields"], answer


def test_a_stylist_may_read_but_not_tag_and_may_write_notes(harness):
    visit(harness, "m-t")
    status, _ = tags(harness, "m-t", {"add": ["x"]}, token=role(harness, "stylist"))
    assert status == 403
    path = f"/v1/stores/{SH_STORE}/members/m-t/notes"
    for _ in range(2):
        status, body = harness.staff(
            "POST", path, {"text": "喜欢安静，不爱聊天", "note_id": "n1"}, token=role(harness, "stylist")
        )
        assert status == 200, body
    assert [n["text"] for n in body["notes"]] == ["喜欢安静，不爱聊天"]


# --- segments -----------------------------------------------------------------------------------------
@pytest.fixture
def crowd(harness):
    """Six members: tags, visits, stores and last visits chosen so that each segment filter matters."""
    visit(harness, "c-1", start="2026-06-01T15:00:00+08:00")  # lapsed
    visit(harness, "c-2", start="2026-11-10T15:00:00+08:00")
    visit(harness, "c-2", start="2026-11-12T15:00:00+08:00")  # colour_client, 2 visits
    visit(harness, "c-3", start="2026-11-15T15:00:00+08:00", category="nail_art")
    visit(harness, "c-4", store_id=LDN_STORE, stylist="ldn-sophie", start="2026-07-01T15:00:00+01:00")
    visit(harness, "c-5", start="2026-11-18T15:00:00+08:00", consent=False)
    visit(harness, "c-6", start="2026-11-19T15:00:00+08:00")
    for member_id, added in (
        ("c-1", ["french"]),
        ("c-3", ["french", "gel"]),
        ("c-4", ["french"]),
        ("c-6", ["gel", "blocked"]),
    ):
        assert tags(harness, member_id, {"add": added}, store=member(member_id).primary_store_id)[0] == 200
    return harness


# One crowd for every case: building it through the webhooks takes seconds on moto.
SEGMENT_CASES = [
    ({}, {"c-1", "c-2", "c-3", "c-4", "c-5", "c-6"}),
    ({"tags_all": ["french", "gel"]}, {"c-3"}),
    ({"tags_any": ["french", "gel"]}, {"c-1", "c-3", "c-4", "c-6"}),
    ({"tags_any": ["gel"], "tags_none": ["blocked"]}, {"c-3"}),
    ({"last_visit_before_days": 90}, {"c-1", "c-4"}),
    ({"visits_at_least": 2}, {"c-2"}),
    ({"store_ids": [LDN_STORE]}, {"c-4"}),
    ({"tags_any": ["french"], "store_ids": [SH_STORE], "last_visit_before_days": 30}, {"c-1"}),
    ({"tags_all": ["colour_client"], "visits_at_least": 2}, {"c-2"}),
]


def test_segments_are_answered_from_the_indexes_page_by_page(crowd):
    reader = segments.SegmentReader(crowd.container.care_repo)
    now = crowd.clock.now()
    for segment, expected in SEGMENT_CASES:
        found, cursor, pages = [], None, 0
        while True:
            page = reader.page(CHAIN, segments.parse(segment), cursor, now, limit=2)
            found += [m.member_id for m in page.members]
            pages += 1
            cursor = page.cursor
            if cursor is None:
                break
        # Each member once, even when several tags or pages hold her.
        assert sorted(found) == sorted(expected), segment
        assert pages >= 2 or len(expected) <= 1, segment


@pytest.mark.parametrize(
    ("segment", "field"),
    [
        ([], "segment"),
        ({"tags_sum": ["a"]}, "segment.tags_sum"),
        ({"tags_any": ["ok", "bad tag"]}, "segment.tags_any[1]"),
        ({"last_visit_before_days": "90"}, "segment.last_visit_before_days"),
        ({"visits_at_least": -1}, "segment.visits_at_least"),
        ({"store_ids": ["nowhere"]}, "segment.store_ids[0]"),
    ],
)
def test_bad_segments_get_400_naming_the_field(harness, segment, field):
    status, body = harness.staff("POST", f"{BASE}/preview", {"segment": segment, "template": TEMPLATE})
    assert status == 400 and field in body["fields"], body


# --- campaigns ----------------------------------------------------------------------------------------
def test_preview_counts_targeted_and_skipped_by_reason_with_samples(crowd):
    status, body = crowd.staff(
        "POST", f"{BASE}/preview", {"segment": {"store_ids": [SH_STORE]}, "template": TEMPLATE}
    )
    assert status == 200, body
    assert body["targeted"] == 4 and body["skipped"] == {"no_consent": 1} and body["segment_size"] == 5
    assert len(body["samples"]) == 3
    assert all(s["text"].startswith("【花漾·静安店】李女士您好，花漾·静安店新品") for s in body["samples"])
    assert all(s["text"].endswith("回复TD退订") for s in body["samples"])


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ({"zh-CN": "{{ member.name "}, "template.zh-CN"),
        ({"fr": "Bonjour"}, "template.fr"),
        ({"en": "{{ member.password }}"}, "template.en"),
        ({"en": "{{ ''.__class__ }}"}, "template.en"),
        ({}, "template"),
        ("hi", "template"),
    ],
)
def test_template_errors_get_400_naming_the_field(harness, template, field):
    status, body = harness.staff("POST", f"{BASE}/preview", {"segment": {}, "template": template})
    assert status == 400 and field in body["fields"], body


def test_another_chains_admin_gets_404_and_a_front_desk_403(harness):
    from chalicelib.services.auth import issue_token

    other = issue_token(
        "test-jwt-secret-of-at-least-32-bytes!",
        subject="x",
        chain_id="other-chain",
        role="chain_admin",
        store_ids=[],
        now=datetime.now(),
    )
    for method, path in (("POST", f"{BASE}/preview"), ("POST", BASE), ("GET", f"{BASE}/c-any")):
        assert harness.staff(method, path, {"segment": {}, "template": TEMPLATE}, token=other)[0] == 404
    assert (
        harness.staff(
            "POST",
            f"{BASE}/preview",
            {"segment": {}, "template": TEMPLATE},
            token=role(harness, "front_desk"),
        )[0]
        == 403
    )


def run_campaign(harness, body: dict) -> dict:
    status, created = harness.staff("POST", BASE, body)
    assert status in (200, 201), created
    harness.pump()
    status, result = harness.staff("GET", f"{BASE}/{created['campaign_id']}")
    assert status == 200, result
    return result


def test_a_campaign_reaches_the_eligible_and_reports_every_skip_with_its_reason(crowd):
    # c-2 already had two marketing messages this week: over the cap.
    outreach = crowd.container.outreach
    from chalicelib.care.outreach import CareMessage

    for occasion in ("holiday:a:2026", "holiday:b:2026"):
        outreach.deliver(CareMessage(chain_id=CHAIN, member_id="c-2", kind="holiday", occasion=occasion))
    # c-6 complains: her conversation needs a person.
    crowd.post_message(
        {
            "event_id": "evt-c6",
            "store_id": SH_STORE,
            "member_id": "c-6",
            "channel": "sms",
            "message": {"id": "msg-c6", "type": "text", "text": "烫坏了，我要投诉！"},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
    )
    sent_before = len(crowd.sms())

    result = run_campaign(
        crowd,
        {
            "campaign_id": "rhinestones",
            "segment": {"store_ids": [SH_STORE]},
            "template": TEMPLATE,
            "coupon": {"offer": "8折", "valid_days": 14},
        },
    )

    assert result["targeted"] == 5 and result["sent"] == 2 and result["failed"] == 0
    assert result["skipped"] == {"no_consent": 1, "frequency_cap": 1, "needs_human": 1}
    assert result["status"] == "done" and result["pending"] == 0
    texts = [t for _, t in crowd.sms()[sent_before:]]
    assert len(texts) == 2 and all("新品法式水钻" in t and "券码" in t for t in texts)
    # Running it again (a retried request, a duplicate page) sends nothing more.
    assert (
        run_campaign(
            crowd,
            {
                "campaign_id": "rhinestones",
                "segment": {"store_ids": [SH_STORE]},
                "template": TEMPLATE,
                "coupon": {"offer": "8折", "valid_days": 14},
            },
        )["sent"]
        == 2
    )
    assert len(crowd.sms()) == sent_before + 2
    status, rows = crowd.staff("GET", f"{BASE}/rhinestones/results?status=skipped")
    assert sorted((r["member_id"], r["reason"]) for r in rows["items"]) == [
        ("c-2", "frequency_cap"),
        ("c-5", "no_consent"),
        ("c-6", "needs_human"),
    ]


def test_the_same_campaign_id_with_another_body_is_a_conflict(harness):
    assert harness.staff("POST", BASE, {"campaign_id": "c-x", "segment": {}, "template": TEMPLATE})[0] == 201
    status, body = harness.staff(
        "POST", BASE, {"campaign_id": "c-x", "segment": {"visits_at_least": 3}, "template": TEMPLATE}
    )
    assert status == 409 and "campaign_id" in body["fields"]


def test_a_big_segment_is_fanned_out_page_by_page_in_batches_of_ten(harness, monkeypatch):
    monkeypatch.setattr(campaigns_module, "PAGE_SIZE", 4)
    for i in range(11):
        visit(harness, f"f-{i:02d}", phone=f"+86138001{i:05d}")
    sqs = harness.container.outreach._sqs
    calls = []
    original = sqs.send_message_batch
    monkeypatch.setattr(
        sqs, "send_message_batch", lambda **kw: calls.append(len(kw["Entries"])) or original(**kw)
    )

    result = run_campaign(harness, {"campaign_id": "big", "segment": {}, "template": TEMPLATE})

    assert result["targeted"] == 11 and result["sent"] == 11 and result["pages"] >= 3  # 4 a page
    assert max(calls) <= 10


def test_a_future_campaign_waits_for_send_at(harness):
    visit(harness, "m-w")
    status, created = harness.staff(
        "POST",
        BASE,
        {"campaign_id": "later", "segment": {}, "template": TEMPLATE, "send_at": "2026-11-22T10:00:02+08:00"},
    )
    assert status == 201 and created["status"] == "scheduled"
    harness.pump(rounds=3)
    assert harness.staff("GET", f"{BASE}/later")[1]["sent"] == 0
    harness.clock.set(datetime.fromisoformat("2026-11-22T10:00:03+08:00"))
    deadline = time.monotonic() + 30  # the page message waits out its SQS delay (2 s) on the queue
    while harness.staff("GET", f"{BASE}/later")[1]["sent"] == 0 and time.monotonic() < deadline:
        harness.pump()
        time.sleep(0.2)
    assert harness.staff("GET", f"{BASE}/later")[1]["sent"] == 1


def test_failures_can_be_sent_again(harness):
    visit(harness, "m-f")
    harness.faults.add("sms", permanent=1)
    result = run_campaign(harness, {"campaign_id": "flaky", "segment": {}, "template": TEMPLATE})
    assert (result["sent"], result["failed"]) == (0, 1)
    status, body = harness.staff("POST", f"{BASE}/flaky/resend", {})
    assert status == 200 and body == {"requeued": 1, "more": False}
    harness.pump()
    result = harness.staff("GET", f"{BASE}/flaky")[1]
    assert (result["sent"], result["failed"], result["resent"]) == (1, 0, 1)


# --- coupons and attribution ---------------------------------------------------------------------------
def coupon_of(harness, member_id: str, occasion: str) -> str:
    return harness.container.care_repo.claim_of(CHAIN, member_id, occasion).coupon_code


def book_with(
    harness, code: str, booking_id: str, member_id: str = "m-c", event_type: str = "booking.created"
):
    event = booking_event(
        type=event_type,
        booking_id=booking_id,
        member_id=member_id,
        start=f"2026-11-28T{8 + 2 * int(booking_id[-1]):02d}:00:00+08:00",
        coupon_code=code,
    )
    return harness.post(event)


def test_a_coupon_is_redeemed_once_and_a_bad_code_never_refuses_the_booking(harness):
    visit(harness, "m-c")
    visit(harness, "m-other", phone="+8613800138111")
    run_campaign(
        harness, {"campaign_id": "gift", "segment": {}, "template": TEMPLATE, "coupon": {"valid_days": 3}}
    )
    code = coupon_of(harness, "m-c", "campaign:gift")
    other = coupon_of(harness, "m-other", "campaign:gift")
    assert code and other and code != other

    status, body = book_with(harness, code.lower(), "bk-c1")
    assert status == 202 and body["coupon"] == {"code": code, "status": "redeemed"}
    assert (
        book_with(harness, code, "bk-c1", event_type="booking.rescheduled")[1]["coupon"]["status"]
        == "redeemed"
    )
    status, body = book_with(harness, code, "bk-c2")
    assert status == 202 and body["status"] == "booked" and body["coupon"]["status"] == "already_redeemed"
    assert book_with(harness, other, "bk-c3")[1]["coupon"]["status"] == "not_her_coupon"
    assert book_with(harness, "NOSUCHCODE", "bk-c4")[1]["coupon"]["status"] == "unknown"
    assert CouponItem.get(*CouponItem.key(CHAIN, code)).redeemed_booking_id == "bk-c1"

    # Cancelling the booking that holds it gives the code back; after expiry it is refused.
    assert (
        book_with(harness, code, "bk-c1", event_type="booking.cancelled")[1]["coupon"]["status"] == "released"
    )
    harness.clock.set(datetime.fromisoformat("2026-11-26T10:00:00+08:00"))
    assert book_with(harness, code, "bk-c5")[1]["coupon"]["status"] == "expired"


def test_bookings_within_14_days_of_the_campaign_are_counted_once(harness):
    visit(harness, "m-b")
    run_campaign(harness, {"campaign_id": "win", "segment": {}, "template": TEMPLATE})
    harness.clock.set(datetime.fromisoformat("2026-11-25T10:00:00+08:00"))
    booked = booking_event(booking_id="bk-after", member_id="m-b", start="2026-11-30T15:00:00+08:00")
    harness.post(booked)
    harness.post(booked)
    assert harness.staff("GET", f"{BASE}/win")[1]["bookings_within_14_days"] == 1


def test_a_reply_after_her_campaign_message_counts_once_however_often_she_writes(harness):
    visit(harness, "m-r", phone="+8613800138111")
    assert (
        run_campaign(harness, {"campaign_id": "gel-week", "segment": {}, "template": TEMPLATE})["sent"] == 1
    )
    harness.clock.advance(seconds=600)  # she answers ten minutes later

    for n, text in enumerate(("好呀，周六有空吗", "还有一个问题")):
        message = {
            "event_id": f"evt-r{n}",
            "store_id": SH_STORE,
            "member_id": "m-r",
            "channel": "sms",
            "message": {"id": f"msg-r{n}", "type": "text", "text": text},
            "sent_at": "2026-11-22T10:05:00+08:00",
        }
        assert harness.post_message(message)[0] == 200
        assert harness.post_message(message)[0] == 200  # the provider retries
    harness.pump()

    assert harness.staff("GET", f"{BASE}/gel-week")[1]["replies"] == 1


# --- campaigns belong to the stores they target --------------------------------------------------------
@pytest.mark.parametrize(
    "store_ids",
    [[LDN_STORE], [], [SH_STORE, LDN_STORE]],
    ids=["another store", "chain-wide", "another store too"],
)
def test_store_staff_outside_a_campaigns_stores_get_404_on_every_campaign_route(harness, store_ids):
    """A store manager reaches a campaign only when every store it targets is hers (as create and preview ask)."""
    visit(harness, "m-ldn", store_id=LDN_STORE, stylist="ldn-sophie", locale="en", phone="+447911123456")
    visit(harness, "m-sh")
    harness.faults.add("sms", permanent=1)
    run_campaign(
        harness, {"campaign_id": "theirs", "segment": {"store_ids": store_ids}, "template": TEMPLATE}
    )
    mine = run_campaign(
        harness, {"campaign_id": "mine", "segment": {"store_ids": [SH_STORE]}, "template": TEMPLATE}
    )
    manager = harness.chain["store_tokens"][SH_STORE]
    routes = [("GET", ""), ("GET", "/results"), ("GET", "/results?status=failed"), ("POST", "/resend")]

    for method, suffix in routes:
        unknown = harness.staff(method, f"{BASE}/no-such-campaign{suffix}", {}, token=manager)
        answer = harness.staff(method, f"{BASE}/theirs{suffix}", {}, token=manager)
        assert answer[0] == 404 and answer == unknown, (method, suffix, answer)
        assert harness.staff(method, f"{BASE}/mine{suffix}", {}, token=manager)[0] == 200, (method, suffix)
        assert harness.staff(method, f"{BASE}/theirs{suffix}", {})[0] == 200, (method, suffix)  # chain_admin
    assert mine["campaign_id"] == "mine"


# --- issue 12: every campaign text names its store and says how to stop --------------------------------
def test_a_campaign_text_names_the_store_ends_with_the_opt_out_line_and_is_what_the_preview_showed(harness):
    visit(harness, "m-zh")
    visit(
        harness,
        "m-en",
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-20T15:00:00+00:00",
        locale="en",
        phone="+447400123456",
        name="Emma",
    )
    harness.clock.set(
        datetime.fromisoformat("2026-11-22T18:00:00+08:00")
    )  # 10:00 in London: nobody's quiet hours
    status, preview = harness.staff("POST", f"{BASE}/preview", {"segment": {}, "template": TEMPLATE})
    assert status == 200, preview
    shown = {s["member_id"]: s["text"] for s in preview["samples"]}
    assert shown == {
        "m-zh": "【花漾·静安店】李女士您好，花漾·静安店新品法式水钻上线！回复TD退订",
        "m-en": "Huayang Soho: Hi Emma, new rhinestones at Huayang Soho! Reply STOP to opt out.",
    }
    sent_before = len(harness.sms())

    assert run_campaign(harness, {"campaign_id": "named", "segment": {}, "template": TEMPLATE})["sent"] == 2

    sent = {phone: text for phone, text in harness.sms()[sent_before:]}
    assert sent == {"+8613800138000": shown["m-zh"], "+447400123456": shown["m-en"]}


def test_a_campaign_template_that_already_names_the_store_and_the_opt_out_is_not_doubled(harness):
    visit(harness, "m-zh")
    template = {"zh-CN": "【{{ store.name }}】{{ member.name }}您好，周末护理8折。回复TD退订"}
    sent_before = len(harness.sms())

    assert run_campaign(harness, {"campaign_id": "once", "segment": {}, "template": template})["sent"] == 1

    [(_, text)] = harness.sms()[sent_before:]
    assert text == "【花漾·静安店】李女士您好，周末护理8折。回复TD退订"
