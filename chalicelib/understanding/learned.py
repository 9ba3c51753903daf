"""The learned reply classifier: a small linear model over character n-grams and words, pure Python.

`make train` (eval/train.py) fits two multinomial logistic regressions -- one for the intent, one for the
sentiment -- on the labelled replies and writes them to model/: reply_model.json holds a bias per class and a
temperature per head that calibrates the softmax on the dev part of the data (so "0.8" means right about 80 %
of the time there), reply_model.weights for each feature the weights of the classes it moves (tiny weights
pruned), one line per (head, feature), sorted, read in place (`WeightLines`).

Features (`features`, version 2), from the text as the rules normalise it (NFKC, lower case, traditional ->
simplified), digits folded to "0" and a run of one punctuation mark ("？？？") folded to one: character 1- to
4-grams with the message's start and end marked ("^退", "订$") -- they carry Chinese, which has no spaces, and
English typos alike -- jieba tokens of the Chinese runs (rjieba with salon_dict.txt, the segmenter the rules
build anyway), English/digit word tokens and word pairs, and shape flags (a repeated mark, an emoji, a question
mark, no Chinese). No numpy: a prediction is a few hundred dictionary look-ups (well under 1 ms once jieba is
built). Version 2 and its training settings were chosen by 5-fold cross-validation on the training part
(`make cv`, eval/cv.py), never on the frozen test part.

The model is read lazily, on the first prediction, and once per process (`model()`): importing this module or
the understanding package loads nothing. The weights file is mapped into memory and searched, not parsed: a
reply looks up its few hundred features by binary search, so the first reply of a container does not wait for
some 120,000 weights to be decoded (about 90 ms as one JSON document, issue 13 §8).
"""

from __future__ import annotations

import json
import math
import mmap
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.understanding.lexicon import HAN_CLASS
from chalicelib.understanding.reply_text import _tokenizer, normalise
from chalicelib.understanding.sorted_lines import first_at_or_after

MODEL_PATH = Path(__file__).resolve().parent / "model" / "reply_model.json"
WEIGHTS_SUFFIX = ".weights"  # reply_model.weights beside reply_model.json
HEAD_TAGS = {"intent": "i", "sentiment": "s"}  # a weights line's first field: its head
FEATURE_VERSION = 2
MAX_CHARS = 400  # longer texts keep their head and tail, as the rules do

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_SPACE = re.compile(r"\s+")
_HAN_RUN = re.compile(f"[{HAN_CLASS}]+")
# A run of the same punctuation mark ("？？？", "!!!", "。。。") is one mark and a feature of its own: insistence.
_REPEATED = re.compile(r"([^\w\s])\1+")
_DIGITS = re.compile(r"[0-9]+")
CHAR_NGRAMS = (1, 2, 3, 4)


