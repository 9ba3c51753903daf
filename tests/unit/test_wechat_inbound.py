"""WeChat callbacks: the signature, and parsing the (untrusted) plaintext-mode message XML."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
from defusedxml import ElementTree as SafeElementTree

from chalicelib.channels.wechat import callback_xml as inbound
from chalicelib.channels.wechat.callback_xml import (
    MAX_BODY_BYTES,
    WeChatInbound,
    parse_message,
    verify_signature,
)
from chalicelib.errors import PayloadTooLarge, ValidationFailed

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _xml(msg_type: str, extra: str, *, msg_id: str | None = "1234567890123456") -> bytes:
    body = (
        "<xml>"
        "<ToUserName><![CDATA[gh_123456789abc]]></ToUserName>"
        "<FromUserName><![CDATA[oUser123456789]]></FromUserName>"
        "<CreateTime>1348831860</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{extra}" + (f"<MsgId>{msg_id}</MsgId>" if msg_id else "") + "</xml>"
    )
    return body.encode("utf-8")


# --- signature ---------------------------------------------------------------------------------


def test_signature_computed_from_the_algorithm():
    token, timestamp, nonce = "salon-token", "1795327200", "283746519"
    by_hand = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    # sorted lexically: the digits first, then the token
    assert "".join(sorted([token, timestamp, nonce])) == "1795327200283746519salon-token"
    assert verify_signature(token, by_hand, timestamp, nonce)
    assert verify_signature(token, by_hand.upper(), timestamp, nonce)


def test_signature_known_vector():
    # The vector wechatpy and its ports test against.
    assert verify_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")


@pytest.mark.parametrize(
    "token, signature, timestamp, nonce",
    [
        ("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", "1410685589", "test"),  # one digit off
        ("other", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test"),
        ("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685590", "test"),
        ("test", "", "1410685589", "test"),
        ("", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test"),
        ("test", "签名", "1410685589", "test"),
        ("test", None, "1410685589", "test"),
    ],
)
def test_signature_rejections(token, signature, timestamp, nonce):
    assert verify_signature(token, signature, timestamp, nonce) is False


def test_signature_is_compared_in_constant_time():
    with mock.patch.object(inbound.hmac, "compare_digest", wraps=inbound.hmac.compare_digest) as compare:
        verify_signature("test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "1410685589", "test")
    compare.assert_called_once()


# --- the documented message types --------------------------------------------------------------


def test_text_sample_file():
    message = parse_message((EVENTS / "wechat_text_message.xml").read_bytes())
    assert message == WeChatInbound(
        msg_id="24571839204715826",
        to_user="gh_3f2a9c1d7e5b",
        from_openid="oX7pQ5vK2mN8rT1yB4cD6fG9hJ0k",
        created_at=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
        msg_type="text",
        text="你好，我想把周六下午3点的剪发改到周日 💇‍♀️",
        raw_msg_type="text",
    )
    assert message.created_at.tzinfo is not None and message.created_at.utcoffset().total_seconds() == 0


def test_subscribe_sample_file():
    message = parse_message((EVENTS / "wechat_subscribe_event.xml").read_bytes())
    assert message.msg_type == "event"
    assert message.event == "subscribe"
    assert message.from_openid == "oX7pQ5vK2mN8rT1yB4cD6fG9hJ0k"
    assert message.text == "" and message.media_id is None
    assert message.msg_id.startswith("ev-")


def test_text():
    message = parse_message(_xml("text", "<Content><![CDATA[this is a test]]></Content>"))
    assert (message.msg_type, message.text, message.msg_id) == ("text", "this is a test", "1234567890123456")
    assert (message.to_user, message.from_openid) == ("gh_123456789abc", "oUser123456789")
    assert message.created_at == datetime.fromtimestamp(1348831860, UTC)


def test_cdata_with_emoji_chinese_and_markup_is_preserved_exactly():
    content = "  预约改到明天下午3点可以吗？🙏😊 <b>&amp; 'quotes' \"double\"\n第二行  "
    message = parse_message(_xml("text", f"<Content><![CDATA[{content}]]></Content>"))
    assert message.text == content


def test_entity_escaped_text_outside_cdata_is_decoded():
    message = parse_message(_xml("text", "<Content>fish &amp; chips &lt;3 洗剪吹</Content>"))
    assert message.text == "fish & chips <3 洗剪吹"


def test_image():
    message = parse_message(
        _xml(
            "image",
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>"
            "<MediaId><![CDATA[media_id_123]]></MediaId>",
        )
    )
    assert message.msg_type == "image"
    assert message.media_url == "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    assert message.media_id == "media_id_123"
    assert message.text == ""


def test_voice_with_recognition():
    message = parse_message(
        _xml(
            "voice",
            "<MediaId><![CDATA[media_id]]></MediaId>"
            "<Format><![CDATA[amr]]></Format>"
            "<Recognition><![CDATA[腾讯微信团队]]></Recognition>",
        )
    )
    assert message.msg_type == "voice"
    assert message.text == "腾讯微信团队"
    assert (message.media_id, message.media_format) == ("media_id", "amr")


def test_voice_without_recognition_has_empty_text():
    message = parse_message(
        _xml("voice", "<MediaId><![CDATA[media_id]]></MediaId><Format><![CDATA[speex]]></Format>")
    )
    assert message.text == ""
    assert message.media_id == "media_id"


def test_subscribe_and_unsubscribe_events():
    sub = parse_message(
        _xml("event", "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>", msg_id=None)
    )
    unsub = parse_message(
        _xml("event", "<Event><![CDATA[unsubscribe]]></Event><EventKey><![CDATA[]]></EventKey>", msg_id=None)
    )
    assert (sub.msg_type, sub.event) == ("event", "subscribe")
    assert (unsub.msg_type, unsub.event) == ("event", "unsubscribe")
    assert sub.msg_id != unsub.msg_id


def test_event_dedupe_id_is_stable_and_depends_on_sender_time_and_event():
    xml = _xml("event", "<Event><![CDATA[subscribe]]></Event>", msg_id=None)
    first, retry = parse_message(xml), parse_message(xml)
    assert first.msg_id == retry.msg_id  # WeChat's retries of the same push deduplicate
    other_time = parse_message(xml.replace(b"1348831860", b"1348831861"))
    other_user = parse_message(xml.replace(b"oUser123456789", b"oUser987654321"))
    assert len({first.msg_id, other_time.msg_id, other_user.msg_id}) == 3


def test_other_events_keep_their_name():
    message = parse_message(
        _xml(
            "event", "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[BOOK_NOW]]></EventKey>", msg_id=None
        )
    )
    assert (message.msg_type, message.event) == ("event", "CLICK")


@pytest.mark.parametrize(
    "msg_type, extra",
    [
        ("video", "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"),
        (
            "location",
            "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale>"
            "<Label><![CDATA[位置信息]]></Label>",
        ),
        ("link", "<Title><![CDATA[公众平台官网链接]]></Title><Url><![CDATA[url]]></Url>"),
    ],
)
def test_other_types(msg_type, extra):
    message = parse_message(_xml(msg_type, extra))
    assert message.msg_type == "other"
    assert message.raw_msg_type == msg_type
    assert message.msg_id == "1234567890123456"


# --- rejected, never parsed --------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1348831860</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1348831860</CreateTime>
<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>"""

