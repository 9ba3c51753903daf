"""WeChat template messages under WeChat's rules since May 2023, and the `wechat_template` channel.

What WeChat changed (公告《关于规范公众号模板消息的再次公告》, in force since 2023-05-04):

- the first line (`first`) and the tail (`remark`) are no longer shown, nor custom colours; emoji are removed;
- each keyword of an old-style template (`keyword1`, `keyword2`, ...) shows at most 20 characters, on one line;
- category templates (类目模板) name each keyword by its type (`thing1`, `time3`, `character_string21`,
  `phrase13`, ...) and WeChat refuses (errcode 47003) a value that breaks that type's limit (the table below).

So a store maps each transactional message kind to its registered template id and, per keyword, which of the
message's values fills it (`Outgoing.values` names: store_name, service_name, start_local, ...; or `text`, the
rendered text; or a `{"const": "..."}`). The keyword's type is read from its name, as WeChat names them. Each
value is cleaned (emoji dropped, line breaks become spaces, runs of spaces one) and then fitted to its type:

- free text (`thing`, `keyword`, `const`): at most 20 characters; a longer value keeps its first 19 followed by
  "…" (one character, U+2026), so the member sees it was cut;
- `character_string` (ASCII letters, digits, symbols, at most 32) and `name` (at most 10 characters when it has
  any Chinese, else 20) are cut without an ellipsis: a reference or a name is better short than dotted;
- formatted types (`time`, `date`, `amount`, `number`, `letter`, `symbol`, `phone_number`, `car_number`,
  `phrase`) are never cut: a cut time or phone number would be a wrong one. `time` and `date` take the date
  and 24-hour time found in the value (`2026-11-25 15:00`, `11月25日（星期三） 15:00` → `11月25日 15:00`); a value
  that does not fit is a PermanentSendError naming the keyword, and the router sends by another channel.

Characters are Unicode code points (a Chinese character is one). Marketing is never sent by template message
(WeChat forbids it), and a kind the store has no template for is a PermanentSendError: both fall back.
A send carries `client_msg_id` (derived from our message id when `values["message_id"]` names it, else from
the message's content), with which WeChat sends one message per openid and id within 10 minutes: a retry after a
lost answer is not a second message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.errors import PermanentSendError

ELLIPSIS = "…"
STAFF_REPLY = "staff_reply"
# The old `template_ids.staff_reply` setting (no keyword map): the text in the template's first keyword.
LEGACY_STAFF_REPLY_FIELDS = {"keyword1": "text"}
HIDDEN_FIELDS = frozenset({"first", "remark"})  # not shown since 2023-05-04: refused in a store's mapping

# keyword type -> (limit in characters, how a longer value is fitted: "ellipsis", "cut" or "refuse")
KEYWORD_TYPES: dict[str, tuple[int, str]] = {
    "thing": (20, "ellipsis"),
    "keyword": (20, "ellipsis"),  # old-style templates: 20 characters shown, one line
    "const": (20, "ellipsis"),  # category templates' fixed-choice keywords; no documented limit: as thing
    "character_string": (32, "cut"),
    "name": (20, "cut"),  # 10 when it has any Chinese character (below)
    "number": (32, "refuse"),
    "letter": (32, "refuse"),
    "symbol": (5, "refuse"),
    "time": (64, "refuse"),
    "date": (64, "refuse"),
    "amount": (16, "refuse"),
    "phone_number": (17, "refuse"),
    "car_number": (8, "refuse"),
    "phrase": (5, "refuse"),
}
_FIELD = re.compile(r"([a-z_]+?)(\d+)")
_VALUE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U00002b00-\U00002bff\U0000fe00-\U0000fe0f\U0000200d"
    "\U000e0020-\U000e007f\U0001f1e6-\U0001f1ff]"
)
_SPACES = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DATE = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
)
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d)")
_PATTERNS = {
    "number": re.compile(r"-?\d+(\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]+"),
    "symbol": re.compile(r"[^\w\s]+"),
    "amount": re.compile(r"[^\d\s.]?\d{1,10}(\.\d{1,2})?元?"),
    "phone_number": re.compile(r"[+\d][\d()+\-]*"),
    "car_number": re.compile(r"[\u4e00-\u9fffA-Za-z0-9][A-Za-z0-9]*[\u4e00-\u9fffA-Za-z0-9]?"),
    "phrase": re.compile(r"[\u4e00-\u9fff]+"),
}


class InvalidTemplateSettings(ValueError):
    """A store's template settings are not the shape described in credentials.py (names the key)."""


class UnfitValue(PermanentSendError):
    """A value cannot be made to fit its keyword's type (e.g. no 24-hour time for a `time` keyword)."""


