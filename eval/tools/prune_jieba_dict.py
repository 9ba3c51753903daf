"""Build chalicelib/understanding/jieba_dict.txt, the main dictionary of the reply classifier's segmenter
(docs/EVAL.md "Cold start"), from jieba 0.42.1's dict.txt (MIT-licensed, shipped in jieba's sdist):

    python -m pip download jieba==0.42.1 --no-deps -d /tmp/jb && tar xzf /tmp/jb/jieba-0.42.1.tar.gz -C /tmp/jb
    python -m eval.tools.prune_jieba_dict /tmp/jb/jieba-0.42.1/jieba/dict.txt

A word is kept when jieba's corpus has it at least MIN_FREQ times, or when it can decide whether a cue of the
lexicon matches: it is a Chinese cue itself, or a word of at most three characters containing a one-character
cue (a one-character cue counts only as a whole token, so "好" must not match inside "早上好"). The rule reads
the lexicon and the care tips, never the evaluation set; re-run it when they gain Chinese cues.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

MIN_FREQ = 20
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "chalicelib" / "understanding" / "jieba_dict.txt"
TOTAL_OUT = OUT.with_suffix(".json")
CUE_FILES = (
    ROOT / "chalicelib" / "understanding" / "lexicon.toml",
    ROOT / "chalicelib" / "journeys" / "care_tips.toml",
)
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def chinese_cues(files: tuple[Path, ...] = CUE_FILES) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(w for w in value.split() if _HAN.match(w))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in files:
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return found


def prune(source: Path, cues: set[str], min_freq: int = MIN_FREQ) -> list[str]:
    single = {c for c in cues if len(c) == 1}
    kept = []
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        word, freq = parts[0], int(parts[1])
        if freq >= min_freq or word in cues or (len(word) <= 3 and any(c in single for c in word)):
            kept.append(" ".join(parts[:3]))
    return kept


def write(lines: list[str], out: Path = OUT, total_out: Path = TOTAL_OUT) -> int:
    """Write the dictionary as the segmenter searches it in place (chalicelib/understanding/reply_text.py): one
    line a word, sorted by the word's bytes (a word given twice keeps its last line, as adding it twice would),
    and its word count and total frequency beside it. Returns the word count."""
    by_word = {line.split(" ", 1)[0]: line for line in lines}
    ordered = [by_word[word] for word in sorted(by_word, key=lambda word: word.encode())]
    out.write_text("\n".join(ordered) + "\n", encoding="utf-8")
    total = sum(int(line.split(" ")[1]) for line in ordered)
    total_out.write_text(json.dumps({"words": len(ordered), "total": total}) + "\n", encoding="utf-8")
    return len(ordered)


if __name__ == "__main__":
    # `--sort`: rewrite the shipped dictionary as it is, sorted (the form this script writes since 2026-12-08)
    kept = OUT.read_text(encoding="utf-8").splitlines() if sys.argv[1] == "--sort" else None
    count = write(kept if kept is not None else prune(Path(sys.argv[1]), chinese_cues()))
    print(f"{count} words -> {OUT}")
