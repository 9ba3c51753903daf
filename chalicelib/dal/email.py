"""Email's items: suppressed addresses, and a member's one-click unsubscribe.

    pk = EMAILSUPPRESSED#<keyed hash of the lowercased address>, sk = SUPPRESSED:
        {reason: "bounce:Permanent" | "complaint", at, ses_message_id}

An address is suppressed, not a member: a hard bounce or a complaint is about the mailbox, whoever gave it (two
members of two chains may share one), and a member who gives a new address is reachable again at once. The address
itself is never stored (chalicelib/pii.py, like the contact lookups). Written by the SES events worker, read (GetItem)
by the email channel's `can_reach` before each email.

The unsubscribe writes the member profile's opt-out (`MemberItem.opted_out_at`, `marketing_consent`), the fields
"TD"/"退订" sets (dal/conversations.py `set_member_flags`), keeping the first opt-out's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.dal.conditions import is_conditional_failure
from chalicelib.dal.models import MemberItem

SUPPRESSED_PREFIX = "EMAILSUPPRESSED#"
SUPPRESSED_SORT_KEY = "SUPPRESSED"


def normal_address(address: str) -> str:
    """Mailbox names are case-insensitive in practice (and SES matches its suppression list so): one form."""
    return address.strip().lower()


class EmailSuppressions:
    def __init__(self, dynamodb: Any, table: str, hasher: Callable[[str], str]) -> None:
        self._ddb = dynamodb
        self._table = table
        self._hash = hasher

    def _key(self, address: str) -> dict[str, dict[str, str]]:
        return {
            "pk": {"S": SUPPRESSED_PREFIX + self._hash(normal_address(address))},
            "sk": {"S": SUPPRESSED_SORT_KEY},
        }

    def suppress(self, address: str, reason: str, at: datetime, ses_message_id: str) -> bool:
        """Suppress the address (the first reason and time are kept); True when this call suppressed it."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    **self._key(address),
                    "reason": {"S": reason},
                    "at": {"S": at.isoformat()},
                    "ses_message_id": {"S": ses_message_id},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def is_suppressed(self, address: str) -> bool:
        item = self._ddb.get_item(TableName=self._table, Key=self._key(address), ProjectionExpression="pk")
        return "Item" in item


@dataclass(frozen=True)
class OptedOut:
    store_id: str | None  # her primary store
    newly: bool  # her marketing consent was not withdrawn already (a repeated unsubscribe is not newly)


def opt_out_member(chain_id: str, member_id: str, at: datetime) -> OptedOut | None:
    """Record a member's opt-out (no marketing consent, `opted_out_at`, the first one's time kept). None when there
    is no such member (erased since the email went out): nothing is written then."""
    member = MemberItem(*MemberItem.key(chain_id, member_id))
    actions: list[Action] = [
        MemberItem.marketing_consent.set(False),
        MemberItem.opted_out_at.set(MemberItem.opted_out_at | at),
    ]
    try:
        # Conditional on a consent still given, so that only the withdrawal that changed it says `newly`.
        member.update(
            actions=actions,
            condition=MemberItem.pk.exists()
            & (MemberItem.marketing_consent.does_not_exist() | (MemberItem.marketing_consent != False)),  # noqa: E712
        )
        return OptedOut(member.primary_store_id, newly=True)
    except UpdateError as exc:
        if not is_conditional_failure(exc):
            raise
    try:
        member.update(actions=actions, condition=MemberItem.pk.exists())
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return None
        raise
    return OptedOut(member.primary_store_id, newly=False)