PLAIN_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE xml>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1348831860</CreateTime>
<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://attacker.example/evil.dtd">
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1348831860</CreateTime>
<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        PLAIN_DOCTYPE,
        EXTERNAL_DTD,
        BILLION_LAUGHS.replace(b"DOCTYPE", b"doctype"),
    ],
    ids=["billion-laughs", "external-entity", "doctype", "external-dtd", "lowercase"],
)
def test_dtds_and_entities_are_rejected_before_parsing(body):
    with mock.patch.object(inbound.SafeElementTree, "fromstring", wraps=SafeElementTree.fromstring) as parser:
        with pytest.raises(ValidationFailed) as info:
            parse_message(body)
    assert info.value.fields == {"xml": "forbidden"}
    parser.assert_not_called()


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE, EXTERNAL_DTD])
def test_the_parser_itself_also_refuses_dtds(body):
    """Defence in depth: a DOCTYPE the pre-check missed (e.g. a UTF-16 body) still meets defusedxml."""
    utf16 = (
        body.decode()
        .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
        .encode("utf-16")
    )
    assert inbound._DECLARATION.search(utf16) is None
    with pytest.raises(ValidationFailed) as info:
        parse_message(utf16)
    assert info.value.fields == {"xml": "forbidden"}


def test_oversized_body_is_rejected_before_parsing():
    body = _xml("text", "<Content><![CDATA[" + "a" * MAX_BODY_BYTES + "]]></Content>")
    with mock.patch.object(inbound.SafeElementTree, "fromstring") as parser:
        with pytest.raises(PayloadTooLarge):
            parse_message(body)
    parser.assert_not_called()


def test_a_body_at_the_limit_is_accepted():
    empty = _xml("text", "<Content><![CDATA[]]></Content>")
    body = _xml("text", "<Content><![CDATA[" + "a" * (MAX_BODY_BYTES - len(empty)) + "]]></Content>")
    assert len(body) == MAX_BODY_BYTES
    assert len(parse_message(body).text) == MAX_BODY_BYTES - len(empty)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<xml><ToUserName>gh</ToUserName>",
        b"<xml><ToUserName>gh</FromUserName></xml>",
        "<xml><Content>\u00e9</Content></xml>".encode("latin-1"),  # not UTF-8
        b'{"ToUserName": "gh"}',
    ],
)
def test_malformed_xml_is_rejected(body):
    with pytest.raises(ValidationFailed) as info:
        parse_message(body)
    assert set(info.value.fields) == {"xml"}


