"""Privacy on mock_aws: contact lookups keyed by a keyed hash; a member's export and erasure (PIPL / GDPR)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import pytest

from chalicelib.dal.models import BookingItem, ChainItem, CouponItem
from chalicelib.services.auth import issue_token
from tests.integration.test_corrections import intent_path, member_writes, put, stored_corrections
from tests.integration.test_feedback import reply as feedback_reply
from tests.integration.test_feedback import visited_and_asked
from tests.integration.test_hand_offs import complain
from tests.support.builders import LDN_STORE, SH_STORE, booking_event

HER_PHONE, HER_EMAIL, HER_OPENID = "+8613800138000", "lily.chen@example.com", "o-lily-openid"
OTHER_PHONE, OTHER_EMAIL = "+447911123456", "sam.other@example.org"


def message_event(text: str, *, member_id: str, store_id: str = SH_STORE, channel: str = "sms") -> dict:
    return {
        "event_id": f"evt-{uuid.uuid4().hex[:8]}",
        "store_id": store_id,
        "member_id": member_id,
        "channel": channel,
        "message": {"id": f"msg-{uuid.uuid4().hex[:8]}", "type": "text", "text": text},
        "sent_at": "2026-11-22T10:05:00+08:00",
    }


def her_booking(**overrides) -> dict:
    event = booking_event(
        event_id="evt-her",
        booking_id="bk-her",
        member_id="m-her",
        phone=HER_PHONE,
        email=HER_EMAIL,
        **overrides,
    )
    event["booking"]["member"]["wechat_openid"] = HER_OPENID
    event["booking"]["notes"] = "allergic to ammonia"
    return event


def other_booking() -> dict:
    return booking_event(
        event_id="evt-other",
        booking_id="bk-other",
        member_id="m-other",
        store_id=LDN_STORE,
        stylist="ldn-sophie",
        start="2026-11-26T15:00:00+00:00",
        locale="en",
        phone=OTHER_PHONE,
        email=OTHER_EMAIL,
    )


def request(harness, method: str, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token or harness.chain['staff_token']}"}
    response = getattr(harness.client.http, method.lower())(path, headers=headers)
    return response.status_code, json.loads(response.body) if response.body else None


def token(harness, role: str, stores: list[str], chain_id: str = "demo-chain") -> str:
    return issue_token(
        harness.env["CHAIRSIDE_JWT_SECRET"],
        subject=f"t-{role}",
        chain_id=chain_id,
        role=role,
        store_ids=stores,
        now=datetime.now(UTC),
    )


def table_items(harness) -> list[dict]:
    """Every item of the table (a test oracle; the application never scans)."""
    ddb = harness.session.client("dynamodb")
    items, kwargs = [], {}
    while True:
        page = ddb.scan(TableName=harness.container.settings.main_table, **kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def lookup_key(harness) -> bytes:
    secrets = harness.session.client("secretsmanager")
    return secrets.get_secret_value(SecretId="chairside/test/lookup-key")["SecretString"].encode()


def sms_from(harness, phone: str, text: str) -> None:
    sns = harness.session.client("sns")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("sms-inbound"))
    sns.publish(
        TopicArn=topic,
        Message=json.dumps(
            {
                "originationNumber": phone,
                "destinationNumber": "+8610690000",
                "messageBody": text,
                "inboundMessageId": f"in-{uuid.uuid4().hex[:8]}",
            }
        ),
    )
    harness.pump()


@pytest.fixture
def two_members(harness):
    """She booked at Shanghai and wrote there and to London; another member booked and wrote at London."""
    assert harness.post(her_booking())[0] == 202
    assert harness.post(other_booking())[0] == 202
    harness.pump()
    assert (
        harness.post_message(message_event("我的新号码是15987654321，头发有点干", member_id="m-her"))[0]
        == 200
    )
    assert (
        harness.post_message(message_event("Do you open on Sunday?", member_id="m-her", store_id=LDN_STORE))[
            0
        ]
        == 200
    )
    assert (
        harness.post_message(
            message_event("Secret of the other member", member_id="m-other", store_id=LDN_STORE)
        )[0]
        == 200
    )
    harness.pump()
    return harness


# --- contact lookups at rest ------------------------------------------------------------------------------


def test_contact_lookups_are_keyed_by_hmac_of_the_address_and_never_hold_it(harness):
    harness.post(her_booking())

    key = lookup_key(harness)
    digest = lambda address: hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]  # noqa: E731
    lookups = {i["pk"]["S"] for i in table_items(harness) if i["pk"]["S"].startswith(("PHONE#", "WXOPENID#"))}
    assert lookups == {f"PHONE#{digest(HER_PHONE)}", f"WXOPENID#{digest(HER_OPENID)}"}
    lookup_items = [i for i in table_items(harness) if i["pk"]["S"] in lookups]
    assert HER_PHONE not in json.dumps(lookup_items) and HER_OPENID not in json.dumps(lookup_items)
    # ... and they still find her: an SMS from her number lands in her conversation.
    sms_from(harness, HER_PHONE, "好的")
    assert any(m["direction"] == "in" and m["channel"] == "sms" for m in harness.messages(SH_STORE, "m-her"))


# --- export -----------------------------------------------------------------------------------------------


def test_export_holds_everything_about_her_in_the_chain_and_nothing_of_another_member(two_members):
    harness = two_members

    status, export = request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-her/export")

    assert status == 200
    assert export["member_id"] == "m-her" and export["chain_id"] == "demo-chain"
    assert export["profile"]["phone"] == HER_PHONE and export["profile"]["email"] == HER_EMAIL
    assert export["profile"]["wechat_openid"] == HER_OPENID
    assert export["consent"]["marketing"] in (None, True, False)
    [booking] = export["bookings"]
    assert booking["booking_id"] == "bk-her" and booking["status"] == "booked"
    assert booking["notes"] == "allergic to ammonia" and booking["member"]["phone"] == HER_PHONE
    assert [p["kind"] for p in booking["journey"]["pending"]] == [
        "confirmation",
        "reminder_day_before",
        "reminder_2h",
        "no_show_followup",
    ]
    assert [(s["kind"], s["status"]) for s in booking["journey"]["sent"]] == [("confirmation", "sent")]
    by_store = {c["store_id"]: c for c in export["conversations"]}
    assert set(by_store) == {SH_STORE, LDN_STORE}  # every store of the chain she wrote to
    assert any("15987654321" in m["text"] for m in by_store[SH_STORE]["messages"])
    assert any(m["text"] == "Do you open on Sunday?" for m in by_store[LDN_STORE]["messages"])
    dump = json.dumps(export, ensure_ascii=False)
    for theirs in ("m-other", "bk-other", OTHER_PHONE, OTHER_EMAIL, "Secret of the other member"):
        assert theirs not in dump


def test_export_of_a_member_nobody_knows_is_404(harness):
    assert request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-nobody/export")[0] == 404


# --- erasure ----------------------------------------------------------------------------------------------


def test_erasure_deletes_her_data_and_pending_schedules_and_nothing_is_sent_to_her_afterwards(two_members):
    harness = two_members
    her_schedules = {
        s["Name"]
        for s in harness.schedules(wakes=False)
        if json.loads(s["Target"]["Input"])["member_id"] == "m-her"
    }
    assert (
        len(her_schedules) == 2
    )  # the 2-hour reminder and the no-show check; her day-before reminder goes with
    # the store's wake, shared with the store's other bookings of that day: it stays, and finds nothing of hers
    texts_to_her = len([p for p, _ in harness.sms() if p == HER_PHONE])

    status, body = request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")

    assert status == 200
    assert body == {
        "member_id": "m-her",
        "erased": {
            "profile": 1,
            "bookings": 1,
            "schedules": 2,
            "conversations": 2,
            "messages": body["erased"]["messages"],
            "contact_lookups": 2,
            "care_records": 0,
            "tags": 0,
            "coupons": 0,
            "corrections": 0,
        },
    }
    assert body["erased"]["messages"] >= 4  # confirmation, her two messages, the replies
    assert not her_schedules & {s["Name"] for s in harness.schedules()}
    assert {json.loads(s["Target"]["Input"])["member_id"] for s in harness.schedules(wakes=False)} == {
        "m-other"
    }
    # Nothing of hers is left in the table: no phone, email, openid, name or message text anywhere.
    dump = json.dumps(table_items(harness), ensure_ascii=False)
    for hers in (HER_PHONE, HER_EMAIL, HER_OPENID, "15987654321", "Do you open on Sunday?", "allergic"):
        assert hers not in dump
    # The booking keeps what the salon's calendar needs, and no longer points at her.
    booking = BookingItem.get(*BookingItem.key("demo-chain", "bk-her"))
    assert booking.status == "booked" and booking.service_code == "svc-hair_colour" and booking.slots
    assert booking.member.id == "erased" and booking.member.phone is None and booking.gsi3pk is None
    assert booking.pending == [] and booking.notes is None

    harness.advance_to("2026-12-31T12:00:00+08:00")  # past every step her journey had

    assert harness.messages(SH_STORE, "m-her") == [] and harness.messages(LDN_STORE, "m-her") == []
    assert len([p for p, _ in harness.sms() if p == HER_PHONE]) == texts_to_her
    assert request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-her")[0] == 404
    assert request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-her/export")[0] == 404
    _, inbox = harness.staff("GET", f"/v1/stores/{SH_STORE}/conversations")
    assert "m-her" not in [c["id"] for c in inbox["items"]]
    # The other member is untouched: her journey went on and her conversation is there.
    assert "no_show_followup" in harness.sent_kinds(LDN_STORE, "m-other")
    assert any(m["text"] == "Secret of the other member" for m in harness.messages(LDN_STORE, "m-other"))


def coupon_exists(code: str) -> bool:
    try:
        CouponItem.get(*CouponItem.key("demo-chain", code), consistent_read=True)
    except CouponItem.DoesNotExist:
        return False
    return True


def test_erasure_takes_her_feedback_coupon_and_the_staff_corrections_of_her_messages(harness):
    """Issue 16's corrections are labelled data made of her words, and issue 17's thank-you coupon names her: both
    go with her, and another member's correction stays."""
    chain = ChainItem.get(*ChainItem.key("demo-chain"))
    chain.update(
        actions=[
            ChainItem.feedback_settings.set({"thank_you_coupon": {"offer": "护理八折", "valid_days": 30}})
        ]
    )
    visited_and_asked(harness)
    harness.post_message(feedback_reply("5"))
    code = BookingItem.get(*BookingItem.key("demo-chain", "bk-1"), consistent_read=True).feedback_coupon_code
    assert code and coupon_exists(code)
    [hers] = [m for m in harness.messages(SH_STORE, "m-1") if m["direction"] == "in"]  # her "5"
    theirs = member_writes(harness, "下次换个师傅吧", member_id="m-2", stylist="sh-lina")
    for member, message in (("m-1", hers), ("m-2", theirs)):
        assert (
            put(harness, intent_path(message, member), {"intent": "complaint", "sentiment": "negative"})[0]
            == 200
        )

    status, body = request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-1")

    assert status == 200 and body["erased"]["corrections"] == 1 and body["erased"]["coupons"] == 1
    assert not coupon_exists(code)
    assert BookingItem.get(*BookingItem.key("demo-chain", "bk-1")).feedback_coupon_code is None
    assert [c["member_id"]["S"] for c in stored_corrections(harness)] == ["m-2"]
    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-1")[1]["erased"]["corrections"] == 0


