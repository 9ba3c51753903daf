"""The cue lists of lexicon.toml (normalisation table, negation, intensifiers, one list per intent and
sentiment), loaded once per process and made ready to match: Chinese words as they are, English phrases
as tuples of crudely stemmed words."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent
LEXICON_PATH = _HERE / "lexicon.toml"


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN = re.compile(f"[{HAN_CLASS}]+")
_BARE_DROP = re.compile(f"[^a-z0-9{HAN_CLASS}]+")


def stem(word: str) -> str:
    """A crude plural folding, applied to both sides of a comparison ("gems" ~ "gem", "what's" ~ "what")."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def en_phrase(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _WORD.findall(text.lower().replace("\u2019", "'")))


def bare(text: str) -> str:
    return _BARE_DROP.sub("", text)


@dataclass(frozen=True)
class Words:
    """One lexicon list, ready to match: Chinese substrings / tokens, English token phrases."""

    zh: tuple[str, ...] = ()
    en: tuple[tuple[str, ...], ...] = ()

    @staticmethod
    def of(zh: Iterable[str] = (), en: Iterable[str] = ()) -> Words:
        zh_t = tuple(dict.fromkeys(w.lower() for w in zh if w))
        en_t = tuple(dict.fromkeys(p for p in (en_phrase(w) for w in en) if p))
        return Words(zh_t, en_t)


@dataclass(frozen=True)
class Lexicon:
    trad: dict[int, str]
    neg_zh: frozenset[str]
    neg_en: frozenset[str]
    skip_zh: frozenset[str]
    skip_en: frozenset[str]
    intens_zh: tuple[str, ...]
    intens_en: tuple[tuple[str, ...], ...]
    fillers: str  # a regex alternation
    contrast: Words
    hedge: Words
    greetings: frozenset[str]
    family_hair: Words
    family_nail: Words
    opt_exact: frozenset[str]
    opt_out: Words
    opt_patterns: tuple[re.Pattern[str], ...]
    complaint: Words
    complaint_patterns: tuple[re.Pattern[str], ...]
    dissatisfaction: Words
    dissatisfaction_key: str
    resched: Words
    resched_patterns: tuple[re.Pattern[str], ...]
    resched_verbs_en: frozenset[str]
    resched_verb_patterns: tuple[re.Pattern[str], ...]
    resched_time_words: tuple[str, ...]
    request: Words
    request_patterns: tuple[re.Pattern[str], ...]
    earlier_later: tuple[re.Pattern[str], ...]
    book: Words
    book_patterns: tuple[re.Pattern[str], ...]
    book_not_with_zh: tuple[str, ...]
    book_not_with_en: frozenset[str]
    book_weekend: Words
    book_services: tuple[tuple[str, tuple[str, ...], Words], ...]  # (key, zh substrings, en words), in order
    cancel: Words
    cancel_weak: frozenset[str]
    cancel_patterns: tuple[re.Pattern[str], ...]
    confirm_exact: frozenset[str]
    confirm_strong: Words
    confirm_weak: Words
    confirm_tokens: frozenset[str]
    praise_result: Words
    praise: Words
    good_token: str
    good_after: frozenset[str]
    praise_weak: Words
    thanks: Words
    question: Words
    question_marks: tuple[str, ...]
    question_final: frozenset[str]
    positive: Words
    negative: Words
    emoji_pos: tuple[str, ...]
    emoji_neg: tuple[str, ...]
    emoji_confirm: frozenset[str]
    emoji_praise: frozenset[str]
    emoji_complaint: frozenset[str]
    negative_issue_keys: frozenset[str]
    shouting: int
    issue_aliases: dict[str, tuple[str, ...]]


def _patterns(items: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in items)


