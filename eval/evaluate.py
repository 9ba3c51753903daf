"""Accuracy of the reply classifier on the labelled evaluation set (eval/messages.jsonl).

    python -m eval.evaluate [--file eval/messages.jsonl] [--errors] [--rules-only]

The classifier is the default one: the rules and the learned model combined (docs/EVAL.md); --rules-only
measures the rules alone.

Prints precision, recall and support per intent, the overall intent accuracy, the sentiment accuracy and
the complaints / opt-outs that were missed (and, with --errors, every misclassified message). Exits 1 if
any complaint or opt-out is missed (recall below 1.0 for either): those two must never be missed.

Labelling conventions of messages.jsonl (one JSON object a line: text, intent, sentiment, category, locale):
- intent: what the salon should do with the reply. A complaint that also cancels is a complaint; an
  opt-out that also complains is an opt-out; "不取消了，按原时间" is a confirm; a time offered with a
  request ("周六下午三点有位置吗") is a reschedule; running late with a new time is a reschedule; a request for a
  new booking with a booking word or a wished-for service ("帮我约周六下午", "想预约做个指甲", "can I book a cut")
  is a book, but a move ("帮我把预约改到周六") is a reschedule and how or what booking costs ("请问怎么预约",
  "预约要交定金吗") is a question.
- sentiment: negative for complaints, dissatisfaction, annoyed opt-outs, and aftercare issues said with an
  intensifier ("掉得好快", "really dry") or about health (allergy, soreness); positive for praise, thanks
  (except the polite thanks of a cancel / opt-out) and positive emoji; lukewarm "还行" is neutral.
- category: the service category of the booking the reply is about, or null.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from chalicelib.understanding import INTENTS, SENTIMENTS, Classifier, default_classifier

DEFAULT_FILE = Path(__file__).resolve().parent / "messages.jsonl"
MUST_NOT_MISS = ("complaint", "opt_out")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    sentiment: str
    category: str | None
    locale: str | None


@dataclass(frozen=True)
class Result:
    example: Example
    intent: str
    sentiment: str


@dataclass(frozen=True)
class Report:
    results: list[Result]
    per_intent: dict[str, tuple[float, float, int]]  # precision, recall, support
    accuracy: float
    sentiment_accuracy: float
    missed: list[Result]  # complaints / opt-outs not recognised as such
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.missed


def load(path: Path = DEFAULT_FILE) -> list[Example]:
    examples: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["intent"] not in INTENTS or row["sentiment"] not in SENTIMENTS:
                raise ValueError(f"{path}:{n}: unknown intent or sentiment: {row}")
            examples.append(
                Example(row["text"], row["intent"], row["sentiment"], row.get("category"), row.get("locale"))
            )
    return examples


def evaluate(examples: list[Example], classifier: Classifier | None = None) -> Report:
    classifier = classifier or default_classifier()
    started = time.perf_counter()
    results = []
    for ex in examples:
        u = classifier.classify(ex.text, category=ex.category, locale=ex.locale)
        results.append(Result(ex, u.intent, u.sentiment))
    seconds = time.perf_counter() - started
    predicted = Counter(r.intent for r in results)
    actual = Counter(r.example.intent for r in results)
    correct = Counter(r.intent for r in results if r.intent == r.example.intent)
    per_intent = {}
    for intent in INTENTS:
        precision = correct[intent] / predicted[intent] if predicted[intent] else 1.0
        recall = correct[intent] / actual[intent] if actual[intent] else 1.0
        per_intent[intent] = (precision, recall, actual[intent])
    n = len(results) or 1
    return Report(
        results=results,
        per_intent=per_intent,
        accuracy=sum(correct.values()) / n,
        sentiment_accuracy=sum(r.sentiment == r.example.sentiment for r in results) / n,
        missed=[r for r in results if r.example.intent in MUST_NOT_MISS and r.intent != r.example.intent],
        seconds=seconds,
    )


def render(report: Report, *, errors: bool = False) -> str:
    lines = [f"{'intent':<16} {'precision':>9} {'recall':>7} {'support':>8}"]
    for intent, (p, r, support) in report.per_intent.items():
        lines.append(f"{intent:<16} {p:>9.3f} {r:>7.3f} {support:>8}")
    n = len(report.results)
    lines.append("")
    lines.append(
        f"intent accuracy     {report.accuracy:.3f}  ({n} messages, {1000 * report.seconds / max(n, 1):.2f} ms each)"
    )
    lines.append(f"sentiment accuracy  {report.sentiment_accuracy:.3f}")
    lines.append("")
    if report.missed:
        lines.append("MISSED complaints / opt-outs:")
        for r in report.missed:
            lines.append(f"  [{r.example.intent} -> {r.intent}] {r.example.text}")
    else:
        lines.append("complaints and opt-outs: none missed")
    if errors:
        wrong = [r for r in report.results if r.intent != r.example.intent]
        lines.append("")
        lines.append(f"misclassified ({len(wrong)}):")
        for r in wrong:
            lines.append(f"  [{r.example.intent} -> {r.intent}] {r.example.text}")
        wrong_sentiment = [r for r in report.results if r.sentiment != r.example.sentiment]
        lines.append(f"wrong sentiment ({len(wrong_sentiment)}):")
        for r in wrong_sentiment:
            lines.append(f"  [{r.example.sentiment} -> {r.sentiment}] ({r.intent}) {r.example.text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--errors", action="store_true", help="list every misclassified message")
    parser.add_argument(
        "--rules-only", action="store_true", help="the rules alone, without the learned model (issue 16)"
    )
    args = parser.parse_args(argv)
    classifier: Classifier | None = None
    if args.rules_only:
        from chalicelib.understanding.classifier import RulesClassifier

        classifier = RulesClassifier()
    report = evaluate(load(args.file), classifier)
    print(render(report, errors=args.errors))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
