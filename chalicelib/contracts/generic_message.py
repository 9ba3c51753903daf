"""The generic message webhook's body (`POST /v1/webhooks/messages`), validated.

Its own module so that the inbound worker, which reads SMS, WeChat and Agora formats only, loads no pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

from chalicelib.contracts.fields import Id, Name, Strict
from chalicelib.text_safety import clean_text


class _GenericMessage(Strict):
    id: Id
    type: Literal["text", "image", "voice", "emoji"]
    text: Annotated[str, StringConstraints(max_length=4000), AfterValidator(clean_text)] = ""
    media_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")] | None = None


class GenericMessageEvent(Strict):
    event_id: Id
    store_id: Id
    member_id: Id
    channel: Literal["sms", "wechat", "agora", "web"]
    message: _GenericMessage
    sent_at: datetime
    member_name: Name = ""
