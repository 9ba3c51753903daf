"""Which channels can carry a message: the base ones every store has (SMS, email; wrapped in fault injection on
the local stack), and a store's own WeChat and Agora Chat channels, configured by its secrets (secrets.py).

Built by the composition root (bootstrap.py); clients and channels are made on first use, once per container.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from chalicelib.channels.base import Channel
from chalicelib.channels.http import ProviderHttp
from chalicelib.secrets import ChannelSecrets


class ChannelRegistry:
    def __init__(
        self,
        client: Callable[..., Any],
        secrets: ChannelSecrets,
        *,
        ses_region: str,
        email_sender: str,
        wechat_api_base: str,
        wall: Callable[[], float],
        http: ProviderHttp,
        faults_path: Path | None = None,
        email_configuration_set: str = "",
        unsubscribe: Any = None,
        email_suppressed: Callable[[str], bool] | None = None,
        sms_settings: Callable[[str], Any] | None = None,
        sms_secrets: Any = None,
        sns_receipts: bool = True,
        wechat_grants: Any = None,
    ) -> None:
        """`client(service, region=None)` builds (or reuses) a boto3 client; `wall` is the real time in epoch
        seconds, for the chat clients' tokens; `http` the container's pooled provider HTTP; `faults_path`, on the local stack, the fault injection file."""
        self._client = client
        self._secrets = secrets
        self._ses_region = ses_region
        self._email_sender = email_sender
        self._wechat_api_base = wechat_api_base
        self._wall = wall
        self._http = http
        self._faults_path = faults_path
        self._email_configuration_set = email_configuration_set
        self._unsubscribe = unsubscribe
        self._email_suppressed = email_suppressed
        # Mainland SMS (issue 15): a chain's ChainItem.sms_settings by chain id, and its providers' credentials
        # (secrets.SmsProviderSecrets); without them a store's "sms" is the base SNS channel.
        self._sms_settings = sms_settings
        self._sms_secrets = sms_secrets
        self._sns_receipts = sns_receipts  # settings.sns_sms_receipts: SNS delivery-status logs are on
        # dal/wechat_follow.py: her subscription-message grants, spent by the wechat_subscribe channel
        self._wechat_grants = wechat_grants
        self._by_store: dict[str, StoreChannels] = {}
        self._wechat_clients: dict[str, Any] = {}
        self._sms_by_chain: dict[str, Any] = {}

    @cached_property
    def base(self) -> dict[str, Channel]:
        """The channels of every store, by name: "sms" and "email"."""
        from chalicelib.channels.email import SesEmail
        from chalicelib.channels.sms import SnsSms

        channels: dict[str, Any] = {
            "sms": SnsSms(self._client("sns"), receipts=self._sns_receipts),
            "email": SesEmail(
                self._client("sesv2", self._ses_region),
                self._email_sender,
                configuration_set=self._email_configuration_set,
                unsubscribe=self._unsubscribe,
                suppressed=self._email_suppressed,
            ),
        }
        if self._faults_path is not None:
            from chalicelib.channels.faults import FaultFile, FaultInjectingChannel

            faults = FaultFile(self._faults_path)
            channels = {name: FaultInjectingChannel(ch, faults) for name, ch in channels.items()}
        return channels

    def for_store(self, store: Any) -> Mapping[str, Any]:
        """The channels that can carry an answer from this store, built once per store and container. Its own
        WeChat and Agora channels are built when first asked for (`StoreChannels`): an answer by SMS or email
        reads none of their secrets and loads none of their modules."""
        cached = self._by_store.get(store.store_id)
        if cached is None:
            cached = self._by_store[store.store_id] = StoreChannels(self, store)
        return cached

    def wechat_channels(self, store: Any) -> dict[str, Any]:
        """The store's WeChat channels ("wechat", "wechat_template", "wechat_subscribe"), if it has credentials."""
        from chalicelib.channels.wechat.client import WeChatChannel
        from chalicelib.channels.wechat.templates import WeChatTemplateChannel, store_templates

        credentials = self._secrets.wechat_credentials(store.store_id)
        if credentials is None:
            return {}
        client = self.wechat_client(store.store_id, credentials)
        channels: dict[str, Any] = {
            "wechat": WeChatChannel(client),
            "wechat_template": WeChatTemplateChannel(
                client, store_templates(credentials.templates, credentials.template_ids)
            ),
        }
        if credentials.subscriptions and self._wechat_grants is not None:
            from chalicelib.channels.wechat.subscriptions import WeChatSubscribeChannel

            channels["wechat_subscribe"] = WeChatSubscribeChannel(
                client, credentials.subscriptions, self._wechat_grants
            )
        return channels

    def agora_channels(self, store: Any) -> dict[str, Any]:
        """The store's "agora" channel, if its chain has Agora Chat settings."""
        agora = self._secrets.agora_settings(store.chain_id)
        if not agora:
            return {}
        from chalicelib.channels.agora.chat import AgoraChatClient
        from chalicelib.conversations.outbound import AgoraChatChannel

        return {
            "agora": AgoraChatChannel(
                AgoraChatClient(
                    agora["base_url"],
                    agora["org_name"],
                    agora["app_name"],
                    agora["app_id"],
                    agora["app_certificate"],
                    clock=self._wall,
                    http=self._http.request,
                    sender_id=f"store-{store.store_id}",
                )
            )
        }

    def wechat_client(self, store_id: str, credentials: Any) -> Any:
        """The store's WeChat API client for these credentials (channels/wechat/credentials.py), one per store and
        app id in the container: its channels and the booking page's JS-SDK configuration share its access token
        and ticket (WeChat invalidates an older token when a new one is fetched)."""
        from chalicelib.channels.wechat.client import WeChatClient

        cached = self._wechat_clients.get(store_id)
        if cached is None or cached.app_id != credentials.app_id:
            cached = WeChatClient(
                credentials.app_id,
                credentials.app_secret,
                base_url=self._wechat_api_base,
                clock=self._wall,
                http=self._http,
            )
            self._wechat_clients[store_id] = cached
        return cached

    def sms_for(self, store: Any) -> Any:
        """The store's `sms`: its chain's providers by country when the chain has SMS settings, else the base SNS
        channel; built once per chain and container, and without reading the store's WeChat or Agora secrets (an
        SMS-only member's message costs none)."""
        if self._sms_settings is None or self._sms_secrets is None:
            return self.base["sms"]
        if store.chain_id not in self._sms_by_chain:
            # a chain without SMS settings keeps the base SNS channel for every number
            sms = self._chain_sms(self._sms_settings, store.chain_id)
            self._sms_by_chain[store.chain_id] = sms if sms is not None else self.base["sms"]
        return self._sms_by_chain[store.chain_id]

    def _chain_sms(self, settings: Callable[[str], Any], chain_id: str) -> Any:
        """The chain's `sms`: a provider per country prefix (channels/sms_by_country.py); None when the chain has no
        SMS settings (ChainItem.sms_settings)."""
        from functools import partial

        from chalicelib.channels.sms_by_country import chain_sms_channel

        chain_settings = settings(chain_id)
        if not chain_settings:
            return None
        from chalicelib.channels.sms import SnsSms

        sms: Any = chain_sms_channel(
            chain_settings,
            partial(self._sms_secrets.read, chain_id),
            SnsSms(self._client("sns"), receipts=self._sns_receipts),
            transport=self._http.request,
            wall=self._wall,
        )
        if self._faults_path is not None:  # the local stack: faults on "sms" reach every SMS provider
            from chalicelib.channels.faults import FaultFile, FaultInjectingChannel

            sms = FaultInjectingChannel(sms, FaultFile(self._faults_path))
        return sms


# A channel name -> the registry method that builds the store's channels of its family (their secret read once).
_FAMILIES = {
    "wechat": ChannelRegistry.wechat_channels,
    "wechat_template": ChannelRegistry.wechat_channels,
    "wechat_subscribe": ChannelRegistry.wechat_channels,
    "agora": ChannelRegistry.agora_channels,
}


class StoreChannels(Mapping[str, Any]):
    """A store's channels by name: the base ones and its `sms` at once, a family of its own (WeChat, Agora) when a
    name of it is first looked up, every family when iterated or counted."""

    def __init__(self, registry: ChannelRegistry, store: Any) -> None:
        self._registry = registry
        self._store = store
        self._channels: dict[str, Any] = {**registry.base, "sms": registry.sms_for(store)}
        self._built: set[Any] = set()

    def _build(self, family: Any) -> None:
        if family not in self._built:
            self._channels.update(family(self._registry, self._store))
            self._built.add(family)

    def __getitem__(self, name: str) -> Any:
        family = _FAMILIES.get(name)
        if family is not None:
            self._build(family)
        return self._channels[name]

    def _all(self) -> dict[str, Any]:
        for family in dict.fromkeys(_FAMILIES.values()):
            self._build(family)
        return self._channels

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())
