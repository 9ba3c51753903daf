"""Train the learned reply classifier (chalicelib/understanding/learned.py): `make train`.

    python -m eval.train [--data eval/data/train.jsonl] [--corrections staff.jsonl ...] [--out model.json]

Data: `eval/data/train.jsonl` when it exists, else `eval/messages.jsonl`, plus any corrections files (the
eval format: one {"text", "intent", "sentiment", ...} a line, as `python -m ops.labels export` writes them;
a correction's label replaces the data's for the same text). The frozen test file is never read here.

Each reply goes to the dev part when sha256 of its text says so (DEV_PERCENT of them, the same reply always
in the same part); the model is fitted on the rest, and its temperature (calibration) is fitted on dev.
Training is plain-Python multinomial logistic regression with AdaGrad and L2, a fixed seed and a fixed
number of epochs, so the same data gives the same file byte for byte. Writes the model file and the
training report (model/TRAINING.md) with the dev figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.understanding import INTENTS, SENTIMENTS
from chalicelib.understanding.learned import (
    FEATURE_VERSION,
    HEAD_TAGS,
    MODEL_PATH,
    WEIGHTS_SUFFIX,
    Head,
    ReplyModel,
    features,
)

ROOT = Path(__file__).resolve().parent.parent
TRAIN_FILE = ROOT / "eval" / "data" / "train.jsonl"
FALLBACK_FILE = ROOT / "eval" / "messages.jsonl"
REPORT_PATH = MODEL_PATH.parent / "TRAINING.md"
DEV_PERCENT = 15
SEED = 16
# Chosen by 5-fold cross-validation on the training part (make cv), December 2026: model alone 0.776 with
# the features of version 1 at lr 0.5 / 20 epochs, 0.805 with version 2, 0.817 with lr 0.1 / 30 epochs.
EPOCHS = 30
LEARNING_RATE = 0.1
L2 = 1e-4
# Weights smaller than this are dropped from the file (0.05 until fresh_v9, when the model outgrew 5 MiB).
PRUNE = 0.07
DIGITS = 3  # weights are rounded to this many decimals
SCALE = 10**DIGITS  # and written as integers in these units (Head.scale)
MIN_COUNT = 2  # a feature must occur in at least this many training replies
# Per-class weight (n / (k * count))**CLASS_WEIGHT; 0: none (0.3 and 0.5 were slightly worse in cross-validation).
CLASS_WEIGHT = 0.0
# After the temperature is fitted on dev, fit again on every row (train and dev) with the same settings and keep
# that temperature: the dev rows (DEV_PERCENT of the data) then teach the model too.
REFIT_ON_ALL = True


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    sentiment: str


def data_file() -> Path:
    """The labelled training data: the split training file once it exists, else today's set."""
    return TRAIN_FILE if TRAIN_FILE.exists() else FALLBACK_FILE


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def read_rows(path: Path) -> list[Row]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        if d.get("intent") not in INTENTS or d.get("sentiment") not in SENTIMENTS:
            raise ValueError(f"{path}:{n}: unknown intent or sentiment")
        rows.append(Row(str(d["text"]), d["intent"], d["sentiment"]))
    return rows


def merge(base: list[Row], corrections: list[Row]) -> list[Row]:
    """The data with each correction replacing the label of the same text (or added)."""
    by_text: dict[str, Row] = {}
    for row in [*base, *corrections]:
        by_text.pop(row.text, None)
        by_text[row.text] = row
    return list(by_text.values())


def is_dev(text: str) -> bool:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < DEV_PERCENT


# ------------------------------------------------------------------------------------------- fitting


def fit(xs: list[list[str]], ys: list[int], k: int, seed: int) -> tuple[list[float], dict[str, list[float]]]:
    """Multinomial logistic regression by AdaGrad SGD with L2 (lazy, on the features seen)."""
    weights: dict[str, list[float]] = {}
    grads: dict[str, list[float]] = {}
    bias = [0.0] * k
    bias_g = [1e-8] * k
    order = list(range(len(xs)))
    rng = random.Random(seed)
    count = Counter(ys)
    scale = [(len(ys) / (k * count[c])) ** CLASS_WEIGHT if count[c] else 1.0 for c in range(k)]
    for _ in range(EPOCHS):
        rng.shuffle(order)
        for i in order:
            feats = xs[i]
            scores = list(bias)
            rows = []
            for f in feats:
                w = weights.get(f)
                if w is None:
                    w = weights[f] = [0.0] * k
                    grads[f] = [1e-8] * k
                rows.append((w, grads[f]))
                for c in range(k):
                    scores[c] += w[c]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            for c in range(k):
                g = (exps[c] / total - (1.0 if c == ys[i] else 0.0)) * scale[ys[i]]
                bias_g[c] += g * g
                bias[c] -= LEARNING_RATE * g / math.sqrt(bias_g[c])
                for w, acc in rows:
                    gc = g + L2 * w[c]
                    acc[c] += gc * gc
                    w[c] -= LEARNING_RATE * gc / math.sqrt(acc[c])
    return bias, weights


