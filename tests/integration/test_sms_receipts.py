"""Mainland SMS end to end in-process: a store's `sms` channel sends a +86 member's confirmation through the Alibaba
fake as the chain's registered template (and other countries through SNS); the fake's SmsReport, pushed to the
chain's receipt route, becomes ProviderReceipts handed to the receipts service (here a recording ReceiptSink)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.channels.base import Contact, Outgoing, provider_of, send_outgoing
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.channels.sms_alibaba import AlibabaSmsClient, AlibabaSmsCredentials
from devstack.fakes.alibaba_sms import FakeAlibabaSms
from devstack.seed import (
    DEMO_SIGN_NAME,
    ChannelSetup,
    demo_alibaba_templates,
)

MAINLAND = Contact(phone="+8613800138000")
SINGAPORE = Contact(phone="+6591234567")
CONFIRMATION = Outgoing(
    kind="confirmation",
    text="王女士，您已预约 花漾静安店 剪发，11月25日 15:00。",
    subject="花漾静安店",
    values={
        "member_name": "王女士",
        "store_name": "花漾静安店",
        "service_name": "剪发",
        "start_local": "11月25日 15:00",
    },
)


class RecordingSink:
    def __init__(self) -> None:
        self.receipts: list[ProviderReceipt] = []

    def apply(self, receipt: ProviderReceipt) -> str:
        duplicate = receipt in self.receipts
        self.receipts.append(receipt)
        return "duplicate" if duplicate else "applied"


@pytest.fixture
def sink(harness: Any) -> RecordingSink:
    recording = RecordingSink()
    harness.container.receipt_sink = recording
    harness.container.__dict__.pop("sms_receipts", None)
    return recording


def _store_sms(harness: Any) -> Any:
    store = harness.container.bookings.store("sh-jingan")
    return harness.container.channels.for_store(store)["sms"]


def _push(harness: Any, body: Any, token: str, chain: str = "demo-chain") -> tuple[int, Any]:
    response = harness.client.http.post(
        f"/v1/receipts/alibaba-sms/{chain}?receipt_token={token}",
        headers={"Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    return response.status_code, json.loads(response.body)


def test_a_mainland_member_gets_the_registered_template_through_alibaba(harness: Any, alibaba: Any) -> None:
    fake, _ = alibaba
    sms = _store_sms(harness)
    assert provider_of(sms, MAINLAND) == "alibaba_sms"
    biz_id = send_outgoing(sms, MAINLAND, CONFIRMATION)
    [sent] = fake.sent
    assert sent.biz_id == biz_id and sent.phone == "13800138000"
    assert (sent.sign_name, sent.template_code) == (DEMO_SIGN_NAME, "SMS_460100001")
    assert sent.template_param == {
        "name": "王女士",
        "store": "花漾静安店",
        "service": "剪发",
        "time": "11月25日 15:00",
    }
    assert harness.sms() == []  # never by SNS


def test_other_countries_still_go_by_sns(harness: Any, alibaba: Any) -> None:
    fake, _ = alibaba
    sms = _store_sms(harness)
    assert provider_of(sms, SINGAPORE) == "sns"
    send_outgoing(sms, SINGAPORE, CONFIRMATION)
    assert harness.sms() == [("+6591234567", CONFIRMATION.text)]
    assert fake.sent == []


def test_a_chain_without_sms_settings_keeps_sns_for_every_number(harness: Any) -> None:
    sms = _store_sms(harness)
    assert provider_of(sms, MAINLAND) == "sns"
    sms.send(MAINLAND, "hi", "s")
    assert harness.sms() == [("+8613800138000", "hi")]


def test_the_base_sms_channel_stays_sns(harness: Any, alibaba: Any) -> None:
    assert provider_of(harness.container.channels.base["sms"], MAINLAND) == "sns"


def test_sms_reports_become_receipts_of_the_sent_messages(
    harness: Any, alibaba: Any, sink: RecordingSink
) -> None:
    fake, token = alibaba
    sms = _store_sms(harness)
    delivered = send_outgoing(sms, MAINLAND, CONFIRMATION)
    failed = send_outgoing(sms, Contact(phone="+8613900139000"), CONFIRMATION)
    fake.undeliverable.add("13900139000")
    reports = fake.reports()
    assert _push(harness, reports, token) == (200, {"code": 0, "msg": "成功"})
    assert [(r.provider, r.provider_message_id, r.status, r.code) for r in sink.receipts] == [
        ("alibaba_sms", delivered, "delivered", "DELIVERED"),
        ("alibaba_sms", failed, "failed", "MN:0001"),
    ]
    # Alibaba retries a push it thinks failed: the same reports again are still answered 200.
    assert _push(harness, reports, token)[0] == 200
    assert len(sink.receipts) == 4


@pytest.mark.parametrize("token", ["", "not-the-token"])
def test_a_push_without_the_chains_token_is_refused(
    harness: Any, alibaba: Any, sink: RecordingSink, token: str
) -> None:
    status, body = _push(harness, [], token)
    assert status == 401 and body["error"] == "unauthorized"
    assert sink.receipts == []


def test_another_chains_token_does_not_open_this_chain(
    harness: Any, alibaba: Any, sink: RecordingSink
) -> None:
    _, token = alibaba
    assert _push(harness, [], token, chain="other-chain")[0] == 401


def test_a_malformed_push_changes_nothing_and_names_the_field(
    harness: Any, alibaba: Any, sink: RecordingSink
) -> None:
    _, token = alibaba
    good = {"biz_id": "1^0", "success": True, "report_time": "2026-11-22 10:00:00"}
    status, body = _push(harness, [good, {"success": True, "report_time": "2026-11-22 10:00:00"}], token)
    assert status == 400 and body["fields"] == {"body": "[1].biz_id is required"}
    assert sink.receipts == []


def test_query_send_details_reads_what_the_push_would_have_said(harness: Any, alibaba: Any) -> None:
    fake, _ = alibaba
    sms = _store_sms(harness)
    biz_id = send_outgoing(sms, MAINLAND, CONFIRMATION)
    fake.reports()
    sent_on = datetime.fromtimestamp(fake.sent[0].sent_at, timezone(timedelta(hours=8))).strftime("%Y%m%d")
    secret = harness.container.sms_secrets.read("demo-chain", "alibaba_sms")
    client = AlibabaSmsClient(
        AlibabaSmsCredentials(
            secret["access_key_id"], secret["access_key_secret"], endpoint=secret["endpoint"]
        ),
        transport=harness.container.provider_http.request,
        wall=harness.container.wall_clock.timestamp,
    )
    [receipt] = client.query_send_details(MAINLAND.phone, biz_id, sent_on)
    assert (receipt.provider_message_id, receipt.status) == (biz_id, "delivered")


def test_tencent_status_callbacks_become_receipts(harness: Any, sink: RecordingSink) -> None:
    from devstack.seed import put_secret

    put_secret(
        harness.session.client("secretsmanager"),
        f"chairside/{harness.env['CHAIRSIDE_STAGE']}/chains/demo-chain/tencent_sms",
        json.dumps(
            {"secret_id": "AKID-x", "secret_key": "k", "sdk_app_id": "1400006666", "receipt_token": "tt"}
        ),
    )
    report = {
        "user_receive_time": "2026-11-22 10:00:03",
        "nationcode": "86",
        "mobile": "13800138000",
        "report_status": "FAIL",
        "errmsg": "MK:0005",
        "description": "用户短信接收失败",
        "sid": "5000:1045710669157053657849499619",
    }
    response = harness.client.http.post(
        "/v1/receipts/tencent-sms/demo-chain?receipt_token=tt",
        headers={"Content-Type": "application/json"},
        body=json.dumps([report], ensure_ascii=False).encode(),
    )
    assert (response.status_code, json.loads(response.body)) == (200, {"result": 0, "errmsg": "OK"})
    [receipt] = sink.receipts
    assert (receipt.provider, receipt.provider_message_id, receipt.status, receipt.code) == (
        "tencent_sms",
        "5000:1045710669157053657849499619",
        "failed",
        "MK:0005",
    )
    # The Alibaba token does not open the Tencent route, nor the other way round.
    wrong = harness.client.http.post(
        "/v1/receipts/alibaba-sms/demo-chain?receipt_token=tt",
        headers={"Content-Type": "application/json"},
        body=b"[]",
    )
    assert wrong.status_code == 401


def test_the_fake_pushes_sms_reports_over_http_as_alibaba_documents() -> None:
    """The fake's push (what `POST <fake>/_fake/push-reports` does for the local stack): a JSON array POSTed to
    the receiving address, answered {"code": 0}."""
    import urllib.request

    from tests.support.receiver import capturing_receiver

    with capturing_receiver({"code": 0, "msg": "成功"}) as (base_url, received):
        setup = ChannelSetup()
        with FakeAlibabaSms(
            {setup.alibaba_access_key_id: setup.alibaba_access_key_secret},
            sign_names={DEMO_SIGN_NAME},
            templates=demo_alibaba_templates(),
        ) as fake:
            from chalicelib.channels.http import ProviderHttp

            client = AlibabaSmsClient(
                AlibabaSmsCredentials(
                    setup.alibaba_access_key_id, setup.alibaba_access_key_secret, endpoint=fake.base_url
                ),
                transport=ProviderHttp().request,
                wall=lambda: 1_795_000_000.0,
            )
            biz_id = client.send_sms(
                "+8613800138000", DEMO_SIGN_NAME, "SMS_460100006", {"name": "a", "store": "b"}, "o1"
            )
            fake.report_url = f"{base_url}/v1/receipts/alibaba-sms/demo-chain"
            request = urllib.request.Request(fake.base_url + "/_fake/push-reports", data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert json.loads(answer.read())["pushed_to_status"] == 200
    [(content_type, raw)] = received
    body = json.loads(raw)
    assert content_type == "application/json"
    [report] = body
    assert set(report) == {
        "phone_number",
        "send_time",
        "report_time",
        "success",
        "err_code",
        "err_msg",
        "sms_size",
        "biz_id",
        "out_id",
    }
    assert (report["biz_id"], report["success"], report["err_code"], report["out_id"]) == (
        biz_id,
        True,
        "DELIVERED",
        "o1",
    )


def test_injected_sms_faults_reach_the_mainland_provider(harness: Any, alibaba: Any) -> None:
    """The local stack's fault injection ("sms", as `POST /v1/_local/faults` sets it) fails a templated +86 send
    before Alibaba is called; the next send goes through."""
    from chalicelib.errors import PermanentSendError

    fake, _ = alibaba
    sms = _store_sms(harness)
    harness.faults.add("sms", permanent=1)
    with pytest.raises(PermanentSendError, match="injected permanent failure"):
        send_outgoing(sms, MAINLAND, CONFIRMATION)
    assert fake.sent == []
    send_outgoing(sms, MAINLAND, CONFIRMATION)
    assert len(fake.sent) == 1
    assert provider_of(sms, MAINLAND) == "alibaba_sms"


def test_an_sms_only_mainland_members_journey_goes_by_the_chains_provider_not_sns(
    harness: Any, alibaba: Any
) -> None:
    # No WeChat, no app: her routes are the base channels only, but +86 must still go by the chain's Alibaba.
    from chalicelib.dal.models import MessageItem
    from tests.support.builders import SH_STORE, booking_event

    fake, _ = alibaba
    harness.post(booking_event(event_id="evt-cn-only", member_id="m-cn", phone="+8613800138000"))
    harness.pump()

    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-cn")) if m.kind == "confirmation"]
    assert (sent.status, sent.channel, sent.provider) == ("sent", "sms", "alibaba_sms")
    assert [s.phone for s in fake.sent] == ["13800138000"]
    assert harness.sms() == []


# --- a receipt check asks Alibaba (QuerySendDetails) before it falls back -------------------------------------
def _mainland_booking_with_email(harness: Any, member: str) -> Any:
    from tests.support.builders import booking_event
    from tests.support.receipt_checks import receipt_checks, sms_waits_for_receipts

    sms_waits_for_receipts()
    harness.post(
        booking_event(
            event_id=f"evt-{member}", member_id=member, phone="+8613800138000", email="li@example.com"
        )
    )
    harness.pump()
    [(check, _)] = receipt_checks()
    assert check["waited_on"] == "sms"


def _her_confirmation(member: str) -> Any:
    from chalicelib.dal.models import MessageItem
    from tests.support.builders import SH_STORE

    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, member)) if m.kind == "confirmation"]
    return sent


def test_a_lost_sms_report_is_pulled_when_the_check_comes_and_nothing_more_is_sent(
    harness: Any, alibaba: Any
) -> None:
    from tests.support.receipt_checks import let_delays_pass, ses_sent

    fake, _ = alibaba
    _mainland_booking_with_email(harness, "m-pull")
    fake.reports()  # the operator reported delivery; the SmsReport push never arrived

    let_delays_pass(harness, 600)

    message = _her_confirmation("m-pull")
    assert (message.status, message.channel, message.tried_channels) == ("delivered", "sms", ["sms"])
    assert ses_sent(harness) == []
    assert [action for _, action, _ in fake.requests] == ["SendSms", "QuerySendDetails"]


def test_a_pulled_failure_falls_back_to_email_as_a_permanent_failure(harness: Any, alibaba: Any) -> None:
    from tests.support.receipt_checks import let_delays_pass, ses_sent

    fake, _ = alibaba
    fake.undeliverable.add("13800138000")
    _mainland_booking_with_email(harness, "m-pull-failed")
    fake.reports()

    let_delays_pass(harness, 600)

    message = _her_confirmation("m-pull-failed")
    assert (message.status, message.channel, message.route_reason) == ("sent", "email", "fallback_permanent")
    assert message.error == f"sms failed: alibaba_sms: {fake.undeliverable_code}"
    assert len(ses_sent(harness)) == 1 and len(fake.sent) == 1


def test_no_report_yet_falls_back_as_no_receipt(harness: Any, alibaba: Any) -> None:
    from tests.support.receipt_checks import let_delays_pass, ses_sent

    fake, _ = alibaba
    _mainland_booking_with_email(harness, "m-pull-silent")

    let_delays_pass(harness, 600)

    message = _her_confirmation("m-pull-silent")
    assert (message.status, message.channel, message.route_reason) == ("sent", "email", "fallback_no_receipt")
    assert len(ses_sent(harness)) == 1
    assert [action for _, action, _ in fake.requests] == ["SendSms", "QuerySendDetails"]
