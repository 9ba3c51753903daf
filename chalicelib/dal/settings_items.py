"""What owners and managers set for issue 17's features, on the store and chain items (services/store_settings.py).

Store item (`STORE#<store>` / `STORE`): `review_links` (JSON, services/feedback.py `review_link` reads it),
`manager_phone` (E.164), `handoff_limit_minutes` (a number; conversations/hand_offs.py `limit_minutes`),
`channel_routing` (JSON; services/channel_router.py `settings_for` reads it over the chain's).
Chain item (`CHAIN#<chain>` / `CHAIN`): `feedback_settings` (JSON: `no_answer`, `thank_you_coupon`),
`channel_routing` (JSON; under every store's own).

Every write is a conditional UpdateItem of an item that exists (it never creates one): the store's names
only the attributes the PATCH gives (SET, or REMOVE for null), on the condition that the item exists in the
caller's chain; the chain's replaces `feedback_settings` with the stored value merged with the PATCH, on the
condition that the stored text is still the one read (a lost race re-reads and merges again), and sets or removes
its `channel_routing` (replaced whole, one more UpdateItem) on the condition that the chain exists. A PATCH whose
`feedback_settings` change nothing writes nothing for them; `channel_routing` and the store's fields are re-set
to the same values: the same PATCH twice leaves the same item.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.contracts.settings_patch import ChainSettingsPatch, StoreSettingsPatch
from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import ChainItem, StoreItem
from chalicelib.errors import ConcurrentUpdate

MAX_ATTEMPTS = 10  # chain writers racing on feedback_settings: each lost race means another one committed
FEEDBACK = "feedback_settings"


class SettingsRepository:
    def __init__(self, dynamodb_client: Any, table: str) -> None:
        """The raw client reads and conditions on the chain's `feedback_settings` text as stored."""
        self._ddb = dynamodb_client
        self._table = table

    # --- the store -----------------------------------------------------------------------------------------
    def store(self, store_id: str) -> StoreItem | None:
        """One consistent GetItem `STORE#<store>` / `STORE`."""
        try:
            return StoreItem.get(*StoreItem.key(store_id), consistent_read=True)
        except StoreItem.DoesNotExist:
            return None

    def set_store(self, chain_id: str, store_id: str, patch: StoreSettingsPatch) -> StoreItem | None:
        """The store as stored after the PATCH; None when there is no such store in `chain_id` (nothing written)."""
        values = store_values(patch)
        if not values:
            store = self.store(store_id)
            return store if store is not None and store.chain_id == chain_id else None
        actions = [
            getattr(StoreItem, name).set(value) if value is not None else getattr(StoreItem, name).remove()
            for name, value in values.items()
        ]
        item = StoreItem(*StoreItem.key(store_id))
        try:
            item.update(actions=actions, condition=StoreItem.pk.exists() & (StoreItem.chain_id == chain_id))
        except Exception as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return item

    # --- the chain -----------------------------------------------------------------------------------------
    def chain(self, chain_id: str) -> ChainItem | None:
        """One consistent GetItem `CHAIN#<chain>` / `CHAIN`."""
        try:
            return ChainItem.get(*ChainItem.key(chain_id), consistent_read=True)
        except ChainItem.DoesNotExist:
            return None

    def set_chain(self, chain_id: str, patch: ChainSettingsPatch) -> ChainItem | None:
        """The chain as stored after the PATCH; None when there is no such chain (nothing written)."""
        if "feedback_settings" in patch.given and self._set_feedback(chain_id, patch) is None:
            return None
        if "channel_routing" in patch.given and not self._set_routing(chain_id, patch):
            return None
        return self.chain(chain_id)

    def _set_routing(self, chain_id: str, patch: ChainSettingsPatch) -> bool:
        routing = patch.channel_routing.model_dump(exclude_none=True) if patch.channel_routing else {}
        action = ChainItem.channel_routing.set(routing) if routing else ChainItem.channel_routing.remove()
        try:
            ChainItem(*ChainItem.key(chain_id)).update(actions=[action], condition=ChainItem.pk.exists())
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def _set_feedback(self, chain_id: str, patch: ChainSettingsPatch) -> dict[str, Any] | None:
        """The chain's feedback settings as stored after the PATCH ({} for none); None when there is no such chain."""
        for _ in range(MAX_ATTEMPTS):
            found, stored_text = self._feedback_text(chain_id)
            if not found:
                return None
            stored = _json_object(stored_text)
            wanted = merged_feedback(stored, patch)
            if wanted == stored:
                return stored
            if self._replace_feedback(chain_id, stored_text, wanted):
                return wanted
        raise ConcurrentUpdate(f"chain {chain_id}: its feedback settings kept changing")

    def _key(self, chain_id: str) -> dict[str, dict[str, str]]:
        pk, sk = ChainItem.key(chain_id)
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def _feedback_text(self, chain_id: str) -> tuple[bool, str | None]:
        """(the chain exists, its stored `feedback_settings` text or None): one consistent GetItem."""
        got = self._ddb.get_item(
            TableName=self._table,
            Key=self._key(chain_id),
            ConsistentRead=True,
            ProjectionExpression="pk, #f",
            ExpressionAttributeNames={"#f": FEEDBACK},
        )
        item = got.get("Item")
        if item is None:
            return False, None
        return True, item.get(FEEDBACK, {}).get("S")

    def _replace_feedback(self, chain_id: str, stored_text: str | None, wanted: dict[str, Any]) -> bool:
        """One UpdateItem, on the condition that the chain exists and still holds `stored_text`."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(chain_id),
            "ExpressionAttributeNames": {"#f": FEEDBACK},
        }
        values: dict[str, Any] = {}
        if stored_text is None:
            update["ConditionExpression"] = "attribute_exists(pk) AND attribute_not_exists(#f)"
        else:
            update["ConditionExpression"] = "attribute_exists(pk) AND #f = :old"
            values[":old"] = {"S": stored_text}
        if wanted:
            update["UpdateExpression"] = "SET #f = :new"
            values[":new"] = {"S": json.dumps(wanted, ensure_ascii=False, sort_keys=True)}
        else:
            update["UpdateExpression"] = "REMOVE #f"
        if values:
            update["ExpressionAttributeValues"] = values
        try:
            self._ddb.update_item(**update)
        except Exception as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True


def store_values(patch: StoreSettingsPatch) -> dict[str, Any]:
    """The store item's attributes the PATCH names, in their stored form (None: remove the attribute)."""
    values: dict[str, Any] = {}
    if "review_links" in patch.given:
        links = [
            {"label": link.label, "url": link.url} | ({"locales": list(link.locales)} if link.locales else {})
            for link in patch.review_links or []
        ]
        values["review_links"] = links or None
    if "manager_phone" in patch.given:
        values["manager_phone"] = patch.manager_phone
    if "handoff_limit_minutes" in patch.given:
        values["handoff_limit_minutes"] = patch.handoff_limit_minutes
    if "channel_routing" in patch.given:
        routing = patch.channel_routing.model_dump(exclude_none=True) if patch.channel_routing else {}
        values["channel_routing"] = routing or None
    return values


