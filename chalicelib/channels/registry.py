"""Which channels can carry a message: the base ones every store has (SMS, email; wrapped in fault injection on
the local stack), and a store's own WeChat and Agora Chat channels, configured by its secrets (secrets.py).

Built by the composition root (bootstrap.py); clients and channels are made on first use, once per container.
"""

from __future__ import annotations

from collections.abc import Callable
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
        self._by_store: dict[str, dict[str, Any]] = {}

    @cached_property
    def base(self) -> dict[str, Channel]:
        """The channels of every store, by name: "sms" and "email"."""
        from chalicelib.channels.email import SesEmail
        from chalicelib.channels.sms import SnsSms

        channels: dict[str, Any] = {
            "sms": SnsSms(self._client("sns")),
            "email": SesEmail(self._client("ses", self._ses_region), self._email_sender),
        }
        if self._faults_path is not None:
            from chalicelib.channels.faults import FaultFile, FaultInjectingChannel

            faults = FaultFile(self._faults_path)
            channels = {name: FaultInjectingChannel(ch, faults) for name, ch in channels.items()}
        return channels

    def for_store(self, store: Any) -> dict[str, Any]:
        """The channels that can carry an answer from this store, built once per store and container."""
        cached = self._by_store.get(store.store_id)
        if cached is not None:
            return cached
        from chalicelib.channels.agora.chat import AgoraChatClient
        from chalicelib.channels.wechat.client import WeChatChannel, WeChatClient
        from chalicelib.channels.wechat.templates import WeChatTemplateChannel, store_templates
        from chalicelib.conversations.outbound import AgoraChatChannel

        channels: dict[str, Any] = dict(self.base)
        credentials = self._secrets.wechat_credentials(store.store_id)
        if credentials is not None:
            client = WeChatClient(
                credentials.app_id,
                credentials.app_secret,
                base_url=self._wechat_api_base,
                clock=self._wall,
                http=self._http,
            )
            channels["wechat"] = WeChatChannel(client)
            channels["wechat_template"] = WeChatTemplateChannel(
                client, store_templates(credentials.templates, credentials.template_ids)
            )
        agora = self._secrets.agora_settings(store.chain_id)
        if agora:
            channels["agora"] = AgoraChatChannel(
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
        self._by_store[store.store_id] = channels
        return channels
