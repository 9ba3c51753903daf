"""Amazon SNS SMS delivery status, as SNS writes it to CloudWatch Logs and a subscription filter hands it to a
function (functions/sns_sms_status.py): receipts of the messages SnsSms sent, by the MessageId Publish answered.

SNS logs each SMS's outcome (once the account's SMS attributes name a DeliveryStatusIAMRole) to
`sns/<region>/<account>/DirectPublishToPhoneNumber` (successes, sampled by DeliveryStatusSuccessSamplingRate) and
`.../DirectPublishToPhoneNumber/Failure`, one JSON record per message:

    {"notification": {"messageId": "34d9b400-...", "timestamp": "2016-06-28 00:40:34.558"},
     "delivery": {"destination": "+1XXX5550100", "providerResponse": "Message has been accepted by phone carrier",
                  "dwellTimeMs": 599, "dwellTimeMsUntilDeviceAck": 1344, ...},
     "status": "SUCCESS" | "FAILURE"}

A subscription delivers `{"awslogs": {"data": base64(gzip(JSON))}}` whose JSON is {"messageType": "DATA_MESSAGE" |
"CONTROL_MESSAGE", "logGroup", "logStream", "subscriptionFilters", "logEvents": [{"id", "timestamp", "message"}]}.
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.channels.receipts import ProviderReceipt

PROVIDER = "sns"  # the log groups: chalicelib/resources.py SNS_SMS_STATUS


def log_events(event: Any) -> tuple[str, list[dict[str, Any]]]:
    """(messageType, logEvents) of a CloudWatch Logs subscription event; ValueError when it is not one."""
    try:
        payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"], validate=True)))
    except (KeyError, TypeError, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"not a CloudWatch Logs subscription event: {type(exc).__name__}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("logEvents", []), list):
        raise ValueError("not a CloudWatch Logs subscription payload")
    return str(payload.get("messageType", "")), payload.get("logEvents", [])


def receipt_of(record: Any) -> ProviderReceipt:
    """One delivery-status record (a log event's message, parsed) -> its receipt; ValueError when malformed."""
    if not isinstance(record, dict):
        raise ValueError("a delivery status record is a JSON object")
    notification = record.get("notification") or {}
    message_id = notification.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise ValueError("notification.messageId is required")
    status = {"SUCCESS": "delivered", "FAILURE": "failed"}.get(str(record.get("status")))
    if status is None:
        raise ValueError("status must be SUCCESS or FAILURE")
    try:
        sent = datetime.strptime(str(notification.get("timestamp")), "%Y-%m-%d %H:%M:%S.%f").replace(
            tzinfo=UTC
        )
    except ValueError:
        raise ValueError("notification.timestamp must be 'yyyy-MM-dd HH:mm:ss.SSS'") from None
    delivery = record.get("delivery") or {}
    # When it happened: the publish time plus the dwell time until the handset's ack (or until the carrier took it).
    dwell = delivery.get("dwellTimeMsUntilDeviceAck") or delivery.get("dwellTimeMs") or 0
    at = sent + timedelta(milliseconds=float(dwell)) if isinstance(dwell, int | float) else sent
    response = delivery.get("providerResponse")
    return ProviderReceipt(PROVIDER, message_id, status, at, str(response)[:200] if response else None)


def receipts_of(event: Any) -> list[ProviderReceipt]:
    """Every receipt in a subscription event (a CONTROL_MESSAGE has none). A record that is not a delivery status
    is skipped with the reason, so one bad line does not hold back the batch."""
    kind, events = log_events(event)
    if kind != "DATA_MESSAGE":
        return []
    receipts = []
    for item in events:
        try:
            receipts.append(receipt_of(json.loads(item.get("message", ""))))
        except (ValueError, AttributeError) as exc:
            from chalicelib.observability import logger

            logger.warning("skipped a log event that is not an SMS delivery status", extra={"why": str(exc)})
    return receipts
