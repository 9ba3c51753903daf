"""Conditional writes, said once: how a lost condition is recognised, and put-if-absent.

Every conditional write in the data layer ends in one of three errors: a PynamoDB `PutError` / `UpdateError` /
`DeleteError` wrapping botocore's `ConditionalCheckFailedException`, that `ClientError` itself (a raw
`put_item` / `update_item`, or boto3's modelled `client.exceptions.ConditionalCheckFailedException`, a
subclass), or a cancelled `TransactWriteItems` whose per-item reasons say which condition failed.
`is_conditional_failure` reads all three; `put_new` is the one put-if-absent (a duplicate is not an error).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.dal.models import _Item  # the main table's model: every item has `pk` and `sk`

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
ITEM_CONDITION_FAILED = "ConditionalCheckFailed"  # a cancelled transaction's reason for one of its items
NEW_ITEM = "attribute_not_exists(pk)"  # the raw ConditionExpression of put-if-absent (transactions)


def _client_error(exc: BaseException) -> ClientError | None:
    if isinstance(exc, ClientError):
        return exc
    cause = getattr(exc, "cause", None) or exc.__cause__
    return cause if isinstance(cause, ClientError) else None


def error_code(exc: BaseException) -> str | None:
    """The DynamoDB error code behind `exc` (raw or wrapped by PynamoDB); None when it is not a service error."""
    code = getattr(exc, "cause_response_code", None)
    if code is None:
        error = _client_error(exc)
        code = error.response.get("Error", {}).get("Code") if error is not None else None
    return code


def cancellation_reasons(exc: BaseException) -> list[dict[str, Any]]:
    """A cancelled transaction's reasons, one per item in order (empty for any other error)."""
    error = _client_error(exc)
    if error is None or error_code(exc) != TRANSACTION_CANCELED:
        return []
    return list(error.response.get("CancellationReasons") or [])


def failed_items(exc: BaseException) -> set[int]:
    """Positions of the items of a cancelled transaction whose condition did not hold."""
    return {
        i for i, reason in enumerate(cancellation_reasons(exc)) if reason.get("Code") == ITEM_CONDITION_FAILED
    }


def is_conditional_failure(exc: BaseException, *, item: int | None = None) -> bool:
    """Whether `exc` says a condition did not hold (a concurrent or earlier write won), as opposed to a failure.
    For a cancelled transaction: whether any item's condition failed, or with `item` whether that one did."""
    code = error_code(exc)
    if code == CONDITION_FAILED:
        return True
    if code == TRANSACTION_CANCELED:
        failed = failed_items(exc)
        return bool(failed) if item is None else item in failed
    return False


def update_if(item: Model, actions: list[Any], condition: Condition) -> bool:
    """Update `item` with `actions` only when `condition` holds: True when written, False when the condition
    failed (an earlier or concurrent write decided otherwise). One UpdateItem either way."""
    try:
        item.update(actions=actions, condition=condition)
    except Exception as exc:  # UpdateError wraps the ClientError
        if is_conditional_failure(exc):
            return False
        raise
    return True


def put_new(item: _Item, or_if: Condition | None = None) -> bool:
    """Put `item` only when its key holds no item yet (or, with `or_if`, when the one there meets it, e.g. an
    expired claim): True when written, False when an item was already there. One PutItem either way."""
    condition = type(item).pk.does_not_exist()
    if or_if is not None:
        condition = condition | or_if
    try:
        item.save(condition=condition)
    except Exception as exc:  # PutError wraps the ClientError
        if is_conditional_failure(exc):
            return False
        raise
    return True


def put_new_entry(table: str, item: Model) -> dict[str, Any]:
    """The TransactWriteItems `Put` of `item`, only when its key holds no item yet."""
    return {"TableName": table, "Item": item.serialize(), "ConditionExpression": NEW_ITEM}
