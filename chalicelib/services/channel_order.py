"""Which channels can reach a member, in the order to try them."""

from __future__ import annotations

DEFAULT_ORDER = ("sms", "email")


def channel_order(phone: str | None, email: str | None, preferred: str | None = None) -> list[str]:
    reachable = {"sms": bool(phone), "email": bool(email)}
    order = [preferred] if preferred in reachable else []
    order += [name for name in DEFAULT_ORDER if name not in order]
    return [name for name in order if reachable.get(name)]
