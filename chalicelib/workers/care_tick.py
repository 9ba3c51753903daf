"""One SQS record of the care-ticks queue: a store's daily tick (fired by its EventBridge Scheduler schedule)."""

from __future__ import annotations

from typing import Any

from chalicelib.care.always_on import CareTick, CareTickMessage
from chalicelib.errors import ValidationFailed
from chalicelib.observability import logger


class CareTickWorker:
    """One SQS record of the care-ticks queue -> one tick. Raising lets SQS deliver it again (then the DLQ)."""

    def __init__(self, tick: CareTick) -> None:
        self._tick = tick

    def handle_record(self, record: Any) -> str:
        try:
            tick = CareTickMessage.from_json(record.body)
        except ValidationFailed as exc:
            logger.error("malformed care tick dropped", extra={"reason": exc.message})
            return "malformed"
        found = self._tick.run(tick)
        return f"queued {sum(n for kind, n in found.items() if kind != 'tags_refreshed')}"
