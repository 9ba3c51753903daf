"""Local-stack fault injection: make a channel fail its next N sends, transiently or for good.

Only the local stack wraps channels with this (tests and `make chaos` use it through
`POST /v1/_local/faults`); a deployed stage never does.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.channels.base import Channel, Contact
from chalicelib.errors import PermanentSendError, TransientSendError


class FaultFile:
    """{"<channel>": {"transient": n, "permanent": n}} -- counters consumed one per send."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, channel: str, transient: int = 0, permanent: int = 0) -> dict:
        with self._locked() as data:
            entry = data.setdefault(channel, {"transient": 0, "permanent": 0})
            entry["transient"] = max(0, entry.get("transient", 0) + transient)
            entry["permanent"] = max(0, entry.get("permanent", 0) + permanent)
            return dict(data)

    def take(self, channel: str) -> str | None:
        if not self.path.exists():
            return None
        with self._locked() as data:
            entry = data.get(channel) or {}
            for kind in ("permanent", "transient"):
                if entry.get(kind, 0) > 0:
                    entry[kind] -= 1
                    return kind
        return None

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

    def can_reach(self, contact: Contact) -> bool:
        return self._inner.can_reach(contact)

    def send(self, contact: Contact, text: str, subject: str) -> str:
        fault = self._faults.take(self.name)
        # Like a provider's error, the reason names the address (SendError masks it before anyone logs it).
        to = {"sms": contact.phone, "email": contact.email}.get(self.name) or "the member"
        if fault == "transient":
            raise TransientSendError(f"{self.name}: injected transient failure sending to {to}")
        if fault == "permanent":
            raise PermanentSendError(f"{self.name}: injected permanent failure sending to {to}")
        return self._inner.send(contact, text, subject)
