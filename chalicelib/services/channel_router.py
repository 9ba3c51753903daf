"""Which channels carry one message, in order, and why (issue 15 §1). Pure: no AWS, no clock of its own.

The order is data (chalicelib/channels/routing.toml), overridable per chain and per store (`channel_routing`
on ChainItem / StoreItem, merged store over chain over the file). Given the message's kind, what we know of
the member and `now`, `routes` answers the channels to try, best first, each with one short reason code:

    preferred        the member's own choice (MemberItem.preferred_channel), when it can carry this kind now
    wechat_window    WeChat customer-service text: she wrote on WeChat within the last 48 hours
    wechat_template  a template message: a transactional kind, to a member who follows the Official Account
    wechat_subscribed  a subscription message: a `subscribable` kind, to a member who allowed one (a grant)
    agora_app_user   Agora Chat: she wrote to the store from the salon's app
    sms              her phone
    email            her e-mail, after another route (`email_only` when it is the only one)

A later hop records why it was taken instead: `fallback_permanent` (the route before failed for good) or
`fallback_no_receipt` (no delivery receipt within the route's wait).

Following: `MemberItem.wechat_following` is written from the Official Account's subscribe/unsubscribe events.
Missing means "not known": a member with an openid is taken to follow (the openid was bound through the store's
own account, by her writing to it or by the booking system), so a template message is tried; WeChat refuses one
to a non-follower for good (43004), which falls back to the next route at the price of one call. Only an
explicit `False` leaves the template route out.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ValidationFailed

if TYPE_CHECKING:
    from chalicelib.contracts.channel_routing import RoutingOverride

CHANNELS = ("wechat", "wechat_template", "wechat_subscribe", "agora", "sms", "email")
# What a member may choose: she knows WeChat, not our three kinds of WeChat message.
MEMBER_CHOICES = ("wechat", "agora", "sms", "email")
FALLBACK_PERMANENT = "fallback_permanent"
FALLBACK_NO_RECEIPT = "fallback_no_receipt"


@dataclass(frozen=True)
class Route:
    channel: str
    reason: str


@dataclass(frozen=True)
class MemberFacts:
    """What routing needs to know of her: from her profile, her conversation with the store and the booking."""

    phone: str | None = None
    email: str | None = None
    wechat_openid: str | None = None
    wechat_following: bool | None = None  # None: not known (see the module's docstring)
    wechat_grants: frozenset[str] = frozenset()  # her subscription-message grants (dal/wechat_follow.py)
    agora_user: str | None = None
    preferred_channel: str | None = None
    last_inbound_channel: str | None = None
    last_inbound_at: datetime | None = None
    sent_since_inbound: int = 0


@dataclass(frozen=True)
class RoutingSettings:
    order: tuple[str, ...]
    prefer_member_choice: bool
    transactional: frozenset[str]
    marketing: frozenset[str]
    receipt_wait_seconds: Mapping[str, int]
    subscribable: frozenset[str] = frozenset()

    def receipt_wait(self, channel: str) -> int:
        return int(self.receipt_wait_seconds.get(channel, 0))

    def is_marketing(self, kind: str) -> bool:
        return kind in self.marketing


ROUTING_FILE = Path(__file__).parent.parent / "channels" / "routing.toml"


@functools.cache
def _defaults() -> RoutingSettings:
    """routing.toml as it is: our own file, held to RoutingOverride's rules by a unit test, so reading it needs no
    pydantic (a worker routing by the defaults starts faster)."""
    raw = tomllib.loads(ROUTING_FILE.read_text("utf-8"))
    return RoutingSettings(
        order=tuple(raw["order"]),
        prefer_member_choice=bool(raw["prefer_member_choice"]),
        transactional=frozenset(raw["transactional"]),
        marketing=frozenset(raw["marketing"]),
        receipt_wait_seconds={str(k): int(v) for k, v in raw.get("receipt_wait_seconds", {}).items()},
        subscribable=frozenset(raw.get("subscribable", [])),
    )


def parse_override(raw: Any, field: str = "channel_routing") -> RoutingOverride:
    """A `channel_routing` object, validated: ValidationFailed (400) naming the field on a bad one."""
    from chalicelib.contracts.channel_routing import RoutingOverride
    from chalicelib.contracts.validation import parse

    if not isinstance(raw, Mapping):
        raise ValidationFailed("channel routing must be an object", {field: "an object"})
    try:
        return parse(RoutingOverride, dict(raw), "invalid channel routing")
    except ValidationFailed as exc:  # its fields named under `field`
        raise ValidationFailed(
            exc.message, {f"{field}.{path}": text for path, text in (exc.fields or {}).items()}
        ) from None


def settings_for(
    chain_override: Any = None,
    store_override: Any = None,
    *,
    on_bad: Callable[[ValidationFailed], None] | None = None,
) -> RoutingSettings:
    """routing.toml, then the chain's `channel_routing`, then the store's (each validated). A bad one raises
    ValidationFailed naming the field; with `on_bad` (a worker reading what is stored: a message must still go)
    it is reported there and left out."""
    settings = _defaults()
    for raw, field in ((chain_override, "chain.channel_routing"), (store_override, "store.channel_routing")):
        if raw is None:
            continue
        try:
            override = parse_override(raw, field)
        except ValidationFailed as exc:
            if on_bad is None:
                raise
            on_bad(exc)
            continue
        waits = dict(settings.receipt_wait_seconds)
        waits.update({str(k): v for k, v in (override.receipt_wait_seconds or {}).items()})
        settings = RoutingSettings(
            order=tuple(override.order) if override.order is not None else settings.order,
            prefer_member_choice=(
                override.prefer_member_choice
                if override.prefer_member_choice is not None
                else settings.prefer_member_choice
            ),
            transactional=settings.transactional,
            marketing=settings.marketing,
            receipt_wait_seconds=waits,
            subscribable=settings.subscribable,
        )
    return settings


WindowRule = Callable[[datetime | None, int, datetime], bool]


def _eligible(
    channel: str, kind: str, facts: MemberFacts, settings: RoutingSettings, now: datetime, window: WindowRule
) -> str | None:
    """The reason `channel` can carry this kind to her now, or None."""
    if channel == "wechat":
        open_ = (
            facts.wechat_openid is not None
            and facts.last_inbound_channel == "wechat"
            and window(facts.last_inbound_at, facts.sent_since_inbound, now)
        )
        return "wechat_window" if open_ else None
    if channel == "wechat_template":
        allowed = kind in settings.transactional and kind not in settings.marketing
        following = facts.wechat_openid is not None and facts.wechat_following is not False
        return "wechat_template" if allowed and following else None
    if channel == "wechat_subscribe":
        allowed = kind in settings.subscribable and kind not in settings.marketing
        return "wechat_subscribed" if allowed and facts.wechat_openid and facts.wechat_grants else None
    if channel == "agora":
        return "agora_app_user" if facts.agora_user else None
    if channel == "sms":
        return "sms" if facts.phone else None
    if channel == "email":
        return "email" if facts.email else None
    return None


def routes(
    kind: str, facts: MemberFacts, settings: RoutingSettings, now: datetime, window: WindowRule
) -> list[Route]:
    """The channels to try for this message, best first, each once. `window(last_inbound_at,
    sent_since_inbound, now)` is WeChat's customer-service rule (channels/wechat/client.py)."""
    found: list[Route] = []
    eligible = {
        channel: reason
        for channel in CHANNELS
        if (reason := _eligible(channel, kind, facts, settings, now, window)) is not None
    }
    choice = facts.preferred_channel if settings.prefer_member_choice else None
    if choice in MEMBER_CHOICES:
        # Her "WeChat" is whichever WeChat message may go now: the window's text, else a template or a
        # subscription message.
        wechats = ("wechat", "wechat_template", "wechat_subscribe")
        for channel in wechats if choice == "wechat" else (str(choice),):
            if channel in eligible and channel in settings.order:
                found.append(Route(channel, "preferred"))
                break
    taken = {r.channel for r in found}
    for channel in settings.order:
        if channel in eligible and channel not in taken:
            found.append(Route(channel, eligible[channel]))
            taken.add(channel)
    if found and found[0].channel == "email" and found[0].reason == "email":
        found[0] = Route("email", "email_only")
    return found


