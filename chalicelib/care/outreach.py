"""The one send path of member care (campaigns and the always-on birthday/holiday/reactivation/rebook care).

`Outreach.enqueue` puts `CareMessage`s on the care queue (SendMessageBatch, 10 a request). `Outreach.deliver`
decides at SEND time -- never earlier, since consent, conversations and the cap change meanwhile:

1. the member, her store: only her primary store speaks to her (a member hears from one store of a chain);
2. marketing consent (opt-in), opt-out ("TD"/"退订"), a conversation in `needs_human`, marketing paused;
3. quiet hours of the store: deferred (the worker re-queues it with a delay), never dropped;
4. once per member per occasion: a claim item keyed by (chain, member, occasion) is taken first, so duplicate
   deliveries and overlapping schedule runs never send twice;
5. the frequency cap (policy.toml; birthday exempt), on a per-member ledger changed conditionally;
6. a coupon when the message carries one (kept on the claim, so a retry re-sends the same code);
7. the text (messages.toml per kind, or the campaign's own template) and the channel (the channel router's
   routes, services/channel_router.py: never a WeChat template message for marketing; sent by ReplySender,
   falling on to the next route on a failure).

Each skip is recorded on the claim with its reason; campaign counters (n_sent, n_skipped_<reason>...) move once
per claim transition, so the campaign's results add up under retries.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from enum import Enum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.channels.base import Contact
from chalicelib.clock import Clock
from chalicelib.dal.care import CareRepository, Conflict
from chalicelib.dal.messages import MessageRepository
from chalicelib.dal.models import CareClaimItem, MemberItem, MessageItem, StoreItem
from chalicelib.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.services import channel_router
from chalicelib.services.channel_router import Route

LEASE_SECONDS = 120
SQS_BATCH = 10  # SendMessageBatch takes at most ten entries
LEDGER_KEEPS = timedelta(days=30)


@functools.cache
def policy() -> dict[str, Any]:
    with (Path(__file__).parent / "policy.toml").open("rb") as handle:
        return tomllib.load(handle)


KINDS: tuple[str, ...] = tuple(policy()["kinds"])


@dataclass(frozen=True)
class CareMessage:
    """One member-care message to consider sending (the care queue's body, "type": "care")."""

    chain_id: str
    member_id: str
    kind: str  # birthday | holiday | reactivation | rebook_reminder | campaign
    occasion: str  # stable key: birthday:2026, holiday:mid_autumn:2026, rebook:<booking>, campaign:<id>...
    campaign_id: str | None = None
    store_id: str | None = None  # the store meant to speak; None: her primary store at send time
    params: dict[str, Any] = field(
        default_factory=dict
    )  # extra template variables under `care` (e.g. holiday)
    coupon: dict[str, Any] | None = (
        None  # {"offer": "...", "valid_days": n}: issue her a code for this occasion
    )

    type: str = "care"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str | dict) -> CareMessage:
        try:
            data = json.loads(body) if isinstance(body, str) else body
            if data.get("type") != "care":
                raise ValueError("type is not care")
            message = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "type"})
            if message.kind not in KINDS:
                raise ValueError(f"unknown kind {message.kind!r}")
            if not (message.chain_id and message.member_id and message.occasion):
                raise ValueError("chain_id, member_id and occasion are required")
            if (message.kind == "campaign") != bool(message.campaign_id):
                raise ValueError("a campaign message (and only one) names its campaign_id")
            if not isinstance(message.params, dict) or not isinstance(message.coupon, dict | None):
                raise ValueError("params and coupon must be objects")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationFailed(f"not a care message: {exc}") from None
        return message

    @property
    def message_ref(self) -> str:
        return hashlib.sha256(f"{self.chain_id}\x00{self.member_id}\x00{self.occasion}".encode()).hexdigest()[
            :20
        ]


class Outcome(Enum):
    SENT = "sent"
    FAILED = "failed"  # every channel failed; the claim says why (a campaign re-send may reopen it)
    SKIPPED = "skipped"  # held back for a reason (recorded): consent, opt-out, needs_human, cap, store...
    DEFERRED = "deferred"  # quiet hours: re-queue with `Decision.delay_seconds`
    DUPLICATE = "duplicate"  # the occasion was decided by an earlier delivery


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None
    delay_seconds: int = 0
    channel: str | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    locale: str


