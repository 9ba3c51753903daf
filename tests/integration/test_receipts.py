"""Provider receipts move an outbound message's status forwards only (issue 15 §6), on mock_aws.

The first tests drive the message repository on its own table; the last ones the real journey (a confirmation
sent by SNS) and the staff API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.channels.receipts import ProviderReceipt
from chalicelib.clock import FixedClock
from chalicelib.cursors import CursorSigner
from chalicelib.dal.messages import Claim, MessageRepository
from chalicelib.dal.models import MessageItem, bind
from chalicelib.resources import ENV_MAIN_TABLE
from chalicelib.services.receipts import Receipts
from tests.conftest import REGION
from tests.support.builders import SH_STORE, booking_event

T0 = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


@pytest.fixture
def repo(provisioned: dict[str, str]) -> MessageRepository:
    bind(provisioned[ENV_MAIN_TABLE], REGION)
    return MessageRepository(CursorSigner(b"k" * 32))


@pytest.fixture
def receipts(repo: MessageRepository) -> Receipts:
    return Receipts(repo, FixedClock(T0))


def _queued(repo: MessageRepository, message_id: str = "re-1-answer") -> MessageItem:
    message = repo.reply_message(
        store_id="st-1",
        member_id="m-1",
        chain_id="c-1",
        kind="answer",
        text="您好，已为您预约 15:00。",
        message_id=message_id,
        sorts_at="2026-12-06T07:00:00.000000Z",
        sender=None,
        now=T0,
    )
    assert repo.claim(message, lease_until=2_000_000_000, wall_now=1_900_000_000) is Claim.CLAIMED
    return message


def _sent(repo: MessageRepository, provider_id: str = "sns-1", **kwargs) -> MessageItem:
    message = _queued(repo, **({"message_id": kwargs.pop("message_id")} if "message_id" in kwargs else {}))
    repo.finish(message, status="sent", at=T0, channel="sms", provider_message_id=provider_id, **kwargs)
    return message


def _status(message: MessageItem) -> MessageItem:
    return MessageItem.get(message.pk, message.sk, consistent_read=True)


def _receipt(status: str, minutes: int = 1, provider_id: str = "sns-1", code: str | None = None):
    return ProviderReceipt("sns", provider_id, status, T0 + timedelta(minutes=minutes), code)


def test_a_message_moves_sent_then_delivered_then_read(repo, receipts):
    message = _sent(repo)

    assert receipts.apply(_receipt("delivered", 1)) == "applied"
    assert receipts.apply(_receipt("read", 5)) == "applied"

    stored = _status(message)
    assert stored.status == "read"
    assert stored.delivered_at == T0 + timedelta(minutes=1)
    assert stored.read_at == T0 + timedelta(minutes=5)


def test_the_send_of_today_is_found_by_the_channels_provider(repo, receipts):
    message = _sent(repo)

    assert _status(message).provider == "sns"  # SnsSms.provider: delivery names no provider yet
    assert receipts.apply(ProviderReceipt("sms", "sns-1", "delivered", T0)) == "unknown_message"
    assert receipts.apply(_receipt("delivered")) == "applied"


def test_the_provider_and_route_reason_a_caller_names_are_recorded(repo):
    message = _sent(repo, provider="alibaba_sms", route_reason="sms_country")

    stored = _status(message)
    assert (stored.provider, stored.route_reason) == ("alibaba_sms", "sms_country")


def test_a_duplicate_receipt_is_a_no_op(repo, receipts):
    message = _sent(repo)
    assert receipts.apply(_receipt("delivered", 1)) == "applied"

    assert receipts.apply(_receipt("delivered", 2)) == "duplicate"

    assert _status(message).delivered_at == T0 + timedelta(minutes=1)


def test_an_out_of_order_receipt_never_moves_a_status_back(repo, receipts):
    message = _sent(repo)
    assert receipts.apply(_receipt("read", 5)) == "applied"

    assert receipts.apply(_receipt("delivered", 1)) == "not_advanced"

    stored = _status(message)
    assert stored.status == "read"
    assert stored.delivered_at == T0 + timedelta(minutes=5)  # reading it says it arrived


def test_failed_after_delivered_is_ignored(repo, receipts):
    message = _sent(repo)
    receipts.apply(_receipt("delivered", 1))

    assert receipts.apply(_receipt("failed", 2, code="30006")) == "not_advanced"

    stored = _status(message)
    assert stored.status == "delivered" and stored.error is None


def test_a_failure_receipt_keeps_the_providers_code_and_a_late_delivery_still_wins(repo, receipts):
    message = _sent(repo)

    assert receipts.apply(_receipt("failed", 1, code="30006")) == "applied"
    assert _status(message).error == "sns: 30006"
    assert receipts.apply(_receipt("delivered", 9)) == "applied"
    assert _status(message).status == "delivered"


def test_a_receipt_for_no_known_message_is_a_clean_outcome(receipts):
    assert receipts.apply(_receipt("delivered", provider_id="never-sent")) == "unknown_message"


def test_a_receipt_that_comes_before_the_send_is_recorded_is_applied_when_it_is(repo, receipts):
    message = _queued(repo)

    assert receipts.apply(_receipt("delivered", 1)) == "unknown_message"  # held for the send's record
    repo.finish(message, status="sent", at=T0, channel="sms", provider_message_id="sns-1")

    stored = _status(message)
    assert stored.status == "delivered" and stored.delivered_at == T0 + timedelta(minutes=1)
    assert receipts.apply(_receipt("delivered", 1)) == "duplicate"


def test_a_receipt_for_an_erased_message_is_unknown(repo, receipts):
    message = _sent(repo)
    MessageItem(message.pk, message.sk).delete()

    assert receipts.apply(_receipt("delivered")) == "unknown_message"


def test_a_journey_sms_becomes_delivered_in_the_staff_api(harness):
    harness.post(booking_event(event_id="evt-r1"))
    harness.pump()
    [sent] = [m for m in MessageItem.query(MessageItem.pk_for(SH_STORE, "m-1")) if m.kind == "confirmation"]
    assert (sent.status, sent.provider) == ("sent", "sns")

    outcome = harness.container.receipts.apply(
        ProviderReceipt("sns", sent.provider_message_id, "delivered", T0, "DELIVERED")
    )

    assert outcome == "applied"
    [shown] = [m for m in harness.messages(SH_STORE, "m-1") if m["kind"] == "confirmation"]
    assert shown["status"] == "delivered"


def test_a_receipt_held_just_as_the_send_is_recorded_is_applied_by_the_receipt_side(repo):
    # Receipts.apply found no index; meanwhile finish linked the send: holding it answers the message.
    message = _sent(repo)

    found = repo.hold_receipt(_receipt("delivered"), T0)

    assert found == (message.pk, message.sk)
    assert repo.advance(*found, _receipt("delivered")).value == "applied"
    assert _status(message).status == "delivered"


class _Counted:
    """A chalicelib.metrics.Counter that remembers what it was told."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def count(self, name: str, n: int = 1) -> None:
        self.names += [name] * n


