"""The labelled replies' split (eval/tools/split.py) and the guard of the frozen test part (docs/EVAL.md)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

from eval.tools.near_dupes import near_duplicates, normalise
from eval.tools.split import HASH_FILE, TEST_FILE, TRAIN_FILE, read, split


def _row(text: str, intent: str = "confirm", family: str = "plain", source: str = "fresh_v1") -> dict:
    return {"text": text, "intent": intent, "sentiment": "neutral", "category": None, "locale": "en",
            "family": family, "source": source}  # fmt: skip


def _pool() -> list[dict]:
    rows = [_row(f"confirm line {w}", "confirm", "plain") for w in "abcdefghij"]
    rows += [_row(f"cancel {w} {v}", "cancel", "polite") for w in "abcdefghij" for v in "xy"]
    rows += [_row(f"complaint {w} {v}", "complaint", "sarcasm") for w in "abcdefghij" for v in "xyz"]
    return rows


def _texts(rows: list[dict]) -> list[str]:
    return [r["text"] for r in rows]


# ------------------------------------------------------------------------------------------------ splitter


def test_the_split_is_deterministic_whatever_the_order_of_the_lines():
    rows = _pool()
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    assert split(rows, 0.3) == split(rows, 0.3) == split(shuffled, 0.3)


def test_each_intent_and_family_gives_its_share_to_the_test_part():
    train, test = split(_pool(), 0.3)
    assert len(test) == 18 and len(train) == 42
    assert Counter((r["intent"], r["family"]) for r in test) == {
        ("confirm", "plain"): 3,
        ("cancel", "polite"): 6,
        ("complaint", "sarcasm"): 9,
    }


def test_pinned_sources_stay_where_they_are_pinned_and_the_rest_fills_the_share():
    rows = _pool() + [_row("tuned one", source="tuned_v1"), _row("holdout one", source="book_holdout")]
    train, test = split(rows, 0.3)
    assert "tuned one" in _texts(train) and "holdout one" in _texts(test)
    assert len(test) == round(0.3 * len(rows))


def test_a_text_equal_after_normalisation_is_never_in_both_parts():
    rows = _pool() + [_row("你们几点关门？", source="tuned_v1"), _row("你们几点关门", source="book_holdout")]
    rows += [_row("Cancel X!", "cancel", "polite"), _row("cancel x", "cancel", "polite")]
    train, test = split(rows, 0.3)
    assert {normalise(t) for t in _texts(train)} & {normalise(t) for t in _texts(test)} == set()
    assert {"你们几点关门？", "你们几点关门"} <= set(_texts(test))  # the holdout pulls its twin along
    assert len(train) + len(test) == len(rows)


def test_near_duplicates_flags_equal_normalised_text_and_close_trigrams_only():
    texts = [
        "等了一个小时 你们是把我忘了吗？？",
        "等了一个小时，你们是把我忘了吗",
        "我要退款",
        "Thanks a lot.",
        "thanks a lot!!",
    ]
    pairs = {(i, j) for i, j, _ in near_duplicates(texts)}
    assert pairs == {(0, 1), (3, 4)}


# ----------------------------------------------------------------------------------- the real labelled set


def test_the_frozen_part_is_the_file_its_recorded_hash_names():
    # Changing eval/data/test_frozen.jsonl needs a new frozen file, a new FROZEN.sha256 and a note of why in
    # docs/EVAL.md ("The split"). Nobody tunes rules, lexicon or model on it.
    recorded = HASH_FILE.read_text(encoding="utf-8").split()[0]
    assert hashlib.sha256(TEST_FILE.read_bytes()).hexdigest() == recorded


def test_no_text_is_in_both_the_training_and_the_frozen_part():
    train, test = read(TRAIN_FILE), read(TEST_FILE)
    assert {normalise(r["text"]) for r in train} & {normalise(r["text"]) for r in test} == set()
    texts = _texts(train) + _texts(test)
    across = [(texts[i], texts[j]) for i, j, _ in near_duplicates(texts) if i < len(train) <= j]
    assert across == []  # nor one nearly repeating the other (3-gram Jaccard above 0.8)


def test_the_labelled_set_is_large_enough_and_the_frozen_part_holds_a_quarter_to_30_percent():
    train, test = read(TRAIN_FILE), read(TEST_FILE)
    assert len(train) + len(test) >= 2000
    assert 0.25 <= len(test) / (len(train) + len(test)) <= 0.30
    assert Counter(r["source"] for r in test)["book_holdout"] == 28
    assert Counter(r["source"] for r in train + test)["tuned_v1"] == 684
    assert all(r.get("family") for r in train + test)


def test_added_lines_join_train_and_the_frozen_part_does_not_move(tmp_path, monkeypatch):
    from eval.tools import split as splitter

    train, test, record = tmp_path / "train.jsonl", tmp_path / "test.jsonl", tmp_path / "FROZEN.sha256"
    first_train, first_test = split(_pool(), 0.3)
    for name, value in (("TRAIN_FILE", train), ("TEST_FILE", test), ("HASH_FILE", record)):
        monkeypatch.setattr(splitter, name, value)
    splitter.write(first_train, first_test)
    frozen_bytes = test.read_bytes()
    new = tmp_path / "new.jsonl"
    new.write_text(splitter.dumps([_row("a brand new reply about nails", "question", "q")]), encoding="utf-8")

    assert splitter.main(["--add", str(new)]) == 0
    assert test.read_bytes() == frozen_bytes
    assert "a brand new reply about nails" in _texts(read(train))
    assert splitter.main([]) == 0  # hash as recorded, nothing in both parts


def test_a_line_that_repeats_a_frozen_one_is_refused(tmp_path, monkeypatch):
    from eval.tools import split as splitter

    train, test, record = tmp_path / "train.jsonl", tmp_path / "test.jsonl", tmp_path / "FROZEN.sha256"
    for name, value in (("TRAIN_FILE", train), ("TEST_FILE", test), ("HASH_FILE", record)):
        monkeypatch.setattr(splitter, name, value)
    splitter.write(*split(_pool(), 0.3))
    frozen_text = read(test)[0]["text"]
    new = tmp_path / "new.jsonl"
    new.write_text(splitter.dumps([_row(frozen_text.upper() + "!!")]), encoding="utf-8")
    before = train.read_bytes()

    assert splitter.main(["--add", str(new)]) == 1
    assert train.read_bytes() == before
