"""The WeChat Official Account HTTP API (stdlib urllib only) and the channel adapter on top of it.

- Access token: `GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..` answers
  `{"access_token", "expires_in"}` (7200 s). It is cached (in memory unless a `TokenCache` is
  plugged in, e.g. a DynamoDB one shared by all functions) and renewed 5 minutes before it
  expires; when WeChat rejects it anyway (40001 / 40014 / 42001) it is renewed once and the call
  retried.
- Customer-service (CS) text: `POST /cgi-bin/message/custom/send?access_token=..`, only allowed
  within 48 hours of the member's last message to the account (see `can_send_customer_service`).
- Template message: `POST /cgi-bin/message/template/send?access_token=..`, answers a `msgid`.
- Subscription message (订阅通知): `POST /cgi-bin/message/subscribe/bizsend?access_token=..` with `touser`,
  `template_id`, `page` or `miniprogram` and `data`; only after she allowed that template (one send per "accept").
- JS-SDK ticket: `GET /cgi-bin/ticket/getticket?access_token=..&type=jsapi` answers `{"ticket", "expires_in"}`
  (7200 s), cached like the access token; the booking page's JS-SDK configuration is signed with it (jssdk.py).

Every answer carries WeChat's `{"errcode": .., "errmsg": ..}`; errcode 0 (or none) is success.
Failures are mapped to the delivery service's TransientSendError / PermanentSendError, with
`CustomerServiceWindowClosed` (permanent for this message: the caller falls back to another
channel or a template message) when the 48-hour window is closed.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.channels.base import Contact
from chalicelib.channels.http import ProviderHttp, shared_http
from chalicelib.errors import PermanentSendError, TransientSendError

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_REFRESH_MARGIN_SECONDS = 300
MAX_RESPONSE_BYTES = 1024 * 1024

# errcodes (https://developers.weixin.qq.com/doc/offiaccount/en/Getting_Started/Global_Return_Code.html)
SYSTEM_BUSY = -1
INVALID_TOKEN_CODES = frozenset({40001, 40014, 42001})  # invalid credential / invalid token / token expired
USER_REFUSED = 43101  # she turned this template off ("user refuse to accept the msg"): never retried
WINDOW_CLOSED_CODES = frozenset({45015, 45047})  # response out of time limit / out of response count limit
# Worth retrying later: system busy, and the account's API quotas (daily / per-minute), which reset.
TRANSIENT_CODES = frozenset({SYSTEM_BUSY, 45009, 45011})

CS_WINDOW = timedelta(hours=48)
CS_MAX_PER_INBOUND = 5


class CustomerServiceWindowClosed(PermanentSendError):
    """WeChat refuses CS messages to this member now: more than 48 hours since their last message
    (45015) or too many CS messages since it (45047). Retrying cannot help until they write again."""

    def __init__(self, reason: str, errcode: int | None = None) -> None:
        super().__init__(reason)
        self.errcode = errcode


# --- access token cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # epoch seconds, as told by WeChat's expires_in


class TokenCache(Protocol):
    """Where access tokens live between calls; keyed by app id. Must tolerate concurrent writers
    (last one wins is fine: WeChat keeps the previous token valid for a few minutes)."""

    def get(self, app_id: str) -> AccessToken | None: ...

    def put(self, app_id: str, token: AccessToken) -> None: ...


class MemoryTokenCache:
    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def get(self, app_id: str) -> AccessToken | None:
        with self._lock:
            return self._tokens.get(app_id)

    def put(self, app_id: str, token: AccessToken) -> None:
        with self._lock:
            self._tokens[app_id] = token


# --- the client --------------------------------------------------------------------------------


class WeChatClient:
    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], float],
        token_cache: TokenCache | None = None,
        timeout: float = 5,
        http: ProviderHttp | None = None,
    ) -> None:
        if not app_id or not app_secret:
            raise ValueError("WeChatClient needs an app id and an app secret")
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("https", "http"):
            raise ValueError(f"WeChat base_url must be http(s), got {scheme!r}")
        self.app_id = app_id
        self._secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._cache: TokenCache = token_cache if token_cache is not None else MemoryTokenCache()
        self._tickets = MemoryTokenCache()  # JS-SDK tickets, by app id
        self._timeout = timeout
        self._http_pool = http or shared_http()
        self._lock = threading.Lock()
        self._ticket_lock = threading.Lock()  # apart: fetching a ticket may need the token lock

    def __repr__(self) -> str:  # never the secret
        return f"WeChatClient(app_id={self.app_id!r}, base_url={self._base_url!r})"

    # --- messages ------------------------------------------------------------------------------
    def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (only inside the member's 48-hour window)."""
        if not openid:
            raise PermanentSendError("wechat: no openid to send to")
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        self._call("custom/send", "/cgi-bin/message/custom/send", body)

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, str],
        url: str | None = None,
        *,
        miniprogram: dict[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> str:
        """A template message (no window needed; the template must be approved). Returns WeChat's msgid, which
        its TEMPLATESENDJOBFINISH event names. `client_msg_id`: WeChat sends one message per openid and id within
        10 minutes (a retry after a lost answer is not a second message)."""
        body = _templated(
            openid, template_id, data, url=url, miniprogram=miniprogram, client_msg_id=client_msg_id
        )
        msgid = _msgid(self._call("template/send", "/cgi-bin/message/template/send", body))
        if msgid is None:
            raise TransientSendError("wechat template/send: the answer has no msgid")
        return msgid

    def send_subscription(
        self,
        openid: str,
        template_id: str,
        data: dict[str, str],
        page: str | None = None,
        *,
        miniprogram: dict[str, str] | None = None,
    ) -> str | None:
        """A subscription message, spending the grant she gave this template. Returns WeChat's msgid when its
        answer has one (subscribe_msg_sent_event names it), else None: the send still went."""
        body = _templated(openid, template_id, data, page=page, miniprogram=miniprogram)
        return _msgid(self._call("subscribe/bizsend", "/cgi-bin/message/subscribe/bizsend", body))

    # --- JS-SDK ticket ----------------------------------------------------------------------------
    def jsapi_ticket(self) -> str:
        """The account's JS-SDK ticket, from the cache while it has more than the refresh margin left (WeChat
        limits how often a ticket may be fetched), else fetched once for all threads of the container."""
        cached = self._usable(self._tickets.get(self.app_id))
        if cached:
            return cached.value
        with self._ticket_lock:
            cached = self._usable(self._tickets.get(self.app_id))
            if cached:
                return cached.value
            now = self._clock()
            answer = self._call("ticket/getticket", "/cgi-bin/ticket/getticket", None, {"type": "jsapi"})
            ticket = _expiring(answer, "ticket", now)
            if ticket is None:
                raise TransientSendError("wechat ticket/getticket: the answer has no usable ticket")
            self._tickets.put(self.app_id, ticket)
            return ticket.value

    # --- access token --------------------------------------------------------------------------
    def access_token(self, *, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = self._usable(self._cache.get(self.app_id))
            if cached:
                return cached.value
        with self._lock:
            if not force_refresh:  # another thread may have fetched it meanwhile
                cached = self._usable(self._cache.get(self.app_id))
                if cached:
                    return cached.value
            return self._fetch_token().value

    def _usable(self, token: AccessToken | None) -> AccessToken | None:
        if token and self._clock() < token.expires_at - TOKEN_REFRESH_MARGIN_SECONDS:
            return token
        return None

    def _renew_after_rejection(self, rejected: str) -> str:
        """WeChat refused `rejected`: use a newer cached token if another worker already renewed
        it, else fetch one."""
        with self._lock:
            cached = self._usable(self._cache.get(self.app_id))
            if cached and cached.value != rejected:
                return cached.value
            return self._fetch_token().value

    def _fetch_token(self) -> AccessToken:
        now = self._clock()
        query = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        answer = self._http("token", "GET", "/cgi-bin/token", query, None)
        code = _errcode(answer)
        if code:
            raise _error_for("token", code, answer)
        token = _expiring(answer, "access_token", now)
        if token is None:
            raise TransientSendError("wechat token: the answer has no usable access_token")
        self._cache.put(self.app_id, token)
        return token

    # --- plumbing ------------------------------------------------------------------------------
    def _call(
        self, api: str, path: str, body: dict[str, Any] | None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST `body` (GET when None) with the access token and `query`; renews a refused token once."""
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        method = "GET" if raw is None else "POST"
        token = self.access_token()
        answer = self._http(api, method, path, {"access_token": token, **(query or {})}, raw)
        code = _errcode(answer)
        if code in INVALID_TOKEN_CODES:
            token = self._renew_after_rejection(token)
            answer = self._http(api, method, path, {"access_token": token, **(query or {})}, raw)
            code = _errcode(answer)
            if code in INVALID_TOKEN_CODES:
                # Renewed and still refused: most likely a race with another token holder.
                raise TransientSendError(
                    f"wechat {api}: access token refused twice: {_describe(code, answer)}"
                )
        if code:
            raise _error_for(api, code, answer)
        return answer

    def _http(
        self, api: str, method: str, path: str, query: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        url = f"{self._base_url}{path}?{urllib.parse.urlencode(query)}"
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self._http_pool.request(method, url, headers, body, self._timeout)
        except (TimeoutError, OSError) as exc:
            # ProviderUnreachable names the failure only: the URL's query holds the secret or the token.
            raise TransientSendError(f"wechat {api}: {type(exc).__name__}: {exc}") from exc
        if response.status >= 400:
            reason = f"wechat {api}: HTTP {response.status}"
            if response.status >= 500 or response.status in (408, 429):
                raise TransientSendError(reason)
            raise PermanentSendError(reason)
        raw = response.body[:MAX_RESPONSE_BYTES]
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TransientSendError(f"wechat {api}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientSendError(f"wechat {api}: the answer is not a JSON object")
        return answer


def _templated(openid: str, template_id: str, data: dict[str, str], **optional: Any) -> dict[str, Any]:
    """The body of a template or subscription send: her openid, the template, the optional keys that are set
    (url / page, miniprogram, client_msg_id) and each keyword's value."""
    if not openid:
        raise PermanentSendError("wechat: no openid to send to")
    body: dict[str, Any] = {"touser": openid, "template_id": template_id}
    body.update(
        {key: dict(value) if isinstance(value, dict) else value for key, value in optional.items() if value}
    )
    body["data"] = {key: {"value": value} for key, value in data.items()}
    return body


def _expiring(answer: dict[str, Any], key: str, now: float) -> AccessToken | None:
    """The token or ticket `answer[key]` with its expiry (`expires_in` seconds after `now`), or None when the
    answer carries no usable one."""
    value = answer.get(key)
    try:
        expires_in = int(answer.get("expires_in", 0))
    except (TypeError, ValueError):
        expires_in = 0
    if not isinstance(value, str) or not value or expires_in <= 0:
        return None
    return AccessToken(value=value, expires_at=now + expires_in)


def _msgid(answer: dict[str, Any]) -> str | None:
    msgid = answer.get("msgid")
    return None if msgid is None or str(msgid) == "" else str(msgid)


def _errcode(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("errcode", 0) or 0)
    except (TypeError, ValueError):
        return SYSTEM_BUSY


def _describe(code: int, answer: dict[str, Any]) -> str:
    return f"errcode {code}: {answer.get('errmsg', '')}".rstrip(": ")


def _error_for(api: str, code: int, answer: dict[str, Any]) -> Exception:
    reason = f"wechat {api}: {_describe(code, answer)}"
    if code in WINDOW_CLOSED_CODES:
        return CustomerServiceWindowClosed(reason, errcode=code)
    if code in TRANSIENT_CODES:
        return TransientSendError(reason)
    if code == USER_REFUSED:
        return PermanentSendError(f"{reason} (the member refuses this template's messages)")
    # 40003 invalid openid, 43004 not subscribed, 40037 bad template, 40013/40125 bad app id/secret,
    # 40164 caller IP not whitelisted, ...: retrying cannot help.
    return PermanentSendError(reason)


# --- the 48-hour customer-service window -------------------------------------------------------


def can_send_customer_service(
    last_inbound_at: datetime | None, sent_since_inbound: int, now: datetime
) -> bool:
    """WeChat allows CS messages only within 48 hours of the member's last message to the account;
    Chairside also sends at most 5 per inbound message (WeChat's 45047 caps them too)."""
    if last_inbound_at is None:
        return False
    if last_inbound_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("can_send_customer_service needs aware datetimes")
    return now - last_inbound_at < CS_WINDOW and sent_since_inbound < CS_MAX_PER_INBOUND


# --- the channel adapter -----------------------------------------------------------------------


class WeChatChannel:
    """CS text messages to the member's openid. WeChat has no subject line: `subject` is unused.
    Raises CustomerServiceWindowClosed when WeChat says the window is closed; the caller decides
    whether to fall back (SMS, or a template message)."""

    name = "wechat"
    reports_receipts = False  # WeChat sends no event for a customer-service message

    def __init__(self, client: WeChatClient) -> None:
        self._client = client

    def can_reach(self, contact: Contact) -> bool:
        return bool(contact.wechat_openid)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        if not contact.wechat_openid:
            raise PermanentSendError("wechat: the member has no WeChat openid")
        self._client.send_text(contact.wechat_openid, text)
        # The CS API answers no message id; this one only identifies our attempt.
        return f"wechat-cs-{uuid.uuid4().hex}"
