"""Who has a handed-off conversation and since when she waits (issue 17 part 3): conditional UpdateItems on the
conversation's META item, so two staff taking it at once leave one winner and a retried hand-off writes nothing new.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.condition import Condition

from chalicelib.dal.conditions import update_if
from chalicelib.dal.models import ConversationItem

UNASSIGNED = ""  # `expect` for "nobody has it"


class HandOffRepository:
    def open_wait(
        self, store_id: str, member_id: str, message_id: str, at: datetime
    ) -> ConversationItem | None:
        """Start her wait for a person with this message; the conversation when this message opened it (again, on
        a retry), None when she already waits since an earlier message (or the conversation is gone)."""
        item = ConversationItem(*ConversationItem.key(store_id, member_id))
        condition = ConversationItem.pk.exists() & (
            ConversationItem.waiting_since.does_not_exist() | (ConversationItem.handoff_id == message_id)
        )
        actions = [
            ConversationItem.waiting_since.set(ConversationItem.waiting_since | at),
            ConversationItem.handoff_id.set(message_id),
        ]
        return item if update_if(item, actions, condition) else None

    def assign(
        self,
        store_id: str,
        member_id: str,
        staff_id: str | None,
        role: str | None,
        at: datetime,
        *,
        expect: str,
        or_already: bool = False,
    ) -> ConversationItem | None:
        """Give the conversation to `staff_id` (None: to nobody) if its assignee is still `expect` (UNASSIGNED:
        nobody), or (`or_already`) is already `staff_id`. The conversation, or None when the condition failed."""
        item = ConversationItem(*ConversationItem.key(store_id, member_id))
        current: Condition = (
            ConversationItem.assignee.does_not_exist()
            if expect == UNASSIGNED
            else ConversationItem.assignee == expect
        )
        if or_already and staff_id:
            current = current | (ConversationItem.assignee == staff_id)
        if staff_id:
            actions = [
                ConversationItem.assignee.set(staff_id),
                ConversationItem.assignee_role.set(role or ""),
                ConversationItem.assigned_at.set(at),
            ]
        else:
            actions = [
                ConversationItem.assignee.remove(),
                ConversationItem.assignee_role.remove(),
                ConversationItem.assigned_at.remove(),
            ]
        return item if update_if(item, actions, ConversationItem.pk.exists() & current) else None

    def answered(self, store_id: str, member_id: str) -> None:
        """A person answered her: she no longer waits (the pending alarm finds nothing to do)."""
        item = ConversationItem(*ConversationItem.key(store_id, member_id))
        update_if(item, [ConversationItem.waiting_since.remove()], ConversationItem.pk.exists())
