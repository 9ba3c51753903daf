"""What owners and managers set for issue 17's features: a store's review links, manager phone and hand-off limit
(and issue 15's `channel_routing` override), and a chain's feedback settings and `channel_routing`.

    store        GET   /v1/stores/{store}/settings   settings.read        (store_manager of the store, chain_admin)
    patch_store  PATCH /v1/stores/{store}/settings   settings.write
    chain        GET   /v1/chains/{chain}/settings   chain_settings.read  (chain_admin)
    patch_chain  PATCH /v1/chains/{chain}/settings   chain_settings.write

Who may is decided before the body is read (services/auth.py: 404 for a store or chain the token cannot see, 421
for a store served in another region, 403 for a role that may not); the body is then validated
(contracts/settings_patch.py: 400 naming the field) and written by one conditional UpdateItem of the existing
item (dal/settings_items.py; 404 when it is gone). A PATCH answers like a GET by a writer. The manager phone is
staff's personal data: a GET shows it only to a role that may write it. Readers of these values -- the review
request (services/feedback.py), the hand-off and its alarm (conversations/hand_offs.py) -- see a change at once in
this container (its store directories are told) and within their directory's minute in others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.contracts.settings_patch import ChainSettingsPatch, StoreSettingsPatch
from chalicelib.contracts.validation import parse
from chalicelib.conversations.hand_offs import settings as hand_off_settings
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.dal.settings_items import SettingsRepository, review_links_of
from chalicelib.errors import Forbidden, NotFound
from chalicelib.ids import is_id
from chalicelib.services import channel_router
from chalicelib.services.auth import Staff, authorize_store
from chalicelib.services.feedback import NO_ANSWER_CHOICES, settings_of

STORE_READ, STORE_WRITE = "settings.read", "settings.write"
CHAIN_READ, CHAIN_WRITE = "chain_settings.read", "chain_settings.write"


class StoreSettings:
    def __init__(self, repo: SettingsRepository, directories: Sequence[Any]) -> None:
        """`directories`: the StoreDirectory that authorizes (first) and every other one of this container, each
        told of a write so that its readers here see it at once."""
        self._repo = repo
        self._stores = directories[0]
        self._directories = tuple(directories)

    # --- a store's ---------------------------------------------------------------------------------------------
    def store(self, staff: Staff, store_id: str) -> dict[str, Any]:
        authorize_store(staff, self._stores, store_id, STORE_READ)
        store = self._repo.store(store_id)
        if store is None or store.chain_id != staff.chain_id:
            raise NotFound("no such store")
        return store_view(store, show_phone=staff.may(STORE_WRITE))

    def patch_store(self, staff: Staff, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        authorize_store(staff, self._stores, store_id, STORE_WRITE)
        patch = parse(StoreSettingsPatch, body, "the store's settings are not valid")
        store = self._repo.set_store(staff.chain_id, store_id, patch)
        if store is None:
            raise NotFound("no such store")
        for directory in self._directories:
            directory.remember(store)
        return store_view(store, show_phone=True)

    # --- the chain's -------------------------------------------------------------------------------------------
    def chain(self, staff: Staff, chain_id: str) -> dict[str, Any]:
        _authorize_chain(staff, chain_id, CHAIN_READ)
        chain = self._repo.chain(chain_id)
        if chain is None:
            raise NotFound("no such chain")
        return chain_view(chain)

    def patch_chain(self, staff: Staff, chain_id: str, body: dict[str, Any]) -> dict[str, Any]:
        _authorize_chain(staff, chain_id, CHAIN_WRITE)
        patch = parse(ChainSettingsPatch, body, "the chain's settings are not valid")
        chain = self._repo.set_chain(chain_id, patch)
        if chain is None:
            raise NotFound("no such chain")
        for directory in self._directories:
            directory.forget_chain(chain_id)
        return chain_view(chain)


def _authorize_chain(staff: Staff, chain_id: str, action: str) -> None:
    """Another chain is as unknown as one that does not exist (404); a role that may not: 403."""
    if not is_id(chain_id) or chain_id != staff.chain_id:
        raise NotFound("no such chain")
    if not staff.may(action):
        raise Forbidden(f"a {staff.role} may not do {action}", action)


def store_view(store: StoreItem, *, show_phone: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "store_id": store.store_id,
        "chain_id": store.chain_id,
        "review_links": review_links_of(store),
        "handoff_limit_minutes": int(store.handoff_limit_minutes) if store.handoff_limit_minutes else None,
        "channel_routing": store.channel_routing or None,
        "defaults": {
            "handoff_limit_minutes": int(hand_off_settings()["alarm"]["default_limit_minutes"]),
            "channel_routing": default_routing(),
        },
    }
    if show_phone:
        view["manager_phone"] = store.manager_phone or None
    return view


def default_routing() -> dict[str, Any]:
    """What routes a message with no override (channels/routing.toml), for the console to start an override from."""
    defaults = channel_router.settings_for(None, None)
    return {"order": list(defaults.order), "prefer_member_choice": defaults.prefer_member_choice}


def chain_view(chain: ChainItem) -> dict[str, Any]:
    """The chain's settings as set (null: the default); a stored feedback value the service would not use is null."""
    stored = chain.feedback_settings if isinstance(chain.feedback_settings, dict) else {}
    no_answer = stored.get("no_answer")
    coupon = stored.get("thank_you_coupon")
    return {
        "chain_id": chain.chain_id,
        "channel_routing": chain.channel_routing or None,
        "feedback_settings": {
            "no_answer": no_answer if no_answer in NO_ANSWER_CHOICES else None,
            "thank_you_coupon": (
                {"offer": str(coupon.get("offer") or ""), "valid_days": int(coupon.get("valid_days") or 30)}
                if isinstance(coupon, dict)
                else None
            ),
        },
        "defaults": {
            "feedback_settings": {"no_answer": settings_of(None)["no_answer"]},
            "channel_routing": default_routing(),
        },
    }
