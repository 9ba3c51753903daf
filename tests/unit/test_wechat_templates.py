"""WeChat template messages since May 2023: each value fitted to its keyword's type, a store's mapping validated,
and the template channel's refusals (marketing, no mapping)."""

from __future__ import annotations

import pytest

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.channels.wechat.templates import (
    InvalidTemplateSettings,
    TemplateMapping,
    UnfitValue,
    WeChatTemplateChannel,
    fit,
    parse_templates,
    store_templates,
)
from chalicelib.errors import PermanentSendError

# --- fitting one value ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "value", "shown"),
    [
        ("thing1", "静安寺店", "静安寺店"),
        (
            "thing1",
            "一二三四五六七八九十一二三四五六七八九十",
            "一二三四五六七八九十一二三四五六七八九十",
        ),  # 20: fits
        ("thing1", "一二三四五六七八九十一二三四五六七八九十一", "一二三四五六七八九十一二三四五六七八九…"),
        ("keyword2", "Balayage colour with toner and treatment", "Balayage colour wit…"),
        ("thing3", "  头发\n有点干😀  ", "头发 有点干"),  # emoji dropped, one line
        ("character_string4", "BK-2026 1125-早", "BK-20261125-"),  # ASCII only, no spaces
        ("character_string4", "A" * 40, "A" * 32),  # cut, no ellipsis
        ("name5", "王小美王小美王小美王小美", "王小美王小美王小美王"),  # Chinese: 10
        ("name5", "Alexandra Montgomery-Smith", "Alexandra Montgomery"),  # letters: 20
        ("time6", "15:00", "15:00"),
        ("time6", "2026-11-25 15:00", "2026-11-25 15:00"),
        ("time6", "11月25日（星期三） 15:00", "11月25日 15:00"),
        ("date7", "2026年11月25日", "2026年11月25日"),
        ("date7", "Wed 2026-11-25 at 09:30", "2026-11-25 09:30"),
        ("phone_number8", "+86 21 6288 0000", "+862162880000"),
        ("amount9", "¥388.00", "¥388.00"),
        ("phrase10", "已预约", "已预约"),
        ("const11", "预约提醒", "预约提醒"),
    ],
)
def test_a_value_is_fitted_to_its_keyword_type(keyword, value, shown):
    assert fit(keyword, value) == shown


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("time1", "tomorrow afternoon"),  # no 24-hour time
        ("time1", "3pm"),
        ("date2", "Wednesday 25 November"),  # no date WeChat reads
        ("phrase3", "confirmed"),  # phrase: Chinese only
        ("phrase3", "预约已经确认了"),  # phrase: at most 5, never cut
        ("phone_number4", "+86 21 6288 0000 ext 12"),
        ("phone_number4", "+8621628800001234567"),  # 20 > 17: never cut
        ("amount5", "about 300"),
        ("number6", "12a"),
        ("thing7", "😀😀"),  # empty once emoji are gone
    ],
)
def test_a_value_that_cannot_fit_is_a_permanent_error_naming_the_keyword(keyword, value):
    with pytest.raises(UnfitValue, match=keyword):
        fit(keyword, value)
    assert issubclass(UnfitValue, PermanentSendError)


# --- a store's mapping ---------------------------------------------------------------------------------------


