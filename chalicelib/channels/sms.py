"""SMS through Amazon SNS (transactional route)."""

from __future__ import annotations

from typing import Any

from chalicelib.channels.base import Contact, classify
from chalicelib.errors import PermanentSendError


class SnsSms:
    name = "sms"
    provider = "sns"  # whose receipts name its sends (channels/base.py provider_of)

    def __init__(self, sns_client: Any, sender_id: str | None = None) -> None:
        self._sns = sns_client
        self._sender_id = sender_id

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.phone)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        if not contact.phone:
            raise PermanentSendError("sms: the member has no phone number")
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            answer = self._sns.publish(PhoneNumber=contact.phone, Message=text, MessageAttributes=attributes)
        except Exception as exc:  # classified below
            raise classify(exc, "sns") from exc
        return answer["MessageId"]
