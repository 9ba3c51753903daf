"""A chain's mainland-SMS settings (ChainItem.sms_settings): one GetItem of CHAIN#<chain> / CHAIN."""

from __future__ import annotations

from typing import Any

from chalicelib.dal.bookings import chain_of


def chain_sms_settings(chain_id: str) -> dict[str, Any] | None:
    """The chain's SMS routes and provider templates, or None (no chain, or nothing set: the defaults)."""
    chain = chain_of(chain_id)
    settings = chain.sms_settings if chain is not None else None
    return dict(settings) if isinstance(settings, dict) else None
