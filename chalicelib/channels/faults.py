"""Local-stack fault injection: make a channel fail its next N sends (or a share of them), transiently or
for good, and make a queue's worker die mid-batch.

Only the local stack wraps channels with this (tests and `make chaos` use it through
`POST /v1/_local/faults`); a deployed stage never does. The file also counts what was injected, so a soak
can report it.
"""

from __future__ import annotations

import fcntl
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from chalicelib.channels.base import (
    Channel,
    Contact,
    Outgoing,
    provider_of,
    pull_receipts,
    reports_receipts,
    send_outgoing,
)
from chalicelib.errors import PermanentSendError, TransientSendError


class FaultFile:
    """{"<channel>": {"transient": n, "permanent": n, "transient_rate": r, "injected": {...}},
    "workers": {"<queue>": {"crashes": n, "crashed": n}}} -- counters consumed one per send (or batch)."""

    def __init__(self, path: Path, rng: random.Random | None = None) -> None:
        self.path = path
        self._rng = rng or random.Random()  # fault injection, not security

    def add(
        self, channel: str, transient: int = 0, permanent: int = 0, transient_rate: float | None = None
    ) -> dict:
        with self._locked() as data:
            entry = data.setdefault(channel, {"transient": 0, "permanent": 0})
            entry["transient"] = max(0, entry.get("transient", 0) + transient)
            entry["permanent"] = max(0, entry.get("permanent", 0) + permanent)
            if transient_rate is not None:  # a rate is set, not added: 0 turns it off
                entry["transient_rate"] = transient_rate
            return dict(data)

    def take(self, channel: str) -> str | None:
        if not self.path.exists():
            return None
        with self._locked() as data:
            entry = data.get(channel) or {}
            fault = None
            for kind in ("permanent", "transient"):
                if entry.get(kind, 0) > 0:
                    entry[kind] -= 1
                    fault = kind
                    break
            if fault is None and self._rng.random() < float(entry.get("transient_rate") or 0):
                fault = "transient"
            if fault is not None:
                injected = entry.setdefault("injected", {})
                injected[fault] = injected.get(fault, 0) + 1
            return fault

    def add_crashes(self, worker: str, crashes: int) -> dict:
        with self._locked() as data:
            entry = data.setdefault("workers", {}).setdefault(worker, {"crashes": 0, "crashed": 0})
            entry["crashes"] = max(0, entry.get("crashes", 0) + crashes)
            return dict(data)

    def take_crash(self, worker: str) -> bool:
        """True when the worker of this queue must die on the batch it just received."""
        if not self.path.exists():
            return False
        with self._locked() as data:
            entry = (data.get("workers") or {}).get(worker) or {}
            if entry.get("crashes", 0) <= 0:
                return False
            entry["crashes"] -= 1
            entry["crashed"] = entry.get("crashed", 0) + 1
            return True

    def read(self) -> dict:
        if not self.path.exists():
            return {}
        with self._locked() as data:
            return json.loads(json.dumps(data))

    @contextmanager
    def _locked(self) -> Iterator[dict]:
        """Read-modify-write under an exclusive lock: the API and the workers share the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.seek(0)
            raw = f.read()
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                data = {}
            yield data
            f.seek(0)
            f.truncate()
            json.dump(data, f)


class FaultInjectingChannel:
    def __init__(self, inner: Channel, faults: FaultFile) -> None:
        self._inner = inner
        self._faults = faults
        self.name = inner.name

    def provider_for(self, contact: Contact) -> str:
        """Receipts name the real provider (channels/base.provider_of), not the wrapper."""
        return provider_of(self._inner, contact)

    def reports_receipts_for(self, contact: Contact) -> bool:
        return reports_receipts(self._inner, contact)

    def pull_receipts(self, contact: Contact, provider_message_id: str, sent_at: datetime) -> list:
        """A receipt check asks the real provider (channels/base.pull_receipts): no fault is injected into a pull."""
        return pull_receipts(self._inner, contact, provider_message_id, sent_at)

    def can_reach(self, contact: Contact) -> bool:
        return self._inner.can_reach(contact)

    def _inject(self, contact: Contact) -> None:
        fault = self._faults.take(self.name)
        # Like a provider's error, the reason names the address (SendError masks it before anyone logs it).
        to = {"sms": contact.phone, "email": contact.email}.get(self.name) or "the member"
        if fault == "transient":
            raise TransientSendError(f"{self.name}: injected transient failure sending to {to}")
        if fault == "permanent":
            raise PermanentSendError(f"{self.name}: injected permanent failure sending to {to}")

    def send(self, contact: Contact, text: str, subject: str) -> str:
        self._inject(contact)
        return self._inner.send(contact, text, subject)

    def send_outgoing(self, contact: Contact, outgoing: Outgoing) -> str:
        """A templated or rich send (mainland SMS; email's HTML and unsubscribe headers) fails the same way, then
        goes through the inner channel's own path."""
        self._inject(contact)
        return send_outgoing(self._inner, contact, outgoing)