@functools.cache
def lexicon() -> Lexicon:
    with LEXICON_PATH.open("rb") as fh:
        d = tomllib.load(fh)
    pairs = d["normalise"]["traditional"].split()
    trad = {ord(p[0]): p[1] for p in pairs if len(p) == 2 and p[0] != p[1]}
    neg, inten, sent = d["negation"], d["intensifiers"], d["sentiment"]
    opt, comp, dis = d["opt_out"], d["complaint"], d["dissatisfaction"]
    res, can, con, pra, que = d["reschedule"], d["cancel"], d["confirm"], d["praise"], d["question"]
    book = d["book"]
    fillers = sorted(d["fillers"]["zh"], key=len, reverse=True)
    cancel_weak = frozenset(can.get("weak_zh", ["算了", "不要了"]))
    return Lexicon(
        trad=trad,
        neg_zh=frozenset(neg["zh"]),
        neg_en=frozenset(stem(w) for w in neg["en"] if " " not in w),
        skip_zh=frozenset(neg["skip_zh"]),
        skip_en=frozenset(neg["skip_en"]),
        intens_zh=tuple(sorted(inten["zh"], key=len, reverse=True)),
        intens_en=tuple(en_phrase(w) for w in inten["en"]),
        fillers="|".join(re.escape(f) for f in fillers),
        contrast=Words.of(d["contrast"]["zh"], d["contrast"]["en"]),
        hedge=Words.of(d["hedge"]["zh"], d["hedge"]["en"]),
        greetings=frozenset(bare(g.lower()) for g in d["greeting"]["exact"]),
        family_hair=Words.of(d["family"]["hair_zh"], d["family"]["hair_en"]),
        family_nail=Words.of(d["family"]["nail_zh"], d["family"]["nail_en"]),
        opt_exact=frozenset(bare(w.lower()) for w in opt["exact"]),
        opt_out=Words.of(opt["zh"], opt["en"]),
        opt_patterns=_patterns(opt["patterns"]),
        complaint=Words.of(comp["zh"], comp["en"]),
        complaint_patterns=_patterns(comp["patterns"]),
        dissatisfaction=Words.of(dis["zh"], dis["en"]),
        dissatisfaction_key=dis["issue_key"],
        resched=Words.of(res["zh"], res["en"]),
        resched_patterns=_patterns(res.get("patterns", [])),
        resched_verbs_en=frozenset(res["verbs_en"]),
        resched_verb_patterns=_patterns(res["verb_patterns"]),
        resched_time_words=tuple(res["time_words_zh"]),
        request=Words.of(res["request_zh"], res["request_en"]),
        request_patterns=_patterns(res["request_patterns"]),
        earlier_later=_patterns(res["earlier_later"]),
        book=Words.of(book["zh"], book["en"]),
        book_patterns=_patterns(book["patterns"]),
        book_not_with_zh=tuple(book["not_with_zh"]),
        book_not_with_en=frozenset(stem(w) for w in book["not_with_en"]),
        book_weekend=Words.of(book["weekend_zh"], book["weekend_en"]),
        book_services=tuple(
            (key, tuple(w for w in words if not w.isascii()), Words.of((), [w for w in words if w.isascii()]))
            for key, words in book["services"].items()
        ),
        cancel=Words.of([w for w in can["zh"] if w not in cancel_weak], can["en"]),
        cancel_weak=cancel_weak,
        cancel_patterns=_patterns(can["patterns"]),
        confirm_exact=frozenset(bare(w.lower()) or w for w in con["exact"]),
        confirm_strong=Words.of(con["strong_zh"], con["strong_en"]),
        confirm_weak=Words.of(con["weak_zh"], con["weak_en"]),
        confirm_tokens=frozenset(con["token_zh"]),
        praise_result=Words.of(pra["result_zh"], pra["result_en"]),
        praise=Words.of(pra["zh"], pra["en"]),
        good_token=pra["good_token"],
        good_after=frozenset(pra["good_after"]),
        praise_weak=Words.of(pra["weak_zh"], pra["weak_en"]),
        thanks=Words.of(pra["thanks_zh"], pra["thanks_en"]),
        question=Words.of(que["zh"], que["en"]),
        question_marks=tuple(que["marks"]),
        question_final=frozenset(que["final_zh"]),
        positive=Words.of(sent["positive_zh"], sent["positive_en"]),
        negative=Words.of(sent["negative_zh"], sent["negative_en"]),
        emoji_pos=tuple(sent["emoji_positive"]),
        emoji_neg=tuple(sent["emoji_negative"]),
        emoji_confirm=frozenset(sent["emoji_confirm"]),
        emoji_praise=frozenset(sent["emoji_praise"]),
        emoji_complaint=frozenset(sent["emoji_complaint"]),
        negative_issue_keys=frozenset(sent["negative_issue_keys"]),
        shouting=int(sent["shouting"]),
        issue_aliases={k: tuple(v) for k, v in d.get("aftercare", {}).get("aliases", {}).items()},
    )
