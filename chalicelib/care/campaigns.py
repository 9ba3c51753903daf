"""Campaigns: preview a segment with a template, schedule it, fan it out through the care queue, report results.

Fan-out: the campaign item is written, then one `campaign_page` message goes on the care queue. Each page
message reads one page of the segment (segments.py), queues that page's CareMessages ten per SendMessageBatch,
records the page on the campaign item (conditional on the page before it: a duplicate page is dropped) and
queues the next page with its cursor -- so no Lambda runs long, however big the segment. Before `send_at` the
first page message waits on the queue in hops of at most 15 minutes (SQS's longest delay).

Every CareMessage then meets the send-time policy of outreach.py; its claim moves the campaign's counters once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from chalicelib.care import segments
from chalicelib.care.outreach import (
    CareMessage,
    Outreach,
    care_context,
    care_text,
    held_back_reason,
    policy,
    send_batches,
)
from chalicelib.clock import Clock
from chalicelib.cursors import CursorSigner, invalid_cursor
from chalicelib.dal.care import CareRepository
from chalicelib.dal.models import CampaignItem, MemberItem
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.journeys import texts
from chalicelib.observability import logger
from chalicelib.services import auth
from chalicelib.text_safety import clean_name, clean_text

MAX_CAMPAIGN_ID = 64
PAGE_SIZE = 1000  # segment entries read per fan-out step
PREVIEW_LIMIT = 20_000  # members a preview counts before it answers "truncated"
SAMPLES = 3
MAX_TEMPLATE = 2000
MAX_AHEAD = timedelta(days=365)
MAX_DELAY = 900
SAMPLE_COUPON = {"code": "SAMPLE88", "offer": "", "expires_at": ""}


class Campaigns:
    def __init__(
        self,
        repo: CareRepository,
        reader: segments.SegmentReader,
        outreach: Outreach,
        stores: Any,
        clock: Clock,
        sqs_client: Any,
        queue_url: str,
        cursors: CursorSigner,
        max_delay_seconds: int = MAX_DELAY,
    ) -> None:
        self._repo = repo
        self._cursors = cursors
        self._reader = reader
        self._outreach = outreach
        self._stores = stores
        self._clock = clock
        self._sqs = sqs_client
        self._queue_url = queue_url
        self._max_delay = min(max_delay_seconds, MAX_DELAY)

    # --- HTTP -------------------------------------------------------------------------------------------
    def preview(self, staff: auth.Staff, chain_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._authorize(staff, chain_id, "campaigns.preview")
        segment, template, coupon = self._parse(staff, chain_id, body)
        now = self._clock.now()
        skipped: dict[str, int] = {}
        targeted, seen = 0, 0
        samples: list[dict[str, Any]] = []
        cursor, truncated = None, False
        while True:
            page = self._reader.page(chain_id, segment, cursor, now, PAGE_SIZE)
            for member, reason in self._eligibility(page.members, now):
                seen += 1
                if reason:
                    skipped[reason] = skipped.get(reason, 0) + 1
                    continue
                targeted += 1
                if len(samples) < SAMPLES:
                    samples.append(self._sample(member, template, coupon))
            cursor = page.cursor
            if cursor is None:
                break
            if seen >= PREVIEW_LIMIT:
                truncated = True
                break
        return {
            "targeted": targeted,
            "skipped": skipped,
            "samples": samples,
            "segment_size": seen,
            "truncated": truncated,
        }

    def create(
        self, staff: auth.Staff, chain_id: str, body: dict[str, Any], idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        self._authorize(staff, chain_id, "campaigns.create")
        campaign_id = body.get("campaign_id") or idempotency_key or uuid.uuid4().hex
        if not isinstance(campaign_id, str) or not is_id(campaign_id, MAX_CAMPAIGN_ID):
            raise ValidationFailed("bad campaign_id", {"campaign_id": "1-64 letters, digits or -_.:@"})
        segment, template, coupon = self._parse(staff, chain_id, body)
        name = body.get("name", "")
        if not isinstance(name, str) or len(name) > 200:
            raise ValidationFailed("bad name", {"name": "at most 200 characters"})
        name = clean_name(name)
        now = self._clock.now()
        send_at = _send_at(body.get("send_at"), now)
        digest = hashlib.sha256(
            json.dumps(
                [segment.to_dict(), template, coupon, name, body.get("send_at")],
                sort_keys=True,
                ensure_ascii=False,
            ).encode()
        ).hexdigest()
        item = self._repo.new_campaign(
            chain_id,
            campaign_id,
            name=name,
            segment=segment.to_dict(),
            template=template,
            coupon=coupon,
            send_at=send_at,
            created_at=now,
            created_by=staff.subject,
            request_hash=digest,
        )
        if not self._repo.create_campaign(item):
            existing = self._repo.campaign(chain_id, campaign_id)
            if existing is None or existing.request_hash != digest:
                raise Conflict("a different campaign already has this id", {"campaign_id": "already used"})
            self._start(existing)  # a retry: make sure its fan-out was queued (a duplicate page is dropped)
            return 200, self._view(existing)
        self._start(item)
        logger.info("campaign scheduled", extra={"chain_id": chain_id, "campaign_id": campaign_id})
        return 201, self._view(item)

    def get(self, staff: auth.Staff, chain_id: str, campaign_id: str) -> dict[str, Any]:
        self._authorize(staff, chain_id, "campaigns.read")
        return self._view(self._campaign(staff, chain_id, campaign_id))

    def results(
        self,
        staff: auth.Staff,
        chain_id: str,
        campaign_id: str,
        status: str | None,
        cursor: str | None,
        limit: str | None,
    ) -> dict[str, Any]:
        """Per-member outcomes (for export): member, status, reason, channel, coupon, time."""
        self._authorize(staff, chain_id, "campaigns.read")
        self._campaign(staff, chain_id, campaign_id)
        if status not in (None, "", "sent", "failed", "skipped", "sending"):
            raise ValidationFailed("bad status", {"status": "one of sent, failed, skipped, sending"})
        size = _limit(limit)
        scope = f"campaign-results|{chain_id}|{campaign_id}|{status or ''}"
        start = _decode_key(self._cursors.decode(scope, cursor), campaign_id) if cursor else None
        claims, last = self._repo.campaign_claims(campaign_id, status or None, size, start)
        return {
            "items": [
                {
                    "member_id": c.member_id,
                    "status": c.status,
                    "reason": c.reason,
                    "channel": c.channel,
                    "store_id": c.store_id,
                    "coupon_code": c.coupon_code,
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in claims
            ],
            "next_cursor": self._cursors.encode(scope, last) if last else None,
        }

    def resend_failures(self, staff: auth.Staff, chain_id: str, campaign_id: str) -> dict[str, Any]:
        """Queue the failed sends again (a fresh attempt each; the cap and consent are checked again)."""
        self._authorize(staff, chain_id, "campaigns.send")
        campaign = self._campaign(staff, chain_id, campaign_id)
        now = self._clock.now()
        requeued = 0
        claims, last = self._repo.campaign_claims(campaign_id, "failed", 500, None)
        messages = []
        for claim in claims:
            if self._repo.reopen_claim(claim, now):
                messages.append(self._message(campaign, claim.member_id))
                requeued += 1
        if requeued:
            self._repo.count(chain_id, campaign_id, {"failed": -requeued, "resent": requeued})
            self._outreach.enqueue(messages)
        return {"requeued": requeued, "more": last is not None}

    # --- the worker -----------------------------------------------------------------------------------
    def fan_out_page(self, body: dict[str, Any]) -> str:
        chain_id, campaign_id = str(body.get("chain_id", "")), str(body.get("campaign_id", ""))
        page, cursor = int(body.get("page", 1)), body.get("cursor")
        campaign = self._repo.campaign(chain_id, campaign_id)
        if campaign is None:
            return "unknown_campaign"
        now = self._clock.now()
        if campaign.send_at > now:
            wait = int((campaign.send_at - now).total_seconds())
            self._queue_page(campaign, page, cursor, delay=max(1, min(wait, self._max_delay)))
            return "waiting"
        if int(campaign.pages) >= page:
            if int(campaign.pages) == page and not campaign.fanned_out and campaign.next_cursor:
                self._queue_page(campaign, page + 1, campaign.next_cursor)  # finish a step that died half-way
            return "duplicate"
        segment = segments.parse(campaign.segment)
        read = self._reader.page(chain_id, segment, cursor, now, PAGE_SIZE)
        requests = self._outreach.enqueue(self._message(campaign, m.member_id) for m in read.members)
        last = read.cursor is None
        if self._repo.page_done(chain_id, campaign_id, page, read.cursor, len(read.members)) and not last:
            self._queue_page(campaign, page + 1, read.cursor)
        logger.info(
            "campaign page fanned out",
            extra={
                "campaign_id": campaign_id,
                "page": page,
                "members": len(read.members),
                "sqs_requests": requests,
            },
        )
        return "fanned_out"

    # --- helpers --------------------------------------------------------------------------------------
    def _start(self, campaign: CampaignItem) -> None:
        if int(campaign.pages) == 0:
            self._queue_page(campaign, 1, None)

    def _queue_page(self, campaign: CampaignItem, page: int, cursor: str | None, delay: int = 0) -> None:
        body = {
            "type": "campaign_page",
            "chain_id": campaign.chain_id,
            "campaign_id": campaign.campaign_id,
            "page": page,
            "cursor": cursor,
        }
        send_batches(self._sqs, self._queue_url, [json.dumps(body, separators=(",", ":"))], delay)

    @staticmethod
    def _message(campaign: CampaignItem, member_id: str) -> CareMessage:
        return CareMessage(
            chain_id=campaign.chain_id,
            member_id=member_id,
            kind="campaign",
            occasion=f"campaign:{campaign.campaign_id}",
            campaign_id=campaign.campaign_id,
            coupon=dict(campaign.coupon) if campaign.coupon else None,
        )

    @staticmethod
    def _authorize(staff: auth.Staff, chain_id: str, action: str) -> None:
        if staff.chain_id != chain_id:
            raise NotFound("no such chain")  # another chain's campaigns do not exist for this token
        if not staff.may(action):
            raise Forbidden(f"a {staff.role} may not do {action}", action)

    def _campaign(self, staff: auth.Staff, chain_id: str, campaign_id: str) -> CampaignItem:
        """The campaign, when `staff` may see it: every route about one campaign comes through here. A campaign
        belongs to the stores it targets: store staff see it only when each of them is theirs (what create and
        preview ask); a chain-wide campaign (no `store_ids`) is the chain admins'. Otherwise it does not exist."""
        campaign = self._repo.campaign(chain_id, campaign_id) if is_id(campaign_id, MAX_CAMPAIGN_ID) else None
        if campaign is None or not _may_see(staff, campaign):
            raise NotFound("no such campaign")
        return campaign

    def _parse(
        self, staff: auth.Staff, chain_id: str, body: dict[str, Any]
    ) -> tuple[segments.Segment, dict, dict | None]:
        segment = segments.parse(body.get("segment"))
        chain_stores = self._repo.chain_store_ids(chain_id)
        segments.validate_stores(segment, chain_stores)
        if staff.role != "chain_admin":
            # A store manager reaches the members of her own stores only.
            mine = [s for s in chain_stores if s in staff.store_ids]
            for i, store in enumerate(segment.store_ids):
                if store not in mine:
                    raise ValidationFailed(
                        "unknown store in the segment",
                        {f"segment.store_ids[{i}]": "no such store in this chain"},
                    )
            segment = segments.Segment(**{**segment.__dict__, "store_ids": tuple(segment.store_ids or mine)})
        template = self._template(body.get("template"), chain_stores)
        return segment, template, _coupon(body.get("coupon"))

    def _template(self, value: Any, chain_stores: list[str]) -> dict[str, str]:
        if not isinstance(value, dict) or not value:
            raise ValidationFailed(
                "template must be an object of locale -> text",
                {"template": 'e.g. {"zh-CN": "...", "en": "..."}'},
            )
        store = self._stores.get(chain_stores[0]) if chain_stores else None
        sample = MemberItem(
            *MemberItem.key("sample", "sample"),
            chain_id="sample",
            member_id="sample",
            name="李女士",
            visits=3,
            services=["染发"],
            stylists=["小王"],
        )
        cleaned: dict[str, str] = {}
        for locale, source in value.items():
            name = f"template.{locale}"
            if locale not in texts.SUPPORTED_LOCALES:
                raise ValidationFailed(
                    f"unknown locale {locale}", {name: "one of " + ", ".join(texts.SUPPORTED_LOCALES)}
                )
            if not isinstance(source, str) or not source.strip() or len(source) > MAX_TEMPLATE:
                raise ValidationFailed(f"bad {name}", {name: f"a template of 1 to {MAX_TEMPLATE} characters"})
            source = cleaned[locale] = clean_text(source)  # no bidi or control characters reach a member
            if store is not None:
                try:
                    texts.render_operator_template(source, care_context(sample, store, locale, SAMPLE_COUPON))
                except texts.TemplateRejected as exc:
                    raise ValidationFailed(f"bad {name}", {name: str(exc)}) from None
        return cleaned

    def _eligibility(self, members: list[MemberItem], now: datetime) -> list[tuple[MemberItem, str | None]]:
        """The send-time policy, applied now: held back for a reason, or over the cap (quiet hours only defer)."""
        stores = {m.member_id: m.primary_store_id or m.last_store_id for m in members}
        conversations = self._repo.conversations((s, m) for m, s in stores.items() if s)
        ledgers = self._repo.ledgers(members[0].chain_id, stores) if members else {}
        cap = policy()["frequency_cap"]
        since = now - timedelta(days=cap["window_days"])
        lookup = _Conversations(conversations)
        answer = []
        for member in members:
            store = self._stores.get(stores[member.member_id]) if stores[member.member_id] else None
            reason = held_back_reason(None, member, store, lookup)
            if reason is None:
                recent = ledgers.get(member.member_id)
                counted = [
                    e
                    for e in (recent.recent if recent else []) or []
                    if datetime.fromisoformat(e[0]) > since and e[1] not in cap["exempt_kinds"]
                ]
                reason = "frequency_cap" if len(counted) >= cap["max_messages"] else None
            answer.append((member, reason))
        return answer

    def _sample(self, member: MemberItem, template: dict[str, str], coupon: dict | None) -> dict[str, Any]:
        """What she would get, from the function that renders the send (a sample code stands in for her coupon)."""
        store = self._stores.get(member.primary_store_id or member.last_store_id)
        sample_coupon = {**SAMPLE_COUPON, "offer": (coupon or {}).get("offer", "")} if coupon else None
        rendered = care_text("campaign", template, member, store, sample_coupon)
        return {
            "member_id": member.member_id,
            "locale": rendered.locale,
            "store_id": store.store_id,
            "text": rendered.text,
        }

    def _view(self, campaign: CampaignItem) -> dict[str, Any]:
        counters = self._repo.counters(campaign.chain_id, campaign.campaign_id)
        skipped = {
            k.removeprefix("skipped_"): v for k, v in counters.items() if k.startswith("skipped_") and v
        }
        targeted, sent, failed = (
            counters.get("targeted", 0),
            counters.get("sent", 0),
            counters.get("failed", 0),
        )
        pending = max(0, targeted - sent - failed - sum(skipped.values()))
        status = campaign.status
        if campaign.fanned_out and pending == 0:
            status = "done"
        return {
            "campaign_id": campaign.campaign_id,
            "name": campaign.name,
            "status": status,
            "send_at": campaign.send_at.isoformat(),
            "created_at": campaign.created_at.isoformat(),
            "segment": campaign.segment,
            "template": campaign.template,
            "coupon": campaign.coupon,
            "fanned_out": bool(campaign.fanned_out),
            "pages": int(campaign.pages),
            "targeted": targeted,
            "skipped": skipped,
            "sent": sent,
            # Accepted by the provider (SMS/email/WeChat/Agora answer with a message id); handset receipts are not
            # ingested yet, so this equals `sent` (docs/CARE.md).
            "delivered": sent,
            "failed": failed,
            "pending": pending,
            "resent": counters.get("resent", 0),
            "replies": counters.get("replies", 0),
            "bookings_within_14_days": counters.get("bookings", 0),
        }


