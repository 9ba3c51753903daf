"""The local stack's controls: move the domain clock, make channels fail."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.channels.faults import FaultFile
from chalicelib.errors import ValidationFailed

MAX_ADVANCE_SECONDS = 400 * 24 * 3600


def decode(raw: bytes | None) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # a lone surrogate ("\\ud800") cannot be stored
    except (ValueError, RecursionError):  # UnicodeError is a ValueError; "[[[..." nests past the limit
        raise ValidationFailed("the body is not valid JSON", {"body": "not valid JSON"}) from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": "must be a JSON object"})
    return body


def advance_clock(clock: Any, body: dict[str, Any]) -> datetime:
    seconds = body.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
        raise ValidationFailed("bad advance_seconds",
                               {"advance_seconds": f"a number of seconds from 0 to {MAX_ADVANCE_SECONDS}"})
    if not hasattr(clock, "advance"):
        raise ValidationFailed("this clock cannot be moved", {"advance_seconds": "clock is not movable"})
    return clock.advance(float(seconds))


def inject_faults(local_dir: Path | None, body: dict[str, Any]) -> dict[str, Any]:
    if local_dir is None:
        raise ValidationFailed("fault injection is local only", {"body": "not local"})
    channel = body.get("channel")
    if channel not in ("sms", "email"):
        raise ValidationFailed("bad channel", {"channel": "one of sms, email"})
    counts = {}
    for key in ("transient", "permanent"):
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
            raise ValidationFailed(f"bad {key}", {key: "a whole number from 0 to 10000"})
        counts[key] = value
    return FaultFile(local_dir / "faults.json").add(channel, **counts)


def demo_users(local_dir: Path) -> list[dict[str, Any]]:
    """The staff tokens of `.chairside/local.json` (role_tokens, store_tokens), labelled for a sign-in list."""
    try:
        info = json.loads((local_dir / "local.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    stores = [s.get("id") for s in info.get("stores", [])]
    users = [{"label": "demo-admin", "role": "chain_admin", "stores": stores, "token": info["staff_token"]}
             ] if info.get("staff_token") else []
    # devstack/seed.py: one member of staff per role at the first store, and a manager per store.
    users += [{"label": role, "role": role, "stores": stores[:1], "token": token}
              for role, token in (info.get("role_tokens") or {}).items()]
    users += [{"label": f"store_manager {store}", "role": "store_manager", "stores": [store], "token": token}
              for store, token in (info.get("store_tokens") or {}).items()]
    seen, distinct = set(), []
    for user in users:  # one button per role and stores (the first store's manager is in both lists)
        if (key := (user["role"], tuple(user["stores"]))) not in seen:
            seen.add(key)
            distinct.append(user)
    return distinct
