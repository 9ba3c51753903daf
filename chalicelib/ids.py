"""The one shape of an id that names a chain, store, member, booking, conversation or note.

Ids arrive in URL paths, signed headers and event bodies; anything not of this shape is unknown (404) or
invalid (400) before it is used as a key. `chalicelib/api/request.py` re-exports it for the edge.
"""

from __future__ import annotations

import re

ID_CHARS = r"A-Za-z0-9_.:@\-"
MAX_ID = 128
SAFE_ID = re.compile(rf"[{ID_CHARS}]{{1,{MAX_ID}}}")


def is_id(value: object, max_length: int = MAX_ID) -> bool:
    """True for a string of 1 to `max_length` id characters (the whole string: no trailing newline)."""
    return isinstance(value, str) and len(value) <= max_length and SAFE_ID.fullmatch(value) is not None


def new_id(prefix: str) -> str:
    """A new random id of this shape, `<prefix>-<20 hex digits>` (80 bits): e.g. a member who signs in for the
    first time (services/member_directory.py)."""
    import secrets

    return f"{prefix}-{secrets.token_hex(10)}"


def derived_id(prefix: str, *parts: str) -> str:
    """A stable id from its parts (`prefix-` + 24 hex digits of SHA-256 over them): the same request retried
    names the same booking and event, so a retry after a crash finds the first attempt's work."""
    import hashlib

    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}-{digest}"
