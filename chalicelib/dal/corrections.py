"""Staff corrections of what a member's message meant (issue 16 §4): one item per corrected message, per chain.

    pk = CORRECTION#<chain_id>, sk = MEMBER#<member_id>#<store_id>#<message_id>
    {chain_id, store_id, member_id, message_id, message_pk, message_sk, text (phones and emails masked),
     intent, sentiment, category, locale, original_intent, original_sentiment, original_confidence,
     corrected_by, corrected_role, corrected_at, first_corrected_at}

One partition per chain, so a chain's export is one Query (`ops.labels export`); the member leads the sort key,
so her corrections are one Query too (erasure). The same message corrected again replaces the item's intent and
sentiment (the original understanding is kept from the first correction); the same correction twice changes
nothing (a condition on the item). The message's shown intent changes in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.dal.conditions import ITEM_CONDITION_FAILED, TRANSACTION_CANCELED, error_code
from chalicelib.dal.models import MessageItem

PREFIX = "CORRECTION#"


@dataclass(frozen=True)
class Correction:
    chain_id: str
    store_id: str
    member_id: str
    message_id: str
    message_pk: str
    message_sk: str
    text: str  # masked of phone numbers and emails
    intent: str
    sentiment: str
    category: str | None
    locale: str | None
    original_intent: str
    original_sentiment: str
    original_confidence: float | None
    corrected_by: str
    corrected_role: str
    corrected_at: datetime

    def eval_row(self) -> dict[str, Any]:
        """The correction in the eval format (eval/messages.jsonl): text, intent, sentiment, category, locale."""
        return {
            "text": self.text,
            "intent": self.intent,
            "sentiment": self.sentiment,
            "category": self.category,
            "locale": self.locale,
        }


def correction_key(
    chain_id: str, member_id: str, store_id: str, message_id: str
) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": f"{PREFIX}{chain_id}"},
        "sk": {"S": f"MEMBER#{member_id}#{store_id}#{message_id}"},
    }


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return value if isinstance(value, str) else None


def parse_correction(item: dict[str, Any]) -> Correction:
    confidence = item.get("original_confidence", {}).get("N")
    return Correction(
        chain_id=_text(item, "chain_id") or "",
        store_id=_text(item, "store_id") or "",
        member_id=_text(item, "member_id") or "",
        message_id=_text(item, "message_id") or "",
        message_pk=_text(item, "message_pk") or "",
        message_sk=_text(item, "message_sk") or "",
        text=_text(item, "text") or "",
        intent=_text(item, "intent") or "other",
        sentiment=_text(item, "sentiment") or "neutral",
        category=_text(item, "category"),
        locale=_text(item, "locale"),
        original_intent=_text(item, "original_intent") or "other",
        original_sentiment=_text(item, "original_sentiment") or "neutral",
        original_confidence=float(confidence) if confidence is not None else None,
        corrected_by=_text(item, "corrected_by") or "",
        corrected_role=_text(item, "corrected_role") or "",
        corrected_at=datetime.fromisoformat(_text(item, "corrected_at") or "1970-01-01T00:00:00+00:00"),
    )


class CorrectionRepository:
    """A low-level DynamoDB client and the main table's name (the transaction is written by hand)."""

    def __init__(self, dynamodb_client: Any, table: str) -> None:
        self._ddb = dynamodb_client
        self._table = table

    def inbound_message(self, store_id: str, member_id: str, message_id: str) -> MessageItem | None:
        """A member's inbound message by its id: a Query of her conversation, newest first, filtered on the id
        (the id does not carry the time of the sort key); stops at the first match."""
        for message in MessageItem.query(
            MessageItem.pk_for(store_id, member_id),
            MessageItem.sk.startswith("MSG#"),
            filter_condition=(MessageItem.message_id == message_id) & (MessageItem.direction == "in"),
            scan_index_forward=False,
            consistent_read=True,
        ):
            return message
        return None

    def record(self, correction: Correction) -> bool:
        """Store the correction and show it on the message, in one transaction. False when the same correction
        was already stored (nothing written)."""
        at = correction.corrected_at.isoformat()
        values: dict[str, dict[str, Any]] = {
            ":chain": {"S": correction.chain_id},
            ":store": {"S": correction.store_id},
            ":member": {"S": correction.member_id},
            ":message": {"S": correction.message_id},
            ":mpk": {"S": correction.message_pk},
            ":msk": {"S": correction.message_sk},
            ":text": {"S": correction.text},
            ":intent": {"S": correction.intent},
            ":sentiment": {"S": correction.sentiment},
            ":oi": {"S": correction.original_intent},
            ":os": {"S": correction.original_sentiment},
            ":by": {"S": correction.corrected_by},
            ":role": {"S": correction.corrected_role},
            ":at": {"S": at},
        }
        sets = [
            "chain_id = :chain",
            "store_id = :store",
            "member_id = :member",
            "message_id = :message",
            "message_pk = :mpk",
            "message_sk = :msk",
            "#text = :text",
            "intent = :intent",
            "sentiment = :sentiment",
            "original_intent = if_not_exists(original_intent, :oi)",
            "original_sentiment = if_not_exists(original_sentiment, :os)",
            "corrected_by = :by",
            "corrected_role = :role",
            "corrected_at = :at",
            "first_corrected_at = if_not_exists(first_corrected_at, :at)",
        ]
        for name, value in (("category", correction.category), ("locale", correction.locale)):
            if value:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": value}
        if correction.original_confidence is not None:
            sets.append("original_confidence = if_not_exists(original_confidence, :oc)")
            values[":oc"] = {"N": repr(float(correction.original_confidence))}
        message_key = {"pk": {"S": correction.message_pk}, "sk": {"S": correction.message_sk}}
        try:
            self._ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": correction_key(
                                correction.chain_id,
                                correction.member_id,
                                correction.store_id,
                                correction.message_id,
                            ),
                            "UpdateExpression": "SET " + ", ".join(sets),
                            "ConditionExpression": "attribute_not_exists(pk) OR intent <> :intent "
                            "OR sentiment <> :sentiment",
                            "ExpressionAttributeNames": {"#text": "text"},
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": message_key,
                            "UpdateExpression": "SET intent = :intent, sentiment = :sentiment, "
                            "intent_corrected_by = :by, intent_corrected_at = :at",
                            "ConditionExpression": "attribute_exists(pk) AND direction = :in",
                            "ExpressionAttributeValues": {
                                ":intent": {"S": correction.intent},
                                ":sentiment": {"S": correction.sentiment},
                                ":by": {"S": correction.corrected_by},
                                ":at": {
                                    "S": MessageItem.intent_corrected_at.serialize(correction.corrected_at)
                                },
                                ":in": {"S": "in"},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:  # only the correction's own condition means "already done"
            if error_code(exc) != TRANSACTION_CANCELED:
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == [ITEM_CONDITION_FAILED] and ITEM_CONDITION_FAILED not in reasons[1:]:
                return False
            raise
        return True

    def correction(self, chain_id: str, member_id: str, store_id: str, message_id: str) -> Correction | None:
        got = self._ddb.get_item(
            TableName=self._table,
            Key=correction_key(chain_id, member_id, store_id, message_id),
            ConsistentRead=True,
        )
        return parse_correction(got["Item"]) if "Item" in got else None

    def of_chain(self, chain_id: str) -> Iterator[Correction]:
        """Every correction of a chain: a Query of its partition, all pages."""
        return self._query(chain_id, None)

    def of_member(self, chain_id: str, member_id: str) -> Iterator[Correction]:
        """A member's corrections in a chain (erasure): a Query, sk begins_with MEMBER#<member_id>#."""
        return self._query(chain_id, f"MEMBER#{member_id}#")

    def delete(self, correction: Correction) -> None:
        self._ddb.delete_item(
            TableName=self._table,
            Key=correction_key(
                correction.chain_id, correction.member_id, correction.store_id, correction.message_id
            ),
        )

    def _query(self, chain_id: str, prefix: str | None) -> Iterator[Correction]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else ""),
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{PREFIX}{chain_id}"},
                **({":prefix": {"S": prefix}} if prefix else {}),
            },
        }
        while True:
            page = self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                yield parse_correction(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
