"""Turn a batch written in a compact form into eval JSONL lines (how the issue-16 batches were written):

    python -m eval.tools.compact batch.txt > batch.jsonl

A line "@ <intent> <sentiment> <family>" sets the labels of the lines under it; every other non-blank line is
"<category code>|<text>" (codes: CATEGORIES; "-" for none). The locale is zh-CN when the text has a Chinese
character (mixed zh/en included), else en. Lines starting with "#" are comments.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from chalicelib.understanding import INTENTS, SENTIMENTS

CATEGORIES = {
    "hc": "hair_cut",
    "co": "hair_colour",
    "pm": "perm",
    "hk": "hair_care",
    "ng": "nail_gel",
    "na": "nail_art",
    "nc": "nail_care",
    "-": None,
}
_HAN = re.compile(r"[\u4e00-\u9fff]")


def convert(text: str, source: str) -> list[dict]:
    rows: list[dict] = []
    labels: tuple[str, str, str] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            intent, sentiment, family = line[1:].split()
            if intent not in INTENTS or sentiment not in SENTIMENTS:
                raise ValueError(f"line {n}: unknown intent or sentiment: {line}")
            labels = (intent, sentiment, family)
            continue
        code, sep, reply = raw.lstrip().partition("|")
        if not sep or labels is None or code not in CATEGORIES or not reply.strip():
            raise ValueError(f"line {n}: expected '<code>|<text>' under an '@' line: {raw!r}")
        reply = reply.strip()
        rows.append(
            {
                "text": reply,
                "intent": labels[0],
                "sentiment": labels[1],
                "category": CATEGORIES[code],
                "locale": "zh-CN" if _HAN.search(reply) else "en",
                "family": labels[2],
                "source": source,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for row in convert(Path(args[0]).read_text(encoding="utf-8"), args[1] if len(args) > 1 else "fresh_v1"):
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
