"""What the channel router reads of a member at send time (issue 15 §1): her profile and her conversation with
the store, in one BatchGetItem, eventually consistent (0.5 RRU each, one round trip). A preference or a follow
written a second before may be missed by one message; a WeChat window it misses only costs a fallback."""

from __future__ import annotations

from typing import Any

from chalicelib.dal.models import ConversationItem, MemberItem
from chalicelib.errors import ConcurrentUpdate


class RouteInputs:
    def __init__(self, ddb_client: Any, table: str) -> None:
        self._ddb = ddb_client
        self._table = table

    def __call__(
        self, chain_id: str, store_id: str, member_id: str
    ) -> tuple[MemberItem | None, ConversationItem | None]:
        member_key = MemberItem.key(chain_id, member_id)
        conversation_key = ConversationItem.key(store_id, member_id)
        keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in (member_key, conversation_key)]
        request: dict[str, Any] = {self._table: {"Keys": keys}}
        found: dict[str, dict] = {}
        for _ in range(5):
            got = self._ddb.batch_get_item(RequestItems=request)
            for item in got.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = item
            request = got.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise ConcurrentUpdate()  # throttled throughout: the step is retried
        member = found.get(member_key[0])
        conversation = found.get(conversation_key[0])
        return (
            MemberItem.from_raw_data(member) if member else None,
            ConversationItem.from_raw_data(conversation) if conversation else None,
        )
