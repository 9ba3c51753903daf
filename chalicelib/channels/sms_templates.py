"""Mainland SMS cannot send free text: each message kind goes as a template the chain registered with the provider
(Alibaba's TemplateCode, Tencent's TemplateId), its variables filled from the message's named values.

A chain's settings (ChainItem.sms_settings, see README "SMS providers") name them per provider:

    {"routes": {"+86": "alibaba_sms", "*": "sns"},
     "alibaba_sms": {"sign_name": "丽人美发",
                     "templates": {"confirmation": {"code": "SMS_4600001",
                                                    "params": {"name": "member_name", "time": "start_local"}}}}}

`params` maps each template variable (Alibaba: `${name}`; Tencent: the position {1}, {2}... in the order listed) to
one of `Outgoing.values`' names (sms.toml [values]). A kind without a registered template is a PermanentSendError,
so the router falls back to the next channel -- never free text.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.channels.base import Contact, Outgoing
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.errors import PermanentSendError, TransientSendError


@cache
def sms_data() -> dict[str, Any]:
    """sms.toml: the default routes, the template value names and each provider's permanent error codes."""
    return tomllib.loads((Path(__file__).parent / "sms.toml").read_text(encoding="utf-8"))


def permanent_codes(provider: str) -> frozenset[str]:
    return frozenset(sms_data()[provider]["permanent"])


@dataclass(frozen=True)
class SmsTemplate:
    code: str  # the provider's registered template: Alibaba TemplateCode, Tencent TemplateId
    params: tuple[tuple[str, str], ...]  # (template variable, Outgoing.values name), in the listed order


class SmsTemplates:
    """One provider's registered templates of one chain, by message kind."""

    def __init__(self, provider: str, by_kind: Mapping[str, SmsTemplate]) -> None:
        self.provider = provider
        self._by_kind = dict(by_kind)

    @classmethod
    def parse(cls, provider: str, raw: Any) -> SmsTemplates:
        """From a chain's `templates` setting; a malformed entry or an unknown value name is a ValueError."""
        if raw is None:
            return cls(provider, {})
        if not isinstance(raw, Mapping):
            raise ValueError(f"{provider}.templates must be an object of message kinds")
        allowed = set(sms_data()["values"]["names"])
        by_kind: dict[str, SmsTemplate] = {}
        for kind, entry in raw.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("code"), str) or not entry["code"]:
                raise ValueError(f"{provider}.templates.{kind} needs a registered template code")
            params = entry.get("params") or {}
            if not isinstance(params, Mapping):
                raise ValueError(f"{provider}.templates.{kind}.params must map template variables to values")
            unknown = sorted(str(v) for v in params.values() if v not in allowed)
            if unknown:
                raise ValueError(
                    f"{provider}.templates.{kind}.params names unknown values: {', '.join(unknown)}"
                )
            by_kind[str(kind)] = SmsTemplate(
                entry["code"], tuple((str(k), str(v)) for k, v in params.items())
            )
        return cls(provider, by_kind)

    def fill(self, outgoing: Outgoing) -> tuple[SmsTemplate, list[tuple[str, str]]]:
        """The kind's template and its variables' values, in order; PermanentSendError when the kind has no
        registered template or the message lacks a value the template needs."""
        template = self._by_kind.get(outgoing.kind)
        if template is None:
            raise PermanentSendError(f"{self.provider}: no registered template for {outgoing.kind}")
        missing = [name for _, name in template.params if not outgoing.values.get(name)]
        if missing:
            raise PermanentSendError(
                f"{self.provider}: {outgoing.kind} lacks {', '.join(missing)} for template {template.code}"
            )
        return template, [(variable, str(outgoing.values[name])) for variable, name in template.params]


