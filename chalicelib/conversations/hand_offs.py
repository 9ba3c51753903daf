"""Someone answers, fast (issue 17 part 3): a handed-off conversation goes to a person who is online, staff take,
reassign and release it, and the manager hears once when nobody answers her in time.

- `opened`: called when a member message puts her conversation in `needs_human`. Her wait starts (once per
  message: a retried record finds it started), the conversation goes to the first online staff member that
  hand_offs.toml [routing] names, else the manager is texted (StaffAlerts: one claim per member message), and
  the response alarm is scheduled at the store's limit counted in opening hours (one schedule per wait).
- `answered`: a staff reply ends the wait; the alarm, when it fires, finds no wait and does nothing.
- `check`: the alarm. Texts the manager once (a claim on `<message id>:unanswered`) if she still waits since the
  same message.
- `assignment`: take / reassign / release, each a conditional write on the conversation (two staff taking it at
  once: one wins, the other gets 409).
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.clock import Clock
from chalicelib.contracts.hand_off import HandOffCheck
from chalicelib.conversations import opening_minutes
from chalicelib.dal.hand_offs import UNASSIGNED, HandOffRepository
from chalicelib.dal.models import BookingItem, ConversationItem, MessageItem, StoreItem
from chalicelib.dal.presence import Online, PresenceRepository
from chalicelib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from chalicelib.ids import is_id
from chalicelib.observability import logger
from chalicelib.services import auth

ACTIONS = ("take", "reassign", "release")


@cache
def settings() -> dict[str, Any]:
    return tomllib.loads((Path(__file__).with_name("hand_offs.toml")).read_text(encoding="utf-8"))


def limit_minutes(store: StoreItem) -> int:
    own = store.handoff_limit_minutes
    return int(own) if own else int(settings()["alarm"]["default_limit_minutes"])


def pick(online: list[Online], own_stylist: str | None) -> Online | None:
    """The first online staff member hand_offs.toml's [routing] order names, or None. Pure."""
    for rule in settings()["routing"]["order"]:
        kind, _, value = rule.partition(":")
        if kind == "stylist" and value == "own":
            found = [o for o in online if own_stylist and o.stylist_id == own_stylist]
        elif kind == "role":
            found = [o for o in online if o.role == value]
        else:
            raise ValueError(f"unknown routing rule {rule!r} in hand_offs.toml")
        if found:
            return min(found, key=lambda o: o.staff_id)  # stable: the same answer on a retry
    return None


