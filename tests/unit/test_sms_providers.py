"""Mainland SMS: Alibaba's signature v1 against its documented example, template mapping, the country pick."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.channels.base import Contact, Outgoing, provider_of
from chalicelib.channels.sms_alibaba import parse_sms_report, signature, string_to_sign
from chalicelib.channels.sms_by_country import SmsByCountry
from chalicelib.channels.sms_templates import SmsTemplates, pick_provider, routes_of
from chalicelib.errors import PermanentSendError

# Alibaba Cloud SMS's documented signing example ("HTTP协议及签名", dysmsapi 2017-05-25): AccessKeyId testId,
# AccessKeySecret testSecret, a GET SendSms; the documented Signature is zJDF+Lrzhj/ThnlvIToysFRq6t4=.
DOCUMENTED = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}


def test_the_signature_matches_alibabas_documented_example() -> None:
    assert signature("testSecret", "GET", DOCUMENTED) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_the_string_to_sign_percent_encodes_twice_and_sorts() -> None:
    to_sign = string_to_sign("GET", {**DOCUMENTED, "Signature": "ignored"})
    assert to_sign.startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML")
    assert "SignName%3D%25E9%2598%25BF" in to_sign  # UTF-8 bytes, encoded, then the % encoded again
    assert "Timestamp%3D2017-07-12T02%253A42%253A19Z" in to_sign
    assert "Signature%3D" not in to_sign


def test_space_and_star_are_encoded_as_alibaba_says() -> None:
    assert "%2520" in string_to_sign("POST", {"A": "a b"}) and "%252A" in string_to_sign("POST", {"A": "*"})
    assert "~" in string_to_sign("POST", {"A": "~"})


TEMPLATES = {
    "confirmation": {"code": "SMS_4600001", "params": {"name": "member_name", "time": "start_local"}},
}


def _outgoing(kind: str = "confirmation", **values: str) -> Outgoing:
    return Outgoing(kind=kind, text="free text", subject="丽人美发", values=values)


def test_a_kind_maps_to_its_registered_template_and_variables() -> None:
    templates = SmsTemplates.parse("alibaba_sms", TEMPLATES)
    template, values = templates.fill(
        _outgoing(member_name="王女士", start_local="11月25日 15:00", store_name="x")
    )
    assert template.code == "SMS_4600001"
    assert values == [("name", "王女士"), ("time", "11月25日 15:00")]


def test_a_kind_without_a_template_is_permanent_never_free_text() -> None:
    templates = SmsTemplates.parse("alibaba_sms", TEMPLATES)
    with pytest.raises(PermanentSendError, match="no registered template for care_birthday"):
        templates.fill(_outgoing("care_birthday", member_name="王女士"))


def test_a_missing_value_is_permanent() -> None:
    with pytest.raises(PermanentSendError, match="start_local"):
        SmsTemplates.parse("alibaba_sms", TEMPLATES).fill(_outgoing(member_name="王女士"))


@pytest.mark.parametrize(
    "raw",
    [
        {"confirmation": {"params": {}}},
        {"confirmation": {"code": "SMS_1", "params": {"name": "member_phone"}}},
        {"confirmation": {"code": "SMS_1", "params": ["member_name"]}},
        ["confirmation"],
    ],
)
def test_malformed_template_settings_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        SmsTemplates.parse("alibaba_sms", raw)


def test_the_default_routes_send_mainland_numbers_by_alibaba_and_the_rest_by_sns() -> None:
    routes = routes_of(None)
    assert pick_provider(routes, "+8613800000000") == "alibaba_sms"
    assert pick_provider(routes, "+6591234567") == "sns"
    assert pick_provider(routes, "+85291234567") == "sns"  # Hong Kong is not +86


def test_a_chain_overrides_routes_and_the_longest_prefix_wins() -> None:
    routes = routes_of({"routes": {"+86": "tencent_sms", "+8613": "alibaba_sms", "*": "sns"}})
    assert pick_provider(routes, "+8613800000000") == "alibaba_sms"
    assert pick_provider(routes, "+8615900000000") == "tencent_sms"


@pytest.mark.parametrize("routes", [{"86": "alibaba_sms"}, {"+86": ""}, ["+86"]])
def test_bad_routes_are_refused(routes: object) -> None:
    with pytest.raises(ValueError):
        routes_of({"routes": routes})


class _Recording:
    name = "sms"

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.sent: list[tuple[str, str]] = []

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.phone)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        self.sent.append((contact.phone or "", text))
        return f"{self.provider}-id"


def test_the_sms_channel_sends_through_the_country_provider_and_names_it() -> None:
    sns, alibaba = _Recording("sns"), _Recording("alibaba_sms")
    channel = SmsByCountry(routes_of(None), {"sns": sns, "alibaba_sms": alibaba})
    mainland, singapore = Contact(phone="+8613800000000"), Contact(phone="+6591234567")
    assert provider_of(channel, mainland) == "alibaba_sms"
    assert provider_of(channel, singapore) == "sns"
    channel.send(singapore, "hi", "s")
    assert sns.sent == [("+6591234567", "hi")] and alibaba.sent == []


def test_a_number_whose_provider_is_not_configured_cannot_be_reached() -> None:
    channel = SmsByCountry(routes_of(None), {"sns": _Recording("sns")})
    mainland = Contact(phone="+8613800000000")
    assert channel.can_reach(mainland) is False
    with pytest.raises(PermanentSendError, match="alibaba_sms is not configured"):
        channel.send_outgoing(mainland, _outgoing())


def test_an_sms_report_becomes_receipts_in_utc() -> None:
    receipts = parse_sms_report(
        [
            {
                "phone_number": "1381111****",
                "send_time": "2017-01-01 00:00:00",
                "report_time": "2017-01-01 08:00:05",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": "12345^0",
                "out_id": "67890",
            },
            {
                "phone_number": "1381111****",
                "send_time": "2017-01-01 00:00:00",
                "report_time": "2017-01-01 00:00:09",
                "success": False,
                "err_code": "MN:0001",
                "err_msg": "空号",
                "sms_size": "1",
                "biz_id": "12346^0",
                "out_id": "",
            },
        ]
    )
    assert [(r.provider, r.provider_message_id, r.status, r.code) for r in receipts] == [
        ("alibaba_sms", "12345^0", "delivered", "DELIVERED"),
        ("alibaba_sms", "12346^0", "failed", "MN:0001"),
    ]
    assert receipts[0].at == datetime(2017, 1, 1, 0, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"biz_id": "1"},
        [{"success": True, "report_time": "2017-01-01 00:00:00"}],
        [{"biz_id": "1", "success": "yes", "report_time": "2017-01-01 00:00:00"}],
        [{"biz_id": "1", "success": True, "report_time": "yesterday"}],
    ],
)
def test_a_malformed_sms_report_is_refused(body: object) -> None:
    with pytest.raises(ValueError):
        parse_sms_report(body)


def _secret(provider: str) -> dict | None:
    return {
        "alibaba_sms": {"access_key_id": "LTAI-x", "access_key_secret": "s", "receipt_token": "t"},
        "tencent_sms": {"secret_id": "AKID-x", "secret_key": "k", "sdk_app_id": 1400006666},
    }.get(provider)


def _chain_sms(settings: object, secret=_secret) -> SmsByCountry:
    from chalicelib.channels.sms_by_country import chain_sms_channel

    return chain_sms_channel(settings, secret, _Recording("sns"), transport=None, wall=lambda: 0.0)  # type: ignore[arg-type]


def test_the_demo_chains_settings_build_an_alibaba_channel_for_mainland_numbers() -> None:
    from devstack.seed import DEMO_SMS_SETTINGS

    channel = _chain_sms(DEMO_SMS_SETTINGS)
    assert channel.can_reach(Contact(phone="+8613800000000"))
    assert provider_of(channel, Contact(phone="+8613800000000")) == "alibaba_sms"


def test_the_demo_chain_registers_a_template_for_every_journey_kind_but_the_review_request() -> None:
    """A +86 SMS-only member gets every step by Alibaba but the review request (promotional content under the
    operators' rules: it goes by another channel)."""
    from chalicelib.journeys.plan import load_journey
    from devstack.seed import DEMO_SMS_SETTINGS

    kinds = {step.kind for step in load_journey().steps}
    registered = set(DEMO_SMS_SETTINGS["alibaba_sms"]["templates"])
    assert kinds - registered == {"review_request"}
    assert registered <= kinds


def test_a_provider_without_credentials_or_with_bad_templates_is_left_out() -> None:
    settings = {"routes": {"+86": "tencent_sms"}, "tencent_sms": {"sign_name": "x", "templates": {"k": {}}}}
    assert not _chain_sms(settings).can_reach(Contact(phone="+8613800000000"))
    assert not _chain_sms({"alibaba_sms": {"sign_name": "x"}}, secret=lambda p: None).can_reach(
        Contact(phone="+8613800000000")
    )
    assert _chain_sms({"alibaba_sms": {"sign_name": "x"}}).can_reach(Contact(phone="+8613800000000"))


def test_malformed_routes_fall_back_to_the_defaults() -> None:
    channel = _chain_sms({"routes": {"86": "sns"}, "alibaba_sms": {"sign_name": "x"}})
    assert provider_of(channel, Contact(phone="+8613800000000")) == "alibaba_sms"
    assert provider_of(channel, Contact(phone="+6591234567")) == "sns"


def test_receipts_are_expected_per_number_from_its_provider() -> None:
    from chalicelib.channels.base import reports_receipts
    from chalicelib.channels.sms import SnsSms

    quiet_sns = SnsSms(object(), receipts=False)  # no delivery-status logs: SNS never reports
    channel = SmsByCountry(routes_of(None), {"sns": quiet_sns, "alibaba_sms": _Recording("alibaba_sms")})
    assert reports_receipts(channel, Contact(phone="+8613800000000"))  # Alibaba's SmsReport
    assert not reports_receipts(channel, Contact(phone="+6591234567"))
    assert not reports_receipts(SmsByCountry(routes_of(None), {}), Contact(phone="+8613800000000"))
