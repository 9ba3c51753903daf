"""Staff alerts, once per member message: a claim item with a lease (key lookups only).

`claim` is put-if-absent, or over a `sending` claim whose lease ran out (the worker that held it died); `sent`
marks it done; `release` gives it back when the text failed, so the next delivery of the record tries again.
"""

from __future__ import annotations

from chalicelib.dal.conditions import is_conditional_failure, put_new
from chalicelib.dal.models import StaffAlertItem

KEEP_SECONDS = 30 * 86400


class StaffAlertClaims:
    def claim(self, chain_id: str, message_id: str, lease_until: int, now: int) -> bool:
        item = StaffAlertItem(
            *StaffAlertItem.key(chain_id, message_id),
            status="sending",
            lease_until=lease_until,
            expires_at=now + KEEP_SECONDS,
        )
        return put_new(item, or_if=(StaffAlertItem.status == "sending") & (StaffAlertItem.lease_until < now))

    def sent(self, chain_id: str, message_id: str) -> None:
        StaffAlertItem(*StaffAlertItem.key(chain_id, message_id)).update(
            actions=[StaffAlertItem.status.set("sent")]
        )

    def release(self, chain_id: str, message_id: str) -> None:
        try:
            StaffAlertItem(*StaffAlertItem.key(chain_id, message_id)).delete(
                condition=StaffAlertItem.status == "sending"
            )
        except Exception as exc:  # DeleteError wraps the ClientError
            if not is_conditional_failure(exc):
                raise
