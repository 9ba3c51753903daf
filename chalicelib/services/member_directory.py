"""Who a phone number or WeChat openid is in a chain, and a new member when nobody is yet.

A member is found, in order:

1. by the chain's claim on the address (`MemberClaimItem`: one GetItem) -- written the first time she signs in
   or is imported;
2. by the contact lookups her bookings wrote (dal/bookings.py `_lookup_items`: one Query of the address's
   partition, this chain's members only), most recently seen first -- and that member is then claimed;
3. else a new member id (chalicelib/ids.py `new_id`) is claimed.

The claim is a put-if-absent, so two sign-ins racing for one new address create ONE member: the loser reads the
winner's claim and uses that member. Her profile (MemberItem, through care/member_care.py like a booking's) and
her contact lookup are written after the claim and are idempotent, so a request that died in between is
completed by its retry. Addresses are only ever stored as keyed hashes (pii.LookupHasher).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.clock import Clock
from chalicelib.contracts.member_import import MemberRow
from chalicelib.dal.bookings import MemberContacts
from chalicelib.dal.member_directory import MemberDirectoryRepository
from chalicelib.errors import ValidationFailed
from chalicelib.ids import new_id

PHONE, WXOPENID = "PHONE", "WXOPENID"
MEMBER_ID_PREFIX = "m"


def e164(phone: object, field: str = "phone") -> str:
    """A phone number in E.164 (`+8613800138000`), as the booking webhook normalises it; 400 naming `field`."""
    if not isinstance(phone, str) or not phone.strip() or len(phone) > 32:
        raise ValidationFailed("a phone number is required", {field: "a phone number like +8613800138000"})
    import phonenumbers

    try:
        number = phonenumbers.parse(phone.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(
            "not a phone number", {field: "not a phone number in international format (+<country code>...)"}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed("not a valid phone number", {field: "not a valid phone number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class FoundMember:
    member_id: str
    created: bool  # a member new to the chain (her profile was created by this call or its lost race)


class MemberDirectory:
    def __init__(
        self,
        repo: MemberDirectoryRepository,
        lookup_hash: Callable[[str], str],
        clock: Clock,
        *,
        profiles: Any,  # care/member_care.py MemberCare: `refresh(chain, member, contact=)` creates her profile
        lookups: Any,  # dal/bookings.py BookingRepository: `put_lookups(MemberContacts)`
        new_member_id: Callable[[], str] = lambda: new_id(MEMBER_ID_PREFIX),
    ) -> None:
        self._repo = repo
        self._hash = lookup_hash
        self._clock = clock
        self._profiles = profiles
        self._lookups = lookups
        self._new_id = new_member_id

    def find(self, chain_id: str, *, phone: str | None = None, openid: str | None = None) -> str | None:
        """The chain's member with this phone (E.164) or openid, or None; writes nothing."""
        kind, hashed = self._address(phone, openid)
        claimed = self._repo.claimed_member(chain_id, kind, hashed)
        if claimed is not None:
            return claimed
        known = self._repo.looked_up_members(chain_id, kind, hashed)
        return known[0] if known else None

    def find_or_create(
        self,
        chain_id: str,
        store_id: str,
        *,
        phone: str | None = None,
        openid: str | None = None,
        contact: dict[str, Any] | None = None,
    ) -> FoundMember:
        """The chain's member with this phone (E.164) or openid; a new one (primary store `store_id`) when there
        is none. `contact` (name, email, locale, birthday, marketing_consent) is written to a NEW member only."""
        kind, hashed = self._address(phone, openid)
        member_id = self._repo.claimed_member(chain_id, kind, hashed)
        fresh = False
        if member_id is None:
            known = self._repo.looked_up_members(chain_id, kind, hashed)
            candidate = known[0] if known else self._new_id()
            fresh = self._repo.claim(chain_id, kind, hashed, candidate, self._clock.now())
            # Lost the race: another request claimed the address first, and hers is the member.
            member_id = candidate if fresh else self._repo.claimed_member(chain_id, kind, hashed)
            if member_id is None:  # claimed and erased in between: start again
                return self.find_or_create(chain_id, store_id, phone=phone, openid=openid, contact=contact)
        exists = self._repo.member_exists(chain_id, member_id)
        if (
            fresh or not exists
        ):  # the lookup before the profile: a retry after a crash between them sees no profile
            self._lookups.put_lookups(
                MemberContacts(
                    chain_id=chain_id,
                    member_id=member_id,
                    store_id=store_id,
                    at=self._clock.now(),
                    phone_hash=hashed if kind == PHONE else None,
                    wechat_openid_hash=hashed if kind == WXOPENID else None,
                )
            )
        if not exists:
            fields = {k: v for k, v in (contact or {}).items() if v is not None}
            fields |= {"phone": phone, "wechat_openid": openid, "last_store_id": store_id}
            self._profiles.refresh(chain_id, member_id, contact=fields)
        return FoundMember(member_id, created=not exists)

    def import_member(self, chain_id: str, store_id: str, row: MemberRow) -> FoundMember:
        """A member from a members file (ops.members): found by phone or created, her profile fields set as the
        file gives them (a "yes" to marketing only where she has not answered, as a booking's), her tags added.
        A second run finds her and writes nothing new."""
        contact = {k: v for k, v in row.contact().items() if v is not None}
        found = self.find_or_create(chain_id, store_id, phone=row.phone, contact=contact)
        if not found.created and contact:
            self._profiles.refresh(chain_id, found.member_id, contact=contact)
        if row.tags:
            self._profiles.edit_tags(chain_id, found.member_id, row.tags, [])
        return found

    def _address(self, phone: str | None, openid: str | None) -> tuple[str, str]:
        if (phone is None) == (openid is None):
            raise ValueError("give exactly one of phone and openid")
        if phone is not None:
            return PHONE, self._hash(phone)
        assert openid is not None
        return WXOPENID, self._hash(openid)
