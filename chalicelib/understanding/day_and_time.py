"""The day and time a reply asks for ("能改到周五下午三点吗", "move me to the 28th at 2pm"): every
date, weekday, relative day, part of the day and clock time in the text, resolved against "today"."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.understanding.reply_text import Reply

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN = "[零〇一二两三四五六七八九十]"
_NUM = rf"(?:\d{{1,2}}|{_CN}{{1,3}})"
_WEEKDAY_ZH = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_WEEKDAY_EN = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTHS_EN = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}

_RX_YMD = re.compile(r"(?<!\d)(20\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?!\d)")
_RX_ZH_DATE = re.compile(rf"({_NUM})\s*月\s*({_NUM})\s*(?:日|号)?")
_RX_NUM_DATE = re.compile(r"(?<![\d:./-])(\d{1,2})\s*[-/]\s*(\d{1,2})(?![\d:/-])")
_RX_ZH_DAY = re.compile(rf"(?<![月\d零〇一二两三四五六七八九十])({_NUM})\s*(?:号|日)(?!子)")
_RX_EN_MONTH_DAY = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
)
_RX_EN_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
)
_RX_EN_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")
_RX_ZH_WEEKDAY = re.compile(r"(下下个?|下个|下|这个|这|本|上)?\s*(?:周|星期|礼拜)\s*([一二三四五六日天1-7])")
_RX_EN_WEEKDAY = re.compile(
    r"\b(?:(next|this|coming)\s+)?(" + "|".join(sorted(_WEEKDAY_EN, key=len, reverse=True)) + r")\b"
)
_RX_ZH_RELATIVE = re.compile(r"(大后天|后天|明天|明日|明早|明晚|今天|今日|今晚|今早)")
_RX_EN_RELATIVE = re.compile(
    r"\b(day after tomorrow|tomorrow|tmrw|tmr|tmw|2moro|2morrow|tomorow|today|tonight|tonite)\b"
)
_RX_ZH_PART = re.compile(r"(上午|早上|早晨|清早|一早|中午|下午|午后|傍晚|晚上|夜里|晚间)")
_RX_EN_PART = re.compile(r"\b(morning|afternoon|evening|night|noon|midday|lunchtime|lunch time)\b")
_RX_ZH_TIME = re.compile(rf"({_NUM})\s*(?:点钟|点|时(?!间|候))\s*(?:(半)|(一刻)|(三刻)|({_NUM})\s*分?)?")
_RX_COLON_TIME = re.compile(r"(?<![\d:])(\d{1,2})\s*:\s*(\d{2})(?!\d)\s*(am|pm|a\.m\.|p\.m\.)?")
_RX_EN_TIME = re.compile(r"(?<![\d:])(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])")
_RX_EN_AT = re.compile(
    r"\b(?:at|@|around|about|by)\s+(\d{1,2})(?![\d:.]|\s*(?:st|nd|rd|th|days?|mins?|minutes?|hours?|hrs?|weeks?|ppl|people|%))"
)

_ZH_RELATIVE = {"后天": "day_after_tomorrow", "明天": "tomorrow", "明日": "tomorrow", "明早": "tomorrow",
                "明晚": "tomorrow", "今天": "today", "今日": "today", "今晚": "today", "今早": "today"}  # fmt: skip
_ZH_RELATIVE_PART = {"明早": "morning", "今早": "morning", "明晚": "evening", "今晚": "evening"}
_EN_RELATIVE = {"day after tomorrow": "day_after_tomorrow", "tomorrow": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow",
                "tmw": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow", "tomorow": "tomorrow",
                "today": "today", "tonight": "today", "tonite": "today"}  # fmt: skip
_ZH_PART = {"上午": "morning", "早上": "morning", "早晨": "morning", "清早": "morning", "一早": "morning",
            "中午": "afternoon", "下午": "afternoon", "午后": "afternoon", "傍晚": "evening", "晚上": "evening",
            "夜里": "evening", "晚间": "evening"}  # fmt: skip
_EN_PART = {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "evening",
            "noon": "afternoon", "midday": "afternoon", "lunchtime": "afternoon", "lunch time": "afternoon"}  # fmt: skip


def _cn_number(s: str) -> int | None:
    """'25', '十二', '二十五', '两' -> int; None when it is not a small number."""
    if s.isdigit():
        return int(s)
    if not s or any(c not in _CN_DIGITS and c != "十" for c in s):
        return None
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGITS.get(head, 1) if head else 1
        if head and head not in _CN_DIGITS or len(tail) > 1 or (tail and tail not in _CN_DIGITS):
            return None
        return tens * 10 + (_CN_DIGITS[tail] if tail else 0)
    if len(s) == 1:
        return _CN_DIGITS[s]
    return None


@dataclass(frozen=True)
class Span:
    kind: str  # date | day | weekday | relative | part | time
    value: Any
    start: int
    end: int


def _hour(h: int, minute: int, ampm: str | None, part: str | None) -> str | None:
    if not (0 <= minute <= 59) or not (0 <= h <= 24):
        return None
    if ampm:
        if h > 12:
            return None
        if ampm.startswith("p") and h < 12:
            h += 12
        elif ampm.startswith("a") and h == 12:
            h = 0
    elif part in ("afternoon", "evening") and 1 <= h < 12:
        h += 12
    elif part is None and 1 <= h <= 8:
        h += 12  # salons open ~09:00-21:00: "3点", "at 2" without a part of the day are afternoon
    if h == 24:
        h = 0
    return f"{h:02d}:{minute:02d}"


def find_times(doc: Reply) -> list[Span]:
    """Every day/time expression in the text, without overlaps (longer and earlier first)."""
    n = doc.norm
    spans: list[Span] = []
    day_first = doc.locale == "en"  # "12/3": 12 March in English (en_GB), 3 December in Chinese

    for m in _RX_YMD.finditer(n):
        spans.append(Span("date", (int(m.group(1)), int(m.group(2)), int(m.group(3))), m.start(), m.end()))
    for m in _RX_ZH_DATE.finditer(n):
        mo, d = _cn_number(m.group(1)), _cn_number(m.group(2))
        if mo and d:
            spans.append(Span("date", (None, mo, d), m.start(), m.end()))
    for m in _RX_NUM_DATE.finditer(n):
        a, b = int(m.group(1)), int(m.group(2))
        mo, d = (b, a) if (day_first and b <= 12) or a > 12 else (a, b)
        spans.append(Span("date", (None, mo, d), m.start(), m.end()))
    for m in _RX_EN_MONTH_DAY.finditer(n):
        spans.append(Span("date", (None, _MONTHS_EN[m.group(1)[:3]], int(m.group(2))), m.start(), m.end()))
    for m in _RX_EN_DAY_MONTH.finditer(n):
        spans.append(Span("date", (None, _MONTHS_EN[m.group(2)[:3]], int(m.group(1))), m.start(), m.end()))
    for m in _RX_ZH_DAY.finditer(n):
        d = _cn_number(m.group(1))
        if d:
            spans.append(Span("day", d, m.start(), m.end()))
    for m in _RX_EN_ORDINAL.finditer(n):
        spans.append(Span("day", int(m.group(1)), m.start(), m.end()))
    for m in _RX_ZH_WEEKDAY.finditer(n):
        spans.append(Span("weekday", _WEEKDAY_ZH[m.group(2)], m.start(), m.end()))
    for m in _RX_EN_WEEKDAY.finditer(n):
        spans.append(Span("weekday", _WEEKDAY_EN[m.group(2)], m.start(), m.end()))
    for m in _RX_ZH_RELATIVE.finditer(n):
        word = m.group(1)
        if word == "大后天":
            continue
        spans.append(Span("relative", _ZH_RELATIVE[word], m.start(), m.end()))
        if word in _ZH_RELATIVE_PART:
            spans.append(Span("part", _ZH_RELATIVE_PART[word], m.start(), m.end()))
    for m in _RX_EN_RELATIVE.finditer(n):
        spans.append(Span("relative", _EN_RELATIVE[m.group(1)], m.start(), m.end()))
        if m.group(1) in ("tonight", "tonite"):
            spans.append(Span("part", "evening", m.start(), m.end()))
    for m in _RX_ZH_PART.finditer(n):
        spans.append(Span("part", _ZH_PART[m.group(1)], m.start(), m.end()))
    for m in _RX_EN_PART.finditer(n):
        spans.append(Span("part", _EN_PART[m.group(1)], m.start(), m.end()))
        if m.group(1) in ("noon", "midday"):
            spans.append(Span("time", (12, 0, "pm"), m.start(), m.end()))
    for m in _RX_ZH_TIME.finditer(n):
        h = _cn_number(m.group(1))
        if h is None:
            continue
        has_minutes = any(m.group(i) for i in (2, 3, 4, 5))
        if m.group(1) == "一" and not has_minutes:
            before = n[max(0, m.start() - 2) : m.start()]
            if not _RX_ZH_PART.search(before):
                continue  # "早一点", "一点点", "一点没掉": "a bit", not one o'clock
        minute = 30 if m.group(2) else 15 if m.group(3) else 45 if m.group(4) else 0
        if m.group(5):
            minute = _cn_number(m.group(5)) or 0
        spans.append(Span("time", (h, minute, None), m.start(), m.end()))
    for m in _RX_COLON_TIME.finditer(n):
        spans.append(Span("time", (int(m.group(1)), int(m.group(2)), m.group(3)), m.start(), m.end()))
    for m in _RX_EN_TIME.finditer(n):
        spans.append(Span("time", (int(m.group(1)), int(m.group(2) or 0), m.group(3)), m.start(), m.end()))
    for m in _RX_EN_AT.finditer(n):
        spans.append(Span("time", (int(m.group(1)), 0, None), m.start(1), m.end()))

    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Span] = []
    for s in spans:
        clash = next((k for k in kept if s.start < k.end and k.start < s.end), None)
        if clash is None or (clash.start == s.start and clash.end == s.end and clash.kind != s.kind):
            kept.append(s)  # "明晚" is both a relative day and a part of the day
    return kept


def _resolve_date(y: int | None, mo: int, d: int, today: date) -> str | None:
    try:
        if y is not None:
            return date(y, mo, d).isoformat()
        candidate = date(today.year, mo, d)
        if candidate < today:
            candidate = date(today.year + 1, mo, d)
        return candidate.isoformat()
    except ValueError:
        return None


def _resolve_day(d: int, today: date) -> str | None:
    y, mo = today.year, today.month
    if d < today.day:
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def requested_time(doc: Reply, spans: list[Span], anchor: int | None, today: date) -> dict:
    """The requested day/time: the expressions after the last rescheduling word if any (else all); a day
    said before it is kept when none follows ("明天上午可以改下午吗" -> tomorrow afternoon)."""
    chosen = spans
    if anchor is not None:
        after = [s for s in spans if s.start >= anchor]
        if after:
            chosen = after
            day_kinds = ("date", "day", "weekday", "relative")
            if not any(s.kind in day_kinds for s in after):
                before_days = [s for s in spans if s.start < anchor and s.kind in day_kinds]
                if before_days:
                    chosen = [before_days[-1], *after]
    first: dict[str, Span] = {}
    for s in chosen:
        kind = "date" if s.kind == "day" else s.kind
        first.setdefault(kind, s)
    part = first["part"].value if "part" in first else None
    out: dict[str, Any] = {
        "weekday": None,
        "date": None,
        "relative_day": None,
        "time": None,
        "part_of_day": part,
        "text": "",
    }
    if "weekday" in first:
        out["weekday"] = first["weekday"].value
    if "relative" in first:
        out["relative_day"] = first["relative"].value
    if "date" in first:
        s = first["date"]
        if s.kind == "day":
            out["date"] = _resolve_day(s.value, today)
        else:
            year, month, day = s.value  # (year or None, month, day)
            out["date"] = _resolve_date(year, month, day, today)
    if "time" in first:
        h, minute, ampm = first["time"].value
        out["time"] = _hour(h, minute, ampm, part)
    used = sorted(first.values(), key=lambda s: s.start)
    pieces: list[tuple[int, int]] = []
    for s in used:
        if pieces and s.start - pieces[-1][1] <= 2:
            pieces[-1] = (pieces[-1][0], max(pieces[-1][1], s.end))
        elif not pieces or s.start >= pieces[-1][1]:
            pieces.append((s.start, s.end))
    out["text"] = " ".join(doc.quote(a, b) for a, b in pieces)
    return out
