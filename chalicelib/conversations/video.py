"""A video consult: an Agora RTC channel and an AccessToken2 for the member and for the staff member."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.channels.agora.access_token import build_rtc_token
from chalicelib.clock import Clock
from chalicelib.dal.messages import MessageRepository
from chalicelib.dal.models import ConversationItem, StoreItem
from chalicelib.errors import Conflict

TOKEN_SECONDS = 2 * 3600
# What the conversation shows; the member joins from the salon's app with the token this call returns.
TEXT = {"zh-CN": "视频咨询已发起（频道 {channel}）", "en": "Video consult started (channel {channel})"}


class VideoConsults:
    def __init__(
        self,
        agora_settings: Callable[[str], dict | None],
        clock: Clock,
        wall: Callable[[], float],
        messages: MessageRepository,
    ) -> None:
        self._agora = agora_settings
        self._clock = clock
        self._wall = wall
        self._messages = messages

    def start(self, conversation: ConversationItem, store: StoreItem, staff: Any) -> dict[str, Any]:
        settings = self._agora(conversation.chain_id)
        if not settings:
            raise Conflict(
                "video consults are not set up for this chain", {"agora": "no Agora app configured"}
            )
        issued = int(self._wall())
        channel = f"consult-{store.store_id}-{secrets.token_hex(6)}"[:64]
        member_account, staff_account = f"member-{conversation.member_id}", f"staff-{staff.subject}"

        def token(account: str) -> str:
            return build_rtc_token(
                settings["app_id"],
                settings["app_certificate"],
                channel,
                account,
                "publisher",
                TOKEN_SECONDS,
                TOKEN_SECONDS,
                issue_ts=issued,
                salt=secrets.randbelow(2**31) + 1,
            )

        now = self._clock.now()
        locale = "zh-CN" if store.locale.startswith("zh") else "en"
        message_id = f"vc-{channel}"
        self._messages.record(
            self._messages.video_notice(
                chain_id=conversation.chain_id,
                store_id=store.store_id,
                member_id=conversation.member_id,
                message_id=message_id,
                text=TEXT[locale].format(channel=channel),
                sender=staff.subject,
                now=now,
            )
        )
        expires = (now + timedelta(seconds=TOKEN_SECONDS)).astimezone(ZoneInfo(store.timezone)).isoformat()
        return {
            "app_id": settings["app_id"],
            "channel": channel,
            "expires_at": expires,
            "member": {"account": member_account, "token": token(member_account)},
            "staff": {"account": staff_account, "token": token(staff_account)},
            "message_id": message_id,
        }