def keyword_type(field_name: str) -> str:
    """The type of a template keyword, from its name as WeChat gives it (`thing1` -> thing, `time03` -> time)."""
    if field_name in HIDDEN_FIELDS:
        raise InvalidTemplateSettings(
            f"{field_name}: WeChat has not shown `first`/`remark` since May 2023; map keywords only"
        )
    match = _FIELD.fullmatch(field_name)
    if match is None or match.group(1) not in KEYWORD_TYPES:
        raise InvalidTemplateSettings(
            f"{field_name}: not a WeChat keyword (a type such as thing, time, phrase, character_string "
            "followed by its number)"
        )
    return match.group(1)


def clean(value: str) -> str:
    """What WeChat would show of a value on one line: emoji dropped, line breaks and runs of spaces one space."""
    return _SPACES.sub(" ", _EMOJI.sub("", value)).strip()


def fit(field_name: str, value: str) -> str:
    """`value` fitted to its keyword's type and limit (rules in the module docstring); UnfitValue if it cannot."""
    kind = keyword_type(field_name)
    limit, how = KEYWORD_TYPES[kind]
    text = clean(value)
    if kind == "character_string":
        text = "".join(ch for ch in text if "!" <= ch <= "~")  # printable ASCII without spaces
    elif kind == "name" and _HAN.search(text):
        limit = 10
    elif kind in ("time", "date"):
        text = _date_time(field_name, kind, text)
    elif kind == "phone_number":
        text = text.replace(" ", "")
    if not text:
        raise UnfitValue(f"wechat template: {field_name} would be empty")
    pattern = _PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(text):
        raise UnfitValue(f"wechat template: {field_name} is not a valid {kind} value")
    if len(text) <= limit:
        return text
    if how == "ellipsis":
        return text[: limit - 1].rstrip() + ELLIPSIS
    if how == "cut":
        return text[:limit]
    raise UnfitValue(f"wechat template: {field_name} is longer than {kind}'s {limit} characters")


def _date_time(field_name: str, kind: str, text: str) -> str:
    date = _DATE.search(text)
    time = _TIME.search(text)
    if kind == "time" and time is None:
        raise UnfitValue(f"wechat template: {field_name} needs a 24-hour time such as 15:00")
    if kind == "date" and date is None:
        raise UnfitValue(f"wechat template: {field_name} needs a date such as 2026年11月25日 or 2026-11-25")
    return " ".join(part.group(0) for part in (date, time) if part is not None)


# --- a store's mapping ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateMapping:
    """One message kind's registered template: its id, and per keyword the value (or constant) that fills it."""

    template_id: str
    fields: dict[str, str] = field(default_factory=dict)  # keyword -> value name
    constants: dict[str, str] = field(default_factory=dict)  # keyword -> fixed text
    url: str | None = None  # the value name whose https link the message opens (e.g. manage_link)
    miniprogram: dict[str, str] | None = None  # {"appid", "pagepath"}: opens the mini-program instead

    def data(self, kind: str, values: Mapping[str, str]) -> dict[str, str]:
        """Each keyword's fitted value, in the mapping's order; PermanentSendError if a value is missing."""
        data: dict[str, str] = {}
        for keyword in [*self.fields, *self.constants]:
            if keyword in self.constants:
                raw = self.constants[keyword]
            else:
                raw = values.get(self.fields[keyword]) or ""
                if not raw.strip():
                    raise PermanentSendError(
                        f"wechat template: {kind} has no {self.fields[keyword]} for {keyword}"
                    )
            data[keyword] = fit(keyword, raw)
        return data

    def link(self, values: Mapping[str, str]) -> str | None:
        url = values.get(self.url or "") if self.url else None
        return url if url and url.startswith("https://") else None


