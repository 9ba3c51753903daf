"""moto's server (`moto_server`), answering one request at a time, with TransactWriteItems that copy no tables.

moto rolls a failed TransactWriteItems back by restoring a copy of the whole table taken when the
transaction started, which silently discards every write other requests made meanwhile (and copying a
table while another thread writes to it fails with a 500). DynamoDB does neither: a transaction is atomic
and isolated. Serializing requests gives the local stack DynamoDB's behaviour; without it, concurrent
duplicate webhooks "un-write" each other's event records and the soak (`make chaos`) sees duplicates that
real DynamoDB cannot produce.

The copy itself costs time and memory growing with the table (gigabytes after a few thousand bookings). With
requests serialized, a transaction can check every condition first and cancel before writing anything, so
there is nothing to roll back and no copy is needed.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto import server
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialized(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    with _one_at_a_time:
        # The body is rendered inside the call, so the whole request runs under the lock.
        return list(_dispatch(self, environ, start_response))


DomainDispatcherApplication.__call__ = _serialized  # type: ignore[method-assign]

_transact = dynamodb_models.DynamoDBBackend.transact_write_items


class _TablesUncopied:
    """`copy` for moto's dynamodb module during a transaction that cannot fail: tables are not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _checked_transaction(self: Any, transact_items: list[dict[str, Any]]) -> None:
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}
            else:
                key = op["Key"]
            current = self.get_item(op["TableName"], key)
        except Exception:  # noqa: BLE001 - malformed: let moto answer it its own (copying) way
            return _transact(self, transact_items)
        expression = op.get("ConditionExpression")
        if expression and not dynamodb_models.get_filter_expression(
            expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            old = (
                current.to_json()["Attributes"]
                if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                else None
            )
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
        else:
            errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    dynamodb_models.copy = _TablesUncopied  # type: ignore[assignment]
    try:
        return _transact(self, transact_items)
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _checked_transaction  # type: ignore[method-assign]

if __name__ == "__main__":
    server.main()
