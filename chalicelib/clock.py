"""Clocks. Domain code never calls datetime.now(): it is handed a Clock.

`OffsetFileClock` is the local stack's movable clock: the API process writes an offset to a small
file (`POST /v1/_local/clock`), and every process of the local stack reads the same file, so the
schedulers, the workers and the API agree on what "now" is.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class WallClock(Clock, Protocol):
    """Real time, in both forms: what signatures, tokens and caches are checked against."""

    def timestamp(self) -> float:
        """Seconds since the epoch, like time.time()."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float = 0.0, **delta: float) -> datetime:
        """Like OffsetFileClock.advance(seconds) (what POST /v1/_local/clock calls), or by timedelta keywords."""
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class OffsetFileClock:
    """Real time plus an offset kept in a JSON file shared by the local processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int], float] | None = None  # ((inode, mtime), offset)

    def offset_seconds(self) -> float:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return 0.0
        # Every write replaces the file, so a new inode means a new offset.
        version = (stat.st_ino, stat.st_mtime_ns)
        if self._cached and self._cached[0] == version:
            return self._cached[1]
        try:
            offset = float(json.loads(self.path.read_text())["offset_seconds"])
        except (ValueError, KeyError, TypeError, OSError):
            offset = 0.0
        self._cached = (version, offset)
        return offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds())

    def advance(self, seconds: float) -> datetime:
        offset = self.offset_seconds() + seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".clock")
        with os.fdopen(fd, "w") as f:
            json.dump({"offset_seconds": offset}, f)
        os.replace(tmp, self.path)
        self._cached = None
        return self.now()
