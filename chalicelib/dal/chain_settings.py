"""A chain's settings written by an operator (ops/second_opinion.py): one UpdateItem of the chain item."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import ChainItem


def set_second_opinion(dynamodb_client: Any, table: str, chain_id: str, value: dict[str, Any] | None) -> bool:
    """Write (or with None, remove) the chain's `second_opinion` (JSON, as ChainItem stores it). False when there
    is no such chain in this table."""
    pk, sk = ChainItem.key(chain_id)
    update: dict[str, Any] = {
        "TableName": table,
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "ConditionExpression": "attribute_exists(pk)",
    }
    if value is None:
        update["UpdateExpression"] = "REMOVE second_opinion"
    else:
        update["UpdateExpression"] = "SET second_opinion = :v"
        update["ExpressionAttributeValues"] = {":v": {"S": json.dumps(value, sort_keys=True)}}
    try:
        dynamodb_client.update_item(**update)
    except Exception as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True
