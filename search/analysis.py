"""Chinese text analysis for the search index: normalisation, jieba segmentation with
sequential token positions, and pinyin (full spelling and initials).

Index and query go through the same ``normalize`` so that traditional characters,
full-width letters and upper case typed by a learner meet the simplified, half-width,
lower-case text of the index.
"""
from __future__ import annotations

import logging
import threading
import unicodedata
import warnings
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer

# jieba (its dictionary: ~65 MB and ~0.8 s), pypinyin (~55 MB of phrase tables) and zhconv are
# imported by the first function that needs them, so only a process that analyses text (the
# one answering a search, the worker indexing) pays for them; the others stay small.

_init_lock = threading.Lock()
_ready = False


def load_dictionary() -> None:
    """Load jieba's dictionary (about a second) if this process has not yet.

    Called by the first analysis in a process, and by gunicorn's master before it forks the web
    workers (bin/gunicorn_conf.py), so they share one copy; jieba keeps it for the life of the
    process.
    """
    global _ready
    if _ready:
        return
    with _init_lock:
        if not _ready:
            import jieba
            import zhconv

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            # zhconv loads its table lazily and leaves the file for the GC to close.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                zhconv.convert("乡学", "zh-cn")
                zhconv.convert("乡学", "zh-hans")
            _ready = True


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def is_han_word(word: str) -> bool:
    return bool(word) and all(_is_han(c) for c in word)


@lru_cache(maxsize=65536)
def _norm_char(ch: str) -> str:
    # NFKC folds full-width letters, digits and punctuation to half-width.
    out = unicodedata.normalize("NFKC", ch).lower()
    if len(out) != 1:
        return ch.lower() if len(ch.lower()) == 1 else ch
    return out


def normalize(text: str) -> str:
    """Traditional → simplified, full-width → half-width, lower case.

    The result always has the same length as the input, so character offsets found
    in the normalised text are valid in the original (needed for highlights).
    """
    if not text:
        return ""
    load_dictionary()
    import zhconv

    folded = "".join(_norm_char(c) for c in text)
    simplified = zhconv.convert(folded, "zh-cn")
    if len(simplified) != len(folded):
        # A phrase conversion changed the length; convert character by character.
        simplified = "".join(zhconv.convert(c, "zh-hans") or c for c in folded)
        if len(simplified) != len(folded):
            simplified = folded
    return simplified


def _skip(word: str) -> bool:
    return not any(c.isalnum() for c in word)


def segment(text: str) -> list[tuple[str, int, int]]:
    """jieba's accurate mode on normalised text: (word, start, end), punctuation dropped."""
    load_dictionary()
    import jieba

    norm = normalize(text)
    return [(w, s, e) for w, s, e in jieba.tokenize(norm) if not _skip(w)]


def subwords(word: str) -> list[str]:
    """Dictionary words inside a longer word (what jieba's search mode adds).

    Indexed at the parent's position, so 商务 finds 电子商务 while phrases still see
    one position per word.
    """
    if len(word) <= 2 or not is_han_word(word):
        return []
    load_dictionary()
    import jieba

    freq = jieba.dt.FREQ
    found = []
    for n in (2, 3):
        if len(word) > n:
            for i in range(len(word) - n + 1):
                gram = word[i : i + n]
                if freq.get(gram):
                    found.append(gram)
    return found


def query_words(text: str) -> list[str]:
    """The words of a query chunk, as the index holds them."""
    return [w for w, _, _ in segment(text)]


class ChineseTokenizer(Tokenizer):
    """jieba words numbered 0, 1, 2 … (jieba's own analyzer numbers them by character
    offset, which breaks phrase queries).

    At index time the dictionary words inside a long word share its position, and with
    ``unigrams`` so do its single characters (for short fields: title, skill).
    """

    def __init__(self, unigrams: bool = False):
        self.unigrams = unigrams

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.unigrams == self.unigrams

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        pos = start_pos
        for word, start, end in segment(value):
            extra: list[str] = []
            if mode != "query":
                extra = subwords(word)
            spans = [(word, start, end)] + [(x, start, end) for x in extra]
            if self.unigrams and mode != "query" and len(word) > 1 and is_han_word(word):
                spans += [(c, start + i, start + i + 1) for i, c in enumerate(word)]
            for text, s, e in spans:
                t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
                t.text = text
                t.boost = 1.0
                if keeporiginal:
                    t.original = text
                t.stopped = False
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + s
                    t.endchar = start_char + e
                yield t
            pos += 1


@lru_cache(maxsize=200000)
def pinyin_full(word: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word))


@lru_cache(maxsize=200000)
def pinyin_initials(word: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))


class PinyinTokenizer(Tokenizer):
    """One pinyin term per Chinese word, at the word's position: 电商 → ``dianshang``
    (or ``ds`` with ``initials``). Words inside long words share the position."""

    def __init__(self, initials: bool = False):
        self.initials = initials

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.initials == self.initials

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        convert = pinyin_initials if self.initials else pinyin_full
        pos = start_pos
        for word, start, end in segment(value):
            if is_han_word(word):
                seen = set()
                for part in [word, *subwords(word)]:
                    text = convert(part)
                    if text in seen:
                        continue
                    seen.add(text)
                    t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
                    t.text = text
                    t.boost = 1.0
                    t.stopped = False
                    if positions:
                        t.pos = pos
                    if chars:
                        t.startchar = start_char + start
                        t.endchar = start_char + end
                    yield t
            pos += 1


def chinese_analyzer(unigrams: bool = False) -> ChineseTokenizer:
    return ChineseTokenizer(unigrams=unigrams)


def pinyin_analyzer(initials: bool = False) -> PinyinTokenizer:
    return PinyinTokenizer(initials=initials)