def facts_of(
    member: Any, conversation: Any, *, phone: str | None, email: str | None, wechat_openid: str | None
) -> MemberFacts:
    """MemberFacts from her profile (MemberItem or None), her conversation with the store (ConversationItem or
    None) and the addresses the message already has (a booking's snapshot), which win over the profile's. Her
    Agora user is the one she last wrote from in the salon's app (Agora callbacks name the member by it)."""
    last_channel = getattr(conversation, "last_inbound_channel", None)
    last_address = getattr(conversation, "last_inbound_address", None)
    return MemberFacts(
        phone=phone or getattr(member, "phone", None),
        email=email or getattr(member, "email", None),
        wechat_openid=wechat_openid
        or getattr(member, "wechat_openid", None)
        or (last_address if last_channel == "wechat" else None),
        wechat_following=getattr(member, "wechat_following", None),
        wechat_grants=frozenset(getattr(member, "wechat_grants", None) or ()),
        agora_user=last_address if last_channel == "agora" and last_address else None,
        preferred_channel=getattr(member, "preferred_channel", None),
        last_inbound_channel=last_channel,
        last_inbound_at=getattr(conversation, "last_inbound_at", None),
        sent_since_inbound=int(getattr(conversation, "sent_since_inbound", 0) or 0),
    )


def next_route(planned: list[Route], tried: set[str], reason: str) -> Route | None:
    """The first planned route not tried yet, recorded with the fallback `reason`."""
    for route in planned:
        if route.channel not in tried:
            return Route(route.channel, reason)
    return None
