"""Coupons redeemed through the booking webhook (`booking.coupon_code`).

A code is one member's, for one occasion, single use, until it expires. The booking is never refused for its
coupon: the event is applied and the answer says what became of the code (`coupon.status`):

- `redeemed`          this booking holds the code (also on a retry, or any later event of the same booking)
- `already_redeemed`  another booking used it
- `expired`           past its expiry
- `not_her_coupon`    issued to another member
- `unknown`           no such code in this chain
- `released`          the booking holding it was cancelled: the code may be used again (until it expires)

Redeeming is a conditional update inside the booking's own transaction, so a code is never held by two
bookings, and a booking that is refused (e.g. the stylist is taken) redeems nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.dal.bookings import CouponHandover
from chalicelib.dal.models import CouponItem


@dataclass(frozen=True)
class CouponChange:
    status: str
    handover: CouponHandover | None = (
        None  # the code changes hands with the booking's commit (dal/bookings.py)
    )


def coupon_change(
    coupon: CouponItem | None, member_id: str, booking_id: str, event_type: str, now: datetime
) -> CouponChange:
    if coupon is None:
        return CouponChange("unknown")
    mine = coupon.redeemed_booking_id == booking_id
    if event_type == "booking.cancelled":
        if not mine:
            return CouponChange("not_redeemed")
        return CouponChange("released", CouponHandover(coupon, booking_id, redeem=False, at=now))
    if mine:
        return CouponChange("redeemed")
    if coupon.member_id != member_id:
        return CouponChange("not_her_coupon")
    if coupon.redeemed_booking_id:
        return CouponChange("already_redeemed")
    if coupon.expires_at_time <= now:
        return CouponChange("expired")
    return CouponChange("redeemed", CouponHandover(coupon, booking_id, redeem=True, at=now))
