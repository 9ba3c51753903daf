"""A store's channels (channels/registry.py `StoreChannels`): its own WeChat and Agora channels are built, and
their secrets read, only when a name of theirs is looked up, once per store and container."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

from chalicelib.channels.http import ProviderHttp
from chalicelib.channels.registry import ChannelRegistry


class _Secrets:
    def __init__(self, agora: dict | None = None) -> None:
        self.reads: Counter[str] = Counter()
        self._agora = agora

    def wechat_credentials(self, store_id: str) -> None:
        self.reads["wechat"] += 1
        return None  # no WeChat account: the store has no WeChat channels

    def agora_settings(self, chain_id: str) -> dict | None:
        self.reads["agora"] += 1
        return self._agora


def _registry(secrets: _Secrets) -> ChannelRegistry:
    return ChannelRegistry(
        lambda service, region=None: SimpleNamespace(service=service),
        secrets,
        ses_region="ap-southeast-1",
        email_sender="care@chairside.example",
        wechat_api_base="http://wechat.invalid",
        wall=lambda: 0.0,
        http=ProviderHttp(),
    )


STORE = SimpleNamespace(store_id="sh-jingan", chain_id="demo-chain")
AGORA = {"base_url": "http://agora.invalid", "org_name": "o", "app_name": "a", "app_id": "0" * 32}


def test_an_answer_by_sms_or_email_reads_no_secret_of_the_stores_own_channels():
    secrets = _Secrets()
    channels = _registry(secrets).for_store(STORE)
    assert channels["sms"] is not None and channels.get("email") is not None
    assert "sms" in channels
    assert secrets.reads == Counter()


def test_a_family_is_built_when_a_name_of_it_is_first_looked_up_and_once():
    secrets = _Secrets(agora={**AGORA, "app_certificate": "1" * 32})
    registry = _registry(secrets)
    channels = registry.for_store(STORE)
    assert "wechat" not in channels and channels.get("wechat_template") is None
    assert secrets.reads == Counter({"wechat": 1})
    assert type(channels["agora"]).__name__ == "AgoraChatChannel"
    assert sorted(channels) == ["agora", "email", "sms"] and len(channels) == 3
    assert registry.for_store(STORE) is channels
    assert secrets.reads == Counter({"wechat": 1, "agora": 1})


def test_iterating_builds_every_family_once():
    secrets = _Secrets()
    channels = _registry(secrets).for_store(STORE)
    assert set(channels) == {"sms", "email"} and dict(channels).keys() == {"sms", "email"}
    assert secrets.reads == Counter({"wechat": 1, "agora": 1})
