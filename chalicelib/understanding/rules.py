"""The local reply classifier: normalisation, jieba word segmentation, lexicons (lexicon.toml) and rules.

Steps for one reply:
1. Normalise (`normalise`): NFKC per character (full-width -> half-width, "１" -> "1"), lower case, the
   traditional characters listed in lexicon.toml -> simplified, typographic apostrophes -> "'", control
   characters -> spaces, emoji variation selectors / keycaps / skin tones / joiners dropped (so "1️⃣" is "1"
   and "❤️" is "❤"). Every normalised character remembers where it came from, so a phrase can be quoted as
   the member wrote it. Very long texts keep their head and tail (MAX_CHARS).
2. Tokenise: Chinese runs with rjieba (jieba-rs: jieba's segmentation in Rust; lazy import, loaded once per
   process, plus the small domain dictionary salon_dict.txt), English/digit runs by regex. Text without
   Chinese never loads it.
3. Find cues of every kind (lexicon.toml), with negation ("不取消了", "don't cancel") checked on the tokens
   just before a cue, and a contrast ("但", "but") letting the later clause decide between praise and an
   aftercare issue.
4. Decide the intent by precedence (first match wins):
   a. opt_out     - must never be missed: the caller has to stop messaging. It wins even over a complaint
                    in the same message ("垃圾短信 天天发 退订"); the sentiment stays negative for staff.
                    "TD"/"退订"/"STOP"/"unsubscribe" alone, "不要再发了", "能不能取消后面的短信"...
   b. complaint   - must never be missed: a human must follow up. Wins over aftercare, reschedule and
                    cancel ("烫坏了，我要投诉，取消下周的" is a complaint). Also intensified dissatisfaction
                    ("太失望了", "so disappointed"). No negation is applied to complaint cues.
   c. aftercare_issue - a known issue of the booking's category (texts.care_issues), else of the other
                    categories of the same family (hair / nails) the text talks about, else of all
                    categories; or plain dissatisfaction ("不太喜欢这个颜色" -> unhappy_with_result).
   d. reschedule  - a rescheduling word ("改约", "reschedule"), a move verb with a time after it
                    ("改到周五", "move me to the 28th"), or a time with a request ("周六下午三点有位置吗").
                    The requested day/time is extracted (see `_extract_times`).
   e. cancel      - "取消", "来不了", "can't make it"... unless negated ("不取消了" confirms).
   f. confirm (strong) - an attendance statement: "确认", "1", "准时", "see you", "will be there".
   g. praise      - praise of the result or the service ("好看", "手艺真好", "love my nails").
   h. confirm (weak)   - an acknowledgement ("好的", "收到", "ok"), unless the reply hedges ("等我问问")
                    or asks something.
   i. praise (thanks / lukewarm only) - "谢谢你们", "这次还行".
   j. question    - "?", "吗", "怎么", "how", "what"...
   k. other.
   An emoji-only reply goes by its emoji (👍 confirm, 😍 praise, 😡 complaint); greetings alone are other.
5. Sentiment: negative for complaints, dissatisfaction, negative words/emoji, intensified or health-related
   aftercare issues and shouting ("!!!"); positive for praise, positive words/emoji, and thanks (except in a
   cancel, reschedule or opt-out, where thanks is politeness); a lukewarm "还行" stays neutral.
"""

from __future__ import annotations

import calendar
import functools
import logging
import os
import re
import threading
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from chalicelib.clock import Clock, SystemClock
from chalicelib.understanding import INTENTS, SENTIMENTS, Understanding

_HERE = Path(__file__).resolve().parent
LEXICON_PATH = _HERE / "lexicon.toml"
SALON_DICT_PATH = _HERE / "salon_dict.txt"

MAX_CHARS = 2000  # a reply longer than this keeps its first 1500 and last 500 characters
_HEAD, _TAIL = 1500, 500
_MAX_NORM = 4000  # NFKC can expand a character ("﷽"); cap the normalised text too

_log = logging.getLogger(__name__)

# -------------------------------------------------------------------------------------------- jieba

_JIEBA_LOCK = threading.Lock()
_JIEBA: Any = None


def _load_dictionary(tokenizer: Any, path: Path) -> None:
    """Add every word of a jieba-format dictionary ("word [freq] [tag]" a line) to `tokenizer`."""
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tokenizer.add_word(parts[0], freq, parts[2] if len(parts) > 2 else None)


def _tokenizer() -> Any:
    """The word segmenter (rjieba: jieba-rs, jieba's algorithm and dictionary in Rust), imported and given the
    salon dictionary once per process. Importing rjieba loads jieba's full dictionary into its module-level
    segmenter (~0.25 s); that one is used, so nothing is loaded twice and no cache file is written."""
    global _JIEBA
    if _JIEBA is None:
        with _JIEBA_LOCK:
            if _JIEBA is None:
                import rjieba

                # CHAIRSIDE_JIEBA_DICT: another main dictionary (same format as jieba's dict.txt) instead of
                # jieba's own, e.g. a smaller one (docs/EVAL.md). rjieba still loads its own on import.
                main_dict = os.environ.get("CHAIRSIDE_JIEBA_DICT")
                if main_dict and os.path.isfile(main_dict):
                    tk: Any = rjieba.Jieba.empty()
                    _load_dictionary(tk, Path(main_dict))
                else:
                    tk = rjieba  # its module functions are the default segmenter's bound methods
                _load_dictionary(tk, SALON_DICT_PATH)
                _JIEBA = tk
    return _JIEBA


def warm() -> None:
    """Load jieba and its dictionaries now (e.g. in a chat webhook Lambda's init phase) instead of on the
    first Chinese reply."""
    _tokenizer()
    _lexicon()


# ------------------------------------------------------------------------------------------ lexicon

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile(f"[{_HAN_CLASS}]+")
_TOKEN = re.compile(f"(?P<han>[{_HAN_CLASS}]+)|(?P<word>[a-z0-9]+(?:'[a-z]+)*)")
_BARE_DROP = re.compile(f"[^a-z0-9{_HAN_CLASS}]+")


