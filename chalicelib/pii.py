"""Members' contact details: keyed hashes for lookups at rest, masks for anything written to a log.

* `LookupHasher` -- the ONE place a channel address (an E.164 phone number, a WeChat openid) becomes the key
  of a contact lookup item: hex HMAC-SHA256(lookup key, address), first 32 hex digits (128 bits). The lookup
  key is the stage's secret `chairside/<stage>/lookup-key` (Secrets Manager), loaded once per container by
  the composition root. Without the key, a copy of the table does not tell whose number a lookup is (a plain
  SHA-256 of a phone number is reversed by trying every number). Changing the key orphans every lookup: it is
  created once per stage and never rotated in place (docs/PRIVACY.md).
* `mask_text` / `mask_value` -- phone numbers (`+<7-15 digits>`, spaced international numbers, Chinese
  mobiles `1[3-9]` + 9 digits) become `+86******8000` / `138****8000`, emails `l***@example.com`. The log
  formatter (observability.py) runs every line through them, and channel error reasons are masked when they
  are raised (errors.SendError), because providers echo the address they refused. `mask_text` also redacts
  signed query parameters (`signature`, `msg_signature`, `timestamp`, `nonce` -> `***`): a logged callback URL
  must not be replayable. The local stack runs the API's own request log through it (devstack/stack.py).

No imports beyond the standard library: errors.py and observability.py use this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from typing import Any

DIGEST_HEX = 32  # 128 bits of the HMAC: no collision among any chain's members, short enough for a key


def lookup_digest(key: bytes, address: str) -> str:
    """hex(HMAC-SHA256(key, address))[:32] -- the single definition of a hashed lookup address."""
    return hmac.new(key, address.encode("utf-8"), hashlib.sha256).hexdigest()[:DIGEST_HEX]


class LookupHasher:
    """Turns an address into its lookup form. The key is fetched on first use and kept (it never changes)."""

    def __init__(self, key_source: Callable[[], str | bytes]) -> None:
        self._source = key_source
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self, address: str) -> str:
        return lookup_digest(self._load(), address.strip())

    def derived_key(self, purpose: str) -> bytes:
        """A key for another use of the same secret (e.g. "cursors"): HMAC(lookup key, "chairside/" + purpose),
        so no digest made with it ever equals a lookup digest."""
        return hmac.new(self._load(), f"chairside/{purpose}".encode(), hashlib.sha256).digest()

    def _load(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    raw = self._source()
                    key = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
                    if len(key) < 16:
                        raise RuntimeError("the contact lookup key is missing or shorter than 16 bytes")
                    self._key = key
        return self._key


# --- masking ------------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9_%+\-])[A-Za-z0-9._%+\-]*@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})"
)
# +<country code and number>, no separators (E.164 and anything like it; also URL-encoded, %2B...).
_INTERNATIONAL = re.compile(r"(?:\+|%2[Bb])\d{7,15}(?!\d)")
# +44 20 7946 0000, +1 (415) 555-2671: separators between digit groups; 7 or more digits in all.
_INTERNATIONAL_SPACED = re.compile(r"\+\d{1,4}(?:[ \-.()/]{1,2}\d{1,6}){1,8}")
# Chinese mobiles without '+': 13800138000, 138 0013 8000, 008613800138000 -- not inside a longer word or number.
_CN_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:00)?86[ \-]?)?(1[3-9]\d)((?:[ \-]?\d{4}){2})(?![0-9A-Za-z])")


# A signed callback's query parameters (WeChat's `signature`, `msg_signature`, `timestamp`, `nonce`; the SMS receipt
# routes' `receipt_token`): a request line or URL in a log must not hand anyone a query to replay. Only inside a
# query: after `?` or `&`.
_SIGNED_QUERY = re.compile(r"(?i)([?&](?:msg_signature|signature|timestamp|nonce|receipt_token)=)[^&\s\"'#]*")


def redact_signed_query(text: str) -> str:
    """`text` with the values of signed query parameters replaced by `***` (`?signature=***&nonce=***`)."""
    return _SIGNED_QUERY.sub(r"\1***", text) if "=" in text else text


def _mask_email(match: re.Match[str]) -> str:
    return f"{match.group(1)}***@{match.group(2)}"


def _mask_international(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0).removeprefix("%2B").removeprefix("%2b"))
    if len(digits) < 7:
        return match.group(0)
    return f"+{digits[:2]}******{digits[-4:]}"


def _mask_cn_mobile(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(2))
    return f"{match.group(1)}****{digits[-4:]}"


def mask_text(text: str) -> str:
    """`text` with every phone number and email address masked, and signed query parameters redacted (cheap
    when there is nothing to mask)."""
    if "=" in text:
        text = redact_signed_query(text)
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    if "+" in text or "%2" in text:
        text = _INTERNATIONAL.sub(_mask_international, text)
        text = _INTERNATIONAL_SPACED.sub(_mask_international, text)
    if "1" in text:
        text = _CN_MOBILE.sub(_mask_cn_mobile, text)
    return text


def mask_value(value: Any, _depth: int = 0) -> Any:
    """A structure (a log record's fields) with every string in it masked; other objects become their
    masked `str()` (what the JSON log serializer would have printed)."""
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    if _depth > 20:
        return mask_text(str(value))
    if isinstance(value, dict):
        return {key: mask_value(item, _depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(item, _depth + 1) for item in value]
    return mask_text(str(value))
