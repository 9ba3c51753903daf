"""Short links members open from a message: `<public base URL>/m/<code>`.

A code is 10 random characters (an alphabet of 31 without look-alikes: about 50 bits), stored in DynamoDB with
what it opens -- chain, store, member, the booking it manages (or none), extra fragment parameters -- and until
when (TTL, and checked on every open since TTL deletion is lazy). `GET /m/<code>` answers 302 to the booking page
`/book/<store>#token=<member token>&booking=<id>[&<fragment>]`: the token is minted at that moment, scoped to the
booking when there is one (`Member.booking_id`), and lives at most a day (an hour for a link without a booking).
The token sits in the URL's fragment, which browsers never send to a server or in a Referer.

One link per target: the first mint records it under a digest of the target (`MLINKREF#...`, put-if-absent), and
every later message about the same booking reuses it -- extended when the booking moved later. A "manage my
booking" link lives until a day after the booking's start, at most 60 days.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from chalicelib.clock import Clock
from chalicelib.dal.member_directory import MemberDirectoryRepository, MemberLink
from chalicelib.ids import is_id

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i
CODE_LENGTH = 10
MAX_LINK_TTL = timedelta(days=60)
BOOKING_GRACE = timedelta(days=1)  # a booking's link works until a day after its start
BOOKING_TOKEN_TTL = timedelta(days=1)
PLAIN_TOKEN_TTL = timedelta(hours=1)
ERASED_MEMBER = "erased"  # dal/member_data.py ERASED


def is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) == CODE_LENGTH and all(c in ALPHABET for c in value)


class MemberLinks:
    def __init__(
        self,
        repo: MemberDirectoryRepository,
        tokens: Any,  # services/member_tokens.py MemberTokens
        base_url: str,
        clock: Clock,
        key: Callable[[], bytes],
        new_code: Callable[[], str] | None = None,
    ) -> None:
        self._repo = repo
        self._tokens = tokens
        self._base = base_url.rstrip("/")
        self._clock = clock
        self._key = key
        self._new_code = new_code or (lambda: "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))

    @property
    def enabled(self) -> bool:
        """Links need the public base URL (settings `CHAIRSIDE_PUBLIC_BASE_URL`)."""
        return bool(self._base)

    def link(
        self,
        chain_id: str,
        store_id: str,
        member_id: str,
        *,
        booking_id: str | None = None,
        fragment: dict[str, str] | None = None,
        ttl: timedelta,
    ) -> str:
        """The short link to the store's booking page for this member (and booking); the same target gets the
        same link while it is valid. `fragment` parameters (e.g. `claim`, `start`) are added to the redirect."""
        now = int(self._clock.now().timestamp())
        expires = now + int(min(ttl, MAX_LINK_TTL).total_seconds())
        extra = {str(k): str(v) for k, v in sorted((fragment or {}).items())}
        digest = self._digest([chain_id, store_id, member_id, booking_id, extra])
        known = self._repo.link_ref(digest)
        if known is not None and known[1] > now:
            code, until = known
            if until < expires:  # the booking moved later: the same link, for longer
                self._repo.extend_link(code, expires)
                self._repo.extend_link_ref(digest, expires)
            return self._url(code)
        target = MemberLink(chain_id, store_id, member_id, booking_id, extra, expires)
        for _ in range(5):
            code = self._new_code()
            if self._repo.put_link(code, target):
                break
        else:  # pragma: no cover - 5 collisions in a space of 31**10
            raise RuntimeError("could not draw a free link code")
        if not self._repo.put_link_ref(digest, code, expires, replacing_expired_before=now):
            raced = self._repo.link_ref(digest)  # another send minted it first: theirs is the link
            if raced is not None:
                code = raced[0]
        return self._url(code)

    def for_booking(
        self, chain_id: str, store_id: str, member_id: str, booking_id: str, start: datetime
    ) -> str:
        """The booking's "manage my booking" link ("" without a public base URL, for an erased member, or once a
        day has passed since the start)."""
        until = start + BOOKING_GRACE - self._clock.now()
        if not self.enabled or not is_id(member_id) or member_id == ERASED_MEMBER or until <= timedelta(0):
            return ""
        return self.link(chain_id, store_id, member_id, booking_id=booking_id, ttl=until)

    def open(self, code: str) -> str | None:
        """Where the link leads now (the booking page, with a fresh member token), or None: unknown or expired."""
        if not is_code(code):
            return None
        link = self._repo.link(code)
        now = self._clock.now()
        if link is None or link.expires_at <= int(now.timestamp()):
            return None
        left = timedelta(seconds=link.expires_at - int(now.timestamp()))
        ttl = min(left, BOOKING_TOKEN_TTL if link.booking_id else PLAIN_TOKEN_TTL)
        token, _ = self._tokens.issue(link.chain_id, link.member_id, ttl=ttl, booking_id=link.booking_id)
        params = {"token": token}
        if link.booking_id:
            params["booking"] = link.booking_id
        params |= {k: v for k, v in link.fragment.items() if k not in params}
        return f"{self._base}/book/{link.store_id}#{urlencode(params)}"

    def _url(self, code: str) -> str:
        return f"{self._base}/m/{code}"

    def _digest(self, target: list[Any]) -> str:
        text = json.dumps(target, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self._key(), text.encode(), hashlib.sha256).hexdigest()[:32]
