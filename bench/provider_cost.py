"""What the providers charge for the journeys the bench just ran (issue 15 §8): routed by the real channel router
for a stated member mix, against the same journeys all sent by SMS.

The messages are the ones the journeys of this run recorded (kind and rendered text, read from moto's table
directly: no counted call). For each kind of member in the mix, `services/channel_router.py` with
`channels/routing.toml` (no chain or store override) picks the first route of each message; its provider's fee
(`bench/prices.py` PROVIDER_PRICES) is the message's. An SMS bills per part of its text with the sign name.

What is not priced: fallbacks (a route that fails or gets no receipt sends once more on the next channel), and
the AWS side of the receipts (priced with the journeys: `bench/journeys.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bench.prices import PROVIDER_PRICES, provider_price

# Mainland China: every member has a +86 number; SMS goes by the chain's mainland provider.
SMS_PROVIDER = "sms_cn_alibaba"
SIGN_NAME = "【花漾美业】"  # devstack/seed.py DEMO_SIGN_NAME, as the phone shows it

# (share, kind of member): the demo member mix (issue 15 §8)
MIX: tuple[tuple[float, str], ...] = (
    # follows the store's Official Account and allowed its follow-up notices (subscription messages) in the
    # subscribe pop-up of the store's page; no message from her in the 48 h before
    (0.60, "wechat_follower"),
    (0.20, "app_user"),  # writes to the store from the salon's app (Agora Chat)
    (0.20, "sms_only"),  # a phone number only
)


@dataclass(frozen=True)
class SentMessage:
    kind: str
    text: str


@dataclass(frozen=True)
class ProviderCost:
    journeys: int
    messages_per_journey: float
    per_journey_usd: dict[str, float]  # member kind -> routed fee per journey
    channels: dict[str, Counter]  # member kind -> channel -> messages per journey
    all_sms_per_journey_usd: float
    sms_parts_per_journey: float
    # a follower who allowed no subscription message: fee per journey (the mix's followers without the pop-up)
    follower_without_grants_usd: float = 0.0

    @property
    def routed_per_1000(self) -> float:
        return 1000 * sum(share * self.per_journey_usd[who] for share, who in MIX)

    @property
    def all_sms_per_1000(self) -> float:
        return 1000 * self.all_sms_per_journey_usd

    @property
    def ratio(self) -> float:
        return self.routed_per_1000 / self.all_sms_per_1000 if self.all_sms_per_1000 else 0.0

    @property
    def ratio_without_grants(self) -> float:
        """The ratio had the mix's followers allowed no subscription message (templates and SMS only)."""
        if not self.all_sms_per_1000:
            return 0.0
        share = dict((who, s) for s, who in MIX)["wechat_follower"]
        extra = share * (self.follower_without_grants_usd - self.per_journey_usd["wechat_follower"])
        return (self.routed_per_1000 + 1000 * extra) / self.all_sms_per_1000


