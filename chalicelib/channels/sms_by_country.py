"""The `sms` channel of a chain: the provider is picked per number by its country prefix (chain settings over
sms.toml's [routes]; by default +86 -> Alibaba Cloud SMS, every other country -> Amazon SNS).

A number whose provider the chain has not configured (no credentials, say) cannot be reached here, so the router
moves on to the next channel rather than sending through a provider that cannot legally deliver it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.channels.base import (
    Channel,
    Contact,
    Outgoing,
    pull_receipts,
    reports_receipts,
    send_outgoing,
)
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

    def reports_receipts_for(self, contact: Contact) -> bool:
        """Whether this number's provider reports receipts (channels.base.reports_receipts)."""
        channel = self._providers.get(self.provider_for(contact))
        return channel is not None and reports_receipts(channel, contact)

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

    def pull_receipts(self, contact: Contact, provider_message_id: str, sent_at: datetime) -> list:
        """This number's provider's receipts of one send, when it can be asked (channels.base.pull_receipts)."""
        channel = self._providers.get(self.provider_for(contact))
        return [] if channel is None else pull_receipts(channel, contact, provider_message_id, sent_at)

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
    provider (or None), `sns` the stage's SNS channel. A provider with no credentials, no sign name, or settings it
    cannot use is left out (logged), so its countries are not reachable by SMS; malformed routes fall back to
    sms.toml's. Never raises for bad settings: the store's other channels must keep working."""
    from chalicelib.channels.sms_templates import routes_of
    from chalicelib.observability import logger

    settings = settings or {}
    try:
        routes = routes_of(settings)
    except ValueError as exc:
        logger.error("chain sms_settings.routes refused; using the defaults", extra={"why": str(exc)})
        routes = routes_of(None)
    providers: dict[str, Channel] = {"sns": sns}
    for provider in sorted(set(routes.values()) - {"sns"}):
        config = settings.get(provider) or {}
        credentials = secret(provider)
        if not credentials or not isinstance(config, Mapping) or not config.get("sign_name"):
            continue
        try:
            channel = _provider_channel(provider, config, credentials, transport=transport, wall=wall)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("sms provider settings refused", extra={"provider": provider, "why": repr(exc)})
            continue
        if channel is not None:
            providers[provider] = channel
    return SmsByCountry(routes, providers)


def _provider_channel(
    provider: str, config: Mapping[str, Any], credentials: Mapping[str, Any], *, transport: Any, wall: Any
) -> Channel | None:
    from chalicelib.channels.sms_templates import SmsTemplates

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
        return AlibabaSms(client, config["sign_name"], templates)
    if provider == "tencent_sms":
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
        return TencentSms(tencent, config["sign_name"], templates)
    return None  # a provider this code does not know: its countries are not reachable by SMS
