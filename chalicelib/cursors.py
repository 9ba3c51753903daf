"""Page cursors that only ever continue the listing they came from.

A cursor is `<base64url(JSON of the last key)>.<base64url(MAC)>`, MAC = HMAC-SHA256(cursor key, scope NUL body),
first 128 bits. The scope names the listing -- e.g. `messages|<store>|<member>|newest` -- and is not in the cursor:
it is rebuilt from the request, so a cursor from another store's, member's or campaign's listing, or one whose
key was edited, fails the MAC and answers 400 naming `cursor`, as does anything that is not a cursor at all.

The cursor key is derived from the stage's lookup key (privacy.LookupHasher.derived_key): no new secret, and a
cursor reveals nothing a caller did not already see (the key of the last item of the page she was shown).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from chalicelib.errors import ValidationFailed

MAX_CURSOR = 2048
_MAC_BYTES = 16


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "the cursor is not valid", {"cursor": "not a cursor this API returned for this listing"}
    )


class CursorSigner:
    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key  # called on each use; the source caches it (LookupHasher)

    def encode(self, scope: str, value: Any) -> str:
        body = _b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{body}.{_b64(self._mac(scope, body))}"

    def decode(self, scope: str, cursor: str) -> Any:
        """The value `encode(scope, value)` was given; ValidationFailed naming `cursor` for anything else."""
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR or cursor.count(".") != 1:
            raise invalid_cursor()
        body, tag = cursor.split(".")
        try:
            given = _unb64(tag)
        except (ValueError, binascii.Error):
            raise invalid_cursor() from None
        if not hmac.compare_digest(given, self._mac(scope, body)):
            raise invalid_cursor()
        try:
            return json.loads(_unb64(body))
        except (ValueError, binascii.Error):  # signed by us, so never expected
            raise invalid_cursor() from None

    def _mac(self, scope: str, body: str) -> bytes:
        message = scope.encode("utf-8", "surrogatepass") + b"\x00" + body.encode("ascii", "replace")
        return hmac.new(self._key(), message, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