def _stem(word: str) -> str:
    """A crude plural folding, applied to both sides of a comparison ("gems" ~ "gem", "what's" ~ "what")."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _en_phrase(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _WORD.findall(text.lower().replace("\u2019", "'")))


def _bare(text: str) -> str:
    return _BARE_DROP.sub("", text)


@dataclass(frozen=True)
class _Words:
    """One lexicon list, ready to match: Chinese substrings / tokens, English token phrases."""

    zh: tuple[str, ...] = ()
    en: tuple[tuple[str, ...], ...] = ()

    @staticmethod
    def of(zh: Iterable[str] = (), en: Iterable[str] = ()) -> _Words:
        zh_t = tuple(dict.fromkeys(w.lower() for w in zh if w))
        en_t = tuple(dict.fromkeys(p for p in (_en_phrase(w) for w in en) if p))
        return _Words(zh_t, en_t)


@dataclass(frozen=True)
class _Lexicon:
    trad: dict[int, str]
    neg_zh: frozenset[str]
    neg_en: frozenset[str]
    skip_zh: frozenset[str]
    skip_en: frozenset[str]
    intens_zh: tuple[str, ...]
    intens_en: tuple[tuple[str, ...], ...]
    fillers: str  # a regex alternation
    contrast: _Words
    hedge: _Words
    greetings: frozenset[str]
    family_hair: _Words
    family_nail: _Words
    opt_exact: frozenset[str]
    opt_out: _Words
    opt_patterns: tuple[re.Pattern[str], ...]
    complaint: _Words
    complaint_patterns: tuple[re.Pattern[str], ...]
    dissatisfaction: _Words
    dissatisfaction_key: str
    resched: _Words
    resched_patterns: tuple[re.Pattern[str], ...]
    resched_verbs_en: frozenset[str]
    resched_verb_patterns: tuple[re.Pattern[str], ...]
    resched_time_words: tuple[str, ...]
    request: _Words
    request_patterns: tuple[re.Pattern[str], ...]
    earlier_later: tuple[re.Pattern[str], ...]
    cancel: _Words
    cancel_weak: frozenset[str]
    cancel_patterns: tuple[re.Pattern[str], ...]
    confirm_exact: frozenset[str]
    confirm_strong: _Words
    confirm_weak: _Words
    confirm_tokens: frozenset[str]
    praise_result: _Words
    praise: _Words
    good_token: str
    good_after: frozenset[str]
    praise_weak: _Words
    thanks: _Words
    question: _Words
    question_marks: tuple[str, ...]
    question_final: frozenset[str]
    positive: _Words
    negative: _Words
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
def _lexicon() -> _Lexicon:
    with LEXICON_PATH.open("rb") as fh:
        d = tomllib.load(fh)
    pairs = d["normalise"]["traditional"].split()
    trad = {ord(p[0]): p[1] for p in pairs if len(p) == 2 and p[0] != p[1]}
    neg, inten, sent = d["negation"], d["intensifiers"], d["sentiment"]
    opt, comp, dis = d["opt_out"], d["complaint"], d["dissatisfaction"]
    res, can, con, pra, que = d["reschedule"], d["cancel"], d["confirm"], d["praise"], d["question"]
    fillers = sorted(d["fillers"]["zh"], key=len, reverse=True)
    cancel_weak = frozenset(can.get("weak_zh", ["算了", "不要了"]))
    return _Lexicon(
        trad=trad,
        neg_zh=frozenset(neg["zh"]),
        neg_en=frozenset(_stem(w) for w in neg["en"] if " " not in w),
        skip_zh=frozenset(neg["skip_zh"]),
        skip_en=frozenset(neg["skip_en"]),
        intens_zh=tuple(sorted(inten["zh"], key=len, reverse=True)),
        intens_en=tuple(_en_phrase(w) for w in inten["en"]),
        fillers="|".join(re.escape(f) for f in fillers),
        contrast=_Words.of(d["contrast"]["zh"], d["contrast"]["en"]),
        hedge=_Words.of(d["hedge"]["zh"], d["hedge"]["en"]),
        greetings=frozenset(_bare(g.lower()) for g in d["greeting"]["exact"]),
        family_hair=_Words.of(d["family"]["hair_zh"], d["family"]["hair_en"]),
        family_nail=_Words.of(d["family"]["nail_zh"], d["family"]["nail_en"]),
        opt_exact=frozenset(_bare(w.lower()) for w in opt["exact"]),
        opt_out=_Words.of(opt["zh"], opt["en"]),
        opt_patterns=_patterns(opt["patterns"]),
        complaint=_Words.of(comp["zh"], comp["en"]),
        complaint_patterns=_patterns(comp["patterns"]),
        dissatisfaction=_Words.of(dis["zh"], dis["en"]),
        dissatisfaction_key=dis["issue_key"],
        resched=_Words.of(res["zh"], res["en"]),
        resched_patterns=_patterns(res.get("patterns", [])),
        resched_verbs_en=frozenset(res["verbs_en"]),
        resched_verb_patterns=_patterns(res["verb_patterns"]),
        resched_time_words=tuple(res["time_words_zh"]),
        request=_Words.of(res["request_zh"], res["request_en"]),
        request_patterns=_patterns(res["request_patterns"]),
        earlier_later=_patterns(res["earlier_later"]),
        cancel=_Words.of([w for w in can["zh"] if w not in cancel_weak], can["en"]),
        cancel_weak=cancel_weak,
        cancel_patterns=_patterns(can["patterns"]),
        confirm_exact=frozenset(_bare(w.lower()) or w for w in con["exact"]),
        confirm_strong=_Words.of(con["strong_zh"], con["strong_en"]),
        confirm_weak=_Words.of(con["weak_zh"], con["weak_en"]),
        confirm_tokens=frozenset(con["token_zh"]),
        praise_result=_Words.of(pra["result_zh"], pra["result_en"]),
        praise=_Words.of(pra["zh"], pra["en"]),
        good_token=pra["good_token"],
        good_after=frozenset(pra["good_after"]),
        praise_weak=_Words.of(pra["weak_zh"], pra["weak_en"]),
        thanks=_Words.of(pra["thanks_zh"], pra["thanks_en"]),
        question=_Words.of(que["zh"], que["en"]),
        question_marks=tuple(que["marks"]),
        question_final=frozenset(que["final_zh"]),
        positive=_Words.of(sent["positive_zh"], sent["positive_en"]),
        negative=_Words.of(sent["negative_zh"], sent["negative_en"]),
        emoji_pos=tuple(sent["emoji_positive"]),
        emoji_neg=tuple(sent["emoji_negative"]),
        emoji_confirm=frozenset(sent["emoji_confirm"]),
        emoji_praise=frozenset(sent["emoji_praise"]),
        emoji_complaint=frozenset(sent["emoji_complaint"]),
        negative_issue_keys=frozenset(sent["negative_issue_keys"]),
        shouting=int(sent["shouting"]),
        issue_aliases={k: tuple(v) for k, v in d.get("aftercare", {}).get("aliases", {}).items()},
    )


# ------------------------------------------------------------------------------------- normalisation

_DROP = {0xFE0E, 0xFE0F, 0x20E3, 0x200D, 0x200C, 0x200B, 0x2060, 0xFEFF}
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\uff07": "'"}


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character."""
    lex = _lexicon()
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if code in _DROP or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp"):
            piece = " "
        elif cat == "Cf":
            continue
        elif ch in _APOSTROPHES:
            piece = "'"
        else:
            piece = unicodedata.normalize("NFKC", ch).lower().translate(lex.trad)
            if ch != piece and "\u3000" <= ch <= "\uffef" and piece.isspace():
                piece = " "
        for p in piece:
            out.append(p)
            index.append(i)
    return "".join(out), index