def test_wrong_root_is_rejected():
    with pytest.raises(ValidationFailed) as info:
        parse_message(
            _xml("text", "<Content>x</Content>").replace(b"<xml>", b"<msg>").replace(b"</xml>", b"</msg>")
        )
    assert info.value.fields == {"xml": "invalid"}


@pytest.mark.parametrize("element", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_missing_envelope_fields_are_named(element):
    body = _xml("text", "<Content>hi</Content>").decode()
    start, end = body.index(f"<{element}>"), body.index(f"</{element}>") + len(f"</{element}>")
    with pytest.raises(ValidationFailed) as info:
        parse_message((body[:start] + body[end:]).encode())
    assert info.value.fields == {element: "missing"}


@pytest.mark.parametrize(
    "msg_type, extra, missing",
    [
        ("text", "", "Content"),
        ("text", "<Content>hi</Content><!-- no id -->", "MsgId"),
        ("image", "<PicUrl>u</PicUrl>", "MediaId"),
        ("voice", "<Format>amr</Format>", "MediaId"),
        ("event", "<EventKey/>", "Event"),
    ],
)
def test_missing_type_fields_are_named(msg_type, extra, missing):
    body = _xml(msg_type, extra, msg_id=None if missing == "MsgId" or msg_type == "event" else "1")
    with pytest.raises(ValidationFailed) as info:
        parse_message(body)
    assert info.value.fields == {missing: "missing"}


def test_empty_from_user_is_missing():
    with pytest.raises(ValidationFailed) as info:
        parse_message(_xml("text", "<Content>hi</Content>").replace(b"<![CDATA[oUser123456789]]>", b""))
    assert info.value.fields == {"FromUserName": "missing"}


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5", "99999999999999999999", "١٣٤٨٨٣١٨٦٠"])
def test_bad_create_time(value):
    with pytest.raises(ValidationFailed) as info:
        parse_message(_xml("text", "<Content>hi</Content>").replace(b"1348831860", value.encode()))
    assert info.value.fields == {"CreateTime": "invalid"}


# --- subscription messages (订阅通知): her choices and each message's result ----------------------------------

_POPUP = (
    "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
    "<List><TemplateId><![CDATA[tmpl-feedback]]></TemplateId>"
    "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
    "<List><TemplateId><![CDATA[tmpl-checkin]]></TemplateId>"
    "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>2</PopupScene></List>"
    "</SubscribeMsgPopupEvent>"
)


def test_a_subscribe_popup_event_lists_each_templates_choice():
    message = parse_message(_xml("event", _POPUP, msg_id=None))
    assert message.event == "subscribe_msg_popup_event"
    assert message.subscription_choices == (("tmpl-feedback", "accept"), ("tmpl-checkin", "reject"))
    assert message.subscription_results == ()


def test_a_subscription_sent_event_lists_each_messages_result():
    from chalicelib.channels.wechat.receipts import subscription_receipts

    message = parse_message(
        _xml(
            "event",
            "<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent>"
            "<List><TemplateId><![CDATA[tmpl-feedback]]></TemplateId><MsgID>1700827132819554304</MsgID>"
            "<ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List>"
            "<List><TemplateId><![CDATA[tmpl-checkin]]></TemplateId><MsgID>1700827132819554305</MsgID>"
            "<ErrorCode>43101</ErrorCode><ErrorStatus><![CDATA[user refuse to accept the msg]]></ErrorStatus></List>"
            "</SubscribeMsgSentEvent>",
            msg_id=None,
        )
    )

    receipts = subscription_receipts(message)
    assert [(r.provider, r.provider_message_id, r.status, r.code) for r in receipts] == [
        ("wechat_subscribe", "1700827132819554304", "delivered", "0 success"),
        ("wechat_subscribe", "1700827132819554305", "failed", "43101 user refuse to accept the msg"),
    ]
    assert subscription_receipts(parse_message(_xml("event", _POPUP, msg_id=None))) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ("<Event><![CDATA[subscribe_msg_popup_event]]></Event>", "SubscribeMsgPopupEvent"),
        (
            "<Event><![CDATA[subscribe_msg_change_event]]></Event><SubscribeMsgChangeEvent>"
            "<List><SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgChangeEvent>",
            "TemplateId",
        ),
        (
            "<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent>"
            "<List><TemplateId>t</TemplateId><ErrorCode>0</ErrorCode></List></SubscribeMsgSentEvent>",
            "MsgID",
        ),
        (
            "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
            + "<List><TemplateId>t</TemplateId><SubscribeStatusString>accept</SubscribeStatusString></List>"
            * 21
            + "</SubscribeMsgPopupEvent>",
            "SubscribeMsgPopupEvent",
        ),
    ],
)
def test_a_malformed_subscription_event_is_refused_naming_the_part(body, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_message(_xml("event", body, msg_id=None))
    assert field in (caught.value.fields or {})