def parse_templates(raw: Any, where: str = "templates") -> dict[str, TemplateMapping]:
    """`{"<kind>": {"template_id", "fields": {"<keyword>": "<value name>" | {"const": "<text>"}}, "url"?,
    "miniprogram"?}}` -> mappings; InvalidTemplateSettings naming the key otherwise."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidTemplateSettings(f"{where}: must map message kinds to templates")
    mappings: dict[str, TemplateMapping] = {}
    for kind, entry in raw.items():
        at = f"{where}.{kind}"
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise InvalidTemplateSettings(f"{at}: a message kind is lower-case letters, digits and _")
        if not isinstance(entry, dict):
            raise InvalidTemplateSettings(f"{at}: must be an object with template_id and fields")
        unknown = set(entry) - {"template_id", "fields", "url", "miniprogram"}
        if unknown:
            raise InvalidTemplateSettings(f"{at}: unknown keys {sorted(unknown)}")
        template_id = entry.get("template_id")
        if not isinstance(template_id, str) or not template_id.strip() or len(template_id) > 128:
            raise InvalidTemplateSettings(f"{at}.template_id: the registered template id is required")
        fields, constants = _fields(entry.get("fields"), f"{at}.fields")
        url = entry.get("url")
        if url is not None and (not isinstance(url, str) or not _VALUE_NAME.fullmatch(url)):
            raise InvalidTemplateSettings(f"{at}.url: the name of the value holding the link")
        mini = entry.get("miniprogram")
        if mini is not None and not (
            isinstance(mini, dict)
            and set(mini) == {"appid", "pagepath"}
            and all(isinstance(v, str) and v for v in mini.values())
        ):
            raise InvalidTemplateSettings(f"{at}.miniprogram: must be {{appid, pagepath}}")
        mappings[kind] = TemplateMapping(template_id.strip(), fields, constants, url, mini)
    return mappings


def _fields(raw: Any, at: str) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(raw, dict) or not raw:
        raise InvalidTemplateSettings(f"{at}: map each keyword to a value name")
    fields: dict[str, str] = {}
    constants: dict[str, str] = {}
    for keyword, source in raw.items():
        try:
            keyword_type(keyword)
        except InvalidTemplateSettings as exc:
            raise InvalidTemplateSettings(f"{at}.{exc}") from None
        if isinstance(source, str) and _VALUE_NAME.fullmatch(source):
            fields[keyword] = source
        elif isinstance(source, dict) and set(source) == {"const"} and isinstance(source["const"], str):
            try:
                constants[keyword] = fit(keyword, source["const"])
            except UnfitValue as exc:
                raise InvalidTemplateSettings(f"{at}.{keyword}: {exc.reason}") from None
        else:
            raise InvalidTemplateSettings(
                f'{at}.{keyword}: a value name (e.g. store_name) or {{"const": text}}'
            )
    return fields, constants


def store_templates(
    templates: Mapping[str, TemplateMapping], template_ids: Mapping[str, str]
) -> dict[str, TemplateMapping]:
    """A store's mappings, with the old `template_ids.staff_reply` (before keyword maps) as its first keyword."""
    merged = dict(templates)
    legacy = template_ids.get(STAFF_REPLY)
    if STAFF_REPLY not in merged and legacy:
        merged[STAFF_REPLY] = TemplateMapping(legacy, dict(LEGACY_STAFF_REPLY_FIELDS))
    return merged


# --- the channel -------------------------------------------------------------------------------------------------


def mapped(
    what: str, mappings: Mapping[str, TemplateMapping], contact: Contact, outgoing: Outgoing
) -> tuple[TemplateMapping, str]:
    """The store's template for this message and her openid, or PermanentSendError (before any call): marketing
    never goes by a `what` ("template" / "subscription") message, nor a kind the store mapped no template for."""
    if outgoing.marketing:
        raise PermanentSendError(
            f"wechat {what}: {outgoing.kind} is marketing, which WeChat forbids in {what} messages"
        )
    mapping = mappings.get(outgoing.kind)
    if mapping is None:
        raise PermanentSendError(f"wechat {what}: this store has no template for {outgoing.kind}")
    if not contact.wechat_openid:
        raise PermanentSendError(f"wechat {what}: the member has no WeChat openid")
    return mapping, contact.wechat_openid


def client_msg_id(openid: str, basis: str) -> str:
    """WeChat's de-duplication id for one message to one member (ASCII, well under 64 bytes)."""
    return "cs" + hashlib.sha256(f"{openid}\n{basis}".encode()).hexdigest()[:32]


class WeChatTemplateChannel:
    """Template messages for transactional kinds, mapped per store. Its receipts come from WeChat's
    TEMPLATESENDJOBFINISH event under provider "wechat", naming the msgid `send_outgoing` returns."""

    name = "wechat_template"
    provider = "wechat"

    def __init__(self, client: Any, templates: Mapping[str, TemplateMapping]) -> None:
        self._client = client
        self._templates = dict(templates)

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.wechat_openid and self._templates)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        """A staff (or automatic) reply outside the 48-hour window: the store's `staff_reply` template."""
        return self.send_outgoing(
            contact, Outgoing(kind=STAFF_REPLY, text=text, subject=subject, values={"store_name": subject})
        )

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        mapping, openid = mapped("template", self._templates, contact, outgoing)
        values = {"store_name": outgoing.subject, **outgoing.values, "text": outgoing.text}
        data = mapping.data(outgoing.kind, values)
        basis = outgoing.values.get("message_id") or json.dumps(
            [outgoing.kind, mapping.template_id, data], ensure_ascii=False
        )
        return self._client.send_template(
            openid,
            mapping.template_id,
            data,
            url=mapping.link(values),
            miniprogram=mapping.miniprogram,
            client_msg_id=client_msg_id(openid, basis),
        )