# ---------------------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int
    han: bool
    stem: str = ""


@dataclass
class _Doc:
    raw: str
    norm: str
    index: list[int]
    toks: list[_Tok]
    words: list[_Tok]  # English/digit tokens only
    has_han: bool
    bare: str
    locale: str
    _tok_at: dict[int, int] = field(default_factory=dict)  # char position -> token index (han tokens)

    def quote(self, start: int, end: int) -> str:
        """The original text of norm[start:end]."""
        if start >= end or not self.index:
            return ""
        return self.raw[self.index[start] : self.index[end - 1] + 1].strip()


def _doc(text: str, locale: str | None) -> _Doc:
    if len(text) > MAX_CHARS:
        text = text[:_HEAD] + "\n" + text[-_TAIL:]
    norm, index = normalise(text)
    if len(norm) > _MAX_NORM:
        norm, index = norm[:_MAX_NORM], index[:_MAX_NORM]
    toks: list[_Tok] = []
    words: list[_Tok] = []
    has_han = False
    for m in _TOKEN.finditer(norm):
        if m.group("han"):
            has_han = True
            run, base = m.group(0), m.start()
            for word, s, e in _tokenizer().tokenize(run, hmm=True):
                toks.append(_Tok(word, base + s, base + e, True))
        else:
            t = _Tok(m.group(0), m.start(), m.end(), False, _stem(m.group(0)))
            toks.append(t)
            words.append(t)
    loc = (locale or "").strip().lower()
    if not loc:
        loc = "zh" if has_han else "en"
    doc = _Doc(text, norm, index, toks, words, has_han, _bare(norm), "zh" if loc.startswith("zh") else "en")
    for i, t in enumerate(toks):
        if t.han:
            for p in range(t.start, t.end):
                doc._tok_at[p] = i
    return doc


# ------------------------------------------------------------------------------------------ matching


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    text: str
    negated: bool = False


def _find_all(hay: str, needle: str) -> Iterable[int]:
    i = hay.find(needle)
    while i >= 0:
        yield i
        i = hay.find(needle, i + 1)


def _is_a_not_a(doc: _Doc, start: int) -> bool:
    """ "能不能取消", "要不要取消": an A-not-A question, not a negation."""
    n = doc.norm
    return start >= 3 and n[start - 2] == "不" and n[start - 3] == n[start - 1]


def _zh_negated(doc: _Doc, start: int) -> bool:
    lex = _lexicon()
    if _is_a_not_a(doc, start):
        return False
    i = doc._tok_at.get(start)
    if i is None:
        return False
    tok = doc.toks[i]
    if tok.start < start:  # the cue starts inside a token: "不取消" as one token
        prefix = doc.norm[tok.start : start]
        return any(prefix.endswith(n) for n in lex.neg_zh)
    steps = 0
    cur = tok
    j = i - 1
    while j >= 0 and steps < 3:
        prev = doc.toks[j]
        if not prev.han or doc.norm[prev.end : cur.start].strip():
            return False  # negation does not cross punctuation or a change of script
        if prev.text in lex.neg_zh:
            return not _is_a_not_a(doc, cur.start)
        if prev.text not in lex.skip_zh:
            return False
        cur = prev
        j -= 1
        steps += 1
    return False


def _crosses_word(doc: _Doc, start: int, end: int) -> bool:
    """The match ends inside a word that begins inside the match: "完美" in 做/完/美甲 is not "perfect"."""
    i = doc._tok_at.get(end - 1)
    if i is None:
        return False
    tok = doc.toks[i]
    return tok.end > end and tok.start > start


def _zh_token_hits(doc: _Doc, word: str) -> list[_Hit]:
    return [_Hit(t.start, t.end, word) for t in doc.toks if t.han and t.text == word]


