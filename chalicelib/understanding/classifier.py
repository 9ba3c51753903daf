"""The local reply classifier: normalisation, jieba word segmentation, lexicons (lexicon.toml) and rules.

Steps for one reply:
1. Normalise (`reply_text.normalise`): NFKC per character (full-width -> half-width, "１" -> "1"), lower
   case, the traditional characters listed in lexicon.toml -> simplified, typographic apostrophes -> "'",
   control characters -> spaces, emoji variation selectors / keycaps / skin tones / joiners dropped (so "1️⃣"
   is "1" and "❤️" is "❤"). Every normalised character remembers where it came from, so a phrase can be
   quoted as the member wrote it. Very long texts keep their head and tail (MAX_CHARS).
2. Tokenise (reply_text.py): Chinese runs with rjieba (jieba-rs: jieba's segmentation in Rust; lazy import,
   loaded once per process, plus the small domain dictionary salon_dict.txt), English/digit runs by regex.
   Text without Chinese never loads it.
3. Find cues of every kind (lexicon.toml; matching.py), with negation ("不取消了", "don't cancel") checked on the tokens
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
   d. book        - a new booking: a booking cue ("帮我约", "想预约", "can I book", "make an appointment") or a
                    wished-for service ("想剪头发", "I need a cut"), with no move or cancel word in the
                    message ("帮我把预约改到周六" is a reschedule). The day/time asked for is extracted as for a
                    reschedule, and the kind of service named (lexicon.toml [book.services]).
   d'. reschedule - a rescheduling word ("改约", "reschedule"), a move verb with a time after it
                    ("改到周五", "move me to the 28th"), or a time with a request ("周六下午三点有位置吗").
                    The requested day/time is extracted (see `day_and_time.find_times`).
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

import logging
from datetime import date

from chalicelib.clock import Clock, SystemClock
from chalicelib.understanding import INTENTS, SENTIMENTS, Understanding
from chalicelib.understanding.aftercare_issues import IssueMatcher, find_issue, issue_by_key
from chalicelib.understanding.day_and_time import Span, find_times, requested_time
from chalicelib.understanding.lexicon import HAN, lexicon
from chalicelib.understanding.matching import (
    CLAUSE_END,
    Hit,
    cue_hits,
    dissatisfaction_intensified,
    en_negated,
    en_negated_at,
    intensified_near,
    pattern_hits,
    unnegated,
    zh_hits,
    zh_negated,
    zh_token_hits,
)
from chalicelib.understanding.reply_text import Reply, read_reply

_log = logging.getLogger(__name__)


class RulesClassifier:
    """The local classifier. `clock` (chalicelib.clock.Clock) and `timezone` give "today" for turning
    "11月25日" into a date; both default to the system clock in Asia/Shanghai."""

    def __init__(self, clock: Clock | None = None, timezone: str = "Asia/Shanghai") -> None:
        self._clock: Clock = clock or SystemClock()
        self._timezone = timezone
        lexicon()  # a broken lexicon.toml fails here, loudly, not as "other" for every reply

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
        lex = lexicon()
        if not text or not text.strip():
            return Understanding("other", "neutral", confidence=0.2)
        doc = read_reply(text, locale)
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
        if unnegated(cue_hits(doc, lex.opt_out, strict=False)) or pattern_hits(doc, lex.opt_patterns):
            return Understanding(
                "opt_out", self._sentiment(doc, "opt_out", emoji_pos, emoji_neg), confidence=0.95
            )

        # b. complaint
        dissatisfied = unnegated(cue_hits(doc, lex.dissatisfaction))
        dissatisfied += [h for h in cue_hits(doc, lex.praise_result) if h.negated]
        if (
            cue_hits(doc, lex.complaint, negation=False, strict=False)
            or pattern_hits(doc, lex.complaint_patterns)
            or any(dissatisfaction_intensified(doc, h) for h in dissatisfied)
        ):
            return Understanding("complaint", "negative", confidence=0.9)

        contrast = [h.end for h in cue_hits(doc, lex.contrast, negation=False)]
        contrast_at = max(contrast) if contrast else -1
        praise_strong = self._praise(doc)
        praise_any = praise_strong + unnegated(cue_hits(doc, lex.praise_weak))
        praise_after = [h for h in praise_any if h.start >= contrast_at]

        # c. aftercare issue (after a contrast, only what follows it counts when it praises)
        after = contrast_at if (contrast_at >= 0 and praise_after) else 0
        found = find_issue(doc, category, after)
        dissatisfied_after = [h for h in dissatisfied if h.start >= after]
        if found or dissatisfied_after:
            matcher: IssueMatcher | None
            if found:
                matcher, hit = found
                negative = matcher.key in lex.negative_issue_keys or intensified_near(doc, hit)
            else:
                matcher = issue_by_key(lex.dissatisfaction_key, category)
                negative = True
            negative = negative or bool(dissatisfied_after) or bool(emoji_neg)
            negative = negative or bool(unnegated(cue_hits(doc, lex.negative)))
            issue = matcher.as_issue() if matcher else None
            return Understanding(
                "aftercare_issue", "negative" if negative else "neutral", issue=issue, confidence=0.85
            )

        # d. book (a new booking), then reschedule
        spans = find_times(doc)
        if self._books(doc):
            return Understanding(
                "book",
                self._sentiment(doc, "book", emoji_pos, emoji_neg),
                requested={
                    **requested_time(doc, spans, None, self._today()),
                    "weekend": bool(cue_hits(doc, lex.book_weekend, negation=False)),
                    "next_week": any(
                        s.kind == "weekday"
                        and doc.norm[s.start : s.end].startswith(("下周", "下个", "下星期", "下礼拜", "next"))
                        for s in spans
                    ),
                },
                confidence=0.8,
                service=self._service(doc),
            )
        cancel_hits = cue_hits(doc, lex.cancel) + [
            Hit(h.start, h.end, h.text, en_negated_at(doc, h.start))
            for h in pattern_hits(doc, lex.cancel_patterns)
        ]
        weak_cancel = zh_hits(doc, sorted(lex.cancel_weak)) if doc.has_han else []
        resched, anchor, conf = self._reschedule(doc, spans)
        if resched:
            requested = requested_time(doc, spans, anchor, self._today())
            return Understanding(
                "reschedule",
                self._sentiment(doc, "reschedule", emoji_pos, emoji_neg),
                requested=requested,
                confidence=conf,
            )

        # e. cancel
        strong_confirm = unnegated(cue_hits(doc, lex.confirm_strong)) + [
            h for h in zh_token_hits(doc, "见") if not zh_negated(doc, h.start)
        ]
        if doc.bare in lex.confirm_exact:
            strong_confirm.append(Hit(0, len(doc.norm), doc.bare))
        if unnegated(cancel_hits) or (unnegated(weak_cancel) and not strong_confirm):
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
        hedging = bool(cue_hits(doc, lex.hedge, negation=False))
        asking = self._asks(doc)
        weak_confirm = unnegated(cue_hits(doc, lex.confirm_weak)) + [
            h for w in lex.confirm_tokens for h in zh_token_hits(doc, w) if not zh_negated(doc, h.start)
        ]
        lukewarm = unnegated(cue_hits(doc, lex.praise_weak))  # "还行" is not "行"
        weak_confirm = [
            h for h in weak_confirm if not any(p.start <= h.start and h.end <= p.end for p in lukewarm)
        ]
        if weak_confirm and not hedging and not asking:
            return Understanding(
                "confirm", self._sentiment(doc, "confirm", emoji_pos, emoji_neg), confidence=0.75
            )

        # i. thanks / lukewarm praise (what follows a "but" decides: "thanks, but I booked for my daughter")
        thanks = [h for h in unnegated(cue_hits(doc, lex.thanks)) if h.start >= contrast_at]
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

    def _praise(self, doc: Reply) -> list[Hit]:
        """Praise cues, leaving out those inside a question ("有没有适合短发的", "好看吗")."""
        hits = self._praise_cues(doc)
        if not hits or not self._asks(doc):
            return hits
        kept = []
        for h in hits:
            a = max((m.end() for m in CLAUSE_END.finditer(doc.norm, 0, h.start)), default=0)
            m = CLAUSE_END.search(doc.norm, h.end)
            b = m.start() + 1 if m else len(doc.norm)
            if not self._asks_in(doc, a, b):
                kept.append(h)
        return kept

    def _praise_cues(self, doc: Reply) -> list[Hit]:
        lex = lexicon()
        hits = unnegated(cue_hits(doc, lex.praise_result)) + unnegated(cue_hits(doc, lex.praise))
        if doc.has_han:
            for i, t in enumerate(doc.toks):
                if t.han and t.text == lex.good_token and i > 0:
                    prev = doc.toks[i - 1]
                    nxt = doc.norm[t.end : t.end + 1]
                    if (
                        prev.han
                        and prev.text in lex.good_after
                        and (nxt == "" or not HAN.match(nxt) or nxt in "了啊呀的哦哈啦")
                    ):
                        if not zh_negated(doc, prev.start):
                            hits.append(Hit(prev.start, t.end, prev.text + t.text))
        return hits

    def _asks(self, doc: Reply) -> bool:
        return self._asks_in(doc, 0, len(doc.norm))

    def _asks_in(self, doc: Reply, start: int, end: int) -> bool:
        """A question mark, a question word, or a final question particle within norm[start:end]."""
        lex = lexicon()
        if any(m in doc.norm[start:end] for m in lex.question_marks):
            return True
        if any(start <= h.start < end for h in cue_hits(doc, lex.question, negation=False)):
            return True
        inside = [t for t in doc.toks if start <= t.start < end]
        return bool(inside) and inside[-1].han and inside[-1].text in lex.question_final

    def _reschedule(self, doc: Reply, spans: list[Span]) -> tuple[bool, int | None, float]:
        """(is a reschedule, where the request starts (end of the last rescheduling word) or None, confidence)."""
        lex = lexicon()
        anchors: list[int] = []
        for h in cue_hits(doc, lex.resched):
            if not h.negated:
                anchors.append(h.end)
        anchors += [h.end for h in pattern_hits(doc, lex.resched_patterns) if not zh_negated(doc, h.start)]
        time_starts = [s.start for s in spans]
        for h in pattern_hits(doc, lex.resched_verb_patterns):
            if zh_negated(doc, h.start):
                continue
            rest = doc.norm[h.end :]
            if any(t >= h.end for t in time_starts) or any(w in rest for w in lex.resched_time_words):
                anchors.append(h.end)
        for k, t in enumerate(doc.words):  # "move me to the 28th", "tomorrow morning, can we move it?"
            if t.text in lex.resched_verbs_en and spans and not en_negated(doc, k):
                anchors.append(t.end)
        if spans:
            for h in pattern_hits(doc, lex.earlier_later):
                anchors.append(h.end)
        if anchors:
            return True, max(anchors), 0.85
        if spans and (unnegated(cue_hits(doc, lex.request)) or pattern_hits(doc, lex.request_patterns)):
            return True, None, 0.7
        return False, None, 0.0

    def _books(self, doc: Reply) -> bool:
        """A request for a new booking: a booking cue or a wished-for service, and no move or cancel."""
        lex = lexicon()
        if any(w in doc.norm for w in lex.book_not_with_zh):
            return False
        if any(t.stem in lex.book_not_with_en or t.text in lex.book_not_with_en for t in doc.words):
            return False
        if unnegated(cue_hits(doc, lex.book)):
            return True
        return any(not zh_negated(doc, h.start) for h in pattern_hits(doc, lex.book_patterns))

    def _service(self, doc: Reply) -> str | None:
        """The kind of service a booking request names (lexicon.toml [book.services]), or None."""
        for key, zh, en in lexicon().book_services:
            if any(w in doc.norm for w in zh) or cue_hits(doc, en, negation=False):
                return key
        return None

    def _sentiment(self, doc: Reply, intent: str, emoji_pos: list[str], emoji_neg: list[str]) -> str:
        lex = lexicon()
        if intent == "complaint":
            return "negative"
        contrast = [h.end for h in cue_hits(doc, lex.contrast, negation=False)]
        start = max(contrast) if contrast else 0

        def later(hits: list[Hit]) -> list[Hit]:
            kept = [h for h in hits if h.start >= start]
            return kept if kept else ([] if contrast else hits)

        positive_words = later(cue_hits(doc, lex.positive))
        negative_words = later(cue_hits(doc, lex.negative, negation=False))  # "别再打扰我" is still annoyed
        pos = bool(emoji_pos) or any(not h.negated for h in positive_words)
        neg = (
            bool(emoji_neg)
            or any(not h.negated for h in negative_words)
            or any(h.negated for h in positive_words)
        )
        if intent == "praise":
            strong = later(self._praise(doc))
            pos = pos or bool(strong)
            if not strong and not emoji_pos and later(unnegated(cue_hits(doc, lex.praise_weak))):
                pos = False  # "还行": lukewarm
        if intent in ("confirm", "praise", "other", "question") and later(
            unnegated(cue_hits(doc, lex.thanks))
        ):
            pos = True
        if not pos and doc.norm.count("!") >= lex.shouting:
            neg = True
        if neg and pos:
            return "positive" if intent == "praise" else "negative"
        return "negative" if neg else "positive" if pos else "neutral"
