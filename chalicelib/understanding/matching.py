"""Finding cues in a reply: Chinese words and English phrases with negation ("不取消了", "don't cancel")
checked just before them, regex patterns, and intensifiers ("太失望", "so disappointed")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.understanding.lexicon import HAN, Words, lexicon
from chalicelib.understanding.reply_text import Reply

CLAUSE_END = re.compile(r"[，。,.!！?？;；~～\n]")


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    text: str
    negated: bool = False


def _find_all(hay: str, needle: str) -> Iterable[int]:
    i = hay.find(needle)
    while i >= 0:
        yield i
        i = hay.find(needle, i + 1)


def _is_a_not_a(doc: Reply, start: int) -> bool:
    """ "能不能取消", "要不要取消": an A-not-A question, not a negation."""
    n = doc.norm
    return start >= 3 and n[start - 2] == "不" and n[start - 3] == n[start - 1]


def zh_negated(doc: Reply, start: int) -> bool:
    lex = lexicon()
    if _is_a_not_a(doc, start):
        return False
    i = doc.tok_at.get(start)
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


def _crosses_word(doc: Reply, start: int, end: int) -> bool:
    """The match ends inside a word that begins inside the match: "完美" in 做/完/美甲 is not "perfect"."""
    i = doc.tok_at.get(end - 1)
    if i is None:
        return False
    tok = doc.toks[i]
    return tok.end > end and tok.start > start


def zh_token_hits(doc: Reply, word: str) -> list[Hit]:
    return [Hit(t.start, t.end, word) for t in doc.toks if t.han and t.text == word]


def zh_hits(doc: Reply, words: Sequence[str], *, negation: bool = True, strict: bool = True) -> list[Hit]:
    """Occurrences of Chinese cues. strict=False keeps matches that cross a word boundary: for the
    kinds that must never be missed (opt-outs, complaints) recall matters more than precision."""
    hits: list[Hit] = []
    for w in words:
        if len(w) == 1 and HAN.fullmatch(w):
            found = zh_token_hits(doc, w)
        elif w.isascii() and w.isalnum():
            found = [
                Hit(m.start(), m.end(), w)
                for m in re.finditer(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", doc.norm)
            ]
        else:
            found = [
                Hit(s, s + len(w), w)
                for s in _find_all(doc.norm, w)
                if not (strict and _crosses_word(doc, s, s + len(w)))
            ]
        for h in found:
            neg = negation and zh_negated(doc, h.start)
            hits.append(Hit(h.start, h.end, w, neg))
    return hits


def en_negated(doc: Reply, k: int) -> bool:
    lex = lexicon()
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


def _en_hits(doc: Reply, phrases: Sequence[tuple[str, ...]], *, negation: bool = True) -> list[Hit]:
    hits: list[Hit] = []
    stems = [t.stem for t in doc.words]
    n = len(stems)
    for p in phrases:
        m = len(p)
        for k in range(n - m + 1):
            if tuple(stems[k : k + m]) == p:
                neg = negation and en_negated(doc, k)
                hits.append(Hit(doc.words[k].start, doc.words[k + m - 1].end, " ".join(p), neg))
    return hits


def cue_hits(doc: Reply, words: Words, *, negation: bool = True, strict: bool = True) -> list[Hit]:
    out = (
        zh_hits(doc, words.zh, negation=negation, strict=strict)
        if doc.has_han or any(w.isascii() for w in words.zh)
        else []
    )
    if doc.words:
        out += _en_hits(doc, words.en, negation=negation)
    return out


def pattern_hits(doc: Reply, patterns: Iterable[re.Pattern[str]]) -> list[Hit]:
    return [Hit(m.start(), m.end(), m.group(0)) for p in patterns for m in p.finditer(doc.norm)]


def unnegated(hits: Iterable[Hit]) -> list[Hit]:
    return [h for h in hits if not h.negated]


def _intensified_before(doc: Reply, start: int) -> bool:
    """An intensifier right before `start` ("太失望", "非常不满意", "so disappointed")."""
    lex = lexicon()
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


def intensified_near(doc: Reply, hit: Hit) -> bool:
    """An intensifier inside, just before or just after an aftercare keyword ("好毛躁", "分叉严重")."""
    lex = lexicon()
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
    i = doc.tok_at.get(hit.end)  # the next word is an intensifier: "褪色/好/明显"
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
        if not CLAUSE_END.search(doc.norm, hit.end, doc.words[min(k + 4, len(doc.words) - 1)].end):
            singles = {p[0] for p in lex.intens_en if len(p) == 1} - {"too", "so", "way"}
            if any(w in singles for w in follow):
                return True
    return False


_DOWNTONED = ("不太", "不怎么", "不是很", "不是太", "不是特别", "不大", "没那么", "没有很", "不那么", "不算")
_ZH_NEGATOR_END = re.compile(r"(不是|没有|不|没|别)$")


def dissatisfaction_intensified(doc: Reply, hit: Hit) -> bool:
    """Dissatisfaction said strongly: "太失望了", "非常不满意", "so disappointed", "not happy at all".
    "不太满意" / "不怎么喜欢" are mild."""
    lex = lexicon()
    before = doc.norm[max(0, hit.start - 6) : hit.start]
    if HAN.match(hit.text[:1] or " "):
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


def en_negated_at(doc: Reply, start: int) -> bool:
    k = next((i for i, t in enumerate(doc.words) if t.start == start), None)
    return k is not None and en_negated(doc, k)
