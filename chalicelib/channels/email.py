"""Email through Amazon SES v2 (`sesv2.send_email`), sent the way email is expected to be:

- with the stage's configuration set (chalicelib/resources.py `EMAIL_CONFIGURATION_SET`), which publishes the
  message's Bounce / Complaint / Delivery events (services/email_events.py turns them into receipts);
- a Simple body with a text part and an HTML part made from the same text (escaped; paragraphs and line breaks
  kept; nothing else), in the message's locale;
- marketing mail (`Outgoing.marketing`) with `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
  headers (RFC 2369, RFC 8058) and the same link at the foot of both parts. The link names the member, so a
  marketing `Outgoing` carries `values["chain_id"]` and `values["member_id"]`; without them it is refused (a
  marketing email she cannot unsubscribe from is not sent).

The provider message id is SES's MessageId (the `mail.messageId` of its events); the provider is "ses".
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.channels.base import Contact, Outgoing, classify
from chalicelib.errors import PermanentSendError

PROVIDER = "ses"
TEXTS = Path(__file__).resolve().parent.parent / "journeys" / "email.toml"


@cache
def email_texts() -> dict[str, Any]:
    with TEXTS.open("rb") as handle:
        return tomllib.load(handle)


def email_text(kind: str, key: str) -> str:
    return str(email_texts()[kind][key])


def _locale(locale: str) -> str:
    return "zh-CN" if locale.lower().startswith("zh") else "en"


def html_body(text: str, locale: str, subject: str, footer: tuple[str, str] | None = None) -> str:
    """A plain, readable HTML part of `text`: escaped, blank lines make paragraphs, line breaks kept."""
    paragraphs = [part for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]
    body = "".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in part.strip("\n").split("\n")) + "</p>\n"
        for part in paragraphs
    )
    if footer is not None:
        words, url = footer
        body += (
            '<p style="color:#666;font-size:13px">'
            f'{html.escape(words)} <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></p>\n'
        )
    return (
        f'<!doctype html>\n<html lang="{html.escape(locale, quote=True)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family:sans-serif;font-size:15px;line-height:1.6;color:#222">\n'
        f"{body}</body></html>\n"
    )


class SesEmail:
    name = "email"
    provider = PROVIDER

    def __init__(
        self,
        ses_client: Any,
        sender: str,
        *,
        configuration_set: str = "",
        unsubscribe: Any = None,
        suppressed: Callable[[str], bool] | None = None,
    ) -> None:
        """`ses_client`: a boto3 "sesv2" client; `unsubscribe`: services/unsubscribe.py `UnsubscribeLinks`;
        `suppressed(address)`: whether a bounce or complaint suppressed the address (dal/email.py)."""
        self._ses = ses_client
        self._sender = sender
        self._configuration_set = configuration_set
        self._unsubscribe = unsubscribe
        self._suppressed = suppressed

    def can_reach(self, contact: Contact) -> bool:
        if not contact.email:
            return False
        return not (self._suppressed is not None and self._suppressed(contact.email))

    def send(self, contact: Contact, text: str, subject: str) -> str:
        return self.send_outgoing(contact, Outgoing(kind="message", text=text, subject=subject))

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        if not contact.email:
            raise PermanentSendError("email: the member has no email address")
        locale = _locale(outgoing.locale)
        text, footer, headers = outgoing.text, None, None
        if outgoing.marketing:
            chain_id, member_id = outgoing.values.get("chain_id"), outgoing.values.get("member_id")
            if not chain_id or not member_id or self._unsubscribe is None or not self._unsubscribe.available:
                raise PermanentSendError("email: marketing mail needs its member's unsubscribe link")
            headers = self._unsubscribe.headers(chain_id, member_id)
            footer = (email_text("footer", locale), self._unsubscribe.url(chain_id, member_id))
            text = f"{text}\n\n{footer[0]} {footer[1]}"
        simple: dict[str, Any] = {
            "Subject": {"Data": outgoing.subject, "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": text, "Charset": "UTF-8"},
                "Html": {
                    "Data": html_body(outgoing.text, locale, outgoing.subject, footer),
                    "Charset": "UTF-8",
                },
            },
        }
        if headers:
            simple["Headers"] = headers
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [contact.email]},
            "Content": {"Simple": simple},
            "EmailTags": [
                {"Name": "kind", "Value": re.sub(r"[^A-Za-z0-9_-]", "_", outgoing.kind)[:256] or "message"}
            ],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            answer = self._ses.send_email(**request)
        except Exception as exc:  # classified below
            raise classify(exc, PROVIDER) from exc
        return str(answer["MessageId"])
