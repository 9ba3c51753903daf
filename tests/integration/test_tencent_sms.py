"""The Tencent Cloud SMS client against a local fake that checks TC3-HMAC-SHA256 from the raw request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.channels.http import ProviderHttp
from chalicelib.channels.sms_templates import SmsTemplates
from chalicelib.channels.sms_tencent import (
    TencentSms,
    TencentSmsClient,
    TencentSmsCredentials,
    parse_status_callback,
)
from chalicelib.errors import PermanentSendError, TransientSendError
from devstack.fakes.tencent_sms import FakeTencentSms

SECRET_ID, SECRET_KEY, APP, SIGN = "AKID-test", "tc-secret-key", "1400006666", "丽人美发"
NOW = datetime(2026, 11, 22, 23, 59, 30, tzinfo=UTC).timestamp()
TEMPLATES = SmsTemplates.parse(
    "tencent_sms", {"reminder_24h": {"code": "1110", "params": {"1": "member_name", "2": "time_local"}}}
)
MEMBER = Contact(phone="+8613800138000")
REMINDER = Outgoing(
    kind="reminder_24h", text="x", subject=SIGN, values={"member_name": "王女士", "time_local": "15:00"}
)


@pytest.fixture
def fake() -> Iterator[FakeTencentSms]:
    with FakeTencentSms(
        {SECRET_ID: SECRET_KEY}, sdk_app_id=APP, sign_names={SIGN}, templates={"1110": 2}
    ) as f:
        yield f


def _channel(fake: FakeTencentSms, key: str = SECRET_KEY) -> TencentSms:
    client = TencentSmsClient(
        TencentSmsCredentials(SECRET_ID, key, APP, endpoint=fake.base_url),
        transport=ProviderHttp().request,
        wall=lambda: NOW,
    )
    return TencentSms(client, SIGN, TEMPLATES)


def test_a_reminder_goes_signed_as_the_template_with_positional_values(fake: FakeTencentSms) -> None:
    serial = _channel(fake).send_outgoing(MEMBER, REMINDER)
    [sent] = fake.sent
    assert serial == sent["serial"] and serial.startswith("5000:")
    assert sent["body"]["PhoneNumberSet"] == ["+8613800138000"]
    assert (sent["body"]["TemplateId"], sent["params"]) == ("1110", ["王女士", "15:00"])


def test_a_wrong_key_fails_the_signature_check_and_is_permanent(fake: FakeTencentSms) -> None:
    with pytest.raises(PermanentSendError, match="AuthFailure.SignatureFailure"):
        _channel(fake, "wrong").send_outgoing(MEMBER, REMINDER)
    assert fake.sent == []


def test_a_frequency_limit_is_transient_and_a_blacklisted_number_permanent(fake: FakeTencentSms) -> None:
    fake.fail_numbers["+8613800138000"] = "LimitExceeded.PhoneNumberOneHourLimit"
    with pytest.raises(TransientSendError):
        _channel(fake).send_outgoing(MEMBER, REMINDER)
    fake.fail_numbers["+8613800138000"] = "FailedOperation.PhoneNumberInBlacklist"
    with pytest.raises(PermanentSendError):
        _channel(fake).send_outgoing(MEMBER, REMINDER)


def test_a_status_callback_becomes_receipts(fake: FakeTencentSms) -> None:
    serial = _channel(fake).send_outgoing(MEMBER, REMINDER)
    [receipt] = parse_status_callback(fake.status_reports())
    assert (receipt.provider, receipt.provider_message_id, receipt.status, receipt.code) == (
        "tencent_sms",
        serial,
        "delivered",
        "DELIVRD",
    )
    assert receipt.at == datetime.fromtimestamp(NOW, UTC)
