"""Email that behaves like email (issue 15 §5), on moto's SES v2.

moto accepts sesv2.send_email and keeps the message (its v1 backend), but ignores the configuration set and the
headers; what SES is asked is read from the request itself, with a botocore hook on the real client.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.channels.base import Contact, Outgoing, provider_of, send_outgoing
from chalicelib.channels.email import SesEmail, html_body
from chalicelib.errors import PermanentSendError
from chalicelib.services.unsubscribe import UnsubscribeLinks

SENDER = "care@chairside.example"
CONFIG_SET = "chairside-test-email"
BASE = "https://book.chairside.example"


@pytest.fixture
def ses(aws) -> tuple[Any, list[dict[str, Any]]]:
    """A real sesv2 client on mock_aws, and the params of every SendEmail it made."""
    aws.client("ses").verify_email_identity(EmailAddress=SENDER)
    client = aws.client("sesv2")
    client.create_configuration_set(ConfigurationSetName=CONFIG_SET)
    requests: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: requests.append(dict(params))
    )
    return client, requests


@pytest.fixture
def links() -> UnsubscribeLinks:
    return UnsubscribeLinks(lambda: b"k" * 32, BASE, "unsubscribe@chairside.example")


def _channel(ses, links, suppressed=None) -> SesEmail:
    client, _ = ses
    return SesEmail(client, SENDER, configuration_set=CONFIG_SET, unsubscribe=links, suppressed=suppressed)


def _sent(aws) -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][aws.region_name].sent_messages)


REMINDER = Outgoing(
    kind="reminder_24h",
    text="王女士您好：\n明天 15:00 在静安店做美甲 <法式>。\n\n如需改期请回复本邮件。",
    subject="Demo Salon 静安店",
    locale="zh-CN",
)


def test_a_transactional_email_goes_with_the_configuration_set_and_both_bodies(aws, ses, links):
    channel = _channel(ses, links)

    message_id = send_outgoing(channel, Contact(email="wang@example.com"), REMINDER)

    (request,) = ses[1]
    assert request["ConfigurationSetName"] == CONFIG_SET
    assert request["FromEmailAddress"] == SENDER
    assert request["Destination"] == {"ToAddresses": ["wang@example.com"]}
    simple = request["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Demo Salon 静安店"
    assert simple["Body"]["Text"]["Data"] == REMINDER.text
    assert (
        "<p>王女士您好：<br>\n明天 15:00 在静安店做美甲 &lt;法式&gt;。</p>" in simple["Body"]["Html"]["Data"]
    )
    assert "<p>如需改期请回复本邮件。</p>" in simple["Body"]["Html"]["Data"]
    assert "Headers" not in simple  # no List-Unsubscribe on a reminder
    (sent,) = _sent(aws)
    assert message_id == sent.id
    assert provider_of(channel, Contact(email="wang@example.com")) == "ses"


def test_marketing_mail_carries_one_click_unsubscribe_headers_and_link(aws, ses, links):
    channel = _channel(ses, links)
    care = Outgoing(
        kind="care_birthday",
        text="生日快乐！本月到店护理享八折。",
        subject="Demo Salon",
        locale="zh-CN",
        marketing=True,
        values={"chain_id": "demo-chain", "member_id": "m-1"},
    )

    send_outgoing(channel, Contact(email="wang@example.com"), care)

    simple = ses[1][0]["Content"]["Simple"]
    headers = {h["Name"]: h["Value"] for h in simple["Headers"]}
    url = links.url("demo-chain", "m-1")
    token = url.rsplit("/", 1)[1]
    assert headers == {
        "List-Unsubscribe": f"<{url}>, <mailto:unsubscribe@chairside.example?subject=unsubscribe%20{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert simple["Body"]["Text"]["Data"].endswith(f"不想再收到这类邮件？点此退订： {url}")
    assert f'<a href="{url}">' in simple["Body"]["Html"]["Data"]
    assert links.read(token).member_id == "m-1"


def test_marketing_mail_without_its_member_is_refused_not_sent_without_unsubscribe(aws, ses, links):
    channel = _channel(ses, links)

    with pytest.raises(PermanentSendError):
        channel.send_outgoing(
            Contact(email="wang@example.com"),
            Outgoing(kind="campaign", text="hi", subject="s", marketing=True),
        )
    assert ses[1] == []


def test_a_suppressed_address_is_not_reachable(aws, ses, links):
    channel = _channel(ses, links, suppressed=lambda address: address == "gone@example.com")

    assert channel.can_reach(Contact(email="wang@example.com"))
    assert not channel.can_reach(Contact(email="gone@example.com"))
    assert not channel.can_reach(Contact(phone="+8613800000000"))


def test_the_html_part_escapes_markup_and_keeps_the_locale():
    page = html_body('<script>alert("x")</script> & co', "en", "Tom & Jerry <3")

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert '<html lang="en">' in page
    assert "<title>Tom &amp; Jerry &lt;3</title>" in page


def test_the_apps_email_channel_sends_marketing_with_its_headers_through_fault_injection(harness):
    """The container's email channel (wrapped for fault injection, as on the local stack) keeps the rich path."""
    container = harness.container
    container.__dict__.pop("channels", None)
    container.unsubscribe_links = UnsubscribeLinks(lambda: b"k" * 32, BASE)  # the stack sets its public URL
    email = container.channels.base["email"]
    requests: list[dict[str, Any]] = []
    client = container.client("sesv2", container.settings.ses_region)
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: requests.append(params)
    )
    care = Outgoing(
        kind="care_birthday",
        text="Happy birthday!",
        subject="Demo Salon",
        locale="en",
        marketing=True,
        values={"chain_id": "demo-chain", "member_id": "m-1"},
    )

    send_outgoing(email, Contact(email="wang@example.com"), care)

    assert provider_of(email, Contact(email="wang@example.com")) == "ses"
    (request,) = requests
    assert (
        request["ConfigurationSetName"]
        == container.settings.email_configuration_set
        == "chairside-test-email"
    )
    names = [h["Name"] for h in request["Content"]["Simple"]["Headers"]]
    assert names == ["List-Unsubscribe", "List-Unsubscribe-Post"]


def test_marketing_mail_is_refused_while_there_is_no_public_url_for_its_link(aws, ses):
    channel = SesEmail(
        ses[0], SENDER, configuration_set=CONFIG_SET, unsubscribe=UnsubscribeLinks(lambda: b"k", "")
    )

    with pytest.raises(PermanentSendError):
        channel.send_outgoing(
            Contact(email="wang@example.com"),
            Outgoing(
                kind="campaign",
                text="hi",
                subject="s",
                marketing=True,
                values={"chain_id": "c", "member_id": "m"},
            ),
        )
    assert ses[1] == []