def test_erasure_deletes_her_pending_hand_off_alarm(harness):
    """The alarm's schedule names her store and member id; it goes with her instead of firing on nothing."""
    harness.post(booking_event())
    complain(harness)  # nobody online: the manager is texted and an alarm is scheduled at the limit
    assert any(s["Name"].startswith("handoff-") for s in harness.schedules())

    status, body = request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-1")

    assert status == 200, body
    assert not any(s["Name"].startswith("handoff-") for s in harness.schedules())
    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-1")[0] == 200  # idempotent


def test_a_step_that_fired_just_before_the_erasure_sends_nothing(two_members):
    harness = two_members
    fired = next(
        s["Target"]["Input"]
        for s in harness.schedules(wakes=False)
        if json.loads(s["Target"]["Input"])["member_id"] == "m-her"
    )
    wakes = [json.dumps(body) for body in harness.wakes() if body["store_id"] == SH_STORE]  # her store's
    sent_before = len(harness.sms())
    assert wakes

    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")[0] == 200
    sqs = harness.session.client("sqs")
    for body in (fired, *wakes):  # her own step, and the store's wake her day-before reminder went with
        sqs.send_message(QueueUrl=harness.container.settings.steps_queue_url, MessageBody=body)
    harness.pump()

    assert len(harness.sms()) == sent_before
    assert harness.messages(SH_STORE, "m-her") == []
    assert harness.dlq() == []


