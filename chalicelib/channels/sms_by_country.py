"""The `sms` channel of a chain: the provider is picked per number by its country prefix (chain settings over
sms.toml's [routes]; by default +86 -> Alibaba Cloud SMS, every other country -> Amazon SNS).

A number whose provider the chain has not configured (no credentials, say) cannot be reached here, so the router
moves on to the next channel rather than sending through a provider that cannot legally deliver it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.channels.base import Channel, Contact, Outgoing, send_outgoing
from chalicelib.channels.sms_templates import pick_provider
from chalicelib.errors import PermanentSendError


class SmsByCountry:
    name = "sms"

    def __init__(self, routes: Mapping[str, str], providers: Mapping[str, Channel]) -> None:
        """`routes`: country prefix ("+86", or "*") -> provider name; `providers`: provider name -> its channel."""
        self._routes = dict(routes)
        self._providers = dict(providers)

    def provider_for(self, contact: Contact) -> str:
        """The provider whose receipts will name a send to this contact (channels.base.provider_of)."""
        return pick_provider(self._routes, contact.phone or "")

    def _channel(self, contact: Contact) -> Any:
        provider = self.provider_for(contact)
        channel = self._providers.get(provider)
        if channel is None:
            raise PermanentSendError(f"sms: provider {provider} is not configured for this chain")
        return channel

    def can_reach(self, contact: Contact) -> bool:
        if not contact.phone:
            return False
        channel = self._providers.get(self.provider_for(contact))
        return channel is not None and channel.can_reach(contact)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        return self._channel(contact).send(contact, text, subject)

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        return send_outgoing(self._channel(contact), contact, outgoing)


def chain_sms_channel(
    settings: Mapping[str, Any] | None,
    secret: Any,
    sns: Channel,
    *,
    transport: Any,
    wall: Any,
) -> SmsByCountry:
    """The chain's `sms` channel: `settings` its ChainItem.sms_settings, `secret(provider)` its credentials for a
    provider (or None), `sns` the stage's SNS channel. A provider with no credentials, or no sign name, is left
    out (its countries cannot be reached by SMS). Malformed settings raise ValueError."""
    from chalicelib.channels.sms_templates import SmsTemplates, routes_of

    settings = settings or {}
    routes = routes_of(settings)
    providers: dict[str, Channel] = {"sns": sns}
    for provider in sorted(set(routes.values()) - {"sns"}):
        config = settings.get(provider) or {}
        credentials = secret(provider)
        if not credentials or not config.get("sign_name"):
            continue
        templates = SmsTemplates.parse(provider, config.get("templates"))
        if provider == "alibaba_sms":
            from chalicelib.channels.sms_alibaba import AlibabaSms, AlibabaSmsClient, AlibabaSmsCredentials

            client = AlibabaSmsClient(
                AlibabaSmsCredentials(
                    credentials["access_key_id"],
                    credentials["access_key_secret"],
                    **{k: credentials[k] for k in ("endpoint", "region_id") if credentials.get(k)},
                ),
                transport=transport,
                wall=wall,
            )
            providers[provider] = AlibabaSms(client, config["sign_name"], templates)
        elif provider == "tencent_sms":
            from chalicelib.channels.sms_tencent import TencentSms, TencentSmsClient, TencentSmsCredentials

            tencent = TencentSmsClient(
                TencentSmsCredentials(
                    credentials["secret_id"],
                    credentials["secret_key"],
                    str(credentials["sdk_app_id"]),
                    **{k: credentials[k] for k in ("endpoint", "region") if credentials.get(k)},
                ),
                transport=transport,
                wall=wall,
            )
            providers[provider] = TencentSms(tencent, config["sign_name"], templates)
    return SmsByCountry(routes, providers)