class Outreach:
    def __init__(
        self,
        repo: CareRepository,
        messages: MessageRepository,
        stores: Any,
        conversations: Any,
        sender: Any,
        clock: Clock,
        sqs_client: Any,
        queue_url: str,
        *,
        wall: Callable[[], float] = time.time,
        window: Callable[[datetime | None, int, datetime], bool] | None = None,
    ) -> None:
        self._window = window  # WeChat's customer-service window, for the channel router (issue 15)
        self._repo = repo
        self._messages = messages
        self._stores = stores  # StoreDirectory of this region
        self._conversations = conversations  # ConversationRepository
        self._sender = sender  # conversations.outbound.ReplySender
        self._clock = clock
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._templates: dict[tuple[str, str], dict] = {}  # a campaign's template never changes once created
        self._wall = wall

    # --- queueing ---------------------------------------------------------------------------------
    def enqueue(self, messages: Iterable[CareMessage], delay_seconds: int = 0) -> int:
        """Queue the messages, ten per SendMessageBatch request; returns the number of requests made."""
        return send_batches(self._sqs, self._queue_url, (m.to_json() for m in messages), delay_seconds)

    # --- the policy at send time --------------------------------------------------------------------
    def deliver(self, message: CareMessage, attempt: int = 1) -> Decision:
        now = self._clock.now()
        member = self._repo.member(message.chain_id, message.member_id, consistent=True)
        store = self._store_for(message, member)
        reason = self._held_back(message, member, store)
        if reason is not None:
            return self._skip(message, member, store, reason, now)
        if member is None or store is None:  # held back above ("unknown_member", "no_store")
            raise AssertionError("unreachable")  # pragma: no cover
        delay = quiet_delay(now, store.timezone)
        if delay:
            return self._log(message, Decision(Outcome.DEFERRED, "quiet_hours", delay_seconds=delay))

        claim = self._repo.claim(
            self._claim_item(message, store, now), int(self._wall()) + LEASE_SECONDS, int(self._wall())
        )
        if claim is None:
            existing = self._repo.claim_of(message.chain_id, message.member_id, message.occasion)
            if existing is not None and existing.status == "sending":
                raise ConcurrentUpdate()  # another worker holds a live lease: retry after it
            return self._log(message, Decision(Outcome.DUPLICATE))
        if not self._within_cap(message, now):
            self._finish(claim, message, "skipped", now, reason="frequency_cap")
            return self._log(message, Decision(Outcome.SKIPPED, "frequency_cap"))

        coupon = self._coupon_for(claim, message, now)
        rendered = self.render(message, member, store, coupon)
        outbound = self._outbound_item(message, store, rendered.text, int(claim.attempts or 0), now)
        conversation = self._conversations.get(store.store_id, member.member_id)
        contact = Contact(
            phone=member.phone,
            email=member.email,
            wechat_openid=member.wechat_openid,
            agora_user=channel_router.facts_of(
                member, conversation, phone=None, email=None, wechat_openid=None
            ).agora_user,
        )
        delivery = self._sender.send(
            outbound,
            store,
            contact,
            conversation,
            self._routes(message.kind, member, conversation, store, now),
        )
        status = "sent" if delivery.status == "sent" else "failed"
        self._finish(
            claim,
            message,
            status,
            self._clock.now(),
            channel=delivery.channel,
            reason=None if status == "sent" else (delivery.note or "no channel reached her"),
            message_pk=outbound.pk,
            message_sk=outbound.sk,
        )
        if status == "failed":
            self._release_cap(message)
        return self._log(
            message,
            Decision(
                Outcome.SENT if status == "sent" else Outcome.FAILED,
                None if status == "sent" else delivery.note,
                channel=delivery.channel,
            ),
        )

    def render(
        self, message: CareMessage, member: MemberItem, store: StoreItem, coupon: dict | None
    ) -> Rendered:
        """The member's text: the campaign's template in her locale, else messages.toml's text of the kind."""
        template = (
            self._campaign_template(message.chain_id, message.campaign_id) if message.campaign_id else None
        )
        return care_text(message.kind, template, member, store, coupon, message.params)

    def _campaign_template(self, chain_id: str, campaign_id: str) -> dict:
        key = (chain_id, campaign_id)
        if key not in self._templates:
            campaign = self._repo.campaign(chain_id, campaign_id)
            self._templates[key] = dict(campaign.template) if campaign else {}
        return self._templates[key]

    # --- steps ------------------------------------------------------------------------------------
    def _store_for(self, message: CareMessage, member: MemberItem | None) -> StoreItem | None:
        store_id = message.store_id or (member.primary_store_id or member.last_store_id if member else None)
        return self._stores.get(store_id) if store_id else None

    def _held_back(
        self, message: CareMessage, member: MemberItem | None, store: StoreItem | None
    ) -> str | None:
        return held_back_reason(message.store_id, member, store, self._conversations)

    def _routes(
        self, kind: str, member: MemberItem, conversation: Any, store: StoreItem, now: datetime
    ) -> list[Route] | None:
        """The channel router's routes for a care message (a marketing kind: never a WeChat template message)."""
        if self._window is None:
            return None
        facts = channel_router.facts_of(
            member, conversation, phone=member.phone, email=member.email, wechat_openid=member.wechat_openid
        )
        settings = channel_router.settings_for(*self._stores.routing(store), on_bad=lambda exc: None)
        return channel_router.routes(kind, facts, settings, now, self._window)

    def _within_cap(self, message: CareMessage, now: datetime) -> bool:
        """Take a place under the cap (or note an exempt send) on her ledger; False when the cap is full."""
        cap = policy()["frequency_cap"]
        window = timedelta(days=cap["window_days"])
        for _ in range(5):
            ledger = self._repo.ledger(message.chain_id, message.member_id)
            # Kept a while longer than the cap's window: campaign results count bookings made within 14 days.
            recent = [e for e in (ledger.recent or []) if datetime.fromisoformat(e[0]) > now - LEDGER_KEEPS]
            if any(e[2] == message.occasion for e in recent):
                return True  # a retry of a send that already took its place
            counted = [
                e
                for e in recent
                if e[1] not in cap["exempt_kinds"] and datetime.fromisoformat(e[0]) > now - window
            ]
            if message.kind not in cap["exempt_kinds"] and len(counted) >= cap["max_messages"]:
                return False
            try:
                self._repo.save_ledger(
                    ledger, recent + [[now.astimezone(UTC).isoformat(), message.kind, message.occasion]]
                )
                return True
            except Conflict:
                continue
        raise ConcurrentUpdate()

    def _release_cap(self, message: CareMessage) -> None:
        """A message no channel carried does not count against her cap."""
        for _ in range(5):
            ledger = self._repo.ledger(message.chain_id, message.member_id)
            recent = [e for e in (ledger.recent or []) if e[2] != message.occasion]
            if len(recent) == len(ledger.recent or []):
                return
            try:
                self._repo.save_ledger(ledger, recent)
                return
            except Conflict:
                continue

    def _coupon_for(self, claim: CareClaimItem, message: CareMessage, now: datetime) -> dict | None:
        if message.coupon is None:
            return None
        valid_days = int(message.coupon.get("valid_days") or policy()["coupons"]["default_valid_days"])
        offer = str(message.coupon.get("offer") or "")
        code = claim.coupon_code
        if code is None:
            rules = policy()["coupons"]
            while True:
                code = "".join(secrets.choice(rules["alphabet"]) for _ in range(rules["length"]))
                if self._repo.issue_coupon(
                    message.chain_id,
                    code,
                    member_id=message.member_id,
                    occasion=message.occasion,
                    store_id=claim.store_id,
                    offer=offer,
                    issued_at=now,
                    expires_at=now + timedelta(days=valid_days),
                ):
                    break
            self._repo.note_claim_coupon(claim, code)
        coupon = self._repo.coupon(message.chain_id, code)
        expires = coupon.expires_at_time if coupon else now + timedelta(days=valid_days)
        return {"code": code, "offer": offer, "expires_at": expires}

    def _claim_item(
        self, message: CareMessage, store: StoreItem | None, now: datetime, reason: str | None = None
    ) -> CareClaimItem:
        return self._repo.new_claim(
            message.chain_id,
            message.member_id,
            message.occasion,
            kind=message.kind,
            campaign_id=message.campaign_id,
            store_id=store.store_id if store else None,
            at=now,
            reason=reason,
        )

    def _skip(
        self,
        message: CareMessage,
        member: MemberItem | None,
        store: StoreItem | None,
        reason: str,
        now: datetime,
    ) -> Decision:
        item = self._claim_item(message, store, now, reason)
        if self._repo.record_skip(item):
            self._count(message, {f"skipped_{reason}": 1})
            return self._log(message, Decision(Outcome.SKIPPED, reason))
        return self._log(message, Decision(Outcome.DUPLICATE, reason))

    def _finish(
        self, claim: CareClaimItem, message: CareMessage, status: str, at: datetime, **attrs: Any
    ) -> None:
        if self._repo.finish_claim(claim, status, at, **attrs):
            counter = f"skipped_{attrs['reason']}" if status == "skipped" else status
            self._count(message, {counter: 1})

    def _count(self, message: CareMessage, counters: dict[str, int]) -> None:
        if message.campaign_id:
            self._repo.count(message.chain_id, message.campaign_id, counters)

    def _outbound_item(
        self, message: CareMessage, store: StoreItem, text: str, attempt: int, now: datetime
    ) -> MessageItem:
        return self._messages.care_message(
            chain_id=message.chain_id,
            store_id=store.store_id,
            member_id=message.member_id,
            kind=message.kind,
            text=text,
            message_id=f"care-{message.message_ref}-a{attempt}",
            now=now,
        )

    @staticmethod
    def _log(message: CareMessage, decision: Decision) -> Decision:
        logger.info(
            "member care",
            extra={
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "kind": message.kind,
                "occasion": message.occasion,
                "campaign_id": message.campaign_id,
                "channel": decision.channel,
            },
        )
        return decision