def test_after_erasure_her_number_no_longer_finds_her(two_members):
    harness = two_members
    request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")

    sms_from(harness, HER_PHONE, "还在吗")

    assert harness.messages(SH_STORE, "m-her") == []


def test_erasure_is_idempotent(two_members):
    harness = two_members
    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")[0] == 200

    status, body = request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")

    assert status == 200
    assert body == {
        "member_id": "m-her",
        "erased": {
            "profile": 0,
            "bookings": 0,
            "schedules": 0,
            "conversations": 0,
            "messages": 0,
            "contact_lookups": 0,
            "care_records": 0,
            "tags": 0,
            "coupons": 0,
            "corrections": 0,
        },
    }
    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-never-seen")[0] == 200


def test_a_later_booking_event_for_the_erased_booking_changes_nothing_it_should_not(two_members):
    """The booking system retries the event it sent before: the stored answer, and no schedule comes back."""
    harness = two_members
    request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")

    status, _ = harness.post(her_booking())

    assert status == 202
    assert {json.loads(s["Target"]["Input"])["member_id"] for s in harness.schedules(wakes=False)} == {
        "m-other"
    }


# --- who may ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("GET", "/export"), ("DELETE", "")])
def test_only_store_managers_and_chain_admins_may_export_or_erase(two_members, method, path):
    harness = two_members
    url = f"/v1/stores/{SH_STORE}/members/m-her{path}"

    assert request(harness, method, url, token(harness, "stylist", [SH_STORE]))[0] == 403
    assert request(harness, method, url, token(harness, "front_desk", [SH_STORE]))[0] == 403
    assert request(harness, method, url, token(harness, "store_manager", [LDN_STORE]))[0] == 404
    assert request(harness, method, url, token(harness, "chain_admin", [], chain_id="other-chain"))[0] == 404
    assert harness.client.http.request(method, url, headers={}, body=b"").status_code == 401
    assert request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-her/export")[1]["profile"] is not None

    assert request(harness, method, url, token(harness, "store_manager", [SH_STORE]))[0] == 200


