"""The data layer's one way of telling a lost condition, and the calendar's key (the wire format is unchanged)."""

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.dal.conditions import failed_items, is_conditional_failure
from chalicelib.dal.models import StylistDayItem


def _client_error(code: str, **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, **extra}, "Op")


def test_a_lost_condition_is_recognised_raw_and_wrapped_by_pynamodb():
    raw = _client_error("ConditionalCheckFailedException")
    assert is_conditional_failure(raw)
    assert is_conditional_failure(PutError("put", raw))
    assert is_conditional_failure(UpdateError("update", raw))


def test_other_failures_are_not_lost_conditions():
    assert not is_conditional_failure(_client_error("ProvisionedThroughputExceededException"))
    assert not is_conditional_failure(PutError("put", _client_error("ValidationException")))
    assert not is_conditional_failure(ValueError("no"))


def test_a_cancelled_transaction_says_which_item_failed_its_condition():
    exc = _client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
    )
    assert failed_items(exc) == {1}
    assert is_conditional_failure(exc) and is_conditional_failure(exc, item=1)
    assert not is_conditional_failure(exc, item=0)
    conflict = _client_error(
        "TransactionCanceledException", CancellationReasons=[{"Code": "TransactionConflict"}]
    )
    assert not is_conditional_failure(conflict)


def test_the_stylist_calendar_keeps_its_keys_and_bucket_attributes():
    assert StylistDayItem.key("demo-chain", "sh-xiaowang", "2026-11-25") == (
        "STYLIST#demo-chain#sh-xiaowang",
        "DAY#2026-11-25",
    )
    key = StylistDayItem.wire_key("demo-chain", "sh-xiaowang", "2026-11-25")
    assert key == {"pk": {"S": "STYLIST#demo-chain#sh-xiaowang"}, "sk": {"S": "DAY#2026-11-25"}}
    assert StylistDayItem.of_key(key) == ("sh-xiaowang", "2026-11-25")
    assert StylistDayItem.bucket("0700") == "s0700"
    assert StylistDayItem.holder({"s0700": {"S": "bk-1"}}, "0700") == "bk-1"
    assert StylistDayItem.holder({}, "0705") is None