class HandOffs:
    def __init__(
        self,
        stores: Any,
        presence: PresenceRepository,
        repo: HandOffRepository,
        conversations: Any,  # dal.conversations.ConversationRepository
        alerts: Any,  # conversations.outbound.StaffAlerts
        scheduler: Any,  # scheduling.StepScheduler
        clock: Clock,
    ) -> None:
        self._stores = stores
        self._presence = presence
        self._repo = repo
        self._conversations = conversations
        self._alerts = alerts
        self._scheduler = scheduler
        self._clock = clock

    # --- a member handed off ------------------------------------------------------------------------
    def opened(
        self, store: StoreItem | None, message: MessageItem, booking: BookingItem | None, reason: str
    ) -> dict[str, Any]:
        if store is None:
            return {"routing": "no_store"}
        now = self._clock.now()
        conversation = self._repo.open_wait(message.store_id, message.member_id, message.message_id, now)
        if conversation is None:
            return {"routing": "already_waiting"}
        online = self._presence.online(message.store_id, int(self._clock.now().timestamp()))
        result: dict[str, Any]
        holder = conversation.assignee
        if holder and any(o.staff_id == holder for o in online):
            result = {"routing": "kept", "assignee": holder}
        else:
            chosen = pick(online, self._own_stylist(message, booking))
            if chosen is not None:
                assigned = self._repo.assign(
                    message.store_id,
                    message.member_id,
                    chosen.staff_id,
                    chosen.role,
                    now,
                    expect=holder or UNASSIGNED,
                    or_already=True,
                )
                # lost to a staff member's take in between: theirs stands
                result = {
                    "routing": "assigned",
                    "assignee": assigned.assignee if assigned else None,
                    "role": chosen.role,
                }
            else:
                alert = self._alerts.alert(store, message, reason, phone=store.manager_phone or None)
                result = {"routing": "manager_texted", "alert": alert["result"]}
        waiting_since = conversation.waiting_since or now
        check = HandOffCheck(
            chain_id=message.chain_id,
            store_id=message.store_id,
            member_id=message.member_id,
            message_id=message.message_id,
            waiting_since=waiting_since.isoformat(),
            due_at=self._due(store, waiting_since).isoformat(),
            limit_minutes=limit_minutes(store),
        )
        self._scheduler.schedule_body(
            check.schedule_name,
            datetime.fromisoformat(check.due_at),
            store.timezone,
            check.to_json(),
            f"hand-off response alarm for {message.message_id}",
        )
        logger.info("hand-off routed", extra={"store_id": message.store_id, **result})
        return result | {"alarm_at": check.due_at}

    def _due(self, store: StoreItem, since: datetime) -> datetime:
        return opening_minutes.after(
            since, limit_minutes(store), store.timezone, store.opening_hours, store.closed_dates or ()
        )

    def _own_stylist(self, message: MessageItem, booking: BookingItem | None) -> str | None:
        """The stylist of her latest booking here. (Her remembered favourite stylist, issue 17 item 5, is free text
        for staff and templates, not a catalogue id, so it does not route.)"""
        if booking is None:
            booking = self._conversations.latest_booking(
                message.chain_id, message.member_id, message.store_id
            )
        return booking.stylist_id if booking is not None else None

    def answered(self, store_id: str, member_id: str) -> None:
        self._repo.answered(store_id, member_id)

    # --- the response alarm (steps worker) --------------------------------------------------------------
    def check(self, check: HandOffCheck) -> str:
        now = self._clock.now()
        if now < datetime.fromisoformat(check.due_at):
            return "not_due"  # fired early (never on AWS): the schedule is one-time, so look again later
        conversation = self._conversations.get(check.store_id, check.member_id)
        if (
            conversation is None
            or conversation.status != "needs_human"
            or conversation.waiting_since is None
            or conversation.handoff_id != check.message_id
        ):
            return "answered"
        store = self._stores.get(check.store_id)
        message = MessageItem(
            MessageItem.pk_for(check.store_id, check.member_id),
            "MSG#",
            message_id=check.message_id,
            chain_id=check.chain_id,
            store_id=check.store_id,
            member_id=check.member_id,
        )
        since = conversation.waiting_since.astimezone(ZoneInfo(store.timezone)) if store else None
        alert = self._alerts.alert(
            store,
            message,
            conversation.needs_human_reason or "other",
            phone=(store.manager_phone or None) if store else None,
            claim_id=f"{check.message_id}:unanswered",
            kind="staff_alert_unanswered",
            minutes=check.limit_minutes,
            since=since.strftime("%m-%d %H:%M") if since else "",
        )
        logger.info("hand-off unanswered", extra={"store_id": check.store_id, "alert": alert["result"]})
        if alert["result"] == "failed":
            raise RuntimeError(f"manager alert failed: {alert.get('error')}")  # the queue retries it
        return str(alert["result"])

    # --- staff take, reassign, release -------------------------------------------------------------------
    def assignment(
        self, staff: auth.Staff, store_id: str, conversation_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        from chalicelib.conversations.inbound import conversation_view

        store = auth.authorize_store(staff, self._stores, store_id, "conversations.assign")
        action = body.get("action")
        if action not in ACTIONS:
            raise ValidationFailed("bad action", {"action": "one of " + ", ".join(ACTIONS)})
        target = body.get("staff_id")
        if action == "reassign":
            if not isinstance(target, str) or not is_id(target):
                raise ValidationFailed("reassign needs staff_id", {"staff_id": "the staff id to give it to"})
        elif target is not None:
            raise ValidationFailed("staff_id only with reassign", {"staff_id": "only for action reassign"})
        conversation = self._conversations.get(store_id, conversation_id) if is_id(conversation_id) else None
        if conversation is None:
            raise NotFound("no such conversation")
        holder = conversation.assignee or UNASSIGNED
        may_override = staff.may("conversations.reassign")
        now = self._clock.now()
        if action == "take":
            if holder not in (UNASSIGNED, staff.subject):
                raise Conflict(f"the conversation is with {holder}", {"action": "already taken; reassign it"})
            updated = self._repo.assign(
                store_id, conversation_id, staff.subject, staff.role, now, expect=UNASSIGNED, or_already=True
            )
        elif action == "release":
            if holder == UNASSIGNED:
                return {"conversation": conversation_view(conversation, ZoneInfo(store.timezone))}
            if holder != staff.subject and not may_override:
                raise Conflict(
                    f"the conversation is with {holder}", {"action": "only its holder releases it"}
                )
            updated = self._repo.assign(store_id, conversation_id, None, None, now, expect=holder)
        else:
            if not may_override:
                raise Forbidden("your role may not reassign a conversation", "conversations.reassign")
            role = self._role_of(store_id, str(target))
            updated = self._repo.assign(
                store_id, conversation_id, str(target), role, now, expect=holder, or_already=True
            )
        if updated is None:
            raise Conflict(
                "someone else changed who has the conversation", {"action": "reload and try again"}
            )
        fresh = self._conversations.get(store_id, conversation_id) or updated
        return {"conversation": conversation_view(fresh, ZoneInfo(store.timezone))}

    def _role_of(self, store_id: str, staff_id: str) -> str | None:
        online = self._presence.online(store_id, int(self._clock.now().timestamp()))
        return next((o.role for o in online if o.staff_id == staff_id), None)


def view_fields(conversation: ConversationItem, tz: Any) -> dict[str, Any]:
    """What the inbox shows of a hand-off: who has it and since when she waits (None when nobody / not waiting)."""
    return {
        "assignee": conversation.assignee,
        "assignee_role": conversation.assignee_role,
        "assigned_at": conversation.assigned_at.astimezone(tz).isoformat()
        if conversation.assigned_at
        else None,
        "waiting_since": (
            conversation.waiting_since.astimezone(tz).isoformat() if conversation.waiting_since else None
        ),
    }
