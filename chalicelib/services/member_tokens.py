"""Members' bearer tokens: who a member is, for the member routes (api/member.py), without a password.

A member token is an HS256 JWT signed with a key derived from the stage's lookup key (pii.LookupHasher
`derived_key("member-tokens")`), issuer `chairside-member`. Staff tokens are signed with another secret and
issuer, so neither kind is ever accepted as the other (401). A token names one chain and one member; a token
from a "manage my booking" link also names the one booking it may manage (`booking_id`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import Unauthorized
from chalicelib.ids import is_id

MEMBER_ISSUER = "chairside-member"
SESSION_TTL = timedelta(days=30)
MAX_MEMBER_TOKEN = 2048


@dataclass(frozen=True)
class Member:
    """The member a token names; `booking_id` when the token only manages that booking (a message's link)."""

    chain_id: str
    member_id: str
    booking_id: str | None = None

    def may_manage(self, booking_id: str) -> bool:
        return self.booking_id is None or self.booking_id == booking_id


class MemberTokens:
    def __init__(self, key: Callable[[], bytes], now: Callable[[], datetime]) -> None:
        self._key = key  # called on each use; the source caches it
        self._now = now

    def issue(
        self,
        chain_id: str,
        member_id: str,
        *,
        ttl: timedelta = SESSION_TTL,
        booking_id: str | None = None,
    ) -> tuple[str, datetime]:
        """A token and when it expires."""
        import jwt

        now = self._now()
        expires = now + ttl
        claims = {
            "iss": MEMBER_ISSUER,
            "sub": member_id,
            "chain_id": chain_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        if booking_id is not None:
            claims["booking_id"] = booking_id
        return jwt.encode(claims, self._key(), algorithm="HS256"), expires.replace(microsecond=0)

    def verify(self, token: str) -> Member:
        import jwt

        if not token or len(token) > MAX_MEMBER_TOKEN:
            raise Unauthorized("the member token is not valid")
        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=["HS256"],
                issuer=MEMBER_ISSUER,
                # expiry is checked below against the injected clock (the local stack's is movable)
                options={"require": ["exp", "sub", "iss"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise Unauthorized("the member token is not valid") from None
        if not isinstance(claims["exp"], int) or claims["exp"] <= int(self._now().timestamp()):
            raise Unauthorized("the member token has expired")
        chain_id, member_id, booking_id = claims.get("chain_id"), claims.get("sub"), claims.get("booking_id")
        if not (
            isinstance(chain_id, str) and is_id(chain_id) and isinstance(member_id, str) and is_id(member_id)
        ):
            raise Unauthorized("the member token is not valid")
        if booking_id is not None and not (isinstance(booking_id, str) and is_id(booking_id)):
            raise Unauthorized("the member token is not valid")
        return Member(chain_id, member_id, booking_id)
