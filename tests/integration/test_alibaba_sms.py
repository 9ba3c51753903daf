"""The Alibaba Cloud SMS client against the local fake speaking dysmsapi's documented format (over real HTTP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.channels.base import Contact, Outgoing, send_outgoing
from chalicelib.channels.http import ProviderHttp
from chalicelib.channels.sms_alibaba import AlibabaSms, AlibabaSmsClient, AlibabaSmsCredentials
from chalicelib.channels.sms_templates import SmsTemplates
from chalicelib.errors import PermanentSendError, TransientSendError
from devstack.fakes.alibaba_sms import FakeAlibabaSms

KEY_ID, KEY_SECRET, SIGN = "LTAI-test-key", "test-key-secret", "丽人美发"
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC).timestamp()
TEMPLATES = SmsTemplates.parse(
    "alibaba_sms",
    {"confirmation": {"code": "SMS_4600001", "params": {"name": "member_name", "time": "start_local"}}},
)
MEMBER = Contact(phone="+8613800138000")


@pytest.fixture
def fake() -> Iterator[FakeAlibabaSms]:
    with FakeAlibabaSms(
        {KEY_ID: KEY_SECRET},
        sign_names={SIGN},
        templates={"SMS_4600001": ["name", "time"]},
        clock=lambda: NOW,
    ) as server:
        yield server


def _client(fake: FakeAlibabaSms, secret: str = KEY_SECRET) -> AlibabaSmsClient:
    return AlibabaSmsClient(
        AlibabaSmsCredentials(KEY_ID, secret, endpoint=fake.base_url),
        transport=ProviderHttp().request,
        wall=lambda: NOW,
    )


def _confirmation(**values: str) -> Outgoing:
    return Outgoing(
        kind="confirmation",
        text="不该发出的自由文本",
        subject=SIGN,
        values={"member_name": "王女士", "start_local": "11月25日 15:00", **values},
    )


def test_a_confirmation_goes_as_the_registered_template_with_its_variables(fake: FakeAlibabaSms) -> None:
    channel = AlibabaSms(_client(fake), SIGN, TEMPLATES)
    biz_id = send_outgoing(channel, MEMBER, _confirmation())
    [sent] = fake.sent
    assert biz_id == sent.biz_id and biz_id.endswith("^0")
    assert sent.phone == "13800138000"  # the domestic format, without +86
    assert (sent.sign_name, sent.template_code) == (SIGN, "SMS_4600001")
    assert sent.template_param == {"name": "王女士", "time": "11月25日 15:00"}
    assert sent.params["Timestamp"] == "2026-11-22T02:00:00Z" and sent.params["Format"] == "JSON"


def test_a_wrong_secret_is_refused_by_the_fake_and_permanent(fake: FakeAlibabaSms) -> None:
    with pytest.raises(PermanentSendError, match="SignatureDoesNotMatch"):
        AlibabaSms(_client(fake, "not-the-secret"), SIGN, TEMPLATES).send_outgoing(MEMBER, _confirmation())
    assert fake.sent == []


def test_an_illegal_number_is_permanent(fake: FakeAlibabaSms) -> None:
    with pytest.raises(PermanentSendError, match="isv.MOBILE_NUMBER_ILLEGAL"):
        AlibabaSms(_client(fake), SIGN, TEMPLATES).send_outgoing(Contact(phone="+86123"), _confirmation())


def test_business_limit_control_is_transient(fake: FakeAlibabaSms) -> None:
    fake.fail_numbers["13800138000"] = "isv.BUSINESS_LIMIT_CONTROL"
    with pytest.raises(TransientSendError, match="isv.BUSINESS_LIMIT_CONTROL"):
        AlibabaSms(_client(fake), SIGN, TEMPLATES).send_outgoing(MEMBER, _confirmation())


def test_a_template_missing_a_variable_at_the_provider_is_permanent(fake: FakeAlibabaSms) -> None:
    fake.templates["SMS_4600001"] = ["name", "time", "store"]  # registered with one more variable than mapped
    with pytest.raises(PermanentSendError, match="isv.TEMPLATE_MISSING_PARAMETERS"):
        AlibabaSms(_client(fake), SIGN, TEMPLATES).send_outgoing(MEMBER, _confirmation())


def test_free_text_is_never_sent(fake: FakeAlibabaSms) -> None:
    with pytest.raises(PermanentSendError, match="free text"):
        AlibabaSms(_client(fake), SIGN, TEMPLATES).send(MEMBER, "hello", SIGN)
    assert fake.requests == []


def test_an_unreachable_provider_is_transient() -> None:
    with FakeAlibabaSms({KEY_ID: KEY_SECRET}) as gone:
        url = gone.base_url
    client = AlibabaSmsClient(
        AlibabaSmsCredentials(KEY_ID, KEY_SECRET, endpoint=url),
        transport=ProviderHttp().request,
        wall=time.time,
    )
    with pytest.raises(TransientSendError):
        client.send_sms("+8613800138000", SIGN, "SMS_4600001", {"name": "a", "time": "b"}, None)


def test_each_request_has_a_fresh_nonce(fake: FakeAlibabaSms) -> None:
    channel = AlibabaSms(_client(fake), SIGN, TEMPLATES)
    channel.send_outgoing(MEMBER, _confirmation())
    channel.send_outgoing(MEMBER, _confirmation())
    assert len({s.params["SignatureNonce"] for s in fake.sent}) == 2


def test_query_send_details_is_the_pull_fallback(fake: FakeAlibabaSms) -> None:
    client = _client(fake)
    biz_id = AlibabaSms(client, SIGN, TEMPLATES).send_outgoing(MEMBER, _confirmation())
    assert client.query_send_details("+8613800138000", biz_id, "20261122") == []  # no report yet
    fake.undeliverable.add("13800138000")
    fake.reports()
    [receipt] = client.query_send_details("+8613800138000", biz_id, "20261122")
    assert (receipt.provider, receipt.provider_message_id, receipt.status, receipt.code) == (
        "alibaba_sms",
        biz_id,
        "failed",
        "MN:0001",
    )
    assert receipt.at == datetime.fromtimestamp(NOW, UTC)