def sms_parts(text: str, sign_name: str = SIGN_NAME) -> int:
    """Billed parts of a mainland SMS: up to 70 characters in one, else 67 per part (Alibaba's length rules)."""
    length = len(sign_name) + len(text)
    return 1 if length <= 70 else -(-length // 67)


def facts_for(who: str):
    """MemberFacts of one kind of member in the mix."""
    from chalicelib.services.channel_router import MemberFacts

    phone = "+8613800000000"
    if who == "wechat_follower":  # one grant per subscription template of the demo account (devstack/seed.py)
        grants = frozenset(
            {"demo-sub-feedback ev-bench", "demo-sub-follow-up ev-bench", "demo-sub-follow-up ev-2"}
        )
        return MemberFacts(
            phone=phone, wechat_openid="o-bench-member", wechat_following=True, wechat_grants=grants
        )
    if who == "wechat_follower_without_grants":
        return MemberFacts(phone=phone, wechat_openid="o-bench-member", wechat_following=True)
    if who == "app_user":
        return MemberFacts(phone=phone, agora_user="m-bench", last_inbound_channel="agora")
    if who == "sms_only":
        return MemberFacts(phone=phone)
    raise ValueError(who)


def fee(channel: str, message: SentMessage) -> float:
    if channel == "sms":
        return sms_parts(message.text) * provider_price(SMS_PROVIDER)
    return provider_price(channel)


def price(messages: list[SentMessage], journeys: int, now: datetime) -> ProviderCost:
    """The fees of `messages` (every message of `journeys` journeys), routed per member kind and all by SMS."""
    from chalicelib.channels.wechat.client import can_send_customer_service
    from chalicelib.services import channel_router

    settings = channel_router.settings_for(None, None)
    per_journey: dict[str, float] = {}
    channels: dict[str, Counter] = {}
    for who in [who for _, who in MIX] + ["wechat_follower_without_grants"]:
        facts = facts_for(who)
        used: Counter = Counter()
        usd = 0.0
        for message in messages:
            routes = channel_router.routes(message.kind, facts, settings, now, can_send_customer_service)
            if not routes:
                continue
            used[routes[0].channel] += 1 / journeys
            usd += fee(routes[0].channel, message)
        per_journey[who] = usd / journeys
        channels[who] = used
    parts = sum(sms_parts(m.text) for m in messages)
    without_grants = per_journey.pop("wechat_follower_without_grants")
    channels.pop("wechat_follower_without_grants")
    return ProviderCost(
        journeys=journeys,
        messages_per_journey=len(messages) / journeys,
        per_journey_usd=per_journey,
        channels=channels,
        all_sms_per_journey_usd=parts * provider_price(SMS_PROVIDER) / journeys,
        sms_parts_per_journey=parts / journeys,
        follower_without_grants_usd=without_grants,
    )


def journey_messages(items: Iterable[dict], booking_prefix: str) -> list[SentMessage]:
    """The outbound journey messages among stored items (DynamoDB JSON) of bookings named `booking_prefix`*."""
    found = []
    for item in items:
        booking = item.get("booking_id", {}).get("S", "")
        if (
            item.get("sk", {}).get("S", "").startswith("MSG#")
            and item.get("direction", {}).get("S") == "out"
            and booking.startswith(booking_prefix)
        ):
            found.append(SentMessage(item["kind"]["S"], item["text"]["S"]))
    return found


def stored_items(table: str, region: str) -> list[dict]:
    """Every item of the table, from moto's backend directly (not an API call: not counted)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
    return [item.to_json()["Attributes"] for item in backend.get_table(table).all_items()]


def summary(c: ProviderCost) -> str:
    return (
        f"provider_cost_per_1000_journeys_usd={c.routed_per_1000:.2f} routed_vs_all_sms_cost_ratio={c.ratio:.2f} "
        f"routed_vs_all_sms_cost_ratio_without_subscriptions={c.ratio_without_grants:.2f}"
    )


def markdown(c: ProviderCost, kinds: Counter) -> list[str]:
    mix = ", ".join(f"{share:.0%} {who.replace('_', ' ')}" for share, who in MIX)
    rows = [
        (
            who.replace("_", " "),
            f"{share:.0%}",
            ", ".join(f"{ch} {n:.2f}" for ch, n in sorted(c.channels[who].items())),
            f"{c.per_journey_usd[who] * 1000:.2f}",
        )
        for share, who in MIX
    ]
    lines = [
        "## Provider cost per 1,000 journeys (issue 15 §8)",
        "",
        f"The {c.journeys} journeys above recorded {c.messages_per_journey:g} messages each ("
        + ", ".join(f"{k} {n / c.journeys:g}" for k, n in sorted(kinds.items()))
        + f"). Demo member mix, mainland China: {mix}. Each message goes by the first route "
        "`services/channel_router.py` gives it with `channels/routing.toml` (no override); an SMS goes by "
        f"Alibaba Cloud SMS and bills per part with the sign name ({c.sms_parts_per_journey:g} parts per journey). "
        "Fallbacks are not priced (a blocked or silent route sends once more on the next one).",
        "",
        "| member | share | channel, messages per journey | USD per 1,000 journeys |",
        "| --- | --- | --- | --- |",
        *[f"| {' | '.join(row)} |" for row in rows],
        f"| **routed, the mix** | 100% | | **{c.routed_per_1000:.2f}** |",
        f"| all by SMS | 100% | sms {c.messages_per_journey:g} | {c.all_sms_per_1000:.2f} |",
        "",
        f"Routed against all-SMS: **{c.ratio:.2f}** (target <= 0.3). WeChat allows template messages only for "
        "booking notices (`routing.toml` `transactional`); the service follow-ups of her visit (feedback request, "
        "first-visit follow-up, one-month check-in: `subscribable`) go by subscription message (订阅通知) to a "
        'follower who allowed them, one message per "accept" in the subscribe pop-up; the review request asks '
        "for a public review and goes by SMS outside the 48-hour window; an SMS-only member pays for every step. "
        "The mix assumes every follower allowed the follow-ups (WeChat's subscribe button, which the booking page "
        "shows inside WeChat after a booking and in her bookings); had none, the ratio "
        f"would be **{c.ratio_without_grants:.2f}** ({c.follower_without_grants_usd * 1000:.2f} USD per 1,000 "
        "follower journeys instead). The grants are the assumption this target rests on: measure the "
        "acceptance rate in production before quoting it.",
        "",
        "Provider fees (`bench/prices.py` PROVIDER_PRICES; transcribed, not fetched -- check before quoting):",
        "",
        "| price | USD | per | source |",
        "| --- | --- | --- | --- |",
        *[
            f"| {name} | {usd:.6g} | {unit} | {source} |"
            for name, (usd, unit, source) in PROVIDER_PRICES.items()
        ],
        "",
    ]
    return lines
