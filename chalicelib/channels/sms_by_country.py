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