def head(classes: tuple[str, ...], bias: list[float], weights: dict[str, list[float]]) -> Head:
    sparse = {}
    for f in sorted(weights):
        pairs = " ".join(f"{c}:{round(w * SCALE)}" for c, w in enumerate(weights[f]) if abs(w) >= PRUNE)
        if pairs:
            sparse[f] = pairs
    return Head(classes, tuple(round(b, DIGITS) for b in bias), sparse, scale=SCALE)


def with_temperature(h: Head, temperature: float) -> Head:
    return Head(h.classes, h.bias, h.weights, temperature, h.scale)


def weight_lines(heads: Mapping[str, Mapping[str, str]]) -> bytes:
    """The weights file of `heads` (head name -> feature -> weights): one line per (head, feature), sorted."""
    lines = []
    for name, weights in heads.items():
        head = HEAD_TAGS[name]
        for feature, value in weights.items():
            if any(c in feature or c in value for c in "\t\n"):
                raise ValueError(f"a feature or weight with a tab or newline cannot be stored: {feature!r}")
            lines.append(f"{head}\t{feature}\t{value}".encode("utf-8", "surrogatepass"))
    return b"\n".join(sorted(lines)) + b"\n"


def as_json(h: Head) -> dict:
    """A head as the model file holds it; its weights go to the weights file (`weight_lines`)."""
    return {
        "classes": list(h.classes),
        "bias": list(h.bias),
        "temperature": h.temperature,
        "weight_scale": h.scale,
        "features": len(h.weights),
    }


def calibrate(h: Head, xs: list[list[str]], ys: list[int]) -> float:
    """The temperature (0.25 .. 5) minimising the negative log-likelihood on dev."""
    if not xs:
        return 1.0
    best, best_nll = 1.0, math.inf
    for step in range(5, 101):
        t = step / 20
        trial = with_temperature(h, t)
        nll = 0.0
        for feats, y in zip(xs, ys, strict=True):
            nll -= math.log(max(trial.probabilities(feats)[h.classes[y]], 1e-12))
        if nll < best_nll - 1e-12:
            best, best_nll = t, nll
    return best


def train_head(
    classes: tuple[str, ...], train: list[tuple[list[str], str]], dev: list[tuple[list[str], str]]
) -> Head:
    index = {c: i for i, c in enumerate(classes)}
    bias, weights = fit([x for x, _ in train], [index[y] for _, y in train], len(classes), SEED)
    h = head(classes, bias, weights)
    return with_temperature(h, calibrate(h, [x for x, _ in dev], [index[y] for _, y in dev]))


# ------------------------------------------------------------------------------------------ reporting


def dev_figures(m: ReplyModel, dev: list[Row]) -> dict:
    """Accuracy, per-intent recall, calibration bins and speed of the model alone on dev."""
    if not dev:
        return {"messages": 0}
    started = time.perf_counter()
    predictions = [m.predict(r.text) for r in dev]
    ms = 1000 * (time.perf_counter() - started) / len(dev)
    correct = [p.intent == r.intent for p, r in zip(predictions, dev, strict=True)]
    support = Counter(r.intent for r in dev)
    hits = Counter(r.intent for p, r in zip(predictions, dev, strict=True) if p.intent == r.intent)
    bins: dict[str, list[int]] = {}
    for p, ok in zip(predictions, correct, strict=True):
        lo = min(int(p.intent_p * 10), 9) / 10
        key = f"{lo:.1f}-{lo + 0.1:.1f}"
        bins.setdefault(key, [0, 0])
        bins[key][0] += 1
        bins[key][1] += int(ok)
    return {
        "messages": len(dev),
        "intent_accuracy": round(sum(correct) / len(dev), 3),
        "sentiment_accuracy": round(
            sum(p.sentiment == r.sentiment for p, r in zip(predictions, dev, strict=True)) / len(dev), 3
        ),
        "recall": {i: f"{hits[i]}/{support[i]}" for i in INTENTS if support[i]},
        "calibration": dict(sorted(bins.items())),
        "ms_per_reply": round(ms, 3),
    }


