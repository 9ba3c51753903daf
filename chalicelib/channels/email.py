"""Email through Amazon SES."""

from __future__ import annotations

from typing import Any

from chalicelib.channels.base import Contact, classify
from chalicelib.errors import PermanentSendError


class SesEmail:
    name = "email"
    provider = "ses"  # whose receipts name its sends (channels/base.py provider_of)

    def __init__(self, ses_client: Any, sender: str) -> None:
        self._ses = ses_client
        self._sender = sender

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.email)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        if not contact.email:
            raise PermanentSendError("email: the member has no email address")
        try:
            answer = self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [contact.email]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except Exception as exc:  # classified below
            raise classify(exc, "ses") from exc
        return answer["MessageId"]
