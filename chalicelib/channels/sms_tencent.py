"""Tencent Cloud SMS (API 3.0, `SendSms` version 2021-01-11): the alternative mainland provider behind the same port.

Requests are JSON POSTs to https://sms.tencentcloudapi.com/ signed with TC3-HMAC-SHA256 ("Signature v3"):

    CanonicalRequest = "POST\n/\n\n" + "content-type:application/json; charset=utf-8\nhost:<host>\n
                       x-tc-action:sendsms\n" + "\n" + "content-type;host;x-tc-action" + "\n" + hex(SHA256(payload))
    StringToSign     = "TC3-HMAC-SHA256\n" + timestamp + "\n" + "<UTC date>/sms/tc3_request" + "\n"
                       + hex(SHA256(CanonicalRequest))
    key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "sms"), "tc3_request")
    Authorization    = "TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
                        SignedHeaders=content-type;host;x-tc-action, Signature=<hex HMAC(key, StringToSign)>"

with the headers X-TC-Action, X-TC-Version, X-TC-Timestamp and X-TC-Region. The body carries PhoneNumberSet (E.164),
SmsSdkAppId, SignName, TemplateId and TemplateParamSet (the template's variables, by position). The answer is
`{"Response": {"SendStatusSet": [{"SerialNo", "PhoneNumber", "Code": "Ok", ...}], "RequestId"}}` or
`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`. Receipts: the status callback ("短信下发状态通知"), a
JSON array of `{"user_receive_time", "nationcode", "mobile", "report_status": "SUCCESS" | "FAIL", "errmsg",
"description", "sid"}`, answered `{"result": 0, "errmsg": "OK"}`; `sid` is the send's SerialNo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from chalicelib.channels.http import HttpResponse, ProviderUnreachable
from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.channels.sms_templates import (
    ReportFields,
    SmsTemplate,
    TemplatedSms,
    classified_error,
    parse_report_array,
)
from chalicelib.errors import TransientSendError

PROVIDER = "tencent_sms"
SERVICE = "sms"
API_VERSION = "2021-01-11"
DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"

Transport = Callable[[str, str, Mapping[str, str], bytes | None, float], HttpResponse]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(
    secret_id: str, secret_key: str, host: str, action: str, payload: bytes, timestamp: int
) -> str:
    """The Authorization header of a TC3-HMAC-SHA256 signed POST to `host` (see the module docstring)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, SIGNED_HEADERS, hashlib.sha256(payload).hexdigest()]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"


@dataclass(frozen=True)
class TencentSmsCredentials:
    secret_id: str
    secret_key: str
    sdk_app_id: str
    endpoint: str = DEFAULT_ENDPOINT
    region: str = "ap-guangzhou"


class TencentSmsClient:
    def __init__(
        self,
        credentials: TencentSmsCredentials,
        *,
        transport: Transport,
        wall: Callable[[], float],
        timeout: float = 5.0,
    ) -> None:
        self._credentials = credentials
        self._transport = transport
        self._wall = wall
        self._timeout = timeout

    def send_sms(self, phone: str, sign_name: str, template_id: str, params: list[str]) -> str:
        """SendSms to one E.164 number; its SerialNo."""
        c = self._credentials
        payload = json.dumps(
            {
                "PhoneNumberSet": [phone],
                "SmsSdkAppId": c.sdk_app_id,
                "SignName": sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": params,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        host = urlsplit(c.endpoint).netloc
        timestamp = int(self._wall())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": c.region,
            "Authorization": tc3_authorization(
                c.secret_id, c.secret_key, host, "SendSms", payload, timestamp
            ),
        }
        try:
            answer = self._transport("POST", c.endpoint.rstrip("/") + "/", headers, payload, self._timeout)
        except (ProviderUnreachable, OSError) as exc:
            raise TransientSendError(f"{PROVIDER}: {type(exc).__name__}") from None
        try:
            response = json.loads(answer.body.decode("utf-8"))["Response"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise TransientSendError(f"{PROVIDER}: HTTP {answer.status} without an API 3.0 answer") from None
        error = response.get("Error")
        if error:
            raise classified_error(PROVIDER, str(error.get("Code", "")), str(error.get("Message", "")))
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            raise TransientSendError(f"{PROVIDER}: SendSms answered without a SendStatusSet")
        status = statuses[0]
        if str(status.get("Code")) != "Ok":
            raise classified_error(PROVIDER, str(status.get("Code", "")), str(status.get("Message", "")))
        if not status.get("SerialNo"):
            raise TransientSendError(f"{PROVIDER}: SendSms answered Ok without a SerialNo")
        return str(status["SerialNo"])


STATUS_CALLBACK = ReportFields(
    what="a status callback",
    message_id="sid",
    status="report_status",
    statuses={"SUCCESS": "delivered", "FAIL": "failed"},
    at="user_receive_time",
    code="errmsg",
)


def parse_status_callback(body: Any) -> list[ProviderReceipt]:
    """A status callback (a JSON array of reports) -> its receipts; a ValueError names what is malformed."""
    return parse_report_array(PROVIDER, STATUS_CALLBACK, body)


class TencentSms(TemplatedSms):
    """The templated SMS channel through one chain's Tencent Cloud SMS application."""

    provider = PROVIDER
    _client: TencentSmsClient

    def _send_template(self, phone: str, template: SmsTemplate, values: Any, ref: str | None) -> str:
        return self._client.send_sms(phone, self._sign_name, template.code, [v for _, v in values])
