"""An in-process fake of Tencent Cloud SMS API 3.0 (`SendSms`, version 2021-01-11), over real HTTP.

It checks a request the way Tencent Cloud documents "Signature v3" (TC3-HMAC-SHA256), computed here from the
raw request rather than with chalicelib's code: the Authorization header's credential scope (date/sms/tc3_request),
signed headers and signature over the canonical request rebuilt from the received headers and body; the
X-TC-Action/Version/Timestamp headers. Errors answer `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`
(AuthFailure.SecretIdNotFound, AuthFailure.SignatureFailure, InvalidParameterValue.IncorrectPhoneNumber,
FailedOperation.TemplateIncorrectOrUnapproved, ...); a send answers SendStatusSet with a SerialNo per number.
`fail_numbers[e164] = code` makes that number's SendStatus carry `code`. `status_reports()` builds the status
callback ("短信下发状态通知") for what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from devstack.fakes.local_server import JsonHandler, LocalServer

CHINA = timezone(timedelta(hours=8))


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


class FakeTencentSms(LocalServer):
    thread_name = "fake-tencent-sms"

    def __init__(
        self,
        keys: dict[str, str],
        *,
        sdk_app_id: str,
        sign_names: set[str],
        templates: dict[str, int],
    ) -> None:
        self.keys = dict(keys)  # SecretId -> SecretKey
        self.sdk_app_id = sdk_app_id
        self.sign_names = set(sign_names)
        self.templates = dict(templates)  # TemplateId -> how many variables it has
        self.fail_numbers: dict[str, str] = {}
        self.sent: list[dict[str, Any]] = []
        self._serials = itertools.count(1045710669157053657849499619)
        self._lock = threading.Lock()

    def status_reports(self) -> list[dict[str, Any]]:
        return [
            {
                "user_receive_time": datetime.fromtimestamp(s["at"], UTC)
                .astimezone(CHINA)
                .strftime("%Y-%m-%d %H:%M:%S"),
                "nationcode": "86",
                "mobile": s["phone"].removeprefix("+86"),
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "用户短信送达成功",
                "sid": s["serial"],
            }
            for s in self.sent
        ]

    def handle(self, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        problem = self._auth_problem(headers, raw)
        if problem:
            return _error(*problem)
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return _error("InvalidAction", "The requested action is not supported.")
        body = json.loads(raw)
        if body.get("SmsSdkAppId") != self.sdk_app_id:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        if body.get("SignName") not in self.sign_names:
            return _error(
                "FailedOperation.SignatureIncorrectOrUnapproved", "signature incorrect or unapproved"
            )
        count = self.templates.get(str(body.get("TemplateId")))
        params = body.get("TemplateParamSet") or []
        if count is None or len(params) != count:
            return _error("FailedOperation.TemplateIncorrectOrUnapproved", "template incorrect or unapproved")
        statuses = []
        for phone in body.get("PhoneNumberSet") or []:
            code = self.fail_numbers.get(phone, "Ok")
            serial = f"5000:{next(self._serials)}" if code == "Ok" else ""
            if code == "Ok":
                with self._lock:
                    self.sent.append(
                        {
                            "phone": phone,
                            "serial": serial,
                            "params": params,
                            "body": body,
                            "at": int(headers["x-tc-timestamp"]),
                        }
                    )
            statuses.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": phone,
                    "Fee": 1,
                    "SessionContext": "",
                    "Code": code,
                    "Message": "send success" if code == "Ok" else code,
                    "IsoCode": "CN",
                }
            )
        return {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}

    def _auth_problem(self, headers: dict[str, str], raw: bytes) -> tuple[str, str] | None:
        authorization = headers.get("authorization", "")
        try:
            algorithm, rest = authorization.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            secret_id, date, service, terminator = parts["Credential"].split("/")
            signed_headers, signature = parts["SignedHeaders"], parts["Signature"]
            timestamp = int(headers["x-tc-timestamp"])
        except (ValueError, KeyError):
            return "AuthFailure.InvalidAuthorization", "Authorization is not in TencentCloud's format."
        if algorithm != "TC3-HMAC-SHA256" or service != "sms" or terminator != "tc3_request":
            return "AuthFailure.InvalidAuthorization", "Authorization is not in TencentCloud's format."
        secret_key = self.keys.get(secret_id)
        if secret_key is None:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found."
        if date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return "AuthFailure.SignatureFailure", "The credential date does not match X-TC-Timestamp."
        names = signed_headers.split(";")
        canonical_headers = "".join(
            f"{n}:{headers.get(n, '').strip().lower() if n == 'x-tc-action' else headers.get(n, '').strip()}\n"
            for n in names
        )
        canonical = "\n".join(
            ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(raw).hexdigest()]
        )
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/sms/tc3_request",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = _sign(_sign(_sign(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
        if not hmac.compare_digest(signature, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()):
            return "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
        return None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}


class _Handler(JsonHandler):
    fake: FakeTencentSms

    def do_POST(self) -> None:  # http.server's naming
        headers, raw = self.request_parts()
        self.reply_json(200, self.fake.handle(headers, raw))


FakeTencentSms.handler = _Handler
