"""An in-process fake of the WeChat Official Account API (api.weixin.qq.com), over real HTTP.

    with FakeWeChatAPI(app_id="wx-test", app_secret="s3cret") as api:
        client = WeChatClient("wx-test", "s3cret", base_url=api.base_url, clock=...)
        ...
        assert api.sent[0]["text"]["content"] == "hi"

Implements `GET /cgi-bin/token`, `POST /cgi-bin/message/custom/send`,
`POST /cgi-bin/message/template/send` and web authorization (`GET /sns/oauth2/access_token`: a code -> openid;
`GET /connect/oauth2/authorize`: open.weixin.qq.com's page, redirecting at once with a code; fake-only
`POST /_fake/oauth/code {"openid"}` -> `{"code"}`, or `oauth_code(openid)`), answering WeChat's JSON shapes (errors as
`{"errcode": .., "errmsg": ..}`, always with HTTP 200 like the real API), plus:

- token control: `expires_in`, `expire_tokens()` (next use → 42001), `invalidate_tokens()` (→ 40001);
- member state: `window_closed` (→ 45015), `invalid_openids` (→ 40003), `unsubscribed` (→ 43004);
- the 48-hour customer-service window: the fake knows when each member last wrote (`callback(...)` of a
  member's message notes it, or `user_wrote(openid, at)`; HTTP `POST /_fake/user {"openid", "last_wrote_at"}`),
  and answers a customer-service send 45015 more than 48 hours after it (by `clock`); with `cs_window_strict`
  also to a member it never heard from;
- template messages as WeChat handles them since May 2023: `register_template(id, keywords)` holds a registered
  template's keywords; a category template's values are checked against their type's limits (47003), an old one's
  are shown cut to 20 characters, `first`/`remark` are accepted and never shown (`shown` is what members see);
  `client_msg_id` sends one message per openid and id within 10 minutes (the repeat answers the first msgid);
- a blocked member (`block(openid)` or `POST /_fake/user {"openid", "blocked": "refuse" | "event"}`): "refuse"
  answers 43101 to a template send, "event" accepts it and reports TEMPLATESENDJOBFINISH "failed:user block";
- TEMPLATESENDJOBFINISH after each accepted template message ("success" unless blocked): `take_events()` hands
  them out as signed callbacks, or, after `push_to(url, token, encoding_aes_key=None)`, a thread POSTs them to
  the account's server URL like WeChat does; `POST /_fake/user {"openid", "lose_receipts": n}` loses her next n;
- subscription messages (订阅通知): `subscribe(openid, [template ids], accept=True)` is her choice in the
  subscribe pop-up (HTTP `POST /_fake/subscribe {"openid", "template_ids", "accept"?}`): each accept lets one
  `POST /cgi-bin/message/subscribe/bizsend` of that template through (else 43101), and the choice is reported as
  `subscribe_msg_popup_event`; `turn_off(openid, template_id)` is her settings' switch
  (`subscribe_msg_change_event`); each accepted send is reported as `subscribe_msg_sent_event` (ErrorCode 0).
  These events go out with the TEMPLATESENDJOBFINISH ones (`take_events()` or the push thread);
- the JS-SDK ticket: `GET /cgi-bin/ticket/getticket?access_token=&type=jsapi` answers `{"errcode": 0, "errmsg":
  "ok", "ticket", "expires_in": 7200}`; `tickets` lists those issued, `ticket_requests` counts the asks;
- fault injection: `fail_next(n, kind="busy" | "http500" | "slow", path=None)`;
- callbacks as WeChat's servers send them to ours: `callback(token, xml)` signs a plaintext-mode message,
  `callback(token, xml, encoding_aes_key=...)` encrypts it ("安全模式", AES-256-CBC, `msg_signature`). Written from WeChat's documentation, apart from
  chalicelib's own code, so the service is checked against a second reading of the format.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import struct
import threading
import time
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devstack.fakes.local_server import JsonHandler, LocalServer

TOKEN_PATH = "/cgi-bin/token"
TICKET_PATH = "/cgi-bin/ticket/getticket"  # the JS-SDK ticket (type=jsapi) a page's wx.config is signed with
CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_SEND_PATH = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND_PATH = "/cgi-bin/message/subscribe/bizsend"
SUBSCRIBE_CONTROL_PATH = "/_fake/subscribe"  # fake-only: her choice in the subscribe pop-up
PUSHES_PATH = "/_fake/pushes"  # fake-only: GET how many events are still to reach the account's server
OAUTH_TOKEN_PATH = "/sns/oauth2/access_token"  # web authorization: code -> openid
OAUTH_AUTHORIZE_PATH = "/connect/oauth2/authorize"  # open.weixin.qq.com's page, played here
OAUTH_MINT_PATH = "/_fake/oauth/code"  # fake-only: a code for an openid, for tests and the local stack
USER_CONTROL_PATH = "/_fake/user"  # fake-only: when a member last wrote, and whether she blocks templates
TEMPLATES_PATH = "/_fake/templates"  # fake-only: GET every template message accepted (touser, client_msg_id)
SUBSCRIPTIONS_PATH = "/_fake/subscriptions"  # fake-only: GET every subscription message accepted
CS_WINDOW_SECONDS = 48 * 3600
CLIENT_MSG_ID_SECONDS = 600  # WeChat: one message per openid + client_msg_id within 10 minutes
JOB_FINISH = "TEMPLATESENDJOBFINISH"
# Category-template keyword types and their limits, from WeChat's table (参数值内容限制说明), read apart from
# chalicelib's templates.py: (max characters, what a value may be).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
KEYWORD_RULES: dict[str, tuple[int, str]] = {
    "thing": (20, r".+"),
    "const": (20, r".+"),
    "character_string": (32, r"[!-~]+"),
    "number": (32, r"-?\d+(\.\d+)?"),
    "letter": (32, r"[A-Za-z]+"),
    "symbol": (5, r"[^\w\s]+"),
    "time": (64, r".*(?<!\d)([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?(?!\d).*"),
    "date": (64, r".*(\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}).*"),
    "amount": (16, r"[^\d\s.]?\d{1,10}(\.\d{1,2})?元?"),
    "phone_number": (17, r"[\d+\-()]+"),
    "car_number": (8, r".+"),
    "name": (20, r".+"),
    "phrase": (5, f"[{_HAN}]+"),
}


class FakeWeChatAPI(LocalServer):
    thread_name = "fake-wechat-api"

    def __init__(
        self,
        app_id: str = "wx-test-app",
        app_secret: str = "test-app-secret",
        *,
        expires_in: int = 7200,
        slow_seconds: float = 2.0,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.slow_seconds = slow_seconds
        self.window_closed: set[str] = set()
        self.invalid_openids: set[str] = set()
        self.unsubscribed: set[str] = set()
        self.sent: list[dict[str, Any]] = []  # customer-service message bodies accepted
        self.templates: list[dict[str, Any]] = []  # template message bodies accepted
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.token_requests = 0
        self.issued_tokens: list[str] = []
        self.ticket_requests = 0
        self.tickets: list[str] = []  # JS-SDK tickets issued (GET /cgi-bin/ticket/getticket)
        self._valid: dict[str, str] = {}  # token -> "valid" | "expired" | "invalid"
        self._oauth_codes: dict[str, tuple[str, str]] = {}  # code -> (app id, openid); a code works once
        self.oauth_exchanges: list[str] = []  # openids handed out for codes
        self._faults: list[tuple[str, str | None]] = []  # (kind, path or None for any)
        self.clock = time.time  # WeChat's time, for the 48-hour window and client_msg_id (tests move it)
        self.cs_window_strict = False
        self.last_wrote: dict[str, float] = {}  # openid -> when she last wrote to the account
        self.blocked: dict[str, str] = {}  # openid -> "refuse" (43101 on send) | "event" (failed:user block)
        self.registered: dict[str, list[str]] = {}  # template id -> its keywords
        self.shown: list[dict[str, Any]] = []  # {"msgid", "touser", "template_id", "lines"}: what she sees
        self.events: list[
            tuple[str, int, str]
        ] = []  # TEMPLATESENDJOBFINISH to report: (openid, msgid, status)
        self._client_msgs: dict[tuple[str, str], tuple[int, float]] = {}  # (openid, id) -> (msgid, at)
        self._push: tuple[str, str, str | None] | None = None  # (url, token, EncodingAESKey)
        self._pusher: threading.Thread | None = None
        self.push_failures = 0
        self.pushing = 0  # events taken by the push thread and not yet answered by the account's server
        self.lost_receipts: dict[
            str, int
        ] = {}  # openid -> how many more of her job-finish events are never sent
        self.grants: dict[str, list[str]] = {}  # openid -> template ids she allowed, one entry per accept
        self.subscription_sends: list[dict[str, Any]] = []  # subscription message bodies accepted
        self.pushes: list[str] = []  # subscription events owed (XML), sent with the job-finish events
        self._last_event_at = 0
        self._counter = itertools.count(1)
        self._msgids = itertools.count(200000001)
        self._lock = threading.Lock()
        self._pushed = threading.Condition(self._lock)

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._push = None
            self._pushed.notify_all()
        if self._pusher is not None:
            self._pusher.join(timeout=5)
            self._pusher = None
        super().__exit__(*exc_info)

    # --- control -----------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (42001)."""
        with self._lock:
            for token in self._valid:
                self._valid[token] = "expired"

    def invalidate_tokens(self) -> None:
        """Every token issued so far is now invalid (40001), e.g. superseded elsewhere."""
        with self._lock:
            for token in self._valid:
                self._valid[token] = "invalid"

    def fail_next(self, n: int = 1, kind: str = "busy", path: str | None = None) -> None:
        """The next `n` requests (to `path`, or to any path) fail: "busy" → errcode -1, "http500" →
        HTTP 500, "slow" → answer only after `slow_seconds`."""
        if kind not in ("busy", "http500", "slow"):
            raise ValueError(kind)
        with self._lock:
            self._faults.extend([(kind, path)] * n)

    def oauth_code(self, openid: str | None = None, app_id: str | None = None) -> str:
        """A web-authorization code for `openid` (a new one when None), as WeChat adds it to the redirect after
        the member allowed snsapi_base; it works once, for the app `app_id` (this fake's by default)."""
        with self._lock:
            code = f"fakecode{next(self._counter):06d}{os.urandom(4).hex()}"
            self._oauth_codes[code] = (app_id or self.app_id, openid or f"o-fake-{os.urandom(6).hex()}")
            return code

    def send_count(self) -> int:
        return len(self.sent) + len(self.templates)

    def user_wrote(self, openid: str, at: float | None = None) -> None:
        """She wrote to the account at `at` (now by default): customer-service messages may follow for 48 h."""
        with self._lock:
            self.last_wrote[openid] = self.clock() if at is None else at

    def block(self, openid: str, how: str = "refuse") -> None:
        """She turned the account's template messages off: "refuse" → 43101 on send; "event" → the send
        succeeds and TEMPLATESENDJOBFINISH reports "failed:user block"."""
        if how not in ("refuse", "event"):
            raise ValueError(how)
        with self._lock:
            self.blocked[openid] = how

    def register_template(self, template_id: str, keywords: list[str]) -> None:
        """A template the account added from the library, with its keywords (`thing1`, `time2`, `keyword1`...)."""
        with self._lock:
            self.registered[template_id] = list(keywords)

    def subscribe(self, openid: str, template_ids: list[str], accept: bool = True) -> str:
        """Her choice in the subscribe pop-up for these templates: each accept allows one subscription message.
        Reported as subscribe_msg_popup_event (returned too)."""
        status = "accept" if accept else "reject"
        with self._lock:
            if accept:
                self.grants.setdefault(openid, []).extend(template_ids)
            xml = subscription_event_xml(
                openid,
                "subscribe_msg_popup_event",
                [{"TemplateId": t, "SubscribeStatusString": status, "PopupScene": "2"} for t in template_ids],
                self._event_time(),
            )
            self.pushes.append(xml)
            self._pushed.notify_all()
        return xml

    def turn_off(self, openid: str, template_id: str) -> str:
        """She turned this template's messages off in her settings (subscribe_msg_change_event)."""
        with self._lock:
            self.grants[openid] = [t for t in self.grants.get(openid, []) if t != template_id]
            xml = subscription_event_xml(
                openid,
                "subscribe_msg_change_event",
                [{"TemplateId": template_id, "SubscribeStatusString": "reject"}],
                self._event_time(),
            )
            self.pushes.append(xml)
            self._pushed.notify_all()
        return xml

    def _event_time(self) -> int:
        """A CreateTime no earlier event of this fake had: WeChat's events of one member are seconds apart."""
        self._last_event_at = max(int(self.clock()), self._last_event_at + 1)
        return self._last_event_at

    def _owed(self) -> list[str]:
        """Every event owed, as XML, handed out once (the lock held)."""
        owed = [job_finish_xml(*event) for event in self.events] + self.pushes
        self.events, self.pushes = [], []
        return owed

    def take_events(
        self, token: str, encoding_aes_key: str | None = None
    ) -> list[tuple[dict[str, str], bytes]]:
        """The events owed so far (TEMPLATESENDJOBFINISH, subscription choices and results), as signed callbacks
        (query, body) for the account's server; each is handed out once."""
        with self._lock:
            owed = self._owed()
        return [self.callback(token, xml, encoding_aes_key=encoding_aes_key) for xml in owed]

    def push_to(self, url: str, token: str, encoding_aes_key: str | None = None) -> None:
        """POST each TEMPLATESENDJOBFINISH to `url` (the account's server configuration) as WeChat does, from
        a thread of its own, shortly after the send."""
        with self._lock:
            self._push = (url, token, encoding_aes_key)
            self._pushed.notify_all()
        if self._pusher is None:
            self._pusher = threading.Thread(target=self._push_loop, name="fake-wechat-push", daemon=True)
            self._pusher.start()

    def _push_loop(self) -> None:
        import urllib.request

        while True:
            with self._lock:
                while self._push is not None and not self.events and not self.pushes:
                    self._pushed.wait()
                if self._push is None:
                    return
                url, token, aes_key = self._push
                owed = self._owed()
                self.pushing += len(owed)
            for xml in owed:
                params, body = self.callback(token, xml, encoding_aes_key=aes_key)
                request = urllib.request.Request(
                    f"{url}?{urllib.parse.urlencode(params)}",
                    data=body,
                    headers={"Content-Type": "text/xml"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        answer.read()
                except OSError:
                    self.push_failures += 1  # WeChat gives up after its retries too
                finally:
                    with self._lock:
                        self.pushing -= 1

    # --- callbacks WeChat sends to the account's server ---------------------------------------------
    def callback(
        self,
        token: str,
        xml: str | bytes,
        *,
        encoding_aes_key: str | None = None,
        timestamp: int | str | None = None,
        nonce: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """(query parameters, POST body) of a message callback, as WeChat would send it to this app's server."""
        message = xml.encode("utf-8") if isinstance(xml, str) else xml
        sender = _SENDER.search(message)
        if sender and not _EVENT.search(message):  # she wrote: the customer-service window opens
            self.user_wrote(sender.group(1).decode("utf-8", "replace"))
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce if nonce is not None else str(int.from_bytes(os.urandom(4), "big"))
        params = {"signature": _sha1(token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if encoding_aes_key is None:
            return params, message
        encrypted = wechat_encrypt(encoding_aes_key, message, self.app_id)
        params |= {"encrypt_type": "aes", "msg_signature": _sha1(token, ts, nonce, encrypted)}
        body = f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return params, body.encode("ascii")

    # --- behaviour (called from the handler threads) -----------------------------------------------
    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            for i, (kind, only) in enumerate(self._faults):
                if only is None or only == path:
                    del self._faults[i]
                    return kind
        return None

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.token_requests += 1
            if query.get("grant_type") != "client_credential":
                return _err(40002, "invalid grant_type")
            if query.get("appid") != self.app_id:
                return _err(40013, "invalid appid")
            if query.get("secret") != self.app_secret:
                return _err(40125, "invalid appsecret")
            token = f"fake-token-{next(self._counter)}"
            self._valid[token] = "valid"
            self.issued_tokens.append(token)
            return {"access_token": token, "expires_in": self.expires_in}

    def _ticket(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.ticket_requests += 1
            refused = self._check_token(query)
            if refused is not None:
                return refused
            if query.get("type") != "jsapi":
                return _err(40097, "invalid args")
            ticket = f"fake-jsapi-ticket-{next(self._counter)}"
            self.tickets.append(ticket)
            return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200}

    def _oauth_token(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if query.get("grant_type") != "authorization_code":
                return _err(40002, "invalid grant_type")
            if query.get("appid") != self.app_id:
                return _err(40013, "invalid appid")
            if query.get("secret") != self.app_secret:
                return _err(40125, "invalid appsecret")
            issued = self._oauth_codes.pop(query.get("code") or "", None)
            if issued is None or issued[0] != query.get("appid"):
                return _err(40029, "invalid code")
            openid = issued[1]
            self.oauth_exchanges.append(openid)
            return {
                "access_token": f"fake-user-token-{next(self._counter)}",
                "expires_in": 7200,
                "refresh_token": f"fake-refresh-{next(self._counter)}",
                "openid": openid,
                "scope": "snsapi_base",
            }

    def _authorize(self, query: dict[str, str]) -> str | None:
        """Where the authorize page sends the browser: `redirect_uri?code=&state=` (None: a bad request)."""
        redirect, state = query.get("redirect_uri"), query.get("state", "")
        if query.get("appid") != self.app_id or not redirect or query.get("scope") != "snsapi_base":
            return None
        code = self.oauth_code(query.get("openid"))  # fake-only: `openid=` picks who signs in
        joiner = "&" if "?" in redirect else "?"
        return f"{redirect}{joiner}{urllib.parse.urlencode({'code': code, 'state': state})}"

    def _check_token(self, query: dict[str, str]) -> dict[str, Any] | None:
        token = query.get("access_token")
        if not token:
            return _err(41001, "access_token missing")
        state = self._valid.get(token)
        if state == "valid":
            return None
        if state == "expired":
            return _err(42001, "access_token expired")
        return _err(40001, "invalid credential, access_token is invalid or not latest")

    def _check_openid(self, openid: Any) -> dict[str, Any] | None:
        if not isinstance(openid, str) or not openid or openid in self.invalid_openids:
            return _err(40003, "invalid openid")
        if openid in self.unsubscribed:
            return _err(43004, "require subscribe")
        return None

    def _custom_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            problem = self._check_token(query)
            if problem:
                return problem
            if (
                not isinstance(body, dict)
                or body.get("msgtype") != "text"
                or not isinstance(body.get("text"), dict)
            ):
                return _err(47001, "data format error")
            problem = self._check_openid(body.get("touser"))
            if problem:
                return problem
            if body["touser"] in self.window_closed or not self._window_open(body["touser"]):
                return _err(45015, "response out of time limit or subscription is canceled")
            self.sent.append(body)
            return _err(0, "ok")

    def _check_templated(self, query: dict[str, str], body: Any) -> dict[str, Any] | None:
        """WeChat's answer to a template or subscription send it refuses before looking at the values; None if
        none (the lock held)."""
        problem = self._check_token(query)
        if problem:
            return problem
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return _err(47001, "data format error")
        if not body.get("template_id"):
            return _err(40037, "invalid template_id")
        problem = self._check_openid(body.get("touser"))
        if problem:
            return problem
        if self.registered and body["template_id"] not in self.registered:
            return _err(40037, "invalid template_id")
        return None

    def _template_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            problem = self._check_templated(query, body)
            if problem:
                return problem
            openid, template_id = body["touser"], body["template_id"]
            now = self.clock()
            key = (openid, str(body.get("client_msg_id") or ""))
            earlier = self._client_msgs.get(key) if key[1] else None
            if earlier is not None and now - earlier[1] < CLIENT_MSG_ID_SECONDS:
                return {"errcode": 0, "errmsg": "ok", "msgid": earlier[0]}
            lines = self._shown_lines(template_id, body["data"])
            if isinstance(lines, dict) and "errcode" in lines:
                return lines
            if self.blocked.get(openid) == "refuse":
                return _err(43101, "user refuse to accept the msg")
            msgid = next(self._msgids)
            if key[1]:
                self._client_msgs[key] = (msgid, now)
            self.templates.append(body)
            self.shown.append({"msgid": msgid, "touser": openid, "template_id": template_id, "lines": lines})
            status = "failed:user block" if self.blocked.get(openid) == "event" else "success"
            if self.lost_receipts.get(openid, 0) > 0:
                self.lost_receipts[openid] -= 1  # delivered, but WeChat's report never comes
            else:
                self.events.append((openid, msgid, status))
            self._pushed.notify_all()
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _subscribe_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            problem = self._check_templated(query, body)
            if problem:
                return problem
            openid, template_id = body["touser"], body["template_id"]
            lines = self._shown_lines(template_id, body["data"])
            if isinstance(lines, dict) and "errcode" in lines:
                return lines
            held = self.grants.get(openid, [])
            if template_id not in held:
                return _err(43101, "user refuse to accept the msg")
            held.remove(template_id)  # one message per accept
            msgid = next(self._msgids)
            self.subscription_sends.append(body)
            self.shown.append({"msgid": msgid, "touser": openid, "template_id": template_id, "lines": lines})
            self.pushes.append(
                subscription_event_xml(
                    openid,
                    "subscribe_msg_sent_event",
                    [
                        {
                            "TemplateId": template_id,
                            "MsgID": str(msgid),
                            "ErrorCode": "0",
                            "ErrorStatus": "success",
                        }
                    ],
                    self._event_time(),
                )
            )
            self._pushed.notify_all()
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _control_subscribe(self, raw: bytes) -> dict[str, Any]:
        """Fake-only: `{"openid", "template_ids": [..], "accept"?: true}`: her choice in the subscribe pop-up."""
        try:
            asked = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _err(47001, "data format error")
        if not isinstance(asked, dict):
            return _err(47001, "data format error")
        openid, template_ids = asked.get("openid"), asked.get("template_ids")
        if not isinstance(openid, str) or not openid:
            return _err(40003, "invalid openid")
        if not isinstance(template_ids, list) or not all(isinstance(t, str) and t for t in template_ids):
            return _err(40037, "invalid template_id")
        self.subscribe(openid, template_ids, accept=asked.get("accept", True) is not False)
        return _err(0, "ok")

    def _control_user(self, raw: bytes) -> dict[str, Any]:
        """Fake-only: `{"openid", "last_wrote_at"?: epoch seconds, "blocked"?: "refuse" | "event" | null,
        "lose_receipts"?: n}` (her next n template messages get no TEMPLATESENDJOBFINISH)."""
        try:
            asked = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _err(47001, "data format error")
        openid = asked.get("openid") if isinstance(asked, dict) else None
        if not isinstance(openid, str) or not openid:
            return _err(40003, "invalid openid")
        if isinstance(asked.get("last_wrote_at"), int | float):
            self.user_wrote(openid, float(asked["last_wrote_at"]))
        if isinstance(asked.get("lose_receipts"), int) and asked["lose_receipts"] >= 0:
            with self._lock:
                self.lost_receipts[openid] = asked["lose_receipts"]
        if "blocked" in asked:
            if asked["blocked"] in ("refuse", "event"):
                self.block(openid, asked["blocked"])
            else:
                with self._lock:
                    self.blocked.pop(openid, None)
        return _err(0, "ok")

    def _window_open(self, openid: str) -> bool:
        wrote = self.last_wrote.get(openid)
        if wrote is None:
            return not self.cs_window_strict
        return self.clock() - wrote <= CS_WINDOW_SECONDS

    def _shown_lines(self, template_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """What the member sees of `data`, or WeChat's 47003 for a category keyword that breaks its type's limit.
        `first`, `remark` and keywords the template does not have are not shown; old-style keywords are cut to 20
        characters on one line."""
        keywords = self.registered.get(template_id)
        lines: dict[str, Any] = {}
        for name, item in data.items():
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, str):
                return _err(47001, "data format error")
            if name in ("first", "remark") or (keywords is not None and name not in keywords):
                continue
            kind = re.sub(r"\d+$", "", name)
            if kind == "keyword" or kind not in KEYWORD_RULES:
                lines[name] = value.replace("\n", " ")[:20]
                continue
            limit, pattern = KEYWORD_RULES[kind]
            if kind == "name" and re.search(f"[{_HAN}]", value):
                limit = 10
            if len(value) > limit or "\n" in value or not re.fullmatch(pattern, value):
                return _err(47003, f"argument invalid! data.{name}.value invalid")
            lines[name] = value
        return lines


_SENDER = re.compile(rb"<FromUserName>\s*(?:<!\[CDATA\[)?([^<\]]+)")
_EVENT = re.compile(rb"<MsgType>\s*(?:<!\[CDATA\[)?event", re.IGNORECASE)


def job_finish_xml(openid: str, msgid: int, status: str, account: str = "gh_demo") -> str:
    """WeChat's TEMPLATESENDJOBFINISH event: a template message's delivery, pushed to the account's server."""
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{JOB_FINISH}]]></Event><MsgID>{msgid}</MsgID><Status><![CDATA[{status}]]></Status></xml>"
    )


def subscription_event_xml(
    openid: str, event: str, items: list[dict[str, str]], at: int, account: str = "gh_demo"
) -> str:
    """A subscription event (subscribe_msg_popup_event, _change_event, _sent_event) with its <List> items, as
    WeChat pushes it to the account's server."""
    wrapper = {
        "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
        "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
        "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
    }[event]
    lists = "".join(
        "<List>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in item.items()) + "</List>"
        for item in items
    )
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><{wrapper}>{lists}</{wrapper}></xml>"
    )


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324 - WeChat's scheme


def wechat_encrypt(encoding_aes_key: str, message: bytes, app_id: str) -> str:
    """WeChat's layout: random(16) + len(msg) (4 bytes, big-endian) + msg + appid, PKCS#7 to 32 bytes,
    AES-256-CBC with key = base64(EncodingAESKey + "=") and IV = key[:16], base64."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def wechat_decrypt(encoding_aes_key: str, encrypted: str, app_id: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    assert plain[20 + length :] == app_id.encode(), "encrypted for another app"
    return plain[20 : 20 + length]


def _err(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}


class _Handler(JsonHandler):
    fake: FakeWeChatAPI

    def do_GET(self) -> None:  # http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # http.server's naming
        self._handle("POST")

    def _handle(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query))
        _, raw = self.request_parts()
        self.fake.requests.append((method, path))

        fault = self.fake._take_fault(path)
        if fault == "http500":
            self.reply(500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
            return
        if fault == "busy":
            self._json(_err(-1, "system error"))
            return
        if fault == "slow":
            time.sleep(self.fake.slow_seconds)

        if path == TOKEN_PATH and method == "GET":
            self._json(self.fake._token(query))
            return
        if path == TICKET_PATH and method == "GET":
            self._json(self.fake._ticket(query))
            return
        if path == OAUTH_TOKEN_PATH and method == "GET":
            self._json(self.fake._oauth_token(query))
            return
        if path == OAUTH_AUTHORIZE_PATH and method == "GET":
            location = self.fake._authorize(query)
            if location is None:
                self.reply(400, b"bad authorize request", "text/plain")
            else:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            return
        if path == OAUTH_MINT_PATH and method == "POST":
            try:
                asked = json.loads(raw.decode("utf-8") or "{}")
            except (UnicodeDecodeError, ValueError):
                asked = {}
            openid = asked.get("openid") if isinstance(asked, dict) else None
            code = self.fake.oauth_code(openid if isinstance(openid, str) and openid else None)
            self._json({"code": code})
            return
        if path == USER_CONTROL_PATH and method == "POST":
            self._json(self.fake._control_user(raw))
            return
        if path == SUBSCRIBE_CONTROL_PATH and method == "POST":
            self._json(self.fake._control_subscribe(raw))
            return
        if path == SUBSCRIPTIONS_PATH and method == "GET":  # fake-only: the soak counts them
            with self.fake._lock:
                sends = [
                    {"touser": b.get("touser"), "template_id": b.get("template_id")}
                    for b in self.fake.subscription_sends
                ]
            self._json({"subscriptions": sends})
            return
        if path == PUSHES_PATH and method == "GET":
            with self.fake._lock:
                owed = len(self.fake.events) + len(self.fake.pushes) + self.fake.pushing
            self._json({"owed": owed, "failures": self.fake.push_failures})
            return
        if (
            path == TEMPLATES_PATH and method == "GET"
        ):  # fake-only: the template messages accepted (soak counts)
            with self.fake._lock:
                accepted = [
                    {
                        "touser": b.get("touser"),
                        "client_msg_id": b.get("client_msg_id"),
                        "template_id": b.get("template_id"),
                    }
                    for b in self.fake.templates
                ]
            self._json({"templates": accepted})
            return
        if path in (CUSTOM_SEND_PATH, TEMPLATE_SEND_PATH, SUBSCRIBE_SEND_PATH):
            if method != "POST":
                self._json(_err(43002, "require POST method"))
                return
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self._json(_err(47001, "data format error"))
                return
            handle = {
                CUSTOM_SEND_PATH: self.fake._custom_send,
                TEMPLATE_SEND_PATH: self.fake._template_send,
                SUBSCRIBE_SEND_PATH: self.fake._subscribe_send,
            }[path]
            self._json(handle(query, body))
            return
        self._json(_err(48001, "api unauthorized"))

    def _json(self, payload: dict[str, Any]) -> None:
        self.reply_json(200, payload, "application/json; encoding=utf-8")


FakeWeChatAPI.handler = _Handler