def test_erasure_also_removes_her_tags_coupons_and_care_records_and_the_export_lists_them(harness):
    from chalicelib.care.outreach import CareMessage, Outcome
    from chalicelib.dal.models import CareClaimItem, CouponItem, TagMemberItem
    from tests.support.care import visit

    visit(harness, "m-care", phone="+8613700137000")
    assert (
        harness.staff("POST", f"/v1/stores/{SH_STORE}/members/m-care/tags", {"add": ["vip_manual"]})[0] == 200
    )
    birthday = CareMessage(
        chain_id="demo-chain",
        member_id="m-care",
        kind="birthday",
        occasion="birthday:2026",
        coupon={"offer": "护理8折", "valid_days": 30},
    )
    assert harness.container.outreach.deliver(birthday).outcome is Outcome.SENT
    code = CareClaimItem.get(*CareClaimItem.key("demo-chain", "m-care", "birthday:2026")).coupon_code

    status, export = request(harness, "GET", f"/v1/stores/{SH_STORE}/members/m-care/export")
    tags = set(export["profile"]["tags"])
    assert status == 200 and "vip_manual" in tags
    assert [(c["occasion"], c["status"], c["coupon_code"]) for c in export["care"]] == [
        ("birthday:2026", "sent", code)
    ]

    status, body = request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-care")

    assert status == 200 and body["erased"]["tags"] == len(tags) and body["erased"]["coupons"] == 1
    assert body["erased"]["care_records"] == 2  # the birthday claim and her frequency ledger
    for tag in tags:
        assert (
            TagMemberItem.count(
                *TagMemberItem.key("demo-chain", tag, "m-care")[:1], TagMemberItem.sk == "MEMBER#m-care"
            )
            == 0
        )
    assert CouponItem.count(CouponItem.key("demo-chain", code)[0]) == 0
    assert CareClaimItem.count("CARE#demo-chain#m-care") == 0
    assert "+8613700137000" not in json.dumps(table_items(harness), ensure_ascii=False)


def _unkeyed_digests(*values: str) -> set[str]:
    """What anyone can compute from her phone or email without a secret: SHA-256/MD5/SHA-1 hex and their prefixes."""
    digests = set()
    for value in values:
        for algorithm in ("sha256", "sha1", "md5"):
            full = hashlib.new(algorithm, value.encode()).hexdigest()
            digests |= {full[:n] for n in range(8, len(full) + 1)}
    return digests


