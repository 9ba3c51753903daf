"""A reply as the rules read it: normalised (`normalise`), cut to MAX_CHARS, and split into tokens -
Chinese runs by rjieba (jieba-rs, built once per process from jieba_dict.txt and salon_dict.txt),
English/digit runs by regex. Every normalised character remembers where it came from (`Reply.quote`)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.understanding.lexicon import HAN_CLASS, bare, lexicon, stem

_HERE = Path(__file__).resolve().parent
SALON_DICT_PATH = _HERE / "salon_dict.txt"
MAIN_DICT_PATH = _HERE / "jieba_dict.txt"

MAX_CHARS = 2000  # a reply longer than this keeps its first 1500 and last 500 characters
_HEAD, _TAIL = 1500, 500
_MAX_NORM = 4000  # NFKC can expand a character ("﷽"); cap the normalised text too

_TOKEN = re.compile(f"(?P<han>[{HAN_CLASS}]+)|(?P<word>[a-z0-9]+(?:'[a-z]+)*)")

# -------------------------------------------------------------------------------------------- jieba

_JIEBA_LOCK = threading.Lock()
_JIEBA: Any = None


def _load_dictionary(tokenizer: Any, path: Path) -> None:
    """Add every word of a jieba-format dictionary ("word [freq] [tag]" a line) to `tokenizer`. A file whose
    every line has all three fields (jieba_dict.txt) is read in one split, the rest line by line."""
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


def _tokenizer() -> Any:
    """The word segmenter (rjieba: jieba-rs, jieba's algorithm in Rust), built once per process from
    jieba_dict.txt (jieba's words used at least 20 times in its corpus, ~80,000: eval/tools/prune_jieba_dict.py)
    and the salon dictionary. The extension is loaded without rjieba's package `__init__`, which would build a
    default segmenter from jieba's full dictionary (~350,000 words, ~0.12 s) that is never used."""
    global _JIEBA
    if _JIEBA is None:
        with _JIEBA_LOCK:
            if _JIEBA is None:
                # CHAIRSIDE_JIEBA_DICT: another main dictionary (same format as jieba's dict.txt, docs/EVAL.md).
                main_dict = os.environ.get("CHAIRSIDE_JIEBA_DICT")
                tk: Any = _segmenter_class().empty()
                _load_dictionary(
                    tk, Path(main_dict) if main_dict and os.path.isfile(main_dict) else MAIN_DICT_PATH
                )
                _load_dictionary(tk, SALON_DICT_PATH)
                _JIEBA = tk
    return _JIEBA


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