def test_each_move_counts_once_as_its_metric_and_a_repeat_counts_nothing(repo):
    counted = _Counted()
    receipts = Receipts(repo, FixedClock(T0), metrics=counted)
    _sent(repo)
    _sent(repo, provider_id="sns-2", message_id="re-2-answer")

    receipts.apply(_receipt("delivered", 1))
    receipts.apply(_receipt("delivered", 2))  # a duplicate
    receipts.apply(_receipt("read", 5))
    receipts.apply(_receipt("delivered", 6))  # out of order: not advanced
    receipts.apply(_receipt("failed", 1, provider_id="sns-2", code="30"))
    receipts.apply(_receipt("delivered", 1, provider_id="sns-unknown"))

    assert counted.names == ["MessagesDelivered", "MessagesRead", "MessagesFailed"]


def test_a_send_whose_provider_never_reports_writes_no_provider_index(repo, receipts):
    # SNS without delivery-status logs, WeChat customer-service text: nothing will ever name the send.
    message = _sent(repo, provider_id="sns-quiet", receipts=False)

    assert _status(message).status == "sent"
    assert repo.sent_message("sns", "sns-quiet") is None
    assert receipts.apply(_receipt("delivered", provider_id="sns-quiet")) == "unknown_message"


def test_a_journey_sms_is_indexed_only_while_sns_delivery_status_logs_are_on(harness):
    from chalicelib.channels.base import Contact, reports_receipts
    from chalicelib.channels.sms import SnsSms

    on, off = SnsSms(object()), SnsSms(object(), receipts=False)
    assert reports_receipts(on, Contact(phone="+6591234567"))
    assert not reports_receipts(off, Contact(phone="+6591234567"))
    # the harness's stage says the logs are on (CHAIRSIDE_SNS_SMS_RECEIPTS=1): its SNS channel reports
    assert reports_receipts(harness.container.channels.base["sms"], Contact(phone="+6591234567"))


def test_sns_receipts_are_off_until_the_stage_says_its_delivery_status_logs_are_on(provisioned):
    from chalicelib import settings
    from chalicelib.settings import ENV_SNS_SMS_RECEIPTS

    env = {k: v for k, v in provisioned.items() if k != ENV_SNS_SMS_RECEIPTS}
    env["CHAIRSIDE_JWT_SECRET"] = "test-jwt-secret-of-at-least-32-bytes!"
    assert settings.from_env(env).sns_sms_receipts is False
    assert settings.from_env({**env, ENV_SNS_SMS_RECEIPTS: "1"}).sns_sms_receipts is True
