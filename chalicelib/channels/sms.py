"""SMS through Amazon SNS (transactional route)."""

from __future__ import annotations

from typing import Any

from chalicelib.channels.base import Contact, classify
from chalicelib.errors import PermanentSendError


class SnsSms:
    name = "sms"
    provider = "sns"  # receipts: the SNS SMS delivery-status logs (functions/sns_sms_status.py)

    def __init__(self, sns_client: Any, sender_id: str | None = None, *, receipts: bool = True) -> None:
        """`receipts`: the account's SMS delivery-status logs are on (README, "SMS providers"); without them SNS
        never reports, so a send is not made findable by its MessageId (channels/base.py reports_receipts)."""
        self._sns = sns_client
        self._sender_id = sender_id
        self.reports_receipts = receipts

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
