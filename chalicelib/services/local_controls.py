"""The local stack's controls: move the domain clock, make channels fail."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.channels.faults import FaultFile
from chalicelib.errors import ValidationFailed
from chalicelib.resources import WORKERS

MAX_ADVANCE_SECONDS = 400 * 24 * 3600
WORKER_QUEUES = tuple(worker.queue.short for worker in WORKERS)


def advance_clock(clock: Any, body: dict[str, Any]) -> datetime:
    seconds = body.get("advance_seconds")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_ADVANCE_SECONDS
    ):
        raise ValidationFailed(
            "bad advance_seconds", {"advance_seconds": f"a number of seconds from 0 to {MAX_ADVANCE_SECONDS}"}
        )
    if not hasattr(clock, "advance"):
        raise ValidationFailed("this clock cannot be moved", {"advance_seconds": "clock is not movable"})
    return clock.advance(float(seconds))


def inject_faults(local_dir: Path | None, body: dict[str, Any]) -> dict[str, Any]:
    """`{channel, transient, permanent, transient_rate}` makes a channel fail; `{worker, crashes}` makes the
    worker of a queue (`resources.Queue.short`) die on its next batches before deleting them."""
    if local_dir is None:
        raise ValidationFailed("fault injection is local only", {"body": "not local"})
    faults = FaultFile(local_dir / "faults.json")
    if "worker" in body:
        if body["worker"] not in WORKER_QUEUES:
            raise ValidationFailed("bad worker", {"worker": f"one of {', '.join(WORKER_QUEUES)}"})
        return faults.add_crashes(body["worker"], _count(body, "crashes"))
    channel = body.get("channel")
    if channel not in ("sms", "email"):
        raise ValidationFailed("bad channel", {"channel": "one of sms, email"})
    counts = {key: _count(body, key) for key in ("transient", "permanent")}
    rate = body.get("transient_rate")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1
    ):
        raise ValidationFailed("bad transient_rate", {"transient_rate": "a number from 0 to 1"})
    return faults.add(channel, **counts, transient_rate=None if rate is None else float(rate))


def _count(body: dict[str, Any], key: str) -> int:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ValidationFailed(f"bad {key}", {key: "a whole number from 0 to 10000"})
    return value


def demo_users(local_dir: Path | None) -> list[dict[str, Any]]:
    """The staff tokens of `.chairside/local.json` (role_tokens, store_tokens), labelled for a sign-in list."""
    if local_dir is None:
        return []
    try:
        info = json.loads((local_dir / "local.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    stores = [s.get("id") for s in info.get("stores", [])]
    users = (
        [{"label": "demo-admin", "role": "chain_admin", "stores": stores, "token": info["staff_token"]}]
        if info.get("staff_token")
        else []
    )
    # devstack/seed.py: one member of staff per role at the first store, and a manager per store.
    users += [
        {"label": role, "role": role, "stores": stores[:1], "token": token}
        for role, token in (info.get("role_tokens") or {}).items()
    ]
    users += [
        {"label": f"store_manager {store}", "role": "store_manager", "stores": [store], "token": token}
        for store, token in (info.get("store_tokens") or {}).items()
    ]
    seen, distinct = set(), []
    for user in users:  # one button per role and stores (the first store's manager is in both lists)
        if (key := (user["role"], tuple(user["stores"]))) not in seen:
            seen.add(key)
            distinct.append(user)
    return distinct
