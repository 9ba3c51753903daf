"""Split the labelled replies into eval/data/train.jsonl (training + dev) and eval/data/test_frozen.jsonl (the
frozen test part nobody tunes on), deterministically, stratified by intent and phrasing family:

    python -m eval.tools.split                      # check: frozen hash as recorded, no text in both parts
    python -m eval.tools.split --add new.jsonl      # new lines go to train only (the frozen part never moves);
                                                    # refused when one repeats or nearly repeats a frozen line
    python -m eval.tools.split --refreeze "why"     # re-split everything: a NEW frozen file (docs/EVAL.md)

The rule (`split`):
- A line's `source` can pin it: `tuned_v1` (the 684 lines the rules were tuned on until they all passed, the
  old eval/messages.jsonl) always goes to train, because a score on them is in-sample; `book_holdout` (the 28
  lines of the old eval/book_holdout.jsonl, measured once, never tuned on) always goes to the frozen part.
- Every other line is free. Free lines are grouped in strata by (intent, family); each stratum gives
  `round(q * n)` of its lines to the frozen part (largest remainders, so the part holds exactly
  `round(TEST_SHARE * all lines)`), q being what the free lines must give once the pinned ones are counted.
  Within a stratum the lines taken are those with the smallest SHA-256 of SALT + normalised text, so the
  choice depends on the text alone, never on file order.
- Lines whose normalised text (eval.tools.near_dupes.normalise) is equal stay together: a group with a line
  pinned to the frozen part goes there, else one pinned to train goes to train, else the group is placed by
  its first line. So no normalised text is ever in both parts.
Each part is written sorted by (source, intent, family, text). `--refreeze` and the first build write
eval/data/FROZEN.sha256, the SHA-256 of test_frozen.jsonl, which tests/unit/test_eval_split.py checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from chalicelib.understanding import INTENTS
from eval.tools.near_dupes import near_duplicates, normalise

DATA = Path(__file__).resolve().parents[1] / "data"
TRAIN_FILE = DATA / "train.jsonl"
TEST_FILE = DATA / "test_frozen.jsonl"
HASH_FILE = DATA / "FROZEN.sha256"
TEST_SHARE = 0.28
SALT = "chairside-eval-split-1"
PIN_TRAIN = frozenset({"tuned_v1"})
PIN_TEST = frozenset({"book_holdout"})
SOURCE_ORDER = ("tuned_v1", "book_holdout", "fresh_v1")
FIELDS = ("text", "intent", "sentiment", "category", "locale", "family", "source")


def _key(text: str) -> str:
    return hashlib.sha256(f"{SALT}\x00{normalise(text)}".encode()).hexdigest()


def sort_key(row: dict) -> tuple:
    source = row.get("source") or ""
    rank = SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER)
    return (rank, source, INTENTS.index(row["intent"]), row.get("family") or "", row["text"])


def split(rows: list[dict], test_share: float = TEST_SHARE) -> tuple[list[dict], list[dict]]:
    """(train, test) of `rows` by the rule in this module's docstring; each part sorted by `sort_key`."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[normalise(row["text"])].append(row)
    train: list[dict] = []
    test: list[dict] = []
    strata: dict[tuple[str, str], list[tuple[str, list[dict]]]] = defaultdict(list)
    for group in groups.values():
        sources = {r.get("source") for r in group}
        if sources & PIN_TEST:
            test.extend(group)
        elif sources & PIN_TRAIN:
            train.extend(group)
        else:
            first = group[0]
            strata[(first["intent"], first.get("family") or "")].append((_key(first["text"]), group))
    groups_free = sum(len(members) for members in strata.values())
    rows_free = sum(len(g) for members in strata.values() for _, g in members)
    wanted = min(max(round(test_share * len(rows)) - len(test), 0), rows_free)
    q = wanted / rows_free if rows_free else 0.0
    quotas = {s: q * len(members) for s, members in strata.items()}
    take = {s: math.floor(v) for s, v in quotas.items()}
    left = round(q * groups_free) - sum(take.values())
    for s in sorted(quotas, key=lambda s: (-(quotas[s] - take[s]), s))[: max(left, 0)]:
        take[s] += 1
    for s, members in strata.items():
        members.sort(key=lambda m: m[0])
        for i, (_, group) in enumerate(members):
            (test if i < take[s] else train).extend(group)
    return sorted(train, key=sort_key), sorted(test, key=sort_key)


def frozen_clashes(added: list[dict], frozen: list[dict]) -> list[str]:
    """Texts of `added` equal to a frozen line once normalised, or near one (eval.tools.near_dupes): such a line
    in train would let a model learn the frozen part."""
    texts = [r["text"] for r in added] + [r["text"] for r in frozen]
    n = len(added)
    hits = {i for i, j, _ in near_duplicates(texts) if i < n <= j}
    return [added[i]["text"] for i in sorted(hits)]


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def dumps(rows: list[dict]) -> str:
    return "".join(json.dumps({k: r.get(k) for k in FIELDS}, ensure_ascii=False) + "\n" for r in rows)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(train: list[dict], test: list[dict]) -> None:
    TRAIN_FILE.write_text(dumps(train), encoding="utf-8")
    TEST_FILE.write_text(dumps(test), encoding="utf-8")
    HASH_FILE.write_text(f"{sha256_of(TEST_FILE)}  test_frozen.jsonl\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", type=Path, nargs="+", help="JSONL files whose lines join train")
    parser.add_argument("--source", default="fresh_v2", help="source of added lines that name none")
    parser.add_argument("--refreeze", metavar="WHY", help="re-split everything into a new frozen file")
    args = parser.parse_args(argv)
    train, test = read(TRAIN_FILE), read(TEST_FILE)
    if args.refreeze:
        new_train, new_test = split(train + test)
        write(new_train, new_test)
        print(
            f"re-split: train {len(new_train)}, frozen {len(new_test)}; note why in docs/EVAL.md: {args.refreeze}"
        )
        return 0
    if args.add:
        added = [{**r, "source": r.get("source") or args.source} for p in args.add for r in read(p)]
        clash = frozen_clashes(added, test)
        if clash:
            print("these lines repeat or nearly repeat a line of the frozen part:", *clash, sep="\n  ")
            return 1
        TRAIN_FILE.write_text(dumps(sorted(train + added, key=sort_key)), encoding="utf-8")
        print(f"train {len(train)} -> {len(train) + len(added)}; frozen unchanged")
        return 0
    recorded = HASH_FILE.read_text(encoding="utf-8").split()[0] if HASH_FILE.exists() else None
    both = {normalise(r["text"]) for r in train} & {normalise(r["text"]) for r in test}
    ok = recorded == sha256_of(TEST_FILE) and not both
    print(
        f"train {len(train)}, frozen {len(test)}; frozen hash {'as recorded' if recorded == sha256_of(TEST_FILE) else 'CHANGED'};"
        f" {len(both)} normalised texts in both parts"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
