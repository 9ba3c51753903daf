"""Signed webhooks: `X-Chairside-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from chalicelib.errors import Unauthorized
from chalicelib.ids import is_id

REPLAY_WINDOW_SECONDS = 300
CHAIN_HEADER = "x-chairside-chain"
TIMESTAMP_HEADER = "x-chairside-timestamp"
SIGNATURE_HEADER = "x-chairside-signature"


def sign(secret: str, timestamp: int | str, raw_body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    headers: Mapping[str, str],
    raw_body: bytes,
    secrets_for: Callable[[str], Iterable[str]],
    wall_now: datetime,
) -> str:
    """Check the signature against every active secret of the chain; return the chain id.

    `wall_now` is the real wall clock: senders sign with theirs, even while the local domain clock
    is moved. Raises Unauthorized on anything missing, malformed, expired or wrong.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    chain_id = (lower.get(CHAIN_HEADER) or "").strip()
    timestamp = (lower.get(TIMESTAMP_HEADER) or "").strip()
    signature = (lower.get(SIGNATURE_HEADER) or "").strip()
    if not chain_id or not timestamp or not signature:
        raise Unauthorized("missing signature headers")
    if not is_id(chain_id):  # refused before a secret is looked up
        raise Unauthorized("unknown chain")
    # ASCII only: str.isdigit() also accepts "²" (int() then fails) and other scripts' digits.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Unauthorized("the timestamp must be unix seconds")
    if abs(wall_now.timestamp() - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise Unauthorized("the signature has expired (5-minute window)")
    if not signature.startswith("v1="):
        raise Unauthorized("unsupported signature scheme")
    secrets = [s for s in secrets_for(chain_id) if s]
    # Compare against every secret (no early exit) so timing says nothing about which one matched.
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(sign(secret, timestamp, raw_body), signature)
    if not matched:
        raise Unauthorized("bad signature")
    return chain_id


def fresh(timestamp: str, wall_now: datetime, per_second: int) -> None:
    """A callback's timestamp (unix seconds, or ms with per_second=1000) is within 5 minutes of the wall clock."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        raise Unauthorized("the timestamp must be unix time")
    if abs(wall_now.timestamp() - int(timestamp) / per_second) > REPLAY_WINDOW_SECONDS:
        raise Unauthorized("the callback has expired (5-minute window)")
