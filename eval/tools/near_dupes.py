"""Flag labelled replies that repeat one another, so a batch does not copy one template many times:

    python -m eval.tools.near_dupes eval/data/train.jsonl eval/data/test_frozen.jsonl [--threshold 0.8]

Two lines are flagged when their normalised texts are equal (`normalise`: NFKC, lower case, only letters
kept, so lines that differ only by punctuation, emoji, spaces or digits are equal) or when the Jaccard
similarity of their character 3-grams is above the threshold (a changed name or one swapped word in an
otherwise equal sentence). Exits 1 when anything is flagged. Lines of emoji or digits only are compared as
written, whitespace aside. Pairs of two lines whose `source` is in --grandfathered (default: tuned_v1 and
book_holdout, written before this guard, some on purpose as normalisation cases: "TD"/"td", "１"/"1") are
not flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

THRESHOLD = 0.8


def normalise(text: str) -> str:
    """The text with case, width, punctuation, emoji, digits and spaces taken out; emoji/digit-only lines keep
    their characters (whitespace aside) so "👍" and "👎" stay apart."""
    folded = unicodedata.normalize("NFKC", text).lower()
    letters = "".join(ch for ch in folded if unicodedata.category(ch).startswith("L"))
    return letters or "".join(folded.split())


def trigrams(text: str) -> frozenset[str]:
    return _grams(normalise(text))


def _grams(normalised: str) -> frozenset[str]:
    padded = f"^{normalised}$"
    return frozenset(padded[i : i + 3] for i in range(max(len(padded) - 2, 1)))


def near_duplicates(texts: list[str], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity), i < j, of texts whose normalised form is equal (similarity 1.0) or whose
    3-gram Jaccard similarity is above `threshold`."""
    norms = [normalise(t) for t in texts]
    grams = [_grams(n) for n in norms]
    index: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for gram in g:
            index[gram].append(i)
    pairs = []
    for i, g in enumerate(grams):
        shared: Counter[int] = Counter(j for gram in g for j in index[gram] if j > i)
        for j, common in sorted(shared.items()):
            if norms[i] == norms[j]:
                pairs.append((i, j, 1.0))
                continue
            s = common / (len(g) + len(grams[j]) - common)
            if s > threshold:
                pairs.append((i, j, round(s, 3)))
    return pairs


def _texts(paths: list[Path]) -> list[tuple[str, str, str]]:
    out = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    row = json.loads(line)
                    out.append((f"{path.name}:{n}", row["text"], row.get("source") or ""))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--grandfathered", nargs="*", default=["tuned_v1", "book_holdout"])
    args = parser.parse_args(argv)
    rows = _texts(args.files)
    old = set(args.grandfathered)
    pairs = [
        (i, j, s)
        for i, j, s in near_duplicates([t for _, t, _ in rows], args.threshold)
        if not (rows[i][2] in old and rows[j][2] in old)
    ]
    for i, j, s in pairs:
        print(f"{s:.2f}  {rows[i][0]} {rows[i][1]!r}  ~  {rows[j][0]} {rows[j][1]!r}")
    print(f"{len(rows)} lines, {len(pairs)} near-duplicate pairs", file=sys.stderr)
    return 1 if pairs else 0


if __name__ == "__main__":
    sys.exit(main())
