"""Which offered slot a member picks: "1", "2号", "第一个", "选2", "option 3", "the second one", "2️⃣".

Only a message that is nothing but a pick counts ("1", "第二个吧", "选3，谢谢"): "1点可以吗" or "我11号来" are
not picks. `pick(text, count)` answers 1..count, or None. Read only while an offer is pending
(conversations/chat_booking.py); otherwise "1" keeps its old meaning (a confirmation).
"""

from __future__ import annotations

import re

from chalicelib.understanding.reply_text import normalise

_ZH_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_EN_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "first": 1,
    "second": 2,
    "third": 3,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
}
_POLITE = (
    r"(?:吧|呀|啊|哦|噢|嗯|的|了|好了|就好|谢谢|谢啦|多谢|麻烦了|please|pls|plz|thanks|thank you|thx|ty)*"
)
_ZH = re.compile(
    r"^(?:我)?(?:选|要|选择|就|定|订|约)?(?:第)?([1-5一二两三])(?:号|个|个吧|个时间|个时段|号时间)?"
    + _POLITE
    + "$"
)
_EN = re.compile(
    r"^(?:i'?ll take |i'?d like |i want |i choose |take |pick |book |choose |go with |let'?s do )?"
    r"(?:the |option |number |no\.? ?|#)?"
    r"(1st|2nd|3rd|first|second|third|one|two|three|[1-5])(?: one| option| slot| please| pls| plz| thanks| thank you)*$"
)
_DROP = re.compile(r"[\s,，.。!！~～、:：;；]+")


def pick(text: str, count: int) -> int | None:
    """The number of the offered slot the whole message picks (1-based, at most `count`), or None."""
    if not text or len(text) > 40 or count < 1:
        return None
    norm, _ = normalise(text)
    norm = norm.strip()
    number = _zh_pick(norm) or _en_pick(norm)
    return number if number is not None and 1 <= number <= count else None


def _zh_pick(norm: str) -> int | None:
    m = _ZH.match(_DROP.sub("", norm))
    return _ZH_NUMBERS.get(m.group(1)) if m else None


def _en_pick(norm: str) -> int | None:
    words = " ".join(w for w in re.split(r"[\s,.!?~]+", norm) if w)
    m = _EN.match(words)
    if not m:
        return None
    token = m.group(1)
    return int(token) if token.isdigit() else _EN_NUMBERS[token]
