"""The WeChat API client against a fake WeChat over real HTTP, the 48-hour window rule, and the
store credentials loader against moto's Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.channels.base import Contact
from chalicelib.channels.wechat.client import (
    AccessToken,
    CustomerServiceWindowClosed,
    MemoryTokenCache,
    WeChatChannel,
    WeChatClient,
    can_send_customer_service,
)
from chalicelib.errors import PermanentSendError, TransientSendError
from devstack.fakes.wechat_api import CUSTOM_SEND_PATH, TOKEN_PATH, FakeWeChatAPI

APP_ID, APP_SECRET = "wx8f3a1c2b4d5e6f70", "a1b2c3d4e5f60718293a4b5c6d7e8f90"
OPENID = "oX7pQ5vK2mN8rT1yB4cD6fG9hJ0k"
T0 = 1_795_327_200.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI(APP_ID, APP_SECRET, expires_in=7200, slow_seconds=1.0) as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(api: FakeWeChatAPI, clock: Clock) -> WeChatClient:
    return WeChatClient(APP_ID, APP_SECRET, base_url=api.base_url, clock=clock, timeout=0.5)


# --- access token ------------------------------------------------------------------------------


def test_token_is_fetched_once_and_cached_across_sends(api, client):
    for i in range(3):
        client.send_text(OPENID, f"hello {i}")
    assert api.token_requests == 1
    assert [m["text"]["content"] for m in api.sent] == ["hello 0", "hello 1", "hello 2"]
    assert api.requests.count(("GET", TOKEN_PATH)) == 1


def test_token_is_refreshed_five_minutes_before_expiry(api, client, clock):
    client.send_text(OPENID, "one")
    clock.now = T0 + 7200 - 301
    client.send_text(OPENID, "two")
    assert api.token_requests == 1
    clock.now = T0 + 7200 - 300
    client.send_text(OPENID, "three")
    assert api.token_requests == 2
    clock.now = T0 + 3 * 7200
    client.send_text(OPENID, "four")
    assert api.token_requests == 3
    assert len(api.sent) == 4


@pytest.mark.parametrize("spoil", ["invalidate_tokens", "expire_tokens"])  # 40001, 42001
def test_a_refused_token_is_renewed_once_and_the_send_retried(api, client, spoil):
    client.send_text(OPENID, "warm up")
    getattr(api, spoil)()
    client.send_text(OPENID, "after the refusal")
    assert api.token_requests == 2
    assert [m["text"]["content"] for m in api.sent] == ["warm up", "after the refusal"]
    assert api.requests[-3:] == [("POST", CUSTOM_SEND_PATH), ("GET", TOKEN_PATH), ("POST", CUSTOM_SEND_PATH)]


def test_a_token_renewed_by_another_worker_is_used_instead_of_fetching(api, client, clock):
    class Lagging(MemoryTokenCache):
        """Hands out a stale token once, as if read just before another worker renewed it."""

        def __init__(self, stale: AccessToken) -> None:
            super().__init__()
            self.stale: AccessToken | None = stale

        def get(self, app_id: str) -> AccessToken | None:
            if self.stale:
                stale, self.stale = self.stale, None
                return stale
            return super().get(app_id)

    client.send_text(OPENID, "a")
    api.invalidate_tokens()
    client.access_token(force_refresh=True)  # "another worker" renews
    old, new = api.issued_tokens
    cache = Lagging(stale=AccessToken(old, expires_at=T0 + 7200))
    cache.put(APP_ID, AccessToken(new, expires_at=T0 + 7200))
    other = WeChatClient(APP_ID, APP_SECRET, base_url=api.base_url, clock=clock, token_cache=cache)
    other.send_text(OPENID, "b")  # refused with the stale token, retried with the renewed one
    assert api.token_requests == 2
    assert [m["text"]["content"] for m in api.sent] == ["a", "b"]


def test_the_token_cache_is_pluggable(api, clock):
    class Recording(MemoryTokenCache):
        def __init__(self) -> None:
            super().__init__()
            self.puts: list[AccessToken] = []

        def put(self, app_id: str, token: AccessToken) -> None:
            self.puts.append(token)
            super().put(app_id, token)

    cache = Recording()
    cache.put(APP_ID, AccessToken("preloaded-elsewhere", expires_at=T0 + 3600))
    client = WeChatClient(APP_ID, APP_SECRET, base_url=api.base_url, clock=clock, token_cache=cache)
    client.send_text(OPENID, "hi")  # the preloaded token is unknown to WeChat: renewed once
    assert api.token_requests == 1
    assert cache.puts[-1] == AccessToken(api.issued_tokens[0], expires_at=T0 + 7200)


def test_a_token_refused_even_after_renewal_is_transient(api, client):
    client.send_text(OPENID, "warm up")
    api.invalidate_tokens()
    original = api._token

    def issue_then_invalidate(query):
        answer = original(query)
        api.invalidate_tokens()
        return answer

    api._token = issue_then_invalidate
    with pytest.raises(TransientSendError, match="refused twice"):
        client.send_text(OPENID, "never")


def test_wrong_app_secret_is_permanent_and_never_leaks_the_secret(api, clock):
    client = WeChatClient(APP_ID, "wrong-secret-value", base_url=api.base_url, clock=clock)
    with pytest.raises(PermanentSendError) as info:
        client.send_text(OPENID, "hi")
    assert "40125" in info.value.reason
    assert "wrong-secret-value" not in info.value.reason
    assert "wrong-secret-value" not in repr(client)


def test_token_endpoint_busy_is_transient(api, client):
    api.fail_next(1, "busy", path=TOKEN_PATH)
    with pytest.raises(TransientSendError, match="-1"):
        client.send_text(OPENID, "hi")
    client.send_text(OPENID, "hi again")
    assert len(api.sent) == 1


# --- messages ----------------------------------------------------------------------------------


def test_send_text_body_is_utf8_json(api, client):
    client.send_text(OPENID, "您好！周六 15:00 的剪发已确认 💇")
    assert api.sent == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您好！周六 15:00 的剪发已确认 💇"}}
    ]


def test_template_send_returns_msgid(api, client):
    msgid = client.send_template(
        OPENID,
        "tmpl-reminder-01",
        {"first": "预约提醒", "keyword1": "2026-11-28 15:00"},
        url="https://salon.example/b/123",
    )
    assert msgid == "200000001"
    assert api.templates == [
        {
            "touser": OPENID,
            "template_id": "tmpl-reminder-01",
            "url": "https://salon.example/b/123",
            "data": {"first": {"value": "预约提醒"}, "keyword1": {"value": "2026-11-28 15:00"}},
        }
    ]
    assert client.send_template(OPENID, "tmpl-reminder-01", {"first": "x"}) == "200000002"
    assert "url" not in api.templates[1]


def test_template_send_ignores_the_cs_window(api, client):
    api.window_closed.add(OPENID)
    assert client.send_template(OPENID, "tmpl", {"first": "hi"})


# --- error mapping -----------------------------------------------------------------------------


def test_window_closed_45015(api, client):
    api.window_closed.add(OPENID)
    with pytest.raises(CustomerServiceWindowClosed) as info:
        client.send_text(OPENID, "too late")
    assert isinstance(info.value, PermanentSendError)
    assert info.value.errcode == 45015
    assert "45015" in info.value.reason


def test_too_many_cs_messages_45047_is_window_closed(api, client, monkeypatch):
    monkeypatch.setattr(
        api, "_custom_send", lambda q, b: {"errcode": 45047, "errmsg": "out of response count limit"}
    )
    with pytest.raises(CustomerServiceWindowClosed) as info:
        client.send_text(OPENID, "sixth")
    assert info.value.errcode == 45047


@pytest.mark.parametrize("kind", ["busy", "http500"])
def test_system_busy_and_http_500_are_transient(api, client, kind):
    client.access_token()
    api.fail_next(1, kind, path=CUSTOM_SEND_PATH)
    with pytest.raises(TransientSendError) as info:
        client.send_text(OPENID, "hi")
    assert ("-1" if kind == "busy" else "HTTP 500") in info.value.reason
    assert "fake-token" not in info.value.reason
    client.send_text(OPENID, "hi")  # the fault was one-off
    assert len(api.sent) == 1


def test_timeout_is_transient(api, client):
    client.access_token()
    api.fail_next(1, "slow", path=CUSTOM_SEND_PATH)
    with pytest.raises(TransientSendError):
        client.send_text(OPENID, "hi")


def test_connection_refused_is_transient(clock):
    with FakeWeChatAPI(APP_ID, APP_SECRET) as gone:
        base_url = gone.base_url
    client = WeChatClient(APP_ID, APP_SECRET, base_url=base_url, clock=clock, timeout=0.5)
    with pytest.raises(TransientSendError):
        client.send_text(OPENID, "hi")


@pytest.mark.parametrize("where, code", [("invalid_openids", 40003), ("unsubscribed", 43004)])
def test_invalid_or_unsubscribed_openid_is_permanent(api, client, where, code):
    getattr(api, where).add(OPENID)
    with pytest.raises(PermanentSendError) as info:
        client.send_text(OPENID, "hi")
    assert not isinstance(info.value, CustomerServiceWindowClosed)
    assert str(code) in info.value.reason


def test_unknown_errcode_is_permanent_with_code_and_message(api, client, monkeypatch):
    monkeypatch.setattr(
        api, "_template_send", lambda q, b: {"errcode": 40037, "errmsg": "invalid template_id"}
    )
    with pytest.raises(PermanentSendError, match="40037: invalid template_id"):
        client.send_template(OPENID, "nope", {})


def test_base_url_must_be_http():
    with pytest.raises(ValueError):
        WeChatClient(APP_ID, APP_SECRET, base_url="file:///etc/passwd", clock=lambda: T0)


# --- the channel adapter -----------------------------------------------------------------------


def test_channel_sends_cs_text(api, client):
    channel = WeChatChannel(client)
    assert channel.name == "wechat"
    assert channel.can_reach(Contact(wechat_openid=OPENID))
    assert not channel.can_reach(Contact(phone="+6591234567"))
    message_id = channel.send(Contact(wechat_openid=OPENID), "明天见!", subject="ignored")
    assert message_id.startswith("wechat-cs-")
    assert api.sent[0]["text"]["content"] == "明天见!"


def test_channel_errors(api, client):
    channel = WeChatChannel(client)
    with pytest.raises(PermanentSendError):
        channel.send(Contact(phone="+6591234567"), "hi", "s")
    api.window_closed.add(OPENID)
    with pytest.raises(CustomerServiceWindowClosed):
        channel.send(Contact(wechat_openid=OPENID), "hi", "s")


# --- the 48-hour window rule -------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "last_inbound, sent, expected",
    [
        (None, 0, False),
        (NOW, 0, True),
        (NOW - timedelta(hours=47, minutes=59), 4, True),
        (NOW - timedelta(hours=48), 0, False),
        (NOW - timedelta(hours=48, seconds=1), 0, False),
        (NOW - timedelta(hours=1), 5, False),
        (NOW - timedelta(hours=1), 6, False),
        (NOW + timedelta(seconds=5), 0, True),  # a little clock skew
        (datetime(2026, 11, 22, 18, 0, tzinfo=SHANGHAI), 0, True),
    ],
)
def test_can_send_customer_service(last_inbound, sent, expected):
    assert can_send_customer_service(last_inbound, sent, NOW) is expected


def test_window_needs_aware_datetimes():
    with pytest.raises(ValueError):
        can_send_customer_service(datetime(2026, 11, 22, 9, 0), 0, NOW)


# --- credentials -------------------------------------------------------------------------------


def test_credentials_loader_reads_the_store_secret(aws):
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from chalicelib.channels.wechat.credentials import WeChatCredentials, load_wechat_credentials

    secrets = aws.client("secretsmanager")
    secrets.create_secret(
        Name="chairside/test/stores/store-sg-01/wechat",
        SecretString=json.dumps(
            {
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "token": "server-token",
                "template_ids": {"appointment_reminder": "tmpl-reminder-01"},
            }
        ),
    )
    provider = SecretsProvider(boto3_session=aws)
    creds = load_wechat_credentials("store-sg-01", "test", provider)
    assert creds == WeChatCredentials(
        APP_ID, APP_SECRET, "server-token", {"appointment_reminder": "tmpl-reminder-01"}
    )
    assert APP_SECRET not in repr(creds)

    assert load_wechat_credentials("store-without-wechat", "test", provider) is None
    assert load_wechat_credentials("store-sg-01", "prod", provider) is None


def test_credentials_loader_caches_for_five_minutes(aws):
    from unittest import mock

    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from chalicelib.channels.wechat.credentials import load_wechat_credentials

    aws.client("secretsmanager").create_secret(
        Name="chairside/test/stores/s1/wechat",
        SecretString=json.dumps({"app_id": "wx1", "app_secret": "s", "token": "t"}),
    )
    provider = SecretsProvider(boto3_session=aws)
    with mock.patch.object(provider, "get", wraps=provider.get) as get:
        creds = load_wechat_credentials("s1", "test", provider)
    get.assert_called_once_with("chairside/test/stores/s1/wechat", transform="json", max_age=300)
    assert creds.template_ids == {}


@pytest.mark.parametrize(
    "secret, message",
    [
        ("not json", "not valid JSON"),
        (json.dumps(["a"]), "not a JSON object"),
        (json.dumps({"app_id": "wx1", "token": "t"}), "missing app_secret"),
        (
            json.dumps({"app_id": "wx1", "app_secret": "s", "token": "t", "template_ids": ["x"]}),
            "template_ids",
        ),
    ],
)
def test_credentials_loader_rejects_malformed_secrets(aws, secret, message):
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from chalicelib.channels.wechat.credentials import InvalidWeChatSecret, load_wechat_credentials

    aws.client("secretsmanager").create_secret(Name="chairside/test/stores/s2/wechat", SecretString=secret)
    with pytest.raises(InvalidWeChatSecret, match=message):
        load_wechat_credentials("s2", "test", SecretsProvider(boto3_session=aws))
