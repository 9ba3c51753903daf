"""One-click unsubscribe from marketing email (RFC 8058): signed links, and what following one does.

A marketing email carries

    List-Unsubscribe: <https://<public base>/v1/unsubscribe/<token>>[, <mailto:<mailbox>?subject=unsubscribe%20<token>>]
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

The token names the chain and the member and is signed (HMAC-SHA256 with a key derived from the stage's lookup key,
like the cursors and member tokens), so no one can unsubscribe someone else and the route needs no other auth. It
never expires: a mail client may offer the button years later. `POST` of the URL opts the member out the way "TD" /
"退订" does (no marketing consent, `opted_out_at`, the first time kept) -- idempotently; `GET` shows a page that asks
first (mail scanners follow links; RFC 8058 forbids unsubscribing on a GET).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from chalicelib.errors import ValidationFailed
from chalicelib.ids import is_id

if TYPE_CHECKING:
    from chalicelib.dal.email import OptedOut

KEY_PURPOSE = "unsubscribe-links"  # the derived key's purpose (chalicelib/pii.py LookupHasher.derived_key)
SIGNATURE_CHARS = 32  # base64url characters of the HMAC kept: 192 bits
MAX_TOKEN_CHARS = 512


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Subscriber:
    chain_id: str
    member_id: str


class UnsubscribeLinks:
    """Signs and reads unsubscribe tokens, and builds the List-Unsubscribe headers of a marketing email."""

    def __init__(self, key: Callable[[], bytes], public_base_url: str, mailbox: str = "") -> None:
        self._key = key
        self._base = public_base_url.rstrip("/")
        self._mailbox = mailbox

    @property
    def available(self) -> bool:
        """Whether links can be made: they need the public base URL (`CHAIRSIDE_PUBLIC_BASE_URL`)."""
        return bool(self._base)

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self._key(), f"unsubscribe\n{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)[:SIGNATURE_CHARS]

    def token(self, chain_id: str, member_id: str) -> str:
        payload = _b64(f"{chain_id}\n{member_id}".encode())
        return f"{payload}.{self._signature(payload)}"

    def read(self, token: str) -> Subscriber:
        """The chain and member a token names; ValidationFailed (400, field `token`) for anything we did not sign."""
        bad = ValidationFailed("not a valid unsubscribe link", {"token": "unknown or altered"})
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise bad
        payload, signature = token.split(".")
        if not hmac.compare_digest(self._signature(payload).encode(), signature.encode("ascii", "replace")):
            raise bad
        try:
            chain_id, member_id = _unb64(payload).decode("utf-8").split("\n")
        except (ValueError, UnicodeDecodeError):
            raise bad from None
        if not is_id(chain_id) or not is_id(member_id):
            raise bad
        return Subscriber(chain_id, member_id)

    def url(self, chain_id: str, member_id: str) -> str:
        return f"{self._base}/v1/unsubscribe/{self.token(chain_id, member_id)}"

    def headers(self, chain_id: str, member_id: str) -> list[dict[str, str]]:
        """SES v2 `Content.Simple.Headers` of a marketing email (RFC 2369 List-Unsubscribe, RFC 8058 one-click)."""
        if not self._base:
            raise ValueError("unsubscribe links need CHAIRSIDE_PUBLIC_BASE_URL")
        token = self.token(chain_id, member_id)
        targets = [f"<{self._base}/v1/unsubscribe/{token}>"]
        if self._mailbox:
            targets.append(f"<mailto:{self._mailbox}?subject={quote('unsubscribe ' + token)}>")
        return [
            {"Name": "List-Unsubscribe", "Value": ", ".join(targets)},
            {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        ]


class Unsubscribe:
    """What the unsubscribe route does: check a link, and opt its member out."""

    def __init__(
        self,
        links: UnsubscribeLinks,
        opt_out: Callable[[str, str, datetime], OptedOut | None],
        now: Callable[[], datetime],
        counted: Callable[[str, str, datetime], None] | None = None,
    ) -> None:
        self._links = links
        self._opt_out = opt_out
        self._now = now
        self._counted = counted  # (chain, store, at): a withdrawal for the owner's reports (`opt_outs`)

    def check(self, token: str) -> Subscriber:
        """The member a link is for (the confirmation page); 400 for a link we did not sign."""
        return self._links.read(token)

    def unsubscribe(self, token: str) -> dict[str, str]:
        """Opt the link's member out of marketing; the same answer however often it is posted."""
        subscriber = self._links.read(token)
        now = self._now()
        opted_out = self._opt_out(subscriber.chain_id, subscriber.member_id, now)
        if opted_out is not None and opted_out.newly and opted_out.store_id and self._counted is not None:
            self._counted(subscriber.chain_id, opted_out.store_id, now)
        return {"result": "unsubscribed"}