def _zh_hits(doc: _Doc, words: Sequence[str], *, negation: bool = True, strict: bool = True) -> list[_Hit]:
    """Occurrences of Chinese cues. strict=False keeps matches that cross a word boundary: for the
    kinds that must never be missed (opt-outs, complaints) recall matters more than precision."""
    hits: list[_Hit] = []
    for w in words:
        if len(w) == 1 and _HAN.fullmatch(w):
            found = _zh_token_hits(doc, w)
        elif w.isascii() and w.isalnum():
            found = [
                _Hit(m.start(), m.end(), w)
                for m in re.finditer(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", doc.norm)
            ]
        else:
            found = [
                _Hit(s, s + len(w), w)
                for s in _find_all(doc.norm, w)
                if not (strict and _crosses_word(doc, s, s + len(w)))
            ]
        for h in found:
            neg = negation and _zh_negated(doc, h.start)
            hits.append(_Hit(h.start, h.end, w, neg))
    return hits


def _en_negated(doc: _Doc, k: int) -> bool:
    lex = _lexicon()
    j, steps = k - 1, 0
    while j >= 0 and steps < 3:
        w = doc.words[j].text
        if doc.words[j].stem in lex.neg_en or w in lex.neg_en or w.endswith("n't"):
            return True
        if w not in lex.skip_en:
            return False
        j -= 1
        steps += 1
    return False


def _en_hits(doc: _Doc, phrases: Sequence[tuple[str, ...]], *, negation: bool = True) -> list[_Hit]:
    hits: list[_Hit] = []
    stems = [t.stem for t in doc.words]
    n = len(stems)
    for p in phrases:
        m = len(p)
        for k in range(n - m + 1):
            if tuple(stems[k : k + m]) == p:
                neg = negation and _en_negated(doc, k)
                hits.append(_Hit(doc.words[k].start, doc.words[k + m - 1].end, " ".join(p), neg))
    return hits


def _hits(doc: _Doc, words: _Words, *, negation: bool = True, strict: bool = True) -> list[_Hit]:
    out = (
        _zh_hits(doc, words.zh, negation=negation, strict=strict)
        if doc.has_han or any(w.isascii() for w in words.zh)
        else []
    )
    if doc.words:
        out += _en_hits(doc, words.en, negation=negation)
    return out


def _pattern_hits(doc: _Doc, patterns: Iterable[re.Pattern[str]]) -> list[_Hit]:
    return [_Hit(m.start(), m.end(), m.group(0)) for p in patterns for m in p.finditer(doc.norm)]


def _positive(hits: Iterable[_Hit]) -> list[_Hit]:
    return [h for h in hits if not h.negated]


def _intensified_before(doc: _Doc, start: int) -> bool:
    """An intensifier right before `start` ("太失望", "非常不满意", "so disappointed")."""
    lex = _lexicon()
    before = doc.norm[max(0, start - 4) : start]
    if any(before.endswith(w) for w in lex.intens_zh):
        return True
    k = next((i for i, t in enumerate(doc.words) if t.start == start), None)
    if k is None:
        return False
    stems = [t.stem for t in doc.words]
    for p in lex.intens_en:
        if k >= len(p) and tuple(stems[k - len(p) : k]) == p:
            return True
    return False


def _intensified_near(doc: _Doc, hit: _Hit) -> bool:
    """An intensifier inside, just before or just after an aftercare keyword ("好毛躁", "分叉严重")."""
    lex = _lexicon()
    if any(w in hit.text for w in lex.intens_zh):  # "太短", and fillers inside a fuzzy match: "掉得好快"
        return True
    if _intensified_before(doc, hit.start):
        return True
    after = doc.norm[hit.end : hit.end + 4]
    if any(
        after.lstrip("了得的 ").startswith(w)
        for w in ("严重", "好多", "好快", "太快", "很多", "太多", "厉害", "死了", "得不行", "透了")
    ):
        return True
    i = doc._tok_at.get(hit.end)  # the next word is an intensifier: "褪色/好/明显"
    while i is not None and i < len(doc.toks) and doc.toks[i].text in ("了", "得", "的"):
        i += 1
    if i is not None and i < len(doc.toks) and doc.toks[i].han and doc.toks[i].text in lex.intens_zh:
        return True
    k = next((i for i, t in enumerate(doc.words) if t.end == hit.end), None)
    if k is not None:
        follow = [t.stem for t in doc.words[k + 1 : k + 5]]
        if " ".join(follow).startswith(("so much", "a lot", "badly", "terribly")):
            return True
        # "the smell is still really strong": an intensifier a few words later, in the same clause
        if not _CLAUSE_END.search(doc.norm, hit.end, doc.words[min(k + 4, len(doc.words) - 1)].end):
            singles = {p[0] for p in lex.intens_en if len(p) == 1} - {"too", "so", "way"}
            if any(w in singles for w in follow):
                return True
    return False


# ------------------------------------------------------------------------------------ aftercare issues

_FAMILIES = {
    "hair": ("hair_cut", "hair_colour", "perm", "hair_care"),
    "nail": ("nail_gel", "nail_art", "nail_care"),
}
_DOWNTONERS = ("有点", "有些", "一点", "稍微")


@dataclass(frozen=True)
class _IssueMatcher:
    key: str
    category: str
    advice_zh: str
    advice_en: str
    fuzzy: tuple[re.Pattern[str], ...]
    cores: tuple[str, ...]  # one-character keywords, and keywords without their intensifier ("有点干" -> 干):
    # whole jieba tokens, possibly with an intensifier or doubled ("好干", "痒痒")
    en: tuple[tuple[str, ...], ...]

    def as_issue(self) -> dict:
        return {
            "key": self.key,
            "advice_zh": self.advice_zh,
            "advice_en": self.advice_en,
            "category": self.category,
        }


@functools.cache
def _issue_matchers(category: str) -> tuple[_IssueMatcher, ...]:
    """Matchers for care_issues(category), built once per category."""
    from chalicelib.journeys.texts import care_issues

    lex = _lexicon()
    issues = care_issues(category)
    shared = care_issues("default")
    own = {str(i.get("key")) for i in issues[: len(issues) - len(shared)]} if category != "default" else set()
    out: list[_IssueMatcher] = []
    for issue in issues:
        key = str(issue.get("key", ""))
        aliases = lex.issue_aliases.get(key, ())
        fuzzy: list[re.Pattern[str]] = []
        cores: list[str] = []
        zh_words = [*issue.get("keywords_zh", []), *(a for a in aliases if _HAN.search(a))]
        en_words = [*issue.get("keywords_en", []), *(a for a in aliases if not _HAN.search(a))]
        for kw in zh_words:
            kw = normalise(str(kw))[0].strip()
            if not kw:
                continue
            if len(kw) == 1:
                cores.append(kw)
                continue
            gap = f"(?:{lex.fillers}){{0,2}}"
            fuzzy.append(re.compile(gap.join(re.escape(c) for c in kw)))
            for w in (*lex.intens_zh, *_DOWNTONERS):
                if kw.startswith(w) and len(kw) > len(w):
                    cores.append(kw[len(w) :])
                    break
        en = tuple(p for p in (_en_phrase(str(k)) for k in en_words) if p)
        out.append(
            _IssueMatcher(
                key=key,
                category=category if key in own else "default",
                advice_zh=str(issue.get("advice_zh", "")),
                advice_en=str(issue.get("advice_en", "")),
                fuzzy=tuple(fuzzy),
                cores=tuple(dict.fromkeys(cores)),
                en=en,
            )
        )
    return tuple(out)


def _issue_hits(doc: _Doc, m: _IssueMatcher) -> list[_Hit]:
    lex = _lexicon()
    hits: list[_Hit] = []
    if doc.has_han:
        for rx in m.fuzzy:
            for mo in rx.finditer(doc.norm):
                if not _zh_negated(doc, mo.start()):
                    hits.append(_Hit(mo.start(), mo.end(), mo.group(0)))
        for core in m.cores:
            for t in doc.toks:
                if not t.han or core not in t.text:
                    continue
                head, _, tail = t.text.partition(core)
                if (
                    (head in ("", core) or head in lex.intens_zh)
                    and tail in ("", core, "得", "的", "了", "掉")
                    and not _zh_negated(doc, t.start)
                ):
                    hits.append(_Hit(t.start, t.end, t.text))
    if doc.words:
        stems = [t.stem for t in doc.words]
        for p in m.en:
            if len(p) == 1:
                for k, s in enumerate(stems):
                    if s == p[0] and not _en_negated(doc, k):
                        hits.append(_Hit(doc.words[k].start, doc.words[k].end, s))
                continue
            width = len(p) + 3  # every word of the phrase, in any order, close together
            for k in range(len(stems)):
                window = stems[k : k + width]
                if window and window[0] in p and all(w in window for w in p) and not _en_negated(doc, k):
                    last = max(k + window.index(w) for w in p)
                    hits.append(_Hit(doc.words[k].start, doc.words[last].end, " ".join(p)))
    return hits


def _family_of_text(doc: _Doc) -> str | None:
    lex = _lexicon()
    hair = bool(_hits(doc, lex.family_hair, negation=False))
    nail = bool(_hits(doc, lex.family_nail, negation=False))
    if hair != nail:
        return "hair" if hair else "nail"
    return None


def _family_of(category: str | None) -> str | None:
    for fam, cats in _FAMILIES.items():
        if category in cats:
            return fam
    return None


def _issue_stages(doc: _Doc, category: str | None) -> list[tuple[str, ...]]:
    """Which categories' issues to try, in order: the booking's own (with the defaults); then the other
    categories of the family the text talks about (or the booking's family); then, when the text names no
    family, every category."""
    booked = category if _family_of(category) else None
    text_family = _family_of_text(doc)
    stages: list[tuple[str, ...]] = []
    if booked and (text_family in (None, _family_of(booked))):
        stages.append((booked,))
    family = text_family or _family_of(booked)
    if family:
        stages.append(tuple(c for c in _FAMILIES[family] if c != booked))
    if text_family is None:
        stages.append(tuple(c for cats in _FAMILIES.values() for c in cats if c != booked))
    if not stages:
        stages.append(("default",))
    return stages


def _find_issue(doc: _Doc, category: str | None, after: int) -> tuple[_IssueMatcher, _Hit] | None:
    """The first known issue whose keywords occur at or after position `after`. When neither the booking
    nor the text says hair or nails, short ambiguous keywords ("red", "thin", 干) do not count."""
    stages = _issue_stages(doc, category)
    broad = stages[-1] if len(stages) > 1 or not _family_of(category) else ()
    for stage in stages:
        for cat in stage:
            for m in _issue_matchers(cat):
                hits = [h for h in _issue_hits(doc, m) if h.start >= after]
                if stage is broad and _family_of_text(doc) is None:
                    hits = [h for h in hits if _specific(h.text)]
                if hits:
                    return m, hits[0]
    return None


def _specific(keyword: str) -> bool:
    if _HAN.search(keyword):
        return len(keyword) >= 2
    return " " in keyword or len(keyword) >= 5


def _issue_by_key(key: str, category: str | None) -> _IssueMatcher | None:
    for cat in ((category,) if _family_of(category) else ()) + ("default",):
        for m in _issue_matchers(cat):
            if m.key == key:
                return m
    return None


# ----------------------------------------------------------------------------------- day and time

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
class _Span:
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


def _times(doc: _Doc) -> list[_Span]:
    """Every day/time expression in the text, without overlaps (longer and earlier first)."""
    n = doc.norm
    spans: list[_Span] = []
    day_first = doc.locale == "en"  # "12/3": 12 March in English (en_GB), 3 December in Chinese

    for m in _RX_YMD.finditer(n):
        spans.append(_Span("date", (int(m.group(1)), int(m.group(2)), int(m.group(3))), m.start(), m.end()))
    for m in _RX_ZH_DATE.finditer(n):
        mo, d = _cn_number(m.group(1)), _cn_number(m.group(2))
        if mo and d:
            spans.append(_Span("date", (None, mo, d), m.start(), m.end()))
    for m in _RX_NUM_DATE.finditer(n):
        a, b = int(m.group(1)), int(m.group(2))
        mo, d = (b, a) if (day_first and b <= 12) or a > 12 else (a, b)
        spans.append(_Span("date", (None, mo, d), m.start(), m.end()))
    for m in _RX_EN_MONTH_DAY.finditer(n):
        spans.append(_Span("date", (None, _MONTHS_EN[m.group(1)[:3]], int(m.group(2))), m.start(), m.end()))
    for m in _RX_EN_DAY_MONTH.finditer(n):
        spans.append(_Span("date", (None, _MONTHS_EN[m.group(2)[:3]], int(m.group(1))), m.start(), m.end()))
    for m in _RX_ZH_DAY.finditer(n):
        d = _cn_number(m.group(1))
        if d:
            spans.append(_Span("day", d, m.start(), m.end()))
    for m in _RX_EN_ORDINAL.finditer(n):
        spans.append(_Span("day", int(m.group(1)), m.start(), m.end()))
    for m in _RX_ZH_WEEKDAY.finditer(n):
        spans.append(_Span("weekday", _WEEKDAY_ZH[m.group(2)], m.start(), m.end()))
    for m in _RX_EN_WEEKDAY.finditer(n):
        spans.append(_Span("weekday", _WEEKDAY_EN[m.group(2)], m.start(), m.end()))
    for m in _RX_ZH_RELATIVE.finditer(n):
        word = m.group(1)
        if word == "大后天":
            continue
        spans.append(_Span("relative", _ZH_RELATIVE[word], m.start(), m.end()))
        if word in _ZH_RELATIVE_PART:
            spans.append(_Span("part", _ZH_RELATIVE_PART[word], m.start(), m.end()))
    for m in _RX_EN_RELATIVE.finditer(n):
        spans.append(_Span("relative", _EN_RELATIVE[m.group(1)], m.start(), m.end()))
        if m.group(1) in ("tonight", "tonite"):
            spans.append(_Span("part", "evening", m.start(), m.end()))
    for m in _RX_ZH_PART.finditer(n):
        spans.append(_Span("part", _ZH_PART[m.group(1)], m.start(), m.end()))
    for m in _RX_EN_PART.finditer(n):
        spans.append(_Span("part", _EN_PART[m.group(1)], m.start(), m.end()))
        if m.group(1) in ("noon", "midday"):
            spans.append(_Span("time", (12, 0, "pm"), m.start(), m.end()))
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
        spans.append(_Span("time", (h, minute, None), m.start(), m.end()))
    for m in _RX_COLON_TIME.finditer(n):
        spans.append(_Span("time", (int(m.group(1)), int(m.group(2)), m.group(3)), m.start(), m.end()))
    for m in _RX_EN_TIME.finditer(n):
        spans.append(_Span("time", (int(m.group(1)), int(m.group(2) or 0), m.group(3)), m.start(), m.end()))
    for m in _RX_EN_AT.finditer(n):
        spans.append(_Span("time", (int(m.group(1)), 0, None), m.start(1), m.end()))

    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[_Span] = []
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


def _requested(doc: _Doc, spans: list[_Span], anchor: int | None, today: date) -> dict:
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
    first: dict[str, _Span] = {}
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
        out["date"] = _resolve_day(s.value, today) if s.kind == "day" else _resolve_date(*s.value, today)
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


# ------------------------------------------------------------------------------------------ classifier

_CLAUSE_END = re.compile(r"[，。,.!！?？;；~～\n]")


@dataclass
class _Cues:
    """Everything found in one reply (only the kinds the decision needs)."""

    contrast_at: int = -1
    hits: dict[str, list[_Hit]] = field(default_factory=dict)

    def any(self, name: str) -> bool:
        return bool(self.hits.get(name))


class RulesClassifier:
    """The local classifier. `clock` (chalicelib.clock.Clock) and `timezone` give "today" for turning
    "11月25日" into a date; both default to the system clock in Asia/Shanghai."""

    def __init__(self, clock: Clock | None = None, timezone: str = "Asia/Shanghai") -> None:
        self._clock: Clock = clock or SystemClock()
        self._timezone = timezone
        _lexicon()  # a broken lexicon.toml fails here, loudly, not as "other" for every reply

    def _today(self) -> date:
        from zoneinfo import ZoneInfo

        now = self._clock.now()
        try:
            return now.astimezone(ZoneInfo(self._timezone)).date()
        except Exception:  # noqa: BLE001 - an unknown zone must not break understanding
            return now.date()

    # ------------------------------------------------------------------------------------------ public

    def classify(self, text: str, *, category: str | None = None, locale: str | None = None) -> Understanding:
        try:
            result = self._classify(text if isinstance(text, str) else str(text or ""), category, locale)
        except Exception:  # noqa: BLE001 - a reply must never break the webhook; log and fall back
            _log.exception("reply classification failed")
            return Understanding("other", "neutral", confidence=0.0)
        if result.intent not in INTENTS or result.sentiment not in SENTIMENTS:  # pragma: no cover - a bug
            _log.error("reply classification produced %r", result)
            return Understanding("other", "neutral", confidence=0.0)
        return result

    # ----------------------------------------------------------------------------------------- private

    def _classify(self, text: str, category: str | None, locale: str | None) -> Understanding:
        lex = _lexicon()
        if not text or not text.strip():
            return Understanding("other", "neutral", confidence=0.2)
        doc = _doc(text, locale)
        emoji_pos = [e for e in lex.emoji_pos if e in doc.norm]
        emoji_neg = [e for e in lex.emoji_neg if e in doc.norm]

        # Emoji-only (or punctuation-only) replies.
        if not doc.bare:
            present = {e for e in (*lex.emoji_pos, *lex.emoji_neg, *lex.emoji_confirm) if e in doc.norm}
            sentiment = "negative" if emoji_neg and not emoji_pos else "positive" if emoji_pos else "neutral"
            if present & lex.emoji_complaint:
                return Understanding("complaint", "negative", confidence=0.6)
            if present & lex.emoji_confirm:
                return Understanding("confirm", sentiment, confidence=0.8)
            if present & lex.emoji_praise:
                return Understanding("praise", "positive", confidence=0.7)
            return Understanding("other", sentiment, confidence=0.4)

        # a. opt-out
        if doc.bare in lex.opt_exact:
            return Understanding(
                "opt_out", self._sentiment(doc, "opt_out", emoji_pos, emoji_neg), confidence=0.99
            )
        if _positive(_hits(doc, lex.opt_out, strict=False)) or _pattern_hits(doc, lex.opt_patterns):
            return Understanding(
                "opt_out", self._sentiment(doc, "opt_out", emoji_pos, emoji_neg), confidence=0.95
            )

        # b. complaint
        dissatisfied = _positive(_hits(doc, lex.dissatisfaction))
        dissatisfied += [h for h in _hits(doc, lex.praise_result) if h.negated]
        if (
            _hits(doc, lex.complaint, negation=False, strict=False)
            or _pattern_hits(doc, lex.complaint_patterns)
            or any(_dissatisfaction_intensified(doc, h) for h in dissatisfied)
        ):
            return Understanding("complaint", "negative", confidence=0.9)

        contrast = [h.end for h in _hits(doc, lex.contrast, negation=False)]
        contrast_at = max(contrast) if contrast else -1
        praise_strong = self._praise(doc)
        praise_any = praise_strong + _positive(_hits(doc, lex.praise_weak))
        praise_after = [h for h in praise_any if h.start >= contrast_at]

        # c. aftercare issue (after a contrast, only what follows it counts when it praises)
        after = contrast_at if (contrast_at >= 0 and praise_after) else 0
        found = _find_issue(doc, category, after)
        dissatisfied_after = [h for h in dissatisfied if h.start >= after]
        if found or dissatisfied_after:
            if found:
                matcher, hit = found
                negative = matcher.key in lex.negative_issue_keys or _intensified_near(doc, hit)
            else:
                matcher = _issue_by_key(lex.dissatisfaction_key, category)
                negative = True
            negative = negative or bool(dissatisfied_after) or bool(emoji_neg)
            negative = negative or bool(_positive(_hits(doc, lex.negative)))
            issue = matcher.as_issue() if matcher else None
            return Understanding(
                "aftercare_issue", "negative" if negative else "neutral", issue=issue, confidence=0.85
            )

        # d. reschedule
        spans = _times(doc)
        cancel_hits = _hits(doc, lex.cancel) + [
            _Hit(h.start, h.end, h.text, _en_negated_at(doc, h.start))
            for h in _pattern_hits(doc, lex.cancel_patterns)
        ]
        weak_cancel = _zh_hits(doc, sorted(lex.cancel_weak)) if doc.has_han else []
        resched, anchor, conf = self._reschedule(doc, spans)
        if resched:
            requested = _requested(doc, spans, anchor, self._today())
            return Understanding(
                "reschedule",
                self._sentiment(doc, "reschedule", emoji_pos, emoji_neg),
                requested=requested,
                confidence=conf,
            )

        # e. cancel
        strong_confirm = _positive(_hits(doc, lex.confirm_strong)) + [
            h for h in _zh_token_hits(doc, "见") if not _zh_negated(doc, h.start)
        ]
        if doc.bare in lex.confirm_exact:
            strong_confirm.append(_Hit(0, len(doc.norm), doc.bare))
        if _positive(cancel_hits) or (_positive(weak_cancel) and not strong_confirm):
            return Understanding(
                "cancel", self._sentiment(doc, "cancel", emoji_pos, emoji_neg), confidence=0.85
            )
        if any(h.negated for h in cancel_hits):  # "不取消了", "don't cancel"
            strong_confirm.append(next(h for h in cancel_hits if h.negated))

        # f. strong confirm
        if strong_confirm:
            conf = 0.95 if doc.bare in lex.confirm_exact else 0.9
            return Understanding(
                "confirm", self._sentiment(doc, "confirm", emoji_pos, emoji_neg), confidence=conf
            )

        # g. praise
        if praise_strong:
            return Understanding(
                "praise", self._sentiment(doc, "praise", emoji_pos, emoji_neg), confidence=0.8
            )

        # h. weak confirm, unless hedging or asking
        hedging = bool(_hits(doc, lex.hedge, negation=False))
        asking = self._asks(doc)
        weak_confirm = _positive(_hits(doc, lex.confirm_weak)) + [
            h for w in lex.confirm_tokens for h in _zh_token_hits(doc, w) if not _zh_negated(doc, h.start)
        ]
        lukewarm = _positive(_hits(doc, lex.praise_weak))  # "还行" is not "行"
        weak_confirm = [
            h for h in weak_confirm if not any(p.start <= h.start and h.end <= p.end for p in lukewarm)
        ]
        if weak_confirm and not hedging and not asking:
            return Understanding(
                "confirm", self._sentiment(doc, "confirm", emoji_pos, emoji_neg), confidence=0.75
            )

        # i. thanks / lukewarm praise (what follows a "but" decides: "thanks, but I booked for my daughter")
        thanks = [h for h in _positive(_hits(doc, lex.thanks)) if h.start >= contrast_at]
        if thanks or [h for h in lukewarm if h.start >= contrast_at]:
            if not asking:
                return Understanding(
                    "praise", self._sentiment(doc, "praise", emoji_pos, emoji_neg), confidence=0.7
                )

        # Greetings alone are not questions ("hello?").
        if doc.bare in lex.greetings:
            return Understanding("other", self._sentiment(doc, "other", emoji_pos, emoji_neg), confidence=0.6)

        # j. question, k. other - unless the reply is negative for no reason found above: a complaint must
        # never be missed, so an unexplained negative reply goes to a human as one.
        intent = "question" if asking else "other"
        sentiment = self._sentiment(doc, intent, emoji_pos, emoji_neg)
        if sentiment == "negative":
            return Understanding("complaint", "negative", confidence=0.5)
        return Understanding(intent, sentiment, confidence=0.7 if asking else 0.5)

    def _praise(self, doc: _Doc) -> list[_Hit]:
        """Praise cues, leaving out those inside a question ("有没有适合短发的", "好看吗")."""
        hits = self._praise_cues(doc)
        if not hits or not self._asks(doc):
            return hits
        kept = []
        for h in hits:
            a = max((m.end() for m in _CLAUSE_END.finditer(doc.norm, 0, h.start)), default=0)
            m = _CLAUSE_END.search(doc.norm, h.end)
            b = m.start() + 1 if m else len(doc.norm)
            if not self._asks_in(doc, a, b):
                kept.append(h)
        return kept

    def _praise_cues(self, doc: _Doc) -> list[_Hit]:
        lex = _lexicon()
        hits = _positive(_hits(doc, lex.praise_result)) + _positive(_hits(doc, lex.praise))
        if doc.has_han:
            for i, t in enumerate(doc.toks):
                if t.han and t.text == lex.good_token and i > 0:
                    prev = doc.toks[i - 1]
                    nxt = doc.norm[t.end : t.end + 1]
                    if (
                        prev.han
                        and prev.text in lex.good_after
                        and (nxt == "" or not _HAN.match(nxt) or nxt in "了啊呀的哦哈啦")
                    ):
                        if not _zh_negated(doc, prev.start):
                            hits.append(_Hit(prev.start, t.end, prev.text + t.text))
        return hits

    def _asks(self, doc: _Doc) -> bool:
        return self._asks_in(doc, 0, len(doc.norm))

    def _asks_in(self, doc: _Doc, start: int, end: int) -> bool:
        """A question mark, a question word, or a final question particle within norm[start:end]."""
        lex = _lexicon()
        if any(m in doc.norm[start:end] for m in lex.question_marks):
            return True
        if any(start <= h.start < end for h in _hits(doc, lex.question, negation=False)):
            return True
        inside = [t for t in doc.toks if start <= t.start < end]
        return bool(inside) and inside[-1].han and inside[-1].text in lex.question_final

    def _reschedule(self, doc: _Doc, spans: list[_Span]) -> tuple[bool, int | None, float]:
        """(is a reschedule, where the request starts (end of the last rescheduling word) or None, confidence)."""
        lex = _lexicon()
        anchors: list[int] = []
        for h in _hits(doc, lex.resched):
            if not h.negated:
                anchors.append(h.end)
        anchors += [h.end for h in _pattern_hits(doc, lex.resched_patterns) if not _zh_negated(doc, h.start)]
        time_starts = [s.start for s in spans]
        for h in _pattern_hits(doc, lex.resched_verb_patterns):
            if _zh_negated(doc, h.start):
                continue
            rest = doc.norm[h.end :]
            if any(t >= h.end for t in time_starts) or any(w in rest for w in lex.resched_time_words):
                anchors.append(h.end)
        for k, t in enumerate(doc.words):  # "move me to the 28th", "tomorrow morning, can we move it?"
            if t.text in lex.resched_verbs_en and spans and not _en_negated(doc, k):
                anchors.append(t.end)
        if spans:
            for h in _pattern_hits(doc, lex.earlier_later):
                anchors.append(h.end)
        if anchors:
            return True, max(anchors), 0.85
        if spans and (_positive(_hits(doc, lex.request)) or _pattern_hits(doc, lex.request_patterns)):
            return True, None, 0.7
        return False, None, 0.0

    def _sentiment(self, doc: _Doc, intent: str, emoji_pos: list[str], emoji_neg: list[str]) -> str:
        lex = _lexicon()
        if intent == "complaint":
            return "negative"
        contrast = [h.end for h in _hits(doc, lex.contrast, negation=False)]
        start = max(contrast) if contrast else 0

        def later(hits: list[_Hit]) -> list[_Hit]:
            kept = [h for h in hits if h.start >= start]
            return kept if kept else ([] if contrast else hits)

        positive_words = later(_hits(doc, lex.positive))
        negative_words = later(_hits(doc, lex.negative, negation=False))  # "别再打扰我" is still annoyed
        pos = bool(emoji_pos) or any(not h.negated for h in positive_words)
        neg = (
            bool(emoji_neg)
            or any(not h.negated for h in negative_words)
            or any(h.negated for h in positive_words)
        )
        if intent == "praise":
            strong = later(self._praise(doc))
            pos = pos or bool(strong)
            if not strong and not emoji_pos and later(_positive(_hits(doc, lex.praise_weak))):
                pos = False  # "还行": lukewarm
        if intent in ("confirm", "praise", "other", "question") and later(_positive(_hits(doc, lex.thanks))):
            pos = True
        if not pos and doc.norm.count("!") >= lex.shouting:
            neg = True
        if neg and pos:
            return "positive" if intent == "praise" else "negative"
        return "negative" if neg else "positive" if pos else "neutral"


_DOWNTONED = ("不太", "不怎么", "不是很", "不是太", "不是特别", "不大", "没那么", "没有很", "不那么", "不算")
_ZH_NEGATOR_END = re.compile(r"(不是|没有|不|没|别)$")


def _dissatisfaction_intensified(doc: _Doc, hit: _Hit) -> bool:
    """Dissatisfaction said strongly: "太失望了", "非常不满意", "so disappointed", "not happy at all".
    "不太满意" / "不怎么喜欢" are mild."""
    lex = _lexicon()
    before = doc.norm[max(0, hit.start - 6) : hit.start]
    if _HAN.match(hit.text[:1] or " "):
        if hit.negated:
            if before.endswith(_DOWNTONED):
                return False
            before = _ZH_NEGATOR_END.sub("", before)
        if any(before.endswith(w) for w in lex.intens_zh):
            return True
        after = doc.norm[hit.end : hit.end + 4]
        return after.startswith(("透了", "死了", "极了"))
    k = next((i for i, t in enumerate(doc.words) if t.start == hit.start), None)
    if k is None:
        return False
    if hit.negated:
        while k > 0 and (doc.words[k - 1].stem in lex.neg_en or doc.words[k - 1].text.endswith("n't")):
            k -= 1
    stems = [t.stem for t in doc.words]
    if any(k >= len(p) and tuple(stems[k - len(p) : k]) == p for p in lex.intens_en):
        return True
    end = next((i for i, t in enumerate(doc.words) if t.end == hit.end), len(stems))
    return tuple(stems[end + 1 : end + 3]) == ("at", "all")


def _en_negated_at(doc: _Doc, start: int) -> bool:
    k = next((i for i, t in enumerate(doc.words) if t.start == start), None)
    return k is not None and _en_negated(doc, k)