# --- shared rules (the campaign preview applies the same ones) ----------------------------------------
def held_back_reason(
    store_meant: str | None, member: MemberItem | None, store: StoreItem | None, conversations: Any
) -> str | None:
    """Why this member must not hear from this store now (None: she may). Order matters: the first reason is
    the one reported."""
    if member is None:
        return "unknown_member"
    if store is None:
        return "no_store"
    primary = member.primary_store_id or member.last_store_id
    if store_meant and primary and store_meant != primary:
        return "not_primary_store"
    if member.opted_out_at is not None:
        return "opted_out"
    if not member.marketing_consent:
        return "no_consent"
    conversation = conversations.get(store.store_id, member.member_id) if conversations else None
    if conversation is not None and conversation.status == "needs_human":
        return "needs_human"
    if member.marketing_paused:
        return "marketing_paused"
    if not (member.phone or member.email or member.wechat_openid):
        return "unreachable"
    return None


def quiet_delay(now: datetime, timezone: str) -> int:
    """Seconds until the store's quiet hours end (0 outside them)."""
    quiet = policy()["quiet_hours"]
    start, end = clock_time.fromisoformat(quiet["start"]), clock_time.fromisoformat(quiet["end"])
    local = now.astimezone(ZoneInfo(timezone))
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return 0
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return max(1, int((ends - local).total_seconds()))