def _symbol(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


def features(text: str) -> list[str]:
    """The distinct features of one reply (order: first seen): character 1- to 4-grams of the normalised text
    (start and end marked, digits folded to "0", repeated punctuation folded to one mark), jieba tokens of its
    Chinese runs ("j"), English/digit words ("w") and word pairs ("b"), and a few shape flags ("f"): a
    repeated mark, an emoji, a question mark, no Chinese at all."""
    norm, _ = normalise(text[:MAX_CHARS] + text[-MAX_CHARS:] if len(text) > 2 * MAX_CHARS else text)
    norm = _SPACE.sub(" ", norm).strip()
    seen: dict[str, None] = {}
    if _REPEATED.search(norm):
        seen["frepeat"] = None
        norm = _REPEATED.sub(r"\1", norm)
    folded = _DIGITS.sub("0", norm)
    marked = f"^{folded}$"
    for n in CHAR_NGRAMS:
        for i in range(len(marked) - n + 1):
            gram = marked[i : i + n]
            if gram.strip() and gram not in ("^", "$"):
                seen.setdefault("c" + gram, None)
    runs = _HAN_RUN.findall(norm)
    if runs:
        tokenizer = _tokenizer()
        for run in runs:
            for word, _s, _e in tokenizer.tokenize(run, hmm=True):
                seen.setdefault("j" + word, None)
    else:
        seen.setdefault("fnohan", None)
    words = _WORD.findall(norm)
    for w in words:
        seen.setdefault("w" + w, None)
    for a, b in zip(words, words[1:], strict=False):
        seen.setdefault(f"b{a}_{b}", None)
    if any(_symbol(ch) for ch in norm):
        seen.setdefault("femoji", None)
    if "?" in norm:
        seen.setdefault("fquestion", None)
    if not norm:
        seen.setdefault("empty", None)
    return list(seen)


class Head:
    """One multinomial logistic regression: classes, bias, and per feature the weights of the classes it moves,
    stored as "k:w k:w" (class index: weight, in units of 1/`scale`: "3:-176" is -0.176 at scale 1000, a fifth
    less file than "3:-0.176") and parsed only when a reply has that feature. `weights` is a dict while training
    and the weights file's lines (`WeightLines`) once written."""

    def __init__(
        self,
        classes: tuple[str, ...],
        bias: tuple[float, ...],
        weights: Mapping[str, str],
        temperature: float = 1.0,
        scale: int = 1,
    ) -> None:
        self.classes = classes
        self.bias = bias
        self.weights = weights
        self.temperature = temperature
        self.scale = scale
        self._parsed: dict[str, tuple[tuple[int, float], ...]] = {}

    def _weights(self, feature: str) -> tuple[tuple[int, float], ...]:
        parsed = self._parsed.get(feature)
        if parsed is None:
            raw = self.weights.get(feature)
            if raw is None:
                return ()  # not cached: members' texts bring unseen features without end
            parsed = tuple(
                (int(k), float(w) / self.scale) for k, _, w in (p.partition(":") for p in raw.split())
            )
            self._parsed[feature] = parsed
        return parsed

    def probabilities(self, feats: list[str]) -> dict[str, float]:
        """The calibrated probability of each class."""
        scores = list(self.bias)
        for f in feats:
            for k, w in self._weights(f):
                scores[k] += w
        t = self.temperature if self.temperature > 0 else 1.0
        top = max(scores)
        exps = [math.exp((s - top) / t) for s in scores]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    @staticmethod
    def from_json(d: dict, weights: Mapping[str, str] | None = None) -> Head:
        return Head(
            classes=tuple(d["classes"]),
            bias=tuple(float(b) for b in d["bias"]),
            weights=dict(d["weights"]) if weights is None else weights,
            temperature=float(d.get("temperature", 1.0)),
            scale=int(d.get("weight_scale", 1)),
        )


class WeightLines(Mapping[str, str]):
    """One head's weights in the weights file, looked up where they lie: lines "<tag>\t<feature>\t<weights>"
    (`HEAD_TAGS`), sorted by their bytes, searched by halving (lines are short: finding a line's ends is cheap)."""

    def __init__(self, data: bytes | mmap.mmap, tag: str, count: int) -> None:
        self._data = data
        self._head = tag.encode()
        self._count = count

    def _find(self, feature: str) -> str | None:
        if "\t" in feature or "\n" in feature:
            return None  # never stored (weight_lines refuses them)
        key = self._head + b"\t" + feature.encode("utf-8", "surrogatepass")
        found, start, end = first_at_or_after(self._data, key, b"\t", fields=2)
        return self._data[start + len(key) + 1 : end].decode() if found == key else None

    def __getitem__(self, feature: str) -> str:  # Mapping's get and `in` build on it
        found = self._find(feature) if isinstance(feature, str) else None
        if found is None:
            raise KeyError(feature)
        return found

    def __iter__(self) -> Iterator[str]:
        prefix = self._head + b"\t"
        for line in bytes(self._data).splitlines():
            if line.startswith(prefix):
                yield line.split(b"\t", 2)[1].decode()

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True)
class Prediction:
    intent: str
    intent_p: float  # calibrated probability of `intent`
    intents: dict[str, float]  # every intent's calibrated probability
    sentiment: str
    sentiments: dict[str, float]


@dataclass(frozen=True)
class ReplyModel:
    version: str
    intent: Head
    sentiment: Head

    def predict(self, text: str) -> Prediction:
        feats = features(text if isinstance(text, str) else str(text or ""))
        intents = self.intent.probabilities(feats)
        sentiments = self.sentiment.probabilities(feats)
        best = max(intents, key=lambda c: intents[c])
        return Prediction(
            best, intents[best], intents, max(sentiments, key=lambda c: sentiments[c]), sentiments
        )

    @staticmethod
    def load(path: Path = MODEL_PATH) -> ReplyModel:
        """The model of `path` (its weights in the file beside it, mapped into memory, not read)."""
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("feature_version") != FEATURE_VERSION:
            raise ValueError(
                f"{path}: feature_version {d.get('feature_version')} != {FEATURE_VERSION}: run make train"
            )
        with path.with_suffix(WEIGHTS_SUFFIX).open("rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # the mapping outlives the file object
        heads = {
            name: Head.from_json(d[name], WeightLines(data, tag, int(d[name]["features"])))
            for name, tag in HEAD_TAGS.items()
        }
        return ReplyModel(str(d["version"]), heads["intent"], heads["sentiment"])


_MODEL: ReplyModel | None = None
_LOCK = threading.Lock()


def model() -> ReplyModel:
    """The checked-in model, read on first use, once per process."""
    global _MODEL
    if _MODEL is None:
        with _LOCK:
            if _MODEL is None:
                _MODEL = ReplyModel.load()
    return _MODEL