BOOKING_ACTIONS = ("confirm_booking", "notify_booking_system")


def policy_figures(m: ReplyModel, dev: list[Row]) -> dict[str, dict]:
    """On dev: the rules alone and the rules with this model (the default classifier), by the issue's measures:
    intent accuracy, complaints and opt-outs found, complaints handed to a person, booking actions on the wrong
    intent (as if she had an upcoming booking)."""
    from chalicelib.conversations.hand_off import guard
    from chalicelib.conversations.inbound import actions_for
    from chalicelib.understanding.classifier import RulesClassifier
    from chalicelib.understanding.combined import CombinedClassifier

    rules = RulesClassifier()
    out: dict[str, dict] = {}
    for name, classifier in (("rules alone", rules), ("rules + model", CombinedClassifier(rules, lambda: m))):
        right = person = wrong_booking = 0
        found = Counter()
        for r in dev:
            u = classifier.classify(r.text)
            names = guard(actions_for(u.intent, u.sentiment), u, u.intent, upcoming=True)
            right += u.intent == r.intent
            found[r.intent] += u.intent == r.intent
            person += r.intent == "complaint" and any(n.partition(":")[0] == "needs_human" for n in names)
            wrong_booking += u.intent != r.intent and any(n in BOOKING_ACTIONS for n in names)
        support = Counter(r.intent for r in dev)
        out[name] = {
            "intent accuracy": f"{right / len(dev):.3f}",
            "complaints found": f"{found['complaint']}/{support['complaint']}",
            "complaints to a person": f"{person}/{support['complaint']}",
            "opt-outs found": f"{found['opt_out']}/{support['opt_out']}",
            "booking actions on a wrong intent": str(wrong_booking),
        }
    return out


def write_report(path: Path, model_json: dict, figures: dict, size: int) -> None:
    lines = [
        "# The learned reply classifier: training report",
        "",
        "Written by `make train` (eval/train.py); do not edit by hand. Figures are for the model **alone** on the",
        f"dev part ({DEV_PERCENT} % of the training data, chosen by a hash of the text), as fitted without it: that",
        "held-out fit is measured here and fits the calibration temperatures"
        + (
            "; the model in the file is then fitted again on every row (dev included) with the same settings"
            " and keeps those temperatures."
            if REFIT_ON_ALL
            else "; it is the model in the file."
        ),
        "The frozen test file is never read by training.",
        "",
        f"- model version `{model_json['version']}`, files {size / 1024:.0f} KiB,"
        f" {model_json['intent']['features']} intent and {model_json['sentiment']['features']}"
        " sentiment features",
        "- data: "
        + ", ".join(
            f"`{d['file']}` ({d['rows']} rows, sha256 `{d['sha256'][:12]}…`)" for d in model_json["data"]
        ),
        f"- {model_json['train_rows']} training rows, {model_json['dev_rows']} dev rows"
        + (" (the file's model: all of them)" if REFIT_ON_ALL else "")
        + ";"
        f" seed {SEED}, {EPOCHS} epochs, AdaGrad lr {LEARNING_RATE}, L2 {L2}, features in < {MIN_COUNT}"
        f" replies and weights < {PRUNE} pruned",
        f"- temperatures: intent {model_json['intent']['temperature']}, sentiment"
        f" {model_json['sentiment']['temperature']}",
        "",
        "## Dev figures (model alone)",
        "",
    ]
    if figures.get("messages"):
        lines += [
            f"- intent accuracy **{figures['intent_accuracy']:.3f}**, sentiment accuracy"
            f" **{figures['sentiment_accuracy']:.3f}** ({figures['messages']} messages)",
            "",
            "| intent | recall on dev |",
            "| --- | --- |",
            *[f"| {i} | {r} |" for i, r in figures["recall"].items()],
            "",
            "Calibration (after the temperature): calibrated probability of the top intent → share right.",
            "",
            "| probability | replies | right |",
            "| --- | --- | --- |",
            *[f"| {k} | {n} | {ok / n:.2f} |" for k, (n, ok) in figures["calibration"].items()],
        ]
    else:
        lines.append("(no dev rows)")
    combined = figures.get("policy") or {}
    if combined:
        names = list(combined)
        measures = list(next(iter(combined.values())))
        lines += [
            "",
            "## Dev figures of the policy (rules alone, and the default classifier: rules + model)",
            "",
            "**In-sample for the rules**: they were written and tuned on all of eval/messages.jsonl, dev part",
            "included, so the rules' column (and so the combined one) is an upper bound, not an estimate. The",
            "model's own figures above are the honest held-out ones; the frozen test set (issue 16) gives the rest.",
            "",
            "| measure | " + " | ".join(names) + " |",
            "| --- | " + " | ".join("---" for _ in names) + " |",
            *[f"| {k} | " + " | ".join(combined[n][k] for n in names) + " |" for k in measures],
        ]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


