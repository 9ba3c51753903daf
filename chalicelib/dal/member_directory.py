"""Members signing in (issue 14): who a phone number or openid is in a chain, sign-in codes, OAuth states and
"manage my booking" links. Key lookups and Queries only, never a Scan:

* `MEMBERCLAIM#<chain>#<kind>#<hash>` / `CLAIM` -- GetItem; put only if absent (one member per address and chain).
* `PHONE#<hash>` | `WXOPENID#<hash>` with sk `begins_with MEMBER#<chain>#` -- Query: members a booking gave the
  address (dal/bookings.py writes these contact lookups).
* `SIGNIN#<chain>#<phone hash>` / `CODE` -- GetItem, then a put conditional on the version read.
* `OAUTHSTATE#<nonce>` / `STATE` -- put only if absent (a state is used once).
* `MLINK#<code>` / `MLINK` -- GetItem; `MLINKREF#<digest>` / `MLINKREF` -- GetItem, put only if absent (or expired).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.dal.conditions import is_conditional_failure, put_new
from chalicelib.dal.models import (
    ContactLookupItem,
    MemberClaimItem,
    MemberItem,
    MemberLinkItem,
    MemberLinkRefItem,
    OAuthStateItem,
    SignInCodeItem,
)


@dataclass(frozen=True)
class SignInCode:
    """The phone's current code as stored: `version` None when none was ever sent (or it expired away)."""

    code_hash: str
    issued_at: float
    sent: tuple[float, ...]
    tries: int
    used: bool
    version: int | None


@dataclass(frozen=True)
class MemberLink:
    chain_id: str
    store_id: str
    member_id: str
    booking_id: str | None
    fragment: dict[str, str]
    expires_at: int


class MemberDirectoryRepository:
    # --- who an address is ---------------------------------------------------------------------------
    def claimed_member(self, chain_id: str, kind: str, hashed: str) -> str | None:
        try:
            item = MemberClaimItem.get(*MemberClaimItem.key(chain_id, kind, hashed), consistent_read=True)
        except MemberClaimItem.DoesNotExist:
            return None
        return item.member_id

    def claim(self, chain_id: str, kind: str, hashed: str, member_id: str, at: datetime) -> bool:
        """Make `member_id` the chain's member for this address, unless one already is: True when written."""
        item = MemberClaimItem(
            *MemberClaimItem.key(chain_id, kind, hashed),
            chain_id=chain_id,
            member_id=member_id,
            created_at=at,
        )
        return put_new(item)

    def looked_up_members(self, chain_id: str, kind: str, hashed: str) -> list[str]:
        """Members of the chain a booking gave this address (contact lookups), most recently seen first."""
        found = ContactLookupItem.query(
            ContactLookupItem.pk_for(kind, hashed),
            ContactLookupItem.sk.startswith(f"MEMBER#{chain_id}#"),
            consistent_read=True,
        )
        return [i.member_id for i in sorted(found, key=lambda i: i.updated_at, reverse=True)]

    def member_exists(self, chain_id: str, member_id: str) -> bool:
        try:
            MemberItem.get(
                *MemberItem.key(chain_id, member_id), consistent_read=True, attributes_to_get=["pk"]
            )
        except MemberItem.DoesNotExist:
            return False
        return True

    # --- sign-in codes ---------------------------------------------------------------------------------
    def sign_in_code(self, chain_id: str, phone_hash: str) -> SignInCode | None:
        try:
            item = SignInCodeItem.get(*SignInCodeItem.key(chain_id, phone_hash), consistent_read=True)
        except SignInCodeItem.DoesNotExist:
            return None
        return SignInCode(
            code_hash=item.code_hash,
            issued_at=float(item.issued_at),
            sent=tuple(float(s) for s in item.sent or []),
            tries=int(item.tries or 0),
            used=bool(item.used),
            version=int(item.version),
        )

    def save_sign_in_code(
        self, chain_id: str, phone_hash: str, code: SignInCode, *, expected: int | None, keep_until: int
    ) -> bool:
        """Write the phone's code state, conditional on the version read (`expected`; None: no item yet). False
        when another request changed it first (the caller re-reads)."""
        item = SignInCodeItem(
            *SignInCodeItem.key(chain_id, phone_hash),
            chain_id=chain_id,
            code_hash=code.code_hash,
            issued_at=code.issued_at,
            sent=list(code.sent),
            tries=code.tries,
            used=code.used,
            version=(expected or 0) + 1,
            expires_at=keep_until,
        )
        condition = (
            SignInCodeItem.pk.does_not_exist() if expected is None else SignInCodeItem.version == expected
        )
        try:
            item.save(condition=condition)
        except Exception as exc:  # PutError wraps the ClientError
            if is_conditional_failure(exc):
                return False
            raise
        return True

    # --- WeChat OAuth states -----------------------------------------------------------------------------
    def use_oauth_state(self, nonce: str, expires_at: int) -> bool:
        """True the first time a state's nonce is used; False ever after (until it expired anyway)."""
        return put_new(OAuthStateItem(*OAuthStateItem.key(nonce), expires_at=expires_at))

    # --- links ------------------------------------------------------------------------------------------
    def link(self, code: str) -> MemberLink | None:
        try:
            item = MemberLinkItem.get(*MemberLinkItem.key(code))
        except MemberLinkItem.DoesNotExist:
            return None
        return MemberLink(
            chain_id=item.chain_id,
            store_id=item.store_id,
            member_id=item.member_id,
            booking_id=item.booking_id,
            fragment=dict(item.fragment or {}),
            expires_at=int(item.expires_at),
        )

    def put_link(self, code: str, link: MemberLink) -> bool:
        """A new code (False: the code is taken, draw another)."""
        return put_new(
            MemberLinkItem(
                *MemberLinkItem.key(code),
                chain_id=link.chain_id,
                store_id=link.store_id,
                member_id=link.member_id,
                booking_id=link.booking_id,
                fragment=link.fragment or None,
                expires_at=link.expires_at,
            )
        )

    def extend_link(self, code: str, expires_at: int) -> None:
        MemberLinkItem(*MemberLinkItem.key(code)).update(
            actions=[MemberLinkItem.expires_at.set(expires_at)], condition=MemberLinkItem.pk.exists()
        )

    def link_ref(self, digest: str) -> tuple[str, int] | None:
        """(code, expires_at) of the link already minted for a target."""
        try:
            item = MemberLinkRefItem.get(*MemberLinkRefItem.key(digest), consistent_read=True)
        except MemberLinkRefItem.DoesNotExist:
            return None
        return item.code, int(item.expires_at)

    def put_link_ref(self, digest: str, code: str, expires_at: int, *, replacing_expired_before: int) -> bool:
        """Record the target's link unless one is recorded that is still valid at `replacing_expired_before`."""
        item = MemberLinkRefItem(*MemberLinkRefItem.key(digest), code=code, expires_at=expires_at)
        return put_new(item, or_if=MemberLinkRefItem.expires_at <= replacing_expired_before)

    def extend_link_ref(self, digest: str, expires_at: int) -> None:
        MemberLinkRefItem(*MemberLinkRefItem.key(digest)).update(
            actions=[MemberLinkRefItem.expires_at.set(expires_at)], condition=MemberLinkRefItem.pk.exists()
        )