def care_text(
    kind: str,
    template: dict | None,
    member: MemberItem,
    store: StoreItem,
    coupon: dict | None,
    params: dict[str, Any] | None = None,
) -> Rendered:
    """Exactly what she gets: a campaign's `template` in her locale, else messages.toml's text of the kind, starting
    with the store's name and ending with the opt-out line of her locale and country. The send and the campaign
    preview both call this, so the preview shows what will be sent."""
    locale = texts.supported_locale(member.locale or store.locale)
    context = care_context(member, store, locale, coupon, params)
    if template is not None:
        source = (
            template.get(locale) or template.get(texts.DEFAULT_LOCALE) or next(iter(template.values()), "")
        )
        return Rendered(texts.render_marketing_template(source, context), locale)
    return Rendered(texts.render(kind, context), locale)


def care_context(
    member: MemberItem,
    store: StoreItem,
    locale: str,
    coupon: dict | None,
    params: dict[str, Any] | None = None,
) -> texts.MessageContext:
    return texts.MessageContext(
        locale=locale,
        timezone=store.timezone,
        store={
            "name": store.name,
            "address": store.address,
            "directions": store.directions,
            "phone": store.phone,
        },
        member={
            "name": member.name or "",
            "visits": int(member.visits or 0),
            "last_visit_at": member.last_visit_at or "",
            "favourite_service": (member.services or [""])[0],
            "favourite_stylist": (member.stylists or [""])[0],
            "last_service_category": member.last_service_category or "",
        },
        booking={},
        extra={"coupon": coupon or {"code": "", "offer": "", "expires_at": ""}, "care": dict(params or {})},
        country=texts.member_country(member.phone, store.timezone),
    )


def send_batches(sqs: Any, queue_url: str, bodies: Iterable[str], delay_seconds: int = 0) -> int:
    """SendMessageBatch, ten bodies a request; re-sends entries SQS reports failed. Returns requests made."""
    requests = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal requests, batch
        entries = [
            {"Id": str(i), "MessageBody": body, "DelaySeconds": delay_seconds} for i, body in enumerate(batch)
        ]
        for _ in range(5):
            requests += 1
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if not failed:
                break
            retry = {f["Id"] for f in failed if not f.get("SenderFault")}
            if len(retry) < len(failed):
                raise RuntimeError(f"SQS refused care messages: {failed}")
            entries = [e for e in entries if e["Id"] in retry]
        else:
            raise RuntimeError("SQS kept failing a care message batch")
        batch = []

    for body in bodies:
        batch.append(body)
        if len(batch) == SQS_BATCH:
            flush()
    if batch:
        flush()
    return requests
