"""An in-process fake of the Agora Chat REST API, over real HTTP.

    with FakeAgoraChat(APP_ID, APP_CERT, clock=clock) as agora:
        client = AgoraChatClient(agora.base_url, agora.org_name, agora.app_name, APP_ID, APP_CERT, clock=clock)
        client.send_text("member-1", "hi")
        assert agora.messages[0].body == {"msg": "hi"}

Implements `POST /{org_name}/{app_name}/messages/users` the way Agora documents it:

- `Authorization: Bearer <token>` must be an AccessToken2 for this app id, signed with this app certificate
  (HMAC checked), carrying the Chat service's app privilege, and not expired by `clock` (token expiry and
  privilege expiry). Otherwise 401 `unauthorized` / `auth_bad_access_token`.
- the body must be `{"from"?, "to": [users], "type", "body"}`; `txt` needs `body.msg` (else 400
  `illegal_argument`); a recipient outside `users` (when `users` is set) is 404 `service_resource_not_found`.
- success answers 200 with the documented envelope, `data` = `{user: message id}`.
- wrong org/app is 404 `organization_application_not_found`; other paths 404; other methods 405.

The member's app (control): `deliver(msg_id)` and `read(msg_id)` make the recipient of a sent message acknowledge
it: the fake posts Agora's documented post-delivery ack callback (chat_type `delivery_ack` / `read_ack`, the acked id
in `payload.ack_message_id`, `security` = MD5(callId + secret + timestamp)) to the URL given to
`send_callbacks_to(url, secret)`. Over HTTP the same is `POST /_fake/messages/{msg_id}/delivered` (or `/read`),
answered with the callback sent and our API's status. Fake-only `GET /_fake/messages?to=<user>` lists what was
sent to her (`msg_id`, `to`, `from`, `type`, oldest first), for a test that acknowledges a message it did not
send itself.

Fault injection: `fail_next(n, status)` answers the next n requests with that status and an Agora-style error
body (before any other check); `stall_next(n, seconds)` delays the next n answers (to trigger client timeouts).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.channels.agora.access_token import PRIVILEGE_CHAT_APP, SERVICE_CHAT
from devstack.fakes.agora_token import parse_token
from devstack.fakes.local_server import JsonHandler, LocalServer

MESSAGE_TYPES = {"txt", "img", "audio", "video", "file", "loc", "cmd", "custom"}

_ERRORS = {
    400: ("illegal_argument", "java.lang.IllegalArgumentException", "This is an invalid request."),
    401: ("unauthorized", "UnauthorizedException", "Unable to authenticate due to expired access token."),
    403: ("forbidden_op", "ForbiddenOpException", "Forbidden operation."),
    404: (
        "service_resource_not_found",
        "org.apache.usergrid.services.exceptions.ServiceResourceNotFoundException",
        "Service resource not found",
    ),
    413: ("Request Entity Too Large", "RequestEntityTooLarge", "Request Entity Too Large."),
    429: ("reach_limit", "ReachLimitException", "This request has reached api limit."),
    500: ("internal_server_error", "java.lang.RuntimeException", "Internal server error."),
    503: ("service_unavailable", "ServiceUnavailableException", "Service unavailable."),
}


@dataclass(frozen=True)
class SentMessage:
    msg_id: str
    sender: str  # the request's "from" ("admin" when omitted, like Agora)
    to: str
    type: str
    body: dict[str, Any]
    token: str
    request: dict[str, Any]


class FakeAgoraChat(LocalServer):
    thread_name = "fake-agora-chat"

    def __init__(
        self,
        app_id: str,
        app_certificate: str,
        *,
        org_name: str = "61717166",
        app_name: str = "chairside",
        clock: Callable[[], float] = time.time,
        users: set[str] | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_certificate = app_certificate
        self.org_name = org_name
        self.app_name = app_name
        self.clock = clock
        self.users = users  # None: every user exists
        self.messages: list[SentMessage] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.rejected_tokens: list[tuple[str, str]] = []  # (token, why)
        self._faults: list[int] = []
        self._stalls: list[float] = []
        self._msg_ids = itertools.count(1029457500870543736)
        self._lock = threading.Lock()
        self._callback_url: str | None = None
        self._callback_secret = ""
        self._callback_post: Callable[[str, bytes], int] | None = None
        self.callbacks: list[
            tuple[dict[str, Any], int]
        ] = []  # (ack callback posted, status our API answered)

    # --- control -----------------------------------------------------------------------------------
    def fail_next(self, count: int, status: int) -> None:
        """Answer the next `count` requests with `status` and Agora's error body for it."""
        with self._lock:
            self._faults.extend([status] * count)

    def stall_next(self, count: int, seconds: float) -> None:
        """Delay the next `count` answers by `seconds`."""
        with self._lock:
            self._stalls.extend([seconds] * count)

    def send_callbacks_to(
        self, url: str, secret: str, post: Callable[[str, bytes], int] | None = None
    ) -> None:
        """Where the post-delivery callbacks go (the callback rule of Agora Console) and the rule's secret. `post`
        replaces the HTTP POST (an in-process test client): (url, JSON body) -> the status answered."""
        with self._lock:
            self._callback_url, self._callback_secret, self._callback_post = url, secret, post

    def deliver(self, msg_id: str) -> tuple[dict[str, Any], int]:
        """The member's app received message `msg_id`: its delivery ack callback, posted."""
        return self._ack(msg_id, "delivery_ack")

    def read(self, msg_id: str) -> tuple[dict[str, Any], int]:
        """The member read message `msg_id`: its read ack callback, posted."""
        return self._ack(msg_id, "read_ack")

    def _ack(self, msg_id: str, chat_type: str) -> tuple[dict[str, Any], int]:
        with self._lock:
            sent = next((m for m in self.messages if m.msg_id == msg_id), None)
            url, secret, post = self._callback_url, self._callback_secret, self._callback_post
            ack_id = str(next(self._msg_ids))
        if sent is None:
            raise KeyError(f"no message {msg_id} was sent through the fake")
        if url is None:
            raise RuntimeError("no callback URL: call send_callbacks_to(url, secret) first")
        timestamp = int(self.clock() * 1000)
        call_id = f"{self.org_name}#{self.app_name}_{ack_id}"
        body = {
            "chat_type": chat_type,
            "callId": call_id,
            "security": hashlib.md5(f"{call_id}{secret}{timestamp}".encode()).hexdigest(),  # noqa: S324
            "payload": {"ext": {}, "ack_message_id": msg_id, "bodies": []},
            "host": "msync@fake-agora-chat",
            "appkey": f"{self.org_name}#{self.app_name}",
            "from": sent.to,  # the member acknowledges ...
            "to": sent.sender,  # ... to whoever sent it
            "eventType": "chat",
            "msg_id": ack_id,
            "timestamp": timestamp,
        }
        raw = json.dumps(body).encode("utf-8")
        status = post(url, raw) if post is not None else _http_post(url, raw)
        with self._lock:
            self.callbacks.append((body, status))
        return body, status

    @property
    def tokens_used(self) -> list[str]:
        return [message.token for message in self.messages]

    # --- checks ------------------------------------------------------------------------------------
    def token_problem(self, token: str) -> str | None:
        """Why this bearer token would be refused, or None when it is a valid app token right now."""
        try:
            parsed = parse_token(token)
        except ValueError as exc:
            return f"corrupt: {exc}"
        if parsed.app_id != self.app_id:
            return "issued for another app id"
        if not parsed.verify(self.app_certificate):
            return "bad signature"
        now = self.clock()
        if now >= parsed.expires_at:
            return "token expired"
        privilege_end = parsed.privilege_expires_at(SERVICE_CHAT, PRIVILEGE_CHAT_APP)
        if privilege_end is None:
            return "no chat app privilege"
        if now >= privilege_end:
            return "chat app privilege expired"
        return None

    # --- request handling (called from the server threads) -----------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            stall = self._stalls.pop(0) if self._stalls else 0.0
        if stall:
            time.sleep(stall)
        status, answer = self._answer(method, path, headers, raw, fault)
        with self._lock:
            self.requests.append((method, path, status))
        return status, answer

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, fault: int | None
    ) -> tuple[int, dict[str, Any]]:
        if fault is not None:
            return fault, self._error(fault)
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["_fake", "messages"] and parts[3] in ("delivered", "read"):
            return self._control_ack(method, parts[2], parts[3])
        if parts == ["_fake", "messages"] and method == "GET":  # fake-only: what was sent to whom (e2e tests)
            to = parse_qs(urlsplit(path).query).get("to", [None])[0]
            with self._lock:
                sent = [
                    {"msg_id": m.msg_id, "to": m.to, "from": m.sender, "type": m.type} for m in self.messages
                ]
            return 200, {"messages": [m for m in sent if to is None or m["to"] == to]}
        if len(parts) != 4 or parts[2:] != ["messages", "users"]:
            return 404, self._error(404)
        if parts[:2] != [self.org_name, self.app_name]:
            return 404, self._error(
                404,
                "organization_application_not_found",
                f"Could not find application for {parts[0]}/{parts[1]}",
            )
        if method != "POST":
            return 405, self._error(405, "method_not_allowed", "Method Not Allowed")

        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return 401, self._error(
                401, "unauthorized", "Registration is not open, please contact the app admin."
            )
        problem = self.token_problem(token)
        if problem is not None:
            with self._lock:
                self.rejected_tokens.append((token, problem))
            if problem == "token expired" or problem == "chat app privilege expired":
                return 401, self._error(401)
            return 401, self._error(
                401, "auth_bad_access_token", "Unable to authenticate due to corrupt access token."
            )

        if "application/json" not in headers.get("content-type", ""):
            return 415, self._error(415, "web_application", "Unsupported Media Type.")
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, self._error(400, "json_parse", "Unexpected character.")
        invalid = self._invalid(request)
        if invalid:
            return 400, self._error(400, "illegal_argument", invalid)
        if self.users is not None:
            missing = [user for user in request["to"] if user not in self.users]
            if missing:
                return 404, self._error(404)

        sender = request.get("from", "admin")
        data: dict[str, str] = {}
        with self._lock:
            for user in request["to"]:
                msg_id = str(next(self._msg_ids))
                data[user] = msg_id
                self.messages.append(
                    SentMessage(msg_id, sender, user, request["type"], request["body"], token, request)
                )
        return 200, {
            "path": "/messages/users",
            "uri": f"{self.base_url}/{self.org_name}/{self.app_name}/messages/users",
            "timestamp": int(self.clock() * 1000),
            "organization": self.org_name,
            "application": "e82bcc5f-0000-4000-a7c1-92de917ea2b0",
            "action": "post",
            "data": data,
            "duration": 0,
            "applicationName": self.app_name,
        }

    def _control_ack(self, method: str, msg_id: str, what: str) -> tuple[int, dict[str, Any]]:
        if method != "POST":
            return 405, self._error(405, "method_not_allowed", "Method Not Allowed")
        try:
            body, status = self.deliver(msg_id) if what == "delivered" else self.read(msg_id)
        except KeyError:
            return 404, self._error(404)
        except RuntimeError as exc:
            return 409, {"error": "no_callback_url", "error_description": str(exc)}
        return 200, {"callback": body, "answered": status}

    @staticmethod
    def _invalid(request: Any) -> str | None:
        if not isinstance(request, dict):
            return "This is an invalid request."
        if "from" in request and (not isinstance(request["from"], str) or not request["from"]):
            return "'From' can't be empty."
        to = request.get("to")
        if (
            not isinstance(to, list)
            or not to
            or len(to) > 600
            or not all(isinstance(u, str) and u for u in to)
        ):
            return "'to' must be a list of 1 to 600 usernames."
        if request.get("type") not in MESSAGE_TYPES:
            return "This is an invalid request."
        body = request.get("body")
        if not isinstance(body, dict):
            return "This is an invalid request."
        if request["type"] == "txt" and not isinstance(body.get("msg"), str):
            return "A txt message needs body.msg."
        return None

    def _error(self, status: int, error: str | None = None, description: str | None = None) -> dict[str, Any]:
        default_error, exception, default_description = _ERRORS.get(status, ("error", "Exception", "Error."))
        return {
            "error": error or default_error,
            "exception": exception,
            "timestamp": int(self.clock() * 1000),
            "duration": 0,
            "error_description": description or default_description,
        }


def _http_post(url: str, raw: bytes) -> int:
    request = urllib.request.Request(
        url, data=raw, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class _Handler(JsonHandler):
    fake: FakeAgoraChat

    def _serve(self) -> None:
        headers, raw = self.request_parts()
        status, answer = self.fake.handle(self.command, self.path, headers, raw)
        self.reply_json(status, answer)

    do_POST = _serve
    do_GET = _serve
    do_PUT = _serve
    do_DELETE = _serve


FakeAgoraChat.handler = _Handler