def test_a_mapping_is_parsed_with_constants_and_link():
    mapping = parse_templates(
        {
            "confirmation": {
                "template_id": "tmpl-confirm",
                "fields": {"thing1": "store_name", "time2": "start_local", "phrase3": {"const": "已预约"}},
                "url": "manage_link",
            }
        }
    )["confirmation"]
    assert mapping == TemplateMapping(
        "tmpl-confirm", {"thing1": "store_name", "time2": "start_local"}, {"phrase3": "已预约"}, "manage_link"
    )


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({"confirmation": {"template_id": "t", "fields": {"first": "store_name"}}}, "first"),
        ({"confirmation": {"template_id": "t", "fields": {"remark": "text"}}}, "remark"),
        ({"confirmation": {"template_id": "t", "fields": {"colour1": "text"}}}, "colour1"),
        ({"confirmation": {"template_id": "t", "fields": {"thing1": "Store Name"}}}, "thing1"),
        ({"confirmation": {"template_id": "t", "fields": {"phrase1": {"const": "confirmed"}}}}, "phrase1"),
        ({"confirmation": {"template_id": "", "fields": {"thing1": "text"}}}, "template_id"),
        ({"confirmation": {"template_id": "t", "fields": {}}}, "fields"),
        ({"confirmation": {"template_id": "t", "fields": {"thing1": "text"}, "color": "#f00"}}, "color"),
        ({"Confirmation!": {"template_id": "t", "fields": {"thing1": "text"}}}, "Confirmation"),
        (["confirmation"], "templates"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(raw, names):
    with pytest.raises(InvalidTemplateSettings, match=names):
        parse_templates(raw)


def test_the_old_staff_reply_template_id_becomes_a_first_keyword_mapping():
    merged = store_templates({}, {"staff_reply": "tmpl-old"})
    assert merged["staff_reply"] == TemplateMapping("tmpl-old", {"keyword1": "text"})
    mapped = TemplateMapping("tmpl-new", {"thing1": "text"})
    assert store_templates({"staff_reply": mapped}, {"staff_reply": "tmpl-old"})["staff_reply"] == mapped


# --- the channel -----------------------------------------------------------------------------------------------


class RecordingClient:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def send_template(self, openid, template_id, data, url=None, *, miniprogram=None, client_msg_id=None):
        self.calls.append(
            {"openid": openid, "template_id": template_id, "data": data, "url": url, "id": client_msg_id}
        )
        return "200000001"


CONFIRMATION = TemplateMapping(
    "tmpl-confirm",
    {"thing1": "store_name", "thing2": "service_name", "time3": "start_local"},
    url="manage_link",
)
VALUES = {
    "store_name": "静安寺店",
    "service_name": "烫发",
    "start_local": "2026-11-25 15:00",
    "manage_link": "https://chairside.example/m/abc",
    "message_id": "msg-1",
}
SHE = Contact(wechat_openid="o-she")


def outgoing(kind: str = "confirmation", **extra) -> Outgoing:
    return Outgoing(
        kind=kind, text="text", subject="静安寺店", values={**VALUES, **extra.pop("values", {})}, **extra
    )


def test_a_transactional_kind_goes_by_its_template_with_a_stable_client_msg_id():
    client = RecordingClient()
    channel = WeChatTemplateChannel(client, {"confirmation": CONFIRMATION})

    assert channel.send_outgoing(SHE, outgoing()) == "200000001"
    channel.send_outgoing(SHE, outgoing())  # a retry of the same message
    channel.send_outgoing(SHE, outgoing(values={"message_id": "msg-2"}))

    first, retry, other = client.calls
    assert first["data"] == {"thing1": "静安寺店", "thing2": "烫发", "time3": "2026-11-25 15:00"}
    assert first["url"] == "https://chairside.example/m/abc" and first["template_id"] == "tmpl-confirm"
    assert first["id"] == retry["id"] != other["id"]
    assert channel.provider == "wechat"


def test_marketing_is_never_sent_by_template():
    client = RecordingClient()
    channel = WeChatTemplateChannel(client, {"care_birthday": CONFIRMATION})
    with pytest.raises(PermanentSendError, match="marketing"):
        channel.send_outgoing(SHE, outgoing("care_birthday", marketing=True))
    assert client.calls == []


def test_a_kind_without_a_template_or_a_value_is_a_permanent_error():
    client = RecordingClient()
    channel = WeChatTemplateChannel(client, {"confirmation": CONFIRMATION})
    with pytest.raises(PermanentSendError, match="no template for aftercare"):
        channel.send_outgoing(SHE, outgoing("aftercare"))
    with pytest.raises(PermanentSendError, match="service_name"):
        channel.send_outgoing(SHE, outgoing(values={"service_name": ""}))
    assert client.calls == []


def test_a_staff_reply_fills_the_reply_template_without_first_or_remark():
    client = RecordingClient()
    channel = WeChatTemplateChannel(client, store_templates({}, {"staff_reply": "tmpl-reply"}))
    channel.send(SHE, "【静安寺店】您好，周五下午有空位哦，要帮您预约吗？", "静安寺店")
    [call] = client.calls
    assert call["data"] == {"keyword1": "【静安寺店】您好，周五下午有空位哦，要…"}
    assert len(call["data"]["keyword1"]) == 20
