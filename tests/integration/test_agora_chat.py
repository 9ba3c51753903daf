"""AgoraChatClient against the local fake Agora Chat server, plus callback verification and parsing.

Callback bodies follow the examples of Agora Chat's "Callbacks and events" reference page.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.channels.agora.access_token import PRIVILEGE_CHAT_APP, SERVICE_CHAT, build_chat_app_token
from chalicelib.channels.agora.chat import (
    AgoraChatClient,
    HttpResponse,
    InboundAgoraMessage,
    parse_callback,
    verify_callback,
)
from chalicelib.errors import PermanentSendError, TransientSendError, ValidationFailed
from devstack.fakes.agora_chat import FakeAgoraChat
from devstack.fakes.agora_token import PRIVILEGE_CHAT_USER, build_chat_user_token, parse_token

APP_ID = "970CA35de60c44645bbae8a215061b33"
APP_CERT = "5CFd2fd1755d40ecb72977518be15d3b"
START = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def agora(clock: Clock) -> Iterator[FakeAgoraChat]:
    with FakeAgoraChat(APP_ID, APP_CERT, clock=clock, users={"member-1", "member-2"}) as fake:
        yield fake


def _client(agora: FakeAgoraChat, clock: Clock, **kwargs: Any) -> AgoraChatClient:
    kwargs.setdefault("app_certificate", APP_CERT)
    return AgoraChatClient(agora.base_url, agora.org_name, agora.app_name, APP_ID, clock=clock, **kwargs)


# --- sending -------------------------------------------------------------------------------------


def test_send_text_posts_the_documented_request(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock, sender_id="salon-bot")

    msg_id = client.send_text("member-1", "Your 3pm colour appointment is confirmed 💇")

    (sent,) = agora.messages
    assert msg_id == sent.msg_id
    assert sent.request == {
        "from": "salon-bot",
        "to": ["member-1"],
        "type": "txt",
        "body": {"msg": "Your 3pm colour appointment is confirmed 💇"},
    }
    assert (sent.sender, sent.to, sent.type) == ("salon-bot", "member-1", "txt")
    assert agora.requests == [("POST", f"/{agora.org_name}/{agora.app_name}/messages/users", 200)]


def test_the_bearer_token_is_a_chat_app_token(agora: FakeAgoraChat, clock: Clock) -> None:
    _client(agora, clock).send_text("member-1", "hi")

    token = parse_token(agora.tokens_used[0])
    assert token.app_id == APP_ID
    assert token.issue_ts == int(START)
    assert token.expire == 3600
    (chat,) = token.get_services(SERVICE_CHAT)
    assert chat.user_id == ""
    assert chat.privileges == {PRIVILEGE_CHAT_APP: 3600}
    assert token.verify(APP_CERT)


def test_the_app_token_is_cached_until_shortly_before_it_expires(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock)  # ttl 3600 s, refreshed 300 s before the end

    client.send_text("member-1", "one")
    clock.advance(1000)
    client.send_text("member-1", "two")
    clock.advance(2299)  # 3299 s in: still outside the refresh margin
    client.send_text("member-2", "three")
    assert len(set(agora.tokens_used)) == 1

    clock.advance(1)  # 3300 s in: refresh
    client.send_text("member-1", "four")
    first, *_, last = agora.tokens_used
    assert last != first
    assert parse_token(last).issue_ts == int(START) + 3300
    clock.advance(600)  # the first token would now be expired; the new one is still fine
    client.send_text("member-1", "five")
    assert agora.tokens_used[-1] == last
    assert [status for *_, status in agora.requests] == [200] * 5


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_outages_are_transient(agora: FakeAgoraChat, clock: Clock, status: int) -> None:
    client = _client(agora, clock)
    agora.fail_next(1, status)

    with pytest.raises(TransientSendError) as caught:
        client.send_text("member-1", "hi")
    assert str(status) in caught.value.reason
    assert agora.messages == []
    # the next attempt goes through
    assert client.send_text("member-1", "hi") == agora.messages[0].msg_id


def test_an_unknown_user_is_permanent(agora: FakeAgoraChat, clock: Clock) -> None:
    with pytest.raises(PermanentSendError) as caught:
        _client(agora, clock).send_text("no-such-member", "hi")
    assert "404" in caught.value.reason
    assert "service_resource_not_found" in caught.value.reason
    assert agora.messages == []


def test_a_rejected_token_is_refreshed_and_the_send_retried_once(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock)
    client.send_text("member-1", "warm the cache")
    agora.fail_next(1, 401)

    msg_id = client.send_text("member-1", "hi")

    assert msg_id == agora.messages[-1].msg_id
    assert [status for *_, status in agora.requests] == [200, 401, 200]
    assert agora.tokens_used[0] != agora.tokens_used[1]  # a new token, not the cached one


def test_a_token_the_server_keeps_rejecting_is_permanent(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock, app_certificate="0" * 32)  # not this app's certificate

    with pytest.raises(PermanentSendError) as caught:
        client.send_text("member-1", "hi")

    assert "401" in caught.value.reason
    assert [status for *_, status in agora.requests] == [401, 401]
    assert [why for _, why in agora.rejected_tokens] == ["bad signature", "bad signature"]
    assert agora.messages == []


def test_an_expired_token_is_refused_by_the_fake(agora: FakeAgoraChat, clock: Clock) -> None:
    old = build_chat_app_token(APP_ID, APP_CERT, 600, issue_ts=int(START) - 601, salt=5)
    assert agora.token_problem(old) == "token expired"
    user_token = build_chat_user_token(APP_ID, APP_CERT, "member-1", 600, issue_ts=int(START), salt=5)
    assert agora.token_problem(user_token) == "no chat app privilege"
    other_app = build_chat_app_token("0" * 32, APP_CERT, 600, issue_ts=int(START), salt=5)
    assert agora.token_problem(other_app) == "issued for another app id"
    assert agora.token_problem("007garbage").startswith("corrupt")
    fresh = build_chat_app_token(APP_ID, APP_CERT, 600, issue_ts=int(START), salt=5)
    assert agora.token_problem(fresh) is None
    assert parse_token(fresh).privilege_expires_at(SERVICE_CHAT, PRIVILEGE_CHAT_USER) is None


def test_a_client_whose_clock_lags_gets_expired_tokens_refused(clock: Clock) -> None:
    server_clock = Clock(START + 7200)
    with FakeAgoraChat(APP_ID, APP_CERT, clock=server_clock) as agora:
        with pytest.raises(PermanentSendError):
            _client(agora, clock).send_text("member-1", "hi")
        assert [why for _, why in agora.rejected_tokens] == ["token expired", "token expired"]


def test_a_timeout_is_transient(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock, timeout=0.1)
    agora.stall_next(1, 0.5)

    with pytest.raises(TransientSendError) as caught:
        client.send_text("member-1", "hi")
    assert "timed out" in caught.value.reason or "timeout" in caught.value.reason.lower()


def test_an_unreachable_server_is_transient(clock: Clock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AgoraChatClient(
        f"http://127.0.0.1:{port}", "org", "app", APP_ID, APP_CERT, clock=clock, timeout=1
    )
    with pytest.raises(TransientSendError):
        client.send_text("member-1", "hi")


def test_the_transport_is_injectable(clock: Clock) -> None:
    calls: list[tuple[str, str, dict[str, str], bytes | None, float]] = []

    def transport(method: str, url: str, headers: Any, body: bytes | None, timeout: float) -> HttpResponse:
        calls.append((method, url, dict(headers), body, timeout))
        return HttpResponse(200, json.dumps({"action": "post", "data": {"member-9": "77"}}).encode())

    client = AgoraChatClient(
        "https://a41.chat.agora.io/",
        "61717166",
        "chairside",
        APP_ID,
        APP_CERT,
        clock=clock,
        http=transport,
        timeout=3,
    )
    assert client.send_text("member-9", "hi") == "77"
    ((method, url, headers, body, timeout),) = calls
    assert (method, url, timeout) == (
        "POST",
        "https://a41.chat.agora.io/61717166/chairside/messages/users",
        3,
    )
    assert headers["Authorization"].startswith("Bearer 007")
    assert headers["Content-Type"] == headers["Accept"] == "application/json"
    assert json.loads(body or b"") == {
        "from": "chairside",
        "to": ["member-9"],
        "type": "txt",
        "body": {"msg": "hi"},
    }


def test_transport_failures_map_to_transient(clock: Clock) -> None:
    def timing_out(*_: Any) -> HttpResponse:
        raise TimeoutError("read timed out")

    def resetting(*_: Any) -> HttpResponse:
        raise ConnectionResetError("reset by peer")

    for transport in (timing_out, resetting):
        client = AgoraChatClient(
            "https://a41.chat.agora.io", "o", "a", APP_ID, APP_CERT, clock=clock, http=transport
        )
        with pytest.raises(TransientSendError):
            client.send_text("member-1", "hi")


@pytest.mark.parametrize(
    "answer",
    [b"", b"not json", json.dumps({"data": {}}).encode(), json.dumps({"data": {"member-1": None}}).encode()],
)
def test_a_success_without_a_message_id_is_permanent(clock: Clock, answer: bytes) -> None:
    client = AgoraChatClient(
        "https://a41.chat.agora.io",
        "o",
        "a",
        APP_ID,
        APP_CERT,
        clock=clock,
        http=lambda *_: HttpResponse(200, answer),
    )
    with pytest.raises(PermanentSendError):
        client.send_text("member-1", "hi")


def test_bad_requests_are_permanent_and_never_sent(agora: FakeAgoraChat, clock: Clock) -> None:
    client = _client(agora, clock)
    with pytest.raises(PermanentSendError):
        client.send_text("", "hi")
    with pytest.raises(PermanentSendError):
        client.send_text("member-1", "")
    agora.fail_next(1, 400)
    with pytest.raises(PermanentSendError):
        client.send_text("member-1", "hi")
    assert len(agora.requests) == 1


def test_the_client_checks_its_configuration(clock: Clock) -> None:
    with pytest.raises(ValueError):
        AgoraChatClient("ftp://a41.chat.agora.io", "o", "a", APP_ID, APP_CERT, clock=clock)
    with pytest.raises(ValueError):
        AgoraChatClient("https://a41.chat.agora.io", "o", "a", "app", APP_CERT, clock=clock)
    with pytest.raises(ValueError):
        AgoraChatClient("https://a41.chat.agora.io", "", "a", APP_ID, APP_CERT, clock=clock)
    with pytest.raises(ValueError):
        AgoraChatClient("https://a41.chat.agora.io", "o", "a", APP_ID, APP_CERT, clock=clock, sender_id="")


# --- callbacks -------------------------------------------------------------------------------------

SECRET = "callback-rule-secret"


def _signed(body: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    # Written out independently of the code under test: MD5 hex of callId + secret + timestamp.
    digest = hashlib.md5((body["callId"] + secret + str(body["timestamp"])).encode()).hexdigest()  # noqa: S324
    return {**body, "securityVersion": "1.0.0", "security": digest}


def _message(payload: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "callId": "61717166#chairside_8924312242322-7b2e",
        "eventType": "chat",
        "timestamp": 1600060847294,
        "chat_type": "chat",
        "from": "member-1",
        "to": "salon-bot",
        "msg_id": "8924312242322",
        "payload": payload,
        "appkey": "61717166#chairside",
        "host": "msync@ebs-ali-beijing-msync40",
    }
    body.update(overrides)
    return _signed(body)


TXT = {"ext": {}, "bodies": [{"msg": "Can I move my appointment to 4pm?", "type": "txt"}]}
IMG = {
    "ext": {},
    "bodies": [
        {
            "filename": "image",
            "size": {"width": 746, "height": 1325},
            "secret": "XXXXqnkRXXXXAUHNhFQyIhTJxWxvGOwyx1",
            "file_length": 118179,
            "type": "img",
            "url": "https://a41.chat.agora.io/61717166/chairside/chatfiles/65e54a4a-0000-4000-b821-ebde7b50cc4b",
        }
    ],
}
AUDIO = {
    "ext": {},
    "bodies": [
        {
            "filename": "audio",
            "length": 4,
            "secret": "XXXXynkRXXXX1e0Ksmmt2Ym6AzpRr9SxsUpF",
            "file_length": 6374,
            "type": "audio",
            "url": "https://a41.chat.agora.io/61717166/chairside/chatfiles/0637e55a-0000-4000-ba23-51f25fd1215b",
        }
    ],
}
EMOJI = {
    "ext": {},
    "bodies": [
        {
            "customExts": [{"emoji": "😍"}],
            "v2:customExts": {"emoji": "😍", "url": "https://cdn.example.com/stickers/heart-eyes.png"},
            "customEvent": "emoji",
            "type": "custom",
        }
    ],
}
GIFT = {
    "ext": {},
    "bodies": [
        {"customExts": [{"name": 1}], "v2:customExts": {"k": "v"}, "customEvent": "flower", "type": "custom"}
    ],
}


def test_a_correctly_signed_callback_verifies() -> None:
    body = _message(TXT)
    assert verify_callback(body, SECRET)
    assert verify_callback(json.loads(json.dumps(body)), SECRET)  # as it arrives over the wire
    assert verify_callback({**body, "security": body["security"].upper()}, SECRET)
    assert verify_callback(
        {**body, "timestamp": str(body["timestamp"]), "security": body["security"]}, SECRET
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: {**b, "callId": b["callId"] + "x"},
        lambda b: {**b, "timestamp": b["timestamp"] + 1},
        lambda b: {**b, "security": "0" * 32},
        lambda b: {**b, "security": b["security"][:-1]},
        lambda b: {k: v for k, v in b.items() if k != "security"},
        lambda b: {k: v for k, v in b.items() if k != "callId"},
        lambda b: {k: v for k, v in b.items() if k != "timestamp"},
        lambda b: {**b, "timestamp": True},
        lambda b: {**b, "security": 12345},
        lambda b: {**b, "security": "é" * 32},
    ],
)
def test_a_tampered_callback_is_rejected(tamper: Any) -> None:
    assert not verify_callback(tamper(_message(TXT)), SECRET)


def test_the_wrong_secret_is_rejected() -> None:
    body = _message(TXT)
    assert not verify_callback(body, "another-secret")
    assert not verify_callback(body, "")
    assert not verify_callback(_signed({**body}, secret=""), "")


def test_parse_a_text_message() -> None:
    assert parse_callback(_message(TXT)) == InboundAgoraMessage(
        msg_id="8924312242322",
        from_user="member-1",
        to_user="salon-bot",
        type="text",
        text="Can I move my appointment to 4pm?",
        media_url=None,
        timestamp_ms=1600060847294,
    )


def test_parse_an_image_message() -> None:
    message = parse_callback(_message(IMG))
    assert (message.type, message.text) == ("image", None)
    assert message.media_url == IMG["bodies"][0]["url"]


def test_parse_a_voice_message() -> None:
    message = parse_callback(_message(AUDIO, eventType="chat_offline"))
    assert (message.type, message.text) == ("voice", None)
    assert message.media_url == AUDIO["bodies"][0]["url"]


def test_parse_an_emoji_custom_message() -> None:
    message = parse_callback(_message(EMOJI))
    assert (message.type, message.text) == ("emoji", "😍")
    assert message.media_url == "https://cdn.example.com/stickers/heart-eyes.png"


def test_other_message_kinds_are_other() -> None:
    assert parse_callback(_message(GIFT)).type == "other"
    video = {
        "ext": {},
        "bodies": [{"type": "video", "url": "https://a41.chat.agora.io/v", "thumb": "t", "length": 10}],
    }
    parsed = parse_callback(_message(video))
    assert (parsed.type, parsed.media_url) == ("other", "https://a41.chat.agora.io/v")
    loc = {"ext": {}, "bodies": [{"lng": 116.32, "type": "loc", "addr": "Orchard Rd", "lat": 39.96}]}
    assert parse_callback(_message(loc)).type == "other"


def test_parse_accepts_numeric_ids_and_string_timestamps() -> None:
    message = parse_callback(_message(TXT, msg_id=8924312242322, timestamp="1600060847294"))
    assert (message.msg_id, message.timestamp_ms) == ("8924312242322", 1600060847294)


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"msg_id": ""}, {"msg_id"}),
        ({"from": None}, {"from"}),
        ({"to": 5}, {"to"}),
        ({"timestamp": "yesterday"}, {"timestamp"}),
        ({"payload": "txt"}, {"payload"}),
        ({"payload": {"bodies": []}}, {"payload.bodies"}),
        ({"payload": {"bodies": [{"msg": "no type"}]}}, {"payload.bodies[0].type"}),
        ({"payload": {"bodies": [{"type": "txt"}]}}, {"payload.bodies[0].msg"}),
        ({"payload": {"bodies": [{"type": "img"}]}}, {"payload.bodies[0].url"}),
        ({"payload": {"bodies": [{"type": "audio", "url": ""}]}}, {"payload.bodies[0].url"}),
        ({"chat_type": "recall"}, {"chat_type"}),
        ({"eventType": "presence"}, {"eventType"}),
        ({"msg_id": None, "from": "", "payload": None}, {"msg_id", "from", "payload"}),
    ],
)
def test_malformed_callbacks_name_the_bad_fields(change: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_callback(_message(**{"payload": TXT, **change}))
    assert set(caught.value.fields) == fields


def test_parse_rejects_a_non_object() -> None:
    with pytest.raises(ValidationFailed):
        parse_callback(["not", "an", "object"])  # type: ignore[arg-type]