# -------------------------------------------------------------------------------------------- main


def fit_model(rows: list[Row]) -> tuple[ReplyModel, list[Row], list[Row], ReplyModel]:
    """The model fitted on `rows`: (model, train rows, dev rows, held-out model). The held-out model is fitted on
    the train rows only and its temperature on the dev rows (by `is_dev`); with REFIT_ON_ALL the model is then
    fitted again on every row and keeps those temperatures, else it is the held-out model. Dev figures are the
    held-out model's. eval/cv.py calls it once per fold."""
    train_rows = [r for r in rows if not is_dev(r.text)]
    dev_rows = [r for r in rows if is_dev(r.text)]
    held_out = ReplyModel(
        "",
        *(
            train_head(classes, *_labelled(train_rows, dev_rows, label))
            for classes, label in ((INTENTS, "intent"), (SENTIMENTS, "sentiment"))
        ),
    )
    if not (REFIT_ON_ALL and dev_rows):
        return held_out, train_rows, dev_rows, held_out
    heads = []
    for h, label in ((held_out.intent, "intent"), (held_out.sentiment, "sentiment")):
        everything, _ = _labelled(rows, [], label)
        index = {c: i for i, c in enumerate(h.classes)}
        bias, weights = fit(
            [x for x, _ in everything], [index[y] for _, y in everything], len(h.classes), SEED
        )
        heads.append(with_temperature(head(h.classes, bias, weights), h.temperature))
    return ReplyModel("", heads[0], heads[1]), train_rows, dev_rows, held_out


def _labelled(
    train_rows: list[Row], dev_rows: list[Row], label: str
) -> tuple[list[tuple[list[str], str]], list[tuple[list[str], str]]]:
    """(features, label) pairs of the train rows (features in fewer than MIN_COUNT of them dropped) and of the
    dev rows (all their features)."""
    counts = Counter(f for r in train_rows for f in features(r.text))
    train = [([f for f in features(r.text) if counts[f] >= MIN_COUNT], getattr(r, label)) for r in train_rows]
    dev = [(features(r.text), getattr(r, label)) for r in dev_rows]
    return train, dev


def train(data: Path, corrections: list[Path], out: Path, report: Path | None) -> dict:
    base = read_rows(data)
    extra = [row for path in corrections for row in read_rows(path)]
    rows = merge(base, extra)
    fitted, train_rows, dev_rows, held_out = fit_model(rows)
    intent, sentiment = fitted.intent, fitted.sentiment
    sources = [
        {"file": relative(p), "sha256": file_sha256(p), "rows": len(read_rows(p))}
        for p in [data, *corrections]
    ]
    settings = (
        f"{FEATURE_VERSION}/{DEV_PERCENT}/{SEED}/{EPOCHS}/{LEARNING_RATE}/{L2}/{PRUNE}/{DIGITS}/{MIN_COUNT}"
        f"/{CLASS_WEIGHT}" + ("/refit" if REFIT_ON_ALL else "")
    )
    version = hashlib.sha256(json.dumps([sources, settings], sort_keys=True).encode()).hexdigest()[:12]

    model_json = {
        "version": version,
        "feature_version": FEATURE_VERSION,
        "data": sources,
        "settings": settings,
        "train_rows": len(train_rows),
        "dev_rows": len(dev_rows),
        "intent": as_json(intent),
        "sentiment": as_json(sentiment),
    }
    text = json.dumps(model_json, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    weights = weight_lines({"intent": intent.weights, "sentiment": sentiment.weights})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    out.with_suffix(WEIGHTS_SUFFIX).write_bytes(weights)
    size = len(text.encode()) + 1 + len(weights)
    figures = dev_figures(held_out, dev_rows)
    if report is not None and dev_rows:
        figures["policy"] = policy_figures(held_out, dev_rows)
    if report is not None:
        write_report(report, model_json, figures, size)
    return {"version": version, "bytes": size, **figures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="labelled data (default: %(default)s)")
    parser.add_argument("--corrections", type=Path, action="append", default=[], help="corrections file(s)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    data = args.data or data_file()
    if "frozen" in data.name or any("frozen" in p.name for p in args.corrections):
        print("refusing to train on a frozen test file", file=sys.stderr)
        return 2
    summary = train(data, args.corrections, args.out, None if args.no_report else REPORT_PATH)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
