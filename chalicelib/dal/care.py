"""Member care items: the member's built profile and tags, tag membership, once-per-occasion claims, the
frequency-cap ledger, campaigns with their counters, and coupons. The only care code touching DynamoDB."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pynamodb.expressions.update import Action

from chalicelib.dal.conditions import is_conditional_failure, put_new
from chalicelib.dal.models import (
    BookingItem,
    CampaignItem,
    CareClaimItem,
    CareLedgerItem,
    ConversationItem,
    CouponItem,
    MemberItem,
    StoreItem,
    TagMemberItem,
    whole,
)
from chalicelib.errors import ConcurrentUpdate

if TYPE_CHECKING:
    from chalicelib.care.profile import Stats  # built by the care service; stored here

MAX_BOOKINGS = 500  # a member's bookings read to build her profile (newest kept when there are more)


class Conflict(Exception):
    """A conditional write lost to a concurrent one: re-read and try again."""


_WHO_AND_WHEN = ("updated_at", "updated_by")  # of a preferences record: not what she prefers


class CareRepository:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._ddb = dynamodb_client
        self._table = table_name

    # --- members --------------------------------------------------------------------------------
    def member(self, chain_id: str, member_id: str, consistent: bool = False) -> MemberItem | None:
        try:
            return MemberItem.get(*MemberItem.key(chain_id, member_id), consistent_read=consistent)
        except MemberItem.DoesNotExist:
            return None

    @staticmethod
    def new_member(chain_id: str, member_id: str) -> MemberItem:
        """A member not stored yet, for `save_profile(..., new=True)` to create."""
        return MemberItem(*MemberItem.key(chain_id, member_id), chain_id=chain_id, member_id=member_id)

    def members(self, chain_id: str, member_ids: Iterable[str]) -> dict[str, MemberItem]:
        keys = [MemberItem.key(chain_id, m) for m in dict.fromkeys(member_ids)]
        return {item.member_id: item for item in MemberItem.batch_get(keys)} if keys else {}

    def store_members_page(
        self, store_id: str, last_visit_before: str | None, limit: int, start_key: dict | None
    ) -> tuple[list[MemberItem], dict | None]:
        """A store's members (primary store) by last visit; only those whose last visit is before the given UTC
        ISO time when one is given (never-visited members sort first as "0000" and are left out then)."""
        condition = MemberItem.gsi1sk.between("1", last_visit_before) if last_visit_before else None
        result = MemberItem.by_store.query(
            MemberItem.store_key(store_id),
            condition,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        )
        items = list(result)
        return items, result.last_evaluated_key if len(items) == limit else None

    def tag_page(
        self, chain_id: str, tag: str, limit: int, start_key: dict | None
    ) -> tuple[list[TagMemberItem], dict | None]:
        result = TagMemberItem.query(
            TagMemberItem.pk_for(chain_id, tag), limit=limit, page_size=limit, last_evaluated_key=start_key
        )
        items = list(result)
        return items, result.last_evaluated_key if len(items) == limit else None

    def chain_store_ids(self, chain_id: str) -> list[str]:
        return [s.store_id for s in StoreItem.by_chain.query(StoreItem.chain_key(chain_id))]

    def conversations(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ConversationItem]:
        keys = [ConversationItem.key(store, member) for store, member in dict.fromkeys(pairs)]
        return {(c.store_id, c.member_id): c for c in ConversationItem.batch_get(keys)} if keys else {}

    def ledgers(self, chain_id: str, member_ids: Iterable[str]) -> dict[str, CareLedgerItem]:
        keys = [CareLedgerItem.key(chain_id, m) for m in dict.fromkeys(member_ids)]
        return {item.pk.rsplit("#", 1)[1]: item for item in CareLedgerItem.batch_get(keys)} if keys else {}

    def bookings(self, chain_id: str, member_id: str, known: Iterable[BookingItem] = ()) -> list[BookingItem]:
        """Her bookings, newest first; `known` ones (just committed) are not read again."""
        return whole(
            BookingItem,
            BookingItem.by_member.query(
                BookingItem.member_key(chain_id, member_id), scan_index_forward=False, limit=MAX_BOOKINGS
            ),
            known=known,
        )

    def save_profile(
        self,
        member: MemberItem,
        stats: Stats | None,
        manual_tags: list[str],
        tags: list[str],
        notes: list | None = None,
        contact: dict[str, Any] | None = None,
        new: bool = False,
        consent_if_unanswered: bool = False,
    ) -> bool:
        """Write the built fields, tags, index keys and (from a booking webhook) the contact fields; conditional on
        the version read (Conflict otherwise), or on the member not existing yet when `new`. False, and nothing
        written, when every one of them already has its value (a status-only booking event usually changes
        nothing: not bumping the version then costs no write). `member` holds the item as written afterwards.

        `contact` values are written as given (None: left as it is). `consent_if_unanswered` writes
        `marketing_consent = true` only where the item holds no answer at the moment of the write
        (`if_not_exists` in the same UpdateItem); when to ask for that is the caller's rule (care/member_care.py)."""
        version = int(member.profile_version or 0)
        values: dict[str, Any] = {"tags": tags, "manual_tags": manual_tags}
        consent_yes = consent_if_unanswered
        for name, value in (contact or {}).items():
            if value is not None:
                values[name] = value
        if notes is not None:
            values["notes"] = notes
        if stats is not None:
            values.update(
                visits=stats.visits,
                first_visit_at=stats.first_visit_at,
                last_visit_at=stats.last_visit_at,
                total_spend=str(stats.total_spend) if stats.total_spend is not None else None,
                spend_currency=stats.currency,
                last_service_code=stats.last_service_code,
                last_service_category=stats.last_service_category,
                avg_interval_days=stats.avg_interval_days,
                services=stats.services,
                stylists=stats.stylists,
                category_visits=stats.categories,
                auto_tags=stats.auto_tags,
                primary_store_id=stats.primary_store_id,
            )
            store, last_visit = stats.primary_store_id, stats.last_visit_at
        else:
            store, last_visit = member.primary_store_id, member.last_visit_at
        removed: list[str] = []
        if store:
            values.update(
                gsi1pk=MemberItem.store_key(store),
                gsi1sk=MemberItem.store_sort_key(last_visit, member.member_id),
            )
            birthday = (values.get("birthday") or member.birthday or "")[5:10]
            if birthday:
                values.update(gsi3pk=MemberItem.birthday_key(store, birthday), gsi3sk=member.member_id)
            else:
                removed = ["gsi3pk", "gsi3sk"]
        if (
            member.gsi2pk is not None
        ):  # before 2026-11 (gsi2): moved to gsi3; remove once ops.reindex ran everywhere
            removed += ["gsi2pk", "gsi2sk"]
        if (
            not new
            and not consent_yes
            and member.profile_version is not None
            and all(getattr(member, n) == v for n, v in values.items())
            and all(getattr(member, n) is None for n in removed)
        ):
            return False
        actions: list[Action] = [MemberItem.profile_version.set(version + 1)]
        actions += [getattr(MemberItem, name).set(value) for name, value in values.items()]
        if consent_yes:
            actions.append(MemberItem.marketing_consent.set(MemberItem.marketing_consent | True))
        if new:
            actions += [MemberItem.chain_id.set(member.chain_id), MemberItem.member_id.set(member.member_id)]
            condition = MemberItem.pk.does_not_exist()
        elif member.profile_version is not None:
            condition = (MemberItem.profile_version == version) & MemberItem.pk.exists()
        else:
            condition = MemberItem.profile_version.does_not_exist() & MemberItem.pk.exists()
        actions += [getattr(MemberItem, name).remove() for name in removed if not new]
        try:
            member.update(actions=actions, condition=condition)
        except Exception as exc:  # UpdateError wraps the ClientError
            if is_conditional_failure(exc):
                raise Conflict() from None
            raise
        return True

    def save_preferences(self, member: MemberItem, record: dict[str, Any]) -> bool:
        """Replace her remembered preferences (issue 17 §5) with one UpdateItem on her profile, only while the item
        exists (an erasure in between is not undone). False, and nothing written, when the stored record already
        says the same (a retried PUT); `member` holds the record as stored afterwards."""
        stored = dict(member.preferences or {})
        if {k: stored.get(k) for k in record if k not in _WHO_AND_WHEN} == {
            k: v for k, v in record.items() if k not in _WHO_AND_WHEN
        }:
            return False
        try:
            member.update(actions=[MemberItem.preferences.set(record)], condition=MemberItem.pk.exists())
        except Exception as exc:  # UpdateError wraps the ClientError
            if is_conditional_failure(exc):
                raise Conflict() from None
            raise
        return True

    def set_preferred_channel(self, member: MemberItem, channel: str | None) -> bool:
        """Her own choice of channel (None: none), one UpdateItem only while her profile exists (False otherwise,
        nothing written); nothing is written when it is already so (a retried PUT)."""
        if (member.preferred_channel or None) == channel:
            return True
        action = (
            MemberItem.preferred_channel.set(channel) if channel else MemberItem.preferred_channel.remove()
        )
        try:
            member.update(actions=[action], condition=MemberItem.pk.exists())
        except Exception as exc:  # UpdateError wraps the ClientError
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def sync_tags(self, member: MemberItem, before: Iterable[str]) -> None:
        """TAG# membership items follow member.tags (segments re-check member.tags, so a lag is harmless)."""
        now = set(member.tags or [])
        with TagMemberItem.batch_write() as batch:
            for tag in sorted(now):
                batch.save(
                    TagMemberItem(
                        *TagMemberItem.key(member.chain_id, tag, member.member_id),
                        chain_id=member.chain_id,
                        member_id=member.member_id,
                        tag=tag,
                        store_id=member.primary_store_id,
                        last_visit_at=member.last_visit_at,
                        visits=int(member.visits or 0),
                    )
                )
            for tag in sorted(set(before) - now):
                batch.delete(TagMemberItem(*TagMemberItem.key(member.chain_id, tag, member.member_id)))

    # --- once per occasion ------------------------------------------------------------------------
    @staticmethod
    def new_claim(
        chain_id: str,
        member_id: str,
        occasion: str,
        *,
        kind: str,
        campaign_id: str | None,
        store_id: str | None,
        at: datetime,
        reason: str | None = None,
    ) -> CareClaimItem:
        """A claim of the occasion not stored yet (`sending`, no lease), for `claim` or `record_skip`."""
        return CareClaimItem(
            *CareClaimItem.key(chain_id, member_id, occasion),
            chain_id=chain_id,
            member_id=member_id,
            occasion=occasion,
            kind=kind,
            campaign_id=campaign_id,
            store_id=store_id,
            status="sending",
            attempts=0,
            lease_until=0,
            created_at=at,
            updated_at=at,
            reason=reason,
        )

    def claim(self, item: CareClaimItem, lease_until: int, wall_now: int) -> CareClaimItem | None:
        """Take the occasion for sending; None when it is done (or another worker holds a live lease).
        A claim whose lease ran out (a worker died mid-send) is taken over, keeping its coupon."""
        item.status, item.lease_until = "sending", lease_until
        if put_new(item):
            return item
        existing = self.claim_of(item.chain_id, item.member_id, item.occasion)
        if existing is None or existing.status != "sending" or int(existing.lease_until) >= wall_now:
            return None
        try:
            existing.update(
                actions=[CareClaimItem.lease_until.set(lease_until)],
                condition=(CareClaimItem.status == "sending")
                & (CareClaimItem.lease_until == existing.lease_until),
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return existing

    def record_skip(self, item: CareClaimItem) -> bool:
        """A skip (with its reason) is final for the occasion; False when the occasion was already decided."""
        item.status = "skipped"
        _index_claim(item)
        return put_new(item)

    def finish_claim(self, item: CareClaimItem, status: str, at: datetime, **attrs: Any) -> bool:
        """sending -> sent | failed | skipped; False when it had already left `sending` (a duplicate)."""
        item.status = status
        _index_claim(item)
        actions: list[Action] = [
            CareClaimItem.status.set(status),
            CareClaimItem.updated_at.set(at),
            CareClaimItem.lease_until.set(0),
            CareClaimItem.attempts.add(1),
            CareClaimItem.gsi2pk.set(item.gsi2pk),
            CareClaimItem.gsi2sk.set(item.gsi2sk),
        ]
        actions += [getattr(CareClaimItem, name).set(value) for name, value in attrs.items()]
        try:
            item.update(actions=actions, condition=CareClaimItem.status == "sending")
            return True
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise

    def reopen_claim(self, item: CareClaimItem, at: datetime) -> bool:
        """failed -> sending again (an operator re-sends a campaign's failures)."""
        try:
            item.update(
                actions=[
                    CareClaimItem.status.set("sending"),
                    CareClaimItem.lease_until.set(0),
                    CareClaimItem.updated_at.set(at),
                ],
                condition=CareClaimItem.status == "failed",
            )
            return True
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise

    def claim_of(self, chain_id: str, member_id: str, occasion: str) -> CareClaimItem | None:
        try:
            return CareClaimItem.get(*CareClaimItem.key(chain_id, member_id, occasion), consistent_read=True)
        except CareClaimItem.DoesNotExist:
            return None

    def campaign_claims(
        self, campaign_id: str, status: str | None = None, limit: int = 500, start_key: dict | None = None
    ) -> tuple[list[CareClaimItem], dict | None]:
        condition = CareClaimItem.gsi2sk.startswith(f"{status}#") if status else None
        result = CareClaimItem.by_campaign.query(
            CareClaimItem.campaign_key(campaign_id),
            condition,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        )
        items = list(result)
        return items, result.last_evaluated_key if len(items) == limit else None

    # --- frequency cap ------------------------------------------------------------------------------
    def ledger(self, chain_id: str, member_id: str) -> CareLedgerItem:
        try:
            return CareLedgerItem.get(*CareLedgerItem.key(chain_id, member_id), consistent_read=True)
        except CareLedgerItem.DoesNotExist:
            return CareLedgerItem(*CareLedgerItem.key(chain_id, member_id), recent=[], version=0)

    def save_ledger(self, ledger: CareLedgerItem, recent: list) -> None:
        version = int(ledger.version or 0)
        condition = (CareLedgerItem.version == version) if version else CareLedgerItem.pk.does_not_exist()
        try:
            CareLedgerItem(ledger.pk, ledger.sk, recent=recent, version=version + 1).save(condition=condition)
        except Exception as exc:
            if is_conditional_failure(exc):
                raise Conflict() from None
            raise

    # --- campaigns --------------------------------------------------------------------------------
    def campaign(self, chain_id: str, campaign_id: str) -> CampaignItem | None:
        try:
            return CampaignItem.get(*CampaignItem.key(chain_id, campaign_id), consistent_read=True)
        except CampaignItem.DoesNotExist:
            return None

    @staticmethod
    def new_campaign(
        chain_id: str,
        campaign_id: str,
        *,
        name: str,
        segment: dict[str, Any],
        template: dict[str, str],
        coupon: dict[str, Any] | None,
        send_at: datetime,
        created_at: datetime,
        created_by: str,
        request_hash: str,
    ) -> CampaignItem:
        """A scheduled campaign not stored yet (no page done), for `create_campaign` to write."""
        return CampaignItem(
            *CampaignItem.key(chain_id, campaign_id),
            chain_id=chain_id,
            campaign_id=campaign_id,
            name=name,
            segment=segment,
            template=template,
            coupon=coupon,
            status="scheduled",
            send_at=send_at,
            created_at=created_at,
            created_by=created_by,
            request_hash=request_hash,
            pages=0,
            fanned_out=False,
        )

    def create_campaign(self, item: CampaignItem) -> bool:
        return put_new(item)

    def count(self, chain_id: str, campaign_id: str, counters: dict[str, int]) -> None:
        """ADD to a campaign's `n_<counter>` numbers (atomic under concurrent workers)."""
        counters = {k: v for k, v in counters.items() if v}
        if not counters:
            return
        pk, sk = CampaignItem.key(chain_id, campaign_id)
        names = {f"#c{i}": f"n_{name}" for i, name in enumerate(counters)}
        values = {f":c{i}": {"N": str(n)} for i, n in enumerate(counters.values())}
        self._ddb.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def counters(self, chain_id: str, campaign_id: str) -> dict[str, int]:
        pk, sk = CampaignItem.key(chain_id, campaign_id)
        item = self._ddb.get_item(
            TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item", {})
        return {
            name[2:]: int(value["N"])
            for name, value in item.items()
            if name.startswith("n_") and "N" in value
        }

    def page_done(
        self, chain_id: str, campaign_id: str, page: int, next_cursor: str | None, targeted: int
    ) -> bool:
        """Record fan-out page `page` (1-based) once: False when it was recorded before (a duplicate)."""
        pk, sk = CampaignItem.key(chain_id, campaign_id)
        last = next_cursor is None
        update = "SET pages = :page, #st = :status, fanned_out = :last, next_cursor = :next ADD n_targeted :n"
        values = {
            ":page": {"N": str(page)},
            ":prev": {"N": str(page - 1)},
            ":n": {"N": str(targeted)},
            ":status": {"S": "sending" if last else "fanning_out"},
            ":last": {"BOOL": last},
            ":next": {"NULL": True} if last else {"S": next_cursor},
        }
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression=update,
                ConditionExpression="pages = :prev",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            current = self.campaign(chain_id, campaign_id)
            if current is not None and int(current.pages) >= page:
                return False
            raise ConcurrentUpdate() from None  # an earlier page is not recorded yet: retry later

    def attribute(self, chain_id: str, member_id: str, occasion: str, what: str, ref: str) -> bool:
        """Note a booking (or reply) `ref` against her claim for the occasion, once; False when noted before."""
        pk, sk = CareClaimItem.key(chain_id, member_id, occasion)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                UpdateExpression="ADD #w :ref",
                ConditionExpression="attribute_exists(pk) AND NOT contains(#w, :one)",
                ExpressionAttributeNames={"#w": f"attributed_{what}"},
                ExpressionAttributeValues={":ref": {"SS": [ref]}, ":one": {"S": ref}},
            )
            return True
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            return False

    # --- coupons ----------------------------------------------------------------------------------
    def create_coupon(self, coupon: CouponItem) -> bool:
        return put_new(coupon)

    def issue_coupon(
        self,
        chain_id: str,
        code: str,
        *,
        member_id: str,
        occasion: str,
        store_id: str | None,
        offer: str,
        issued_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """A new single-use code for one member's occasion; False when the code is taken (draw another)."""
        return self.create_coupon(
            CouponItem(
                *CouponItem.key(chain_id, code),
                chain_id=chain_id,
                code=code,
                member_id=member_id,
                occasion=occasion,
                store_id=store_id,
                offer=offer,
                issued_at=issued_at,
                expires_at_time=expires_at,
            )
        )

    def note_claim_coupon(self, claim: CareClaimItem, code: str) -> None:
        """The occasion's claim keeps its coupon, so a retried send offers the same code."""
        claim.update(actions=[CareClaimItem.coupon_code.set(code)])

    def coupon(self, chain_id: str, code: str) -> CouponItem | None:
        try:
            return CouponItem.get(*CouponItem.key(chain_id, code), consistent_read=True)
        except CouponItem.DoesNotExist:
            return None


def _index_claim(item: CareClaimItem) -> None:
    if item.campaign_id:
        item.gsi2pk = CareClaimItem.campaign_key(item.campaign_id)
        item.gsi2sk = f"{item.status}#{item.member_id}"