def _may_see(staff: auth.Staff, campaign: CampaignItem) -> bool:
    if staff.role == "chain_admin":
        return staff.chain_id == campaign.chain_id
    targeted = (campaign.segment or {}).get("store_ids") or []
    return bool(targeted) and all(staff.can_see_store(campaign.chain_id, store) for store in targeted)


class _Conversations:
    def __init__(self, found: dict) -> None:
        self._found = found

    def get(self, store_id: str, member_id: str) -> Any:
        return self._found.get((store_id, member_id))


def _send_at(value: Any, now: datetime) -> datetime:
    if value in (None, ""):
        return now
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationFailed("bad send_at", {"send_at": "an ISO 8601 time with a UTC offset"})
    if when > now + MAX_AHEAD:
        raise ValidationFailed("bad send_at", {"send_at": "at most a year ahead"})
    return max(when, now)


def _coupon(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed("bad coupon", {"coupon": "an object {offer, valid_days}"})
    offer, days = value.get("offer", ""), value.get("valid_days", policy()["coupons"]["default_valid_days"])
    if not isinstance(offer, str) or len(offer) > 100:
        raise ValidationFailed("bad coupon.offer", {"coupon.offer": "at most 100 characters"})
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationFailed("bad coupon.valid_days", {"coupon.valid_days": "a whole number from 1 to 365"})
    return {"offer": clean_name(offer), "valid_days": days}


def _limit(value: str | None) -> int:
    if value in (None, ""):
        return 100
    if not value.isdigit() or not 1 <= int(value) <= 500:
        raise ValidationFailed("bad limit", {"limit": "a whole number from 1 to 500"})
    return int(value)


def _decode_key(key: Any, campaign_id: str) -> dict:
    """A signed results cursor's key (cursors.py), checked once more against the campaign it must page."""
    if (
        not isinstance(key, dict)
        or not isinstance(key.get("gsi2pk"), dict)
        or key["gsi2pk"].get("S") != f"CAMPAIGNSEND#{campaign_id}"
    ):
        raise invalid_cursor()
    return key