def test_after_erasure_her_booking_items_hold_no_unkeyed_hash_of_her_contact_details(two_members):
    harness = two_members
    booking = her_booking()["booking"]
    member = booking["member"]
    # The member fields a booking event carries, as a digest of them would be written (any key order, any spacing).
    contact = {
        "name": member["name"],
        "phone": HER_PHONE,
        "email": HER_EMAIL,
        "locale": member["locale"],
        "birthday": member["birthday"],
        "wechat_openid": HER_OPENID,
        "marketing_consent": None,
        "last_store_id": booking["store_id"],
    }
    guesses = [HER_PHONE, HER_EMAIL, HER_OPENID]
    for separators in ((", ", ": "), (",", ":")):
        for ascii_only in (True, False):
            guesses.append(
                json.dumps(contact, sort_keys=True, ensure_ascii=ascii_only, separators=separators)
            )

    assert request(harness, "DELETE", f"/v1/stores/{SH_STORE}/members/m-her")[0] == 200

    ddb = harness.session.client("dynamodb")
    raw = ddb.get_item(
        TableName=harness.container.settings.main_table,
        Key={
            "pk": {"S": BookingItem.key("demo-chain", "bk-her")[0]},
            "sk": {"S": BookingItem.key("demo-chain", "bk-her")[1]},
        },
        ConsistentRead=True,
    )["Item"]
    unkeyed = _unkeyed_digests(*guesses)

    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    for item in table_items(harness):  # her booking, its calendar items and event records, everything else
        for text in strings(item):
            assert text not in unkeyed, (item["pk"], item["sk"], text)
            assert not any(part in unkeyed for part in text.replace("#", ":").split(":")), (item["pk"], text)
    assert "contact_ref" not in raw  # even a keyed digest of her contact details goes with her snapshot


def test_bookings_keep_only_a_keyed_reference_to_her_contact_details(harness):
    """Before erasure the booking may keep a reference (to skip rebuilding an unchanged profile), keyed with the
    stage's lookup key: without it, the reference tells nothing."""
    assert harness.post(her_booking())[0] == 202
    booking = BookingItem.get(*BookingItem.key("demo-chain", "bk-her"))
    assert booking.contact_ref
    member = her_booking()["booking"]["member"]
    contact = {
        "name": member["name"],
        "phone": HER_PHONE,
        "email": HER_EMAIL,
        "locale": member["locale"],
        "birthday": member["birthday"],
        "wechat_openid": HER_OPENID,
        "marketing_consent": None,
        "last_store_id": SH_STORE,
    }
    text = json.dumps(contact, sort_keys=True, ensure_ascii=False)
    assert booking.contact_ref not in _unkeyed_digests(text, HER_PHONE, HER_EMAIL)
    # An item written before the reference was keyed still reads, and a new event rewrites it keyed.
    booking.update(actions=[BookingItem.contact_ref.set(hashlib.sha256(text.encode()).hexdigest()[:16])])
    moved = her_booking(
        type="booking.rescheduled", start="2026-11-26T15:00:00+08:00", occurred_at="2026-11-22T11:00:00+08:00"
    )
    moved["event_id"] = "evt-her-moved"
    assert harness.post(moved)[0] == 202
    again = BookingItem.get(*BookingItem.key("demo-chain", "bk-her"), consistent_read=True)
    assert again.start.isoformat().startswith("2026-11-26") and again.contact_ref not in _unkeyed_digests(
        text
    )


@pytest.mark.parametrize("method, path", [("GET", "/export"), ("DELETE", "")])
def test_a_store_manager_exports_or_erases_only_a_member_of_her_store(two_members, method, path):
    """She belongs to Shanghai (booking) and London (she wrote there); the other member to London only."""
    harness = two_members
    shanghai, london = (
        token(harness, "store_manager", [SH_STORE]),
        token(harness, "store_manager", [LDN_STORE]),
    )
    before = table_items(harness)

    foreign = request(harness, method, f"/v1/stores/{SH_STORE}/members/m-other{path}", shanghai)
    unknown = request(harness, method, f"/v1/stores/{SH_STORE}/members/m-never-seen{path}", shanghai)

    assert foreign == unknown == (404, {"error": "not_found", "message": "no such member"})
    assert sorted(map(str, table_items(harness))) == sorted(map(str, before))
    assert request(harness, method, f"/v1/stores/{LDN_STORE}/members/m-her{path}", london)[0] == 200
