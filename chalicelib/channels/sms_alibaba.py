"""Alibaba Cloud SMS (dysmsapi, API version 2017-05-25): the default provider for mainland-China (+86) numbers.

Requests are RPC calls signed with signature v1 (help.aliyun.com "签名机制" / alibabacloud.com "Signature method"):

- the common parameters Format, Version, AccessKeyId, SignatureMethod=HMAC-SHA1, Timestamp (ISO 8601 UTC,
  `2017-07-12T02:42:19Z`), SignatureVersion=1.0, SignatureNonce (unique per request), RegionId, Action;
- every parameter name and value percent-encoded as UTF-8, leaving only A-Z a-z 0-9 - _ . ~ (space is %20,
  `*` is %2A), sorted by name, joined `k=v&...`: the canonicalized query string;
- StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized query string);
- Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).

`SendSms` takes PhoneNumbers, SignName (the chain's registered signature), TemplateCode, TemplateParam (JSON of the
template's variables) and OutId, and answers `{"Code": "OK", "Message": "OK", "BizId": "...", "RequestId": "..."}`
-- or another `Code` (isv.MOBILE_NUMBER_ILLEGAL, isv.BUSINESS_LIMIT_CONTROL, ...), mapped by sms.toml to a
permanent or transient failure. Delivery receipts: the SmsReport HTTP batch push (`parse_sms_report`, a JSON array
of reports keyed by `biz_id`) and, as the fallback, `QuerySendDetails` (`AlibabaSmsClient.query_send_details`).
A member's reply (上行短信) comes by the SmsUp HTTP batch push (`parse_sms_up`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from chalicelib.channels.base import Contact
from chalicelib.channels.http import HttpResponse, ProviderUnreachable
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.channels.sms_templates import (
    CHINA,
    ReportFields,
    SmsTemplate,
    TemplatedSms,
    china_time,
    classified_error,
    parse_report_array,
)
from chalicelib.errors import SendError, TransientSendError
from chalicelib.observability import logger

PROVIDER = "alibaba_sms"
API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"

Transport = Callable[[str, str, Mapping[str, str], bytes | None, float], HttpResponse]


def percent_encode(value: str) -> str:
    """Alibaba's percentEncode: RFC 3986 unreserved characters stay, everything else is %XY of its UTF-8 bytes."""
    return quote(value, safe="-_.~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _nonce() -> str:
    return str(uuid.uuid4())


def mainland_number(phone: str) -> str:
    """+8613800000000 -> 13800000000 (dysmsapi's domestic PhoneNumbers format)."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


@dataclass(frozen=True)
class AlibabaSmsCredentials:
    access_key_id: str
    access_key_secret: str
    endpoint: str = DEFAULT_ENDPOINT
    region_id: str = "cn-hangzhou"


class AlibabaSmsClient:
    """dysmsapi over HTTPS (POST, form-encoded, signed as above). `wall` gives Unix seconds (the Timestamp)."""

    def __init__(
        self,
        credentials: AlibabaSmsCredentials,
        *,
        transport: Transport,
        wall: Callable[[], float],
        nonce: Callable[[], str] = _nonce,
        timeout: float = 5.0,
    ) -> None:
        self._credentials = credentials
        self._transport = transport
        self._wall = wall
        self._nonce = nonce
        self._timeout = timeout

    def signed_params(self, action: str, params: Mapping[str, str]) -> dict[str, str]:
        c = self._credentials
        stamp = datetime.fromtimestamp(self._wall(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signed = {
            "AccessKeyId": c.access_key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": c.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": stamp,
            "Version": API_VERSION,
            **params,
        }
        signed["Signature"] = signature(c.access_key_secret, "POST", signed)
        return signed

    def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The answer of an OK call; TransientSendError / PermanentSendError otherwise (sms.toml's classes)."""
        body = "&".join(
            f"{percent_encode(k)}={percent_encode(v)}" for k, v in self.signed_params(action, params).items()
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        try:
            answer = self._transport(
                "POST", self._credentials.endpoint.rstrip("/") + "/", headers, body, self._timeout
            )
        except (ProviderUnreachable, OSError) as exc:
            raise TransientSendError(f"{PROVIDER}: {type(exc).__name__}") from None
        try:
            data = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TransientSendError(f"{PROVIDER}: HTTP {answer.status} without a JSON answer") from None
        code = str(data.get("Code", "")) if isinstance(data, dict) else ""
        if answer.status == 200 and code == "OK":
            return data
        message = data.get("Message", "") if isinstance(data, dict) else ""
        raise classified_error(PROVIDER, code or str(answer.status), str(message))

    def send_sms(
        self,
        phone: str,
        sign_name: str,
        template_code: str,
        template_param: Mapping[str, str],
        out_id: str | None,
    ) -> str:
        """SendSms to one number; the BizId."""
        params = {
            "PhoneNumbers": mainland_number(phone),
            "SignName": sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(template_param), ensure_ascii=False, separators=(",", ":")),
        }
        if out_id:
            params["OutId"] = out_id
        answer = self.call("SendSms", params)
        biz_id = answer.get("BizId")
        if not biz_id:
            raise TransientSendError(f"{PROVIDER}: SendSms answered OK without a BizId")
        return str(biz_id)

    def query_send_details(self, phone: str, biz_id: str, send_date: str) -> list[ProviderReceipt]:
        """QuerySendDetails (the pull fallback for lost SmsReport pushes): the receipts of one send, `send_date`
        yyyyMMdd (Beijing), empty while the operator has not reported (SendStatus 1)."""
        answer = self.call(
            "QuerySendDetails",
            {
                "PhoneNumber": mainland_number(phone),
                "BizId": biz_id,
                "SendDate": send_date,
                "PageSize": "10",
                "CurrentPage": "1",
            },
        )
        details = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
        receipts = []
        for detail in details:
            status = {3: "delivered", 2: "failed"}.get(int(detail.get("SendStatus") or 1))
            if status is None:
                continue
            at = china_time(detail.get("ReceiveDate") or detail.get("SendDate"))
            receipts.append(ProviderReceipt(PROVIDER, biz_id, status, at, detail.get("ErrCode") or None))
        return receipts


SMS_REPORT = ReportFields(
    what="an SmsReport push",
    message_id="biz_id",
    status="success",
    statuses={True: "delivered", False: "failed"},
    at="report_time",
    code="err_code",
)


def parse_sms_report(body: Any) -> list[ProviderReceipt]:
    """An SmsReport push (a JSON array of reports) -> its receipts; a ValueError names what is malformed."""
    return parse_report_array(PROVIDER, SMS_REPORT, body)


@dataclass(frozen=True)
class SmsUp:
    """One member's reply by SMS (上行短信), from Alibaba's SmsUp push."""

    phone: str  # E.164 (+86...)
    text: str
    sent_at: datetime
    sequence_id: str  # Alibaba's id of this reply: unique, so a pushed-again reply is recognised


def parse_sms_up(body: Any) -> list[SmsUp]:
    """An SmsUp push (the HTTP batch push of 上行短信: a JSON array of {phone_number, send_time, content, sign_name,
    dest_code, sequence_id}, Beijing times) -> its replies; a ValueError names what is malformed."""
    if not isinstance(body, list):
        raise ValueError("an SmsUp push is a JSON array of replies")
    replies = []
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise ValueError(f"[{i}] is not a reply object")
        number = item.get("phone_number")
        digits = number.removeprefix("+86").removeprefix("86") if isinstance(number, str) else ""
        if not (len(digits) == 11 and digits.isdigit() and digits.startswith("1")):
            raise ValueError(f"[{i}].phone_number must be a mainland mobile number")
        content = item.get("content")
        if not isinstance(content, str):
            raise ValueError(f"[{i}].content is required")
        sequence = item.get("sequence_id")
        if isinstance(sequence, bool) or not isinstance(sequence, int | str) or not str(sequence).isdigit():
            raise ValueError(f"[{i}].sequence_id must be a number")
        try:
            sent_at = china_time(item.get("send_time"))
        except ValueError:
            raise ValueError(f"[{i}].send_time must be 'yyyy-MM-dd HH:mm:ss'") from None
        replies.append(SmsUp(f"+86{digits}", content[:4000], sent_at, str(sequence)))
    return replies


class AlibabaSms(TemplatedSms):
    """The templated SMS channel through one chain's Alibaba account (registry: by country in sms_by_country)."""

    provider = PROVIDER
    _client: AlibabaSmsClient

    def _send_template(self, phone: str, template: SmsTemplate, values: Any, ref: str | None) -> str:
        # OutId: our message id, which Alibaba hands back in its SmsReport (`out_id`) -- a trace, not a dedupe key
        return self._client.send_sms(phone, self._sign_name, template.code, dict(values), ref)

    def pull_receipts(self, contact: Contact, biz_id: str, sent_at: datetime) -> list[ProviderReceipt]:
        """QuerySendDetails for one send (channels.base.pull_receipts): asked when a receipt check finds no receipt,
        in case the SmsReport push was lost. A failed call is logged and reads as no receipt yet."""
        if not contact.phone:
            return []
        send_date = sent_at.astimezone(CHINA).strftime("%Y%m%d")
        try:
            return self._client.query_send_details(contact.phone, biz_id, send_date)
        except SendError as exc:
            logger.warning("alibaba_sms: QuerySendDetails failed", extra={"reason": exc.reason})
            return []
