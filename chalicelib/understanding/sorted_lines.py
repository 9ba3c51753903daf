"""Sorted text files searched where they lie, for data too large to read at a cold start: the reply model's
weights (learned.py) and jieba's dictionary (reply_text.py). Lines are sorted by their bytes; a line's key is its
first fields; the file is searched by halving (lines are short: finding a line's ends is cheap)."""

from __future__ import annotations

import mmap


def first_at_or_after(
    data: bytes | mmap.mmap, key: bytes, sep: bytes, fields: int = 1
) -> tuple[bytes, int, int]:
    """The first line whose key (its first `fields` fields, `sep` between them) is not below `key`: that key, and
    where the line starts and ends (b"", and the end of the data twice, when every key is below)."""
    lo, hi = 0, len(data)  # both at the start of a line (or the end)
    while lo < hi:
        start = max(data.rfind(b"\n", 0, (lo + hi) // 2) + 1, lo)
        end = data.find(b"\n", start, hi)
        end = hi if end == -1 else end
        if data[start : _key_end(data, start, end, sep, fields)] < key:
            lo = end + 1
        else:
            hi = start
    if lo >= len(data):
        return b"", len(data), len(data)
    end = data.find(b"\n", lo)
    end = len(data) if end == -1 else end
    return data[lo : _key_end(data, lo, end, sep, fields)], lo, end


def _key_end(data: bytes | mmap.mmap, start: int, end: int, sep: bytes, fields: int) -> int:
    split = start - 1
    for _ in range(fields):
        split = data.find(sep, split + 1, end)
        if split == -1:
            return end
    return split
