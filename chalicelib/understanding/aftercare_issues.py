"""Which known aftercare issue (care_tips.toml, via texts.care_issues) a reply describes: fuzzy Chinese
keywords (fillers allowed between characters), one-character cores as whole jieba tokens, English words in
any order close together; tried by the booking's category, then its family (hair / nails), then all."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from chalicelib.understanding.lexicon import HAN, en_phrase, lexicon
from chalicelib.understanding.matching import Hit, cue_hits, en_negated, zh_negated
from chalicelib.understanding.reply_text import Reply, normalise

_FAMILIES = {
    "hair": ("hair_cut", "hair_colour", "perm", "hair_care"),
    "nail": ("nail_gel", "nail_art", "nail_care"),
}
_DOWNTONERS = ("有点", "有些", "一点", "稍微")


@dataclass(frozen=True)
class IssueMatcher:
    key: str
    category: str
    advice_zh: str
    advice_en: str
    fuzzy: tuple[str, ...]  # keywords found with fillers allowed between their characters (`_fuzzy`)
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
def _issue_matchers(category: str) -> tuple[IssueMatcher, ...]:
    """Matchers for care_issues(category), built once per category."""
    from chalicelib.journeys.texts import care_issues

    lex = lexicon()
    issues = care_issues(category)
    shared = care_issues("default")
    own = {str(i.get("key")) for i in issues[: len(issues) - len(shared)]} if category != "default" else set()
    out: list[IssueMatcher] = []
    for issue in issues:
        key = str(issue.get("key", ""))
        aliases = lex.issue_aliases.get(key, ())
        fuzzy: list[str] = []
        cores: list[str] = []
        zh_words = [*issue.get("keywords_zh", []), *(a for a in aliases if HAN.search(a))]
        en_words = [*issue.get("keywords_en", []), *(a for a in aliases if not HAN.search(a))]
        for kw in zh_words:
            kw = normalise(str(kw))[0].strip()
            if not kw:
                continue
            if len(kw) == 1:
                cores.append(kw)
                continue
            fuzzy.append(kw)
            for w in (*lex.intens_zh, *_DOWNTONERS):
                if kw.startswith(w) and len(kw) > len(w):
                    cores.append(kw[len(w) :])
                    break
        en = tuple(p for p in (en_phrase(str(k)) for k in en_words) if p)
        out.append(
            IssueMatcher(
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


@functools.cache
def _fuzzy(keyword: str) -> re.Pattern[str]:
    """`keyword` with up to two fillers between its characters (掉色 also finds 掉了色), compiled when a
    reply first holds all its characters: a container's first reply compiles a few, not the hundreds known."""
    gap = f"(?:{lexicon().fillers}){{0,2}}"
    return re.compile(gap.join(re.escape(c) for c in keyword))


def _issue_hits(doc: Reply, m: IssueMatcher) -> list[Hit]:
    lex = lexicon()
    hits: list[Hit] = []
    if doc.has_han:
        for kw in m.fuzzy:
            if not all(c in doc.norm for c in kw):
                continue  # a match holds every character of the keyword: most replies need no pattern at all
            for mo in _fuzzy(kw).finditer(doc.norm):
                if not zh_negated(doc, mo.start()):
                    hits.append(Hit(mo.start(), mo.end(), mo.group(0)))
        for core in m.cores:
            for t in doc.toks:
                if not t.han or core not in t.text:
                    continue
                head, _, tail = t.text.partition(core)
                if (
                    (head in ("", core) or head in lex.intens_zh)
                    and tail in ("", core, "得", "的", "了", "掉")
                    and not zh_negated(doc, t.start)
                ):
                    hits.append(Hit(t.start, t.end, t.text))
    if doc.words:
        stems = [t.stem for t in doc.words]
        for p in m.en:
            if len(p) == 1:
                for k, s in enumerate(stems):
                    if s == p[0] and not en_negated(doc, k):
                        hits.append(Hit(doc.words[k].start, doc.words[k].end, s))
                continue
            width = len(p) + 3  # every word of the phrase, in any order, close together
            for k in range(len(stems)):
                window = stems[k : k + width]
                if window and window[0] in p and all(w in window for w in p) and not en_negated(doc, k):
                    last = max(k + window.index(w) for w in p)
                    hits.append(Hit(doc.words[k].start, doc.words[last].end, " ".join(p)))
    return hits


def _family_of_text(doc: Reply) -> str | None:
    lex = lexicon()
    hair = bool(cue_hits(doc, lex.family_hair, negation=False))
    nail = bool(cue_hits(doc, lex.family_nail, negation=False))
    if hair != nail:
        return "hair" if hair else "nail"
    return None


def _family_of(category: str | None) -> str | None:
    for fam, cats in _FAMILIES.items():
        if category in cats:
            return fam
    return None


def _issue_stages(doc: Reply, category: str | None) -> list[tuple[str, ...]]:
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


def find_issue(doc: Reply, category: str | None, after: int) -> tuple[IssueMatcher, Hit] | None:
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
    if HAN.search(keyword):
        return len(keyword) >= 2
    return " " in keyword or len(keyword) >= 5


def issue_by_key(key: str, category: str | None) -> IssueMatcher | None:
    for cat in ((category,) if _family_of(category) else ()) + ("default",):
        for m in _issue_matchers(cat):
            if m.key == key:
                return m
    return None