def routes_of(settings: Mapping[str, Any] | None) -> dict[str, str]:
    """The chain's country-prefix routes over the defaults (sms.toml [routes]); a bad entry is a ValueError."""
    routes = dict(sms_data()["routes"])
    raw = (settings or {}).get("routes")
    if raw is None:
        return routes
    if not isinstance(raw, Mapping):
        raise ValueError("sms routes must map country prefixes (+86, or *) to providers")
    for prefix, provider in raw.items():
        if not (prefix == "*" or (prefix.startswith("+") and prefix[1:].isdigit())):
            raise ValueError(f"sms route {prefix!r} is not a country prefix like +86 (or *)")
        if not isinstance(provider, str) or not provider:
            raise ValueError(f"sms route {prefix} needs a provider name")
        routes[prefix] = provider
    return routes


def pick_provider(routes: Mapping[str, str], phone: str) -> str:
    """The provider for an E.164 number: the longest matching prefix, else "*"."""
    best = max((p for p in routes if p != "*" and phone.startswith(p)), key=len, default="*")
    return routes.get(best) or routes.get("*") or "sns"


CHINA = timezone(timedelta(hours=8))  # mainland providers write report times in Beijing time, without a zone


def china_time(value: Any) -> datetime:
    """ "2017-01-01 00:00:00" (Beijing time, as the mainland providers write it) -> an aware UTC datetime."""
    if not isinstance(value, str):
        raise ValueError("a report time must be 'yyyy-MM-dd HH:mm:ss'")
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)


@dataclass(frozen=True)
class ReportFields:
    """Where one provider's receipt push keeps each part of a report (the pushes are JSON arrays)."""

    what: str  # what the push is called, for error messages
    message_id: str
    status: str
    statuses: Mapping[Any, str]  # the provider's value -> "delivered" | "failed"
    at: str
    code: str


def parse_report_array(provider: str, fields: ReportFields, body: Any) -> list[ProviderReceipt]:
    """A receipt push -> its receipts; a ValueError names what is malformed (the route answers 400 with it)."""
    if not isinstance(body, list):
        raise ValueError(f"{fields.what} is a JSON array of reports")
    receipts = []
    for i, report in enumerate(body):
        if not isinstance(report, dict):
            raise ValueError(f"[{i}] is not a report object")
        message_id = report.get(fields.message_id)
        if not isinstance(message_id, str) or not message_id:
            raise ValueError(f"[{i}].{fields.message_id} is required")
        value = report.get(fields.status)
        status = fields.statuses.get(value) if isinstance(value, str | bool) else None
        if status is None:
            allowed = " or ".join(str(v).lower() if isinstance(v, bool) else v for v in fields.statuses)
            raise ValueError(f"[{i}].{fields.status} must be {allowed}")
        try:
            at = china_time(report.get(fields.at))
        except ValueError:
            raise ValueError(f"[{i}].{fields.at} must be 'yyyy-MM-dd HH:mm:ss'") from None
        code = report.get(fields.code)
        receipts.append(ProviderReceipt(provider, message_id, status, at, str(code) if code else None))
    return receipts


class TemplatedSms:
    """The templated SMS channel through one chain's mainland provider account (registry: sms_by_country)."""

    name = "sms"
    provider: str

    def __init__(self, client: Any, sign_name: str, templates: SmsTemplates) -> None:
        self._client = client
        self._sign_name = sign_name
        self._templates = templates

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.phone)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        raise PermanentSendError(
            f"{self.provider}: mainland SMS cannot send free text, only a registered template"
        )

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        if not contact.phone:
            raise PermanentSendError(f"{self.provider}: the member has no phone number")
        template, values = self._templates.fill(outgoing)
        return self._send_template(contact.phone, template, values, outgoing.values.get("message_id"))

    def _send_template(self, phone: str, template: SmsTemplate, values: Any, ref: str | None) -> str:
        """Send; the provider's id. `ref`: our message id, for a provider that carries it to its receipts."""
        raise NotImplementedError


def classified_error(provider: str, code: str, message: str) -> Exception:
    """A provider's error code -> permanent (fall back to the next channel) or transient (retry)."""
    reason = f"{provider}: {code}: {message}"
    return PermanentSendError(reason) if code in permanent_codes(provider) else TransientSendError(reason)
