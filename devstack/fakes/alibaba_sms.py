"""An in-process fake of Alibaba Cloud SMS (dysmsapi.aliyuncs.com, API version 2017-05-25), over real HTTP.

    with FakeAlibabaSms({"LTAI-test": "secret"}, sign_names={"丽人美发"},
                        templates={"SMS_4600001": ["name", "time"]}) as sms:
        ...  # point AlibabaSmsClient at sms.base_url
        assert sms.sent[0].template_param == {"name": "王女士", "time": "15:00"}
        sms.push_reports(receipt_url)  # SmsReport, as the HTTP batch push sends it

Written from Alibaba's documentation, apart from chalicelib's client, so the client is checked against a second
reading of the format:

- an RPC request (GET query or POST form) must carry the common parameters (Format, Version=2017-05-25,
  AccessKeyId, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0, SignatureNonce, Timestamp, Action) and a
  `Signature` = Base64(HMAC-SHA1(secret + "&", METHOD&%2F&percentEncode(sorted, percent-encoded query))).
  An unknown key is 404 InvalidAccessKeyId.NotFound, a wrong signature 400 SignatureDoesNotMatch, a nonce seen
  before 400 SignatureNonceUsed, a missing parameter 400 MissingParameter.
- `SendSms`: PhoneNumbers (11-digit mainland numbers), SignName (registered), TemplateCode (registered), TemplateParam
  (a JSON object holding every variable of the template) -> 200 {"Code": "OK", "Message": "OK", "BizId", "RequestId"};
  otherwise 200 with the documented Code: isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_SIGNATURE_ILLEGAL,
  isv.SMS_TEMPLATE_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS, isv.INVALID_JSON_PARAM; `fail_numbers[number] = code`
  answers that number with that code (isv.BUSINESS_LIMIT_CONTROL, ...).
- `QuerySendDetails` (PhoneNumber, BizId, SendDate, PageSize, CurrentPage) -> {"Code": "OK", "TotalCount",
  "SmsSendDetailDTOs": {"SmsSendDetailDTO": [{PhoneNum, SendStatus 1 waiting / 2 failed / 3 delivered, ErrCode,
  TemplateCode, Content, SendDate, ReceiveDate, OutId}]}}.
- `push_reports(url)`: what the operator reported since the last push, POSTed as SmsReport's JSON array
  (phone_number, send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id; Beijing times);
  numbers in `undeliverable` are reported failed with `undeliverable_code`. It expects {"code": <number>}.
  Fake-only `POST /_fake/push-reports` does the same to `report_url` (the local stack sets it to the chain's
  receipt route), so an e2e test or a person at `make run` can have the operator report.
- `reply(phone, content)` / `push_replies(url)`: a member texting back (上行短信), POSTed as SmsUp's JSON array
  (phone_number, send_time, content, sign_name, dest_code, sequence_id). Fake-only `POST /_fake/push-replies` with
  `{"phone_number", "content"}` does both, to `reply_url` (the local stack sets it to the chain's reply route).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from devstack.fakes.local_server import JsonHandler, LocalServer

CHINA = timezone(timedelta(hours=8))
PUSH_PATH = "/_fake/push-reports"
REPLY_PATH = "/_fake/push-replies"
COMMON = (
    "Format",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
)


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method}&{_encode('/')}&{_encode(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class SentSms:
    biz_id: str
    phone: str
    sign_name: str
    template_code: str
    template_param: dict[str, Any]
    out_id: str | None
    sent_at: float
    reported: bool = False
    status: int = 1  # 1 waiting for the receipt, 2 failed, 3 delivered
    err_code: str = ""
    report_at: float | None = None
    params: dict[str, str] = field(default_factory=dict)


class FakeAlibabaSms(LocalServer):
    thread_name = "fake-alibaba-sms"

    def __init__(
        self,
        keys: dict[str, str],
        *,
        sign_names: set[str] | None = None,
        templates: dict[str, list[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = dict(keys)  # AccessKeyId -> AccessKeySecret
        self.sign_names = set(sign_names or ())
        self.templates = dict(templates or {})  # TemplateCode -> its variables
        self.clock = clock
        self.fail_numbers: dict[str, str] = {}  # 11-digit number -> the Code SendSms answers it with
        self.undeliverable: set[str] = set()  # numbers the operator reports as failed
        self.undeliverable_code = "MN:0001"
        self.sent: list[SentSms] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, Action, Code answered)
        self.pushes: list[tuple[str, int, list[dict[str, Any]]]] = []  # (url, HTTP status, body pushed)
        # Where `POST /_fake/push-reports` pushes (the local stack sets it to the chain's receipt route).
        self.report_url: str | None = None
        # Where `POST /_fake/push-replies` pushes SmsUp (the local stack sets it to the chain's reply route).
        self.reply_url: str | None = None
        self.replies: list[dict[str, Any]] = []  # SmsUp items not pushed yet
        self._nonces: set[str] = set()
        self._ids = itertools.count(900619746936498)
        self._lock = threading.Lock()

    # --- the operator's side -----------------------------------------------------------------------
    def reports(self) -> list[dict[str, Any]]:
        """Marks every unreported send delivered (or failed, for `undeliverable` numbers); the SmsReport items."""
        items = []
        with self._lock:
            for sms in self.sent:
                if sms.reported:
                    continue
                failed = sms.phone in self.undeliverable
                sms.reported, sms.report_at = True, self.clock()
                sms.status, sms.err_code = (2, self.undeliverable_code) if failed else (3, "DELIVERED")
                items.append(
                    {
                        "phone_number": sms.phone,
                        "send_time": _china(sms.sent_at),
                        "report_time": _china(sms.report_at),
                        "success": not failed,
                        "err_code": sms.err_code,
                        "err_msg": "用户接收失败" if failed else "用户接收成功",
                        "sms_size": "1",
                        "biz_id": sms.biz_id,
                        "out_id": sms.out_id or "",
                    }
                )
        return items

    def reply(self, phone: str, content: str) -> dict[str, Any]:
        """A member texts back (上行短信): the SmsUp item the next `push_replies` sends."""
        with self._lock:
            item = {
                "phone_number": phone.removeprefix("+86"),
                "send_time": _china(self.clock()),
                "content": content,
                "sign_name": next(iter(sorted(self.sign_names)), ""),
                "dest_code": "",
                "sequence_id": next(self._ids),
            }
            self.replies.append(item)
        return item

    def push_replies(self, url: str) -> tuple[int, Any]:
        """POST the replies not pushed yet to `url`, as SmsUp's HTTP batch push does; (status, answer)."""
        with self._lock:
            items, self.replies = self.replies, []
        return self._push(url, items)

    def push_reports(self, url: str) -> tuple[int, Any]:
        """POST the unreported sends' SmsReport to `url`, as the HTTP batch push does; (status, answer)."""
        return self._push(url, self.reports())

    def _push(self, url: str, items: list[dict[str, Any]]) -> tuple[int, Any]:
        request = urllib.request.Request(
            url,
            data=json.dumps(items, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        with self._lock:
            self.pushes.append((url, status, items))
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    # --- request handling --------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        # fake-only: a member texts back, pushed now
        if urlsplit(path).path == REPLY_PATH and method == "POST":
            if not self.reply_url:
                return 409, {"Code": "NoReplyUrl", "Message": "no receiving address configured"}
            try:
                wanted = json.loads(raw or b"{}")
                self.reply(str(wanted["phone_number"]), str(wanted["content"]))
            except (ValueError, KeyError, TypeError):
                return 400, {"Code": "InvalidParameter", "Message": "phone_number and content are required"}
            status, answer = self.push_replies(self.reply_url)
            return 200, {"Code": "OK", "pushed_to_status": status, "answer": answer}
        if urlsplit(path).path == PUSH_PATH and method == "POST":  # fake-only: push the pending reports now
            if not self.report_url:
                return 409, {"Code": "NoReportUrl", "Message": "no receiving address configured"}
            before = len(self.pushes)
            status, answer = self.push_reports(self.report_url)
            with self._lock:
                reported = [item for _, _, items in self.pushes[before:] for item in items]
            # `reported`: the SmsReport items pushed (fake-only, so a test can count what reached each phone)
            return 200, {"Code": "OK", "pushed_to_status": status, "answer": answer, "reported": reported}
        params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        if method == "POST" and raw:
            params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        status, answer = self._answer(method, params)
        with self._lock:
            self.requests.append((method, params.get("Action", ""), answer["Code"]))
        return status, answer

    def _answer(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        missing = [name for name in (*COMMON, "Action", "Signature") if not params.get(name)]
        if missing:
            return 400, _error("MissingParameter", f"{missing[0]} is mandatory for this action.")
        if params["Version"] != "2017-05-25" or params["SignatureMethod"] != "HMAC-SHA1":
            return 400, _error("InvalidParameter", "Specified Version or SignatureMethod is not valid.")
        secret = self.keys.get(params["AccessKeyId"])
        if secret is None:
            return 404, _error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if not hmac.compare_digest(params["Signature"], expected_signature(secret, method, params)):
            return 400, _error(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                return 400, _error("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(params["SignatureNonce"])
        action = params["Action"]
        if action == "SendSms":
            return 200, self._send(params)
        if action == "QuerySendDetails":
            return 200, self._details(params)
        return 404, _error(
            "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
        )

    def _send(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return _error("MissingParameter", f"{name} is mandatory for this action.")
        phone = params["PhoneNumbers"]
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            return _error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if phone in self.fail_numbers:
            return _error(self.fail_numbers[phone], "fake: configured failure")
        if params["SignName"] not in self.sign_names:
            return _error("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        variables = self.templates.get(params["TemplateCode"])
        if variables is None:
            return _error("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return _error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return _error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(not values.get(v) for v in variables):
            return _error("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        with self._lock:
            biz_id = f"{next(self._ids)}^0"
            self.sent.append(
                SentSms(
                    biz_id,
                    phone,
                    params["SignName"],
                    params["TemplateCode"],
                    values,
                    params.get("OutId"),
                    self.clock(),
                    params=dict(params),
                )
            )
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()}

    def _details(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                return _error("MissingParameter", f"{name} is mandatory for this action.")
        with self._lock:
            found = [
                s
                for s in self.sent
                if s.phone == params["PhoneNumber"]
                and (not params.get("BizId") or s.biz_id == params["BizId"])
                and datetime.fromtimestamp(s.sent_at, CHINA).strftime("%Y%m%d") == params["SendDate"]
            ]
            details = [
                {
                    "PhoneNum": s.phone,
                    "SendStatus": s.status,
                    "ErrCode": s.err_code,
                    "TemplateCode": s.template_code,
                    "Content": f"【{s.sign_name}】" + json.dumps(s.template_param, ensure_ascii=False),
                    "SendDate": _china(s.sent_at),
                    "ReceiveDate": _china(s.report_at) if s.report_at is not None else "",
                    "OutId": s.out_id or "",
                }
                for s in found
            ]
        return {
            "Code": "OK",
            "Message": "OK",
            "RequestId": str(uuid.uuid4()).upper(),
            "TotalCount": len(details),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
        }


def _china(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _error(code: str, message: str) -> dict[str, Any]:
    return {
        "RequestId": str(uuid.uuid4()).upper(),
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
    }


class _Handler(JsonHandler):
    fake: FakeAlibabaSms

    def _serve(self) -> None:
        headers, raw = self.request_parts()
        status, answer = self.fake.handle(self.command, self.path, headers, raw)
        self.reply_json(status, answer, "application/json;charset=utf-8")

    do_GET = _serve
    do_POST = _serve


FakeAlibabaSms.handler = _Handler
