"""A reply as the rules read it: normalised (`normalise`), cut to MAX_CHARS, and split into tokens -
Chinese runs by rjieba (jieba-rs, built once per process from jieba_dict.txt and salon_dict.txt),
English/digit runs by regex. Every normalised character remembers where it came from (`Reply.quote`)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import mmap
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.understanding.lexicon import HAN_CLASS, bare, lexicon, stem
from chalicelib.understanding.sorted_lines import first_at_or_after

_HERE = Path(__file__).resolve().parent
SALON_DICT_PATH = _HERE / "salon_dict.txt"
MAIN_DICT_PATH = _HERE / "jieba_dict.txt"
MAIN_DICT_TOTAL_PATH = _HERE / "jieba_dict.json"  # its word count and total frequency

MAX_CHARS = 2000  # a reply longer than this keeps its first 1500 and last 500 characters
_HEAD, _TAIL = 1500, 500
_MAX_NORM = 4000  # NFKC can expand a character ("﷽"); cap the normalised text too

_TOKEN = re.compile(f"(?P<han>[{HAN_CLASS}]+)|(?P<word>[a-z0-9]+(?:'[a-z]+)*)")

# -------------------------------------------------------------------------------------------- jieba

_JIEBA_LOCK = threading.Lock()
_JIEBA: Segmenter | None = None
# A word no text can hold (private use: normalise() turns those into spaces, HAN_CLASS leaves them out): it
# carries the frequency of the dictionary's words not added yet, so the segmenter's total is the whole
# dictionary's from the start (jieba scores a cut by each word's frequency over that total).
_FILLER = "\ue000"
_NOT_WORDS_KEPT = 100_000


def _load_dictionary(tokenizer: Any, path: Path) -> None:
    """Add every word of a jieba-format dictionary ("word [freq] [tag]" a line) to `tokenizer`. A file whose
    every line has all three fields is read in one split, the rest line by line."""
    text = path.read_text(encoding="utf-8")
    tokens = text.split()
    if len(tokens) == 3 * len(text.splitlines()):
        add = tokenizer.add_word
        it = iter(tokens)
        for word, count, tag in zip(it, it, it, strict=True):
            add(word, int(count), tag)
        return
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tokenizer.add_word(parts[0], freq, parts[2] if len(parts) > 2 else None)


class Segmenter:
    """rjieba's segmenter. With `words`, its dictionary grows as the texts it cuts hold them: before a run is
    cut, every dictionary word found in it is added (`DictionaryWords.cover`), which is all jieba looks at to
    cut that run (the words starting at each of its characters, and whether a run of single characters is a
    word), with the dictionary's total from the start: the cuts are the whole dictionary's
    (tests/unit/test_understanding.py holds them to it). A cold start adds the few words its first text holds,
    not ~90,000."""

    def __init__(self, tokenizer: Any, words: DictionaryWords | None = None) -> None:
        self._tokenizer = tokenizer
        self._words = words
        if words is not None:
            words.start(tokenizer)
        self._lock = threading.Lock()  # a run's words are added and it is cut as one step

    def tokenize(self, run: str, hmm: bool = True) -> list[tuple[str, int, int]]:
        with self._lock:
            if self._words is not None:
                self._words.cover(self._tokenizer, run)
            return self._tokenizer.tokenize(run, hmm=hmm)


class DictionaryWords:
    """jieba_dict.txt (sorted by its words' bytes, one "word freq tag" a line; its total in MAIN_DICT_TOTAL_PATH)
    searched in place, and salon_dict.txt's words, which take precedence; the words added to a segmenter so far."""

    def __init__(self, main: bytes | mmap.mmap, main_total: int, salon: dict[str, tuple[int, str]]) -> None:
        self._main = main
        self._salon = salon
        self._salon_prefixes = {word[:i] for word in salon for i in range(1, len(word) + 1)}
        self._added: set[str] = set()
        # strings probed that are no word: whether a word starts with them (bounded: members' texts are endless)
        self._not_words: dict[str, bool] = {}
        overridden = sum(entry[0] for word in salon if (entry := self._main_entry(word)[1]) is not None)
        self._unadded = main_total - overridden + sum(freq for freq, _ in salon.values())

    def start(self, tokenizer: Any) -> None:
        tokenizer.add_word(_FILLER, self._unadded, "x")

    def _main_entry(self, word: str) -> tuple[bool, tuple[int, str] | None]:
        """Whether a main dictionary word starts with `word`, and `word`'s (frequency, tag) if it is one."""
        key = word.encode()
        found, start, end = first_at_or_after(self._main, key, b" ")
        if found != key:
            return found.startswith(key), None
        _, freq, tag = bytes(self._main[start:end]).decode().split(" ")
        return True, (int(freq), tag)

    def cover(self, tokenizer: Any, run: str) -> None:
        """Add to `tokenizer` every dictionary word `run` holds that it lacks."""
        unadded = self._unadded
        for i in range(len(run)):
            for j in range(i + 1, len(run) + 1):
                word = run[i:j]
                if word in self._added:
                    continue
                longer = self._not_words.get(word)
                if longer is None:
                    longer, entry = self._main_entry(word)
                    entry = self._salon.get(word, entry)
                    if entry is None:
                        if len(self._not_words) >= _NOT_WORDS_KEPT:
                            self._not_words.clear()
                        self._not_words[word] = longer
                else:
                    entry = None
                if entry is not None:
                    tokenizer.add_word(word, entry[0], entry[1])
                    self._added.add(word)
                    unadded -= entry[0]
                if not longer and word not in self._salon_prefixes:
                    break
        if unadded != self._unadded:
            self._unadded = unadded
            # adding it again replaces its frequency: the segmenter's total stays the dictionary's
            tokenizer.add_word(_FILLER, unadded, "x")


def _tokenizer() -> Segmenter:
    """The word segmenter (rjieba: jieba-rs, jieba's algorithm in Rust), built once per process on
    jieba_dict.txt (jieba's words used at least 20 times in its corpus, ~80,000: eval/tools/prune_jieba_dict.py,
    searched in place and added as texts hold them: `Segmenter`) and the salon dictionary. The extension is
    loaded without rjieba's package `__init__`, which would build a default segmenter from jieba's full
    dictionary (~350,000 words, ~0.12 s) that is never used."""
    global _JIEBA
    if _JIEBA is None:
        with _JIEBA_LOCK:
            if _JIEBA is None:
                tk: Any = _segmenter_class().empty()
                # CHAIRSIDE_JIEBA_DICT: another main dictionary (same format as jieba's dict.txt, docs/EVAL.md),
                # read whole.
                main_dict = os.environ.get("CHAIRSIDE_JIEBA_DICT")
                if main_dict and os.path.isfile(main_dict):
                    _load_dictionary(tk, Path(main_dict))
                    _load_dictionary(tk, SALON_DICT_PATH)
                    _JIEBA = Segmenter(tk)
                else:
                    _JIEBA = Segmenter(tk, main_words())
    return _JIEBA


def main_words() -> DictionaryWords:
    """The shipped dictionaries, the main one mapped into memory, not read."""
    with MAIN_DICT_PATH.open("rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # the mapping outlives the file object
    salon = {}
    for number, line in enumerate(SALON_DICT_PATH.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        # every field given: a frequency jieba would suggest depends on the words added before it
        if len(parts) != 3 or not parts[1].isdigit():
            raise ValueError(f"{SALON_DICT_PATH.name} line {number}: want 'word frequency tag', got {line!r}")
        salon[parts[0]] = (int(parts[1]), parts[2])
    return DictionaryWords(data, json.loads(MAIN_DICT_TOTAL_PATH.read_text())["total"], salon)


def _segmenter_class() -> Any:
    """rjieba's `Jieba` class, from its extension module `rjieba.rjieba`, loaded on its own when the package is
    not imported yet (a later `import rjieba` then reuses it: its `from .rjieba import Jieba` finds it)."""
    loaded = sys.modules.get("rjieba.rjieba")
    if loaded is None:
        package = importlib.util.find_spec("rjieba")  # finding a top-level package does not import it
        if package is None or not package.submodule_search_locations:
            raise ImportError("rjieba is not installed")
        folder = Path(next(iter(package.submodule_search_locations)))
        path = next(
            folder / f"rjieba{suffix}"
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (folder / f"rjieba{suffix}").is_file()
        )
        spec = importlib.util.spec_from_file_location("rjieba.rjieba", path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        sys.modules["rjieba.rjieba"] = loaded
    return loaded.Jieba


# ------------------------------------------------------------------------------------- normalisation

_DROP = {0xFE0E, 0xFE0F, 0x20E3, 0x200D, 0x200C, 0x200B, 0x2060, 0xFEFF}
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\uff07": "'"}


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character."""
    lex = lexicon()
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
class Token:
    text: str
    start: int
    end: int
    han: bool
    stem: str = ""


@dataclass
class Reply:
    raw: str
    norm: str
    index: list[int]
    toks: list[Token]
    words: list[Token]  # English/digit tokens only
    has_han: bool
    bare: str
    locale: str
    tok_at: dict[int, int] = field(default_factory=dict)  # char position -> token index (han tokens)

    def quote(self, start: int, end: int) -> str:
        """The original text of norm[start:end]."""
        if start >= end or not self.index:
            return ""
        return self.raw[self.index[start] : self.index[end - 1] + 1].strip()


def read_reply(text: str, locale: str | None) -> Reply:
    if len(text) > MAX_CHARS:
        text = text[:_HEAD] + "\n" + text[-_TAIL:]
    norm, index = normalise(text)
    if len(norm) > _MAX_NORM:
        norm, index = norm[:_MAX_NORM], index[:_MAX_NORM]
    toks: list[Token] = []
    words: list[Token] = []
    has_han = False
    for m in _TOKEN.finditer(norm):
        if m.group("han"):
            has_han = True
            run, base = m.group(0), m.start()
            for word, s, e in _tokenizer().tokenize(run, hmm=True):
                toks.append(Token(word, base + s, base + e, True))
        else:
            t = Token(m.group(0), m.start(), m.end(), False, stem(m.group(0)))
            toks.append(t)
            words.append(t)
    loc = (locale or "").strip().lower()
    if not loc:
        loc = "zh" if has_han else "en"
    doc = Reply(text, norm, index, toks, words, has_han, bare(norm), "zh" if loc.startswith("zh") else "en")
    for i, t in enumerate(toks):
        if t.han:
            for p in range(t.start, t.end):
                doc.tok_at[p] = i
    return doc