def merged_feedback(stored: dict[str, Any], patch: ChainSettingsPatch) -> dict[str, Any]:
    """The chain's feedback settings with the PATCH's keys over them (a key given as null is removed)."""
    if FEEDBACK not in patch.given:
        return stored
    change = patch.feedback_settings
    if change is None:
        return {}
    merged = dict(stored)
    if "no_answer" in change.given:
        merged["no_answer"] = change.no_answer
    if "thank_you_coupon" in change.given:
        coupon = change.thank_you_coupon
        merged["thank_you_coupon"] = (
            {"offer": coupon.offer, "valid_days": coupon.valid_days} if coupon is not None else None
        )
    return {key: value for key, value in merged.items() if value is not None}


def review_links_of(store: StoreItem) -> list[dict[str, Any]]:
    """The store's review links in the shape a PATCH takes (a link stored as one map, or missing parts, too)."""
    links = store.review_links or []
    if isinstance(links, dict):
        links = [links]
    return [
        {
            "label": str(link.get("label") or ""),
            "url": str(link["url"]),
            "locales": [str(locale) for locale in link.get("locales") or []],
        }
        for link in links
        if isinstance(link, dict) and link.get("url")
    ]


def _json_object(text: str | None) -> dict[str, Any]:
    value = json.loads(text, strict=False) if text else None
    return dict(value) if isinstance(value, dict) else {}
