"""k-fold cross-validation of the default classifier (rules + learned model) on the training part: `make cv`.

    python -m eval.cv [--folds 5] [--rules-only] [--errors]

The frozen test file is never read here: this is where the model, its features and the policy
(understanding/policy.toml, conversations/actions.toml) are tuned (docs/EVAL.md, "Cross-validation").

- Folds: the rows of eval/data/train.jsonl are grouped into families of near-duplicates first -- equal
  normalised text, or character 3-gram Jaccard similarity above GROUP_THRESHOLD (eval/tools/near_dupes.py),
  joined transitively -- and whole families go to one fold, so a template and its variants are never on both
  sides. Families are dealt to folds by a hash of their first text, largest first, each to the smallest fold:
  deterministic.
- For each fold, the model is fitted on the other folds exactly as `make train` fits it (eval/train.py
  `fit_model`: its own dev part calibrates), and the default classifier (rules + that model, the policy as
  checked in) reads the held-out fold. The held-out answers of all folds are pooled.
- Printed: the same three figures as `make eval` (intent accuracy, complaints handed to a person, opt-outs
  recognised), on all rows and on each source's rows. The rules were written and tuned on the `tuned_v1`
  rows, so on those the rules' part is in-sample: the `fresh_*` lines are the honest estimates.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable

from eval.evaluate import TRAIN_FILE, Example, complaint_leaning, load, to_person
from eval.tools.near_dupes import near_duplicates
from eval.train import Row, fit_model

FOLDS = 5
GROUP_THRESHOLD = 0.5  # lower than the near-duplicate guard's 0.8: a family of one template, not only copies


def groups(examples: list[Example], threshold: float = GROUP_THRESHOLD) -> list[list[int]]:
    """Indices of `examples` grouped into families of near-duplicates (union-find over the similar pairs)."""
    parent = list(range(len(examples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in near_duplicates([e.text for e in examples], threshold):
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    families: dict[int, list[int]] = {}
    for i in range(len(examples)):
        families.setdefault(root(i), []).append(i)
    return list(families.values())


def folds(examples: list[Example], k: int = FOLDS) -> list[list[int]]:
    """k folds of row indices; each family of near-duplicates in exactly one."""
    fams = groups(examples)

    def key(fam: list[int]) -> tuple[int, str]:
        return (-len(fam), hashlib.sha256(examples[fam[0]].text.encode("utf-8")).hexdigest())

    out: list[list[int]] = [[] for _ in range(k)]
    for fam in sorted(fams, key=key):
        min(out, key=len).extend(fam)
    return [sorted(f) for f in out]


def _figures(pairs: list[tuple[Example, str, bool]]) -> tuple[float, int, int, int, int, int, int]:
    """(accuracy, right, n, to a person, complaint-leaning, opt-outs found, opt-outs) of (example, intent read,
    handed to a person) pairs."""
    n = len(pairs)
    right = sum(intent == e.intent for e, intent, _ in pairs)
    leaning = [person for e, _, person in pairs if complaint_leaning(e)]
    opt = [intent == "opt_out" for e, intent, _ in pairs if e.intent == "opt_out"]
    return (right / max(n, 1), right, n, sum(leaning), len(leaning), sum(opt), len(opt))


def _line(name: str, pairs: list[tuple[Example, str, bool]]) -> str:
    acc, right, n, person, leaning, found, opts = _figures(pairs)
    return (
        f"{name:<10} intent accuracy {acc:.3f} ({right}/{n})   complaints to a person"
        f" {person / max(leaning, 1):.3f} ({person}/{leaning})   opt-outs recognised"
        f" {found / max(opts, 1):.3f} ({found}/{opts})"
    )


def cross_validate(
    examples: list[Example], k: int = FOLDS, *, rules_only: bool = False, log: Callable[[str], None] = print
) -> list[tuple[Example, str, bool]]:
    """The held-out (example, intent read, handed to a person) of every row, by k-fold CV."""
    from chalicelib.understanding.classifier import RulesClassifier
    from chalicelib.understanding.combined import CombinedClassifier

    rules = RulesClassifier()
    out: list[tuple[Example, str, bool]] = []
    alone = 0
    for n, held in enumerate(folds(examples, k), 1):
        started = time.perf_counter()
        held_set = set(held)
        classifier: RulesClassifier | CombinedClassifier = rules
        if not rules_only:
            fitted, *_ = fit_model(
                [Row(e.text, e.intent, e.sentiment) for i, e in enumerate(examples) if i not in held_set]
            )
            classifier = CombinedClassifier(rules, lambda m=fitted: m)  # type: ignore[misc]
            alone += sum(fitted.predict(examples[i].text).intent == examples[i].intent for i in held)
        for i in held:
            e = examples[i]
            u = classifier.classify(e.text, category=e.category, locale=e.locale)
            out.append((e, u.intent, to_person(u)))
        log(f"fold {n}/{k}: {len(held)} held out, {time.perf_counter() - started:.1f} s")
    if not rules_only:
        log(f"model alone: intent accuracy {alone / max(len(out), 1):.3f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument(
        "--rules-only", action="store_true", help="the rules alone, without the learned model"
    )
    parser.add_argument(
        "--errors", action="store_true", help="list the held-out complaints and opt-outs missed"
    )
    args = parser.parse_args(argv)
    examples = load(TRAIN_FILE)
    pairs = cross_validate(
        examples, args.folds, rules_only=args.rules_only, log=lambda s: print(s, file=sys.stderr)
    )
    title = "rules alone" if args.rules_only else "rules + model"
    print(
        f"{args.folds}-fold cross-validation on {TRAIN_FILE.name} ({title}; near-duplicate families kept in one fold)"
    )
    print(_line("all", pairs))
    for source in sorted({e.source or "" for e, _, _ in pairs}):
        print(_line(source or "(none)", [p for p in pairs if (p[0].source or "") == source]))
    confusions = Counter((e.intent, intent) for e, intent, _ in pairs if intent != e.intent)
    print("top confusions (labelled -> read):")
    for (labelled, read), count in confusions.most_common(10):
        print(f"  {labelled:>15} -> {read:<15} {count:>4}")
    if args.errors:
        print("held-out complaint-leaning replies not handed to a person, and opt-outs missed:")
        for e, intent, person in pairs:
            if (complaint_leaning(e) and not person) or (e.intent == "opt_out" and intent != "opt_out"):
                print(f"  [{e.intent}/{e.sentiment} -> {intent}] {{{e.family}}} {e.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
