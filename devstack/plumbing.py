"""Event plumbing moto does not do, run in a loop on a thread of the local stack (and by the integration
tests and the bench, tick by tick).

- devstack/scheduler.py: `ScheduleFirer` fires due EventBridge Scheduler schedules into their SQS targets.
- devstack/event_sources.py: `QueuePoller` feeds the worker queues to their Lambda handlers with
  real-shaped events.
- `Plumbing` (here) ticks them all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from chalicelib.clock import Clock
from devstack.event_sources import QueuePoller
from devstack.scheduler import ScheduleFirer

log = logging.getLogger(__name__)


class Plumbing:
    """Ticks every firer, then every poller (so a step fired now is consumed in the same tick)."""

    def __init__(
        self,
        firers: Iterable[ScheduleFirer],
        pollers: Iterable[QueuePoller],
        idle: Callable[[datetime], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.firers = list(firers)
        self.pollers = list(pollers)
        self.idle = idle  # told the domain time at the start of each tick that found nothing to do
        self.clock = clock

    def tick(self) -> int:
        done = 0
        parts: list[ScheduleFirer | QueuePoller] = [*self.firers, *self.pollers]
        for part in parts:
            try:
                done += part.tick()
            except Exception:
                log.exception("%r: tick failed", part)
        return done

    def run_forever(self, stop_event: threading.Event, interval: float = 0.2) -> None:
        """Tick until `stop_event` is set; wait `interval` seconds after a tick that found nothing."""
        while not stop_event.is_set():
            started = self.clock.now() if self.clock else None
            if not self.tick():
                if self.idle is not None and started is not None:
                    self.idle(started)
                stop_event.wait(interval)
