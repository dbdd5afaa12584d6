"""Reading what a learner typed: quoted phrases and chunks, stop words, synonyms (both ways),
run-together pinyin split against the index, and the whoosh query built from them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import product

from whoosh.query import And, FuzzyTerm, Or, Phrase, Term

from search.analysis import is_han_word, normalize, pinyin_full, pinyin_initials, query_words
from search.schema import PINYIN_FULL_WEIGHTS, PINYIN_INITIALS_WEIGHTS, TEXT_WEIGHTS

# Words a learner adds around what they want (怎么养猪 → 养猪); dropped from unquoted
# queries only, since every other word must match.
QUERY_STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 我 想 要 学 学习 怎么 怎样 如何 什么 哪里 一下 课程 课 教程 视频 培训班".split()
)
_PINYIN_RE = re.compile(r"^[a-z]+$")
_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"'})
_UNIT_RE = re.compile(r'"([^"]*)"|(\S+)')
# Caps how many synonym combinations one query expands to.
MAX_VARIANTS = 12
MAX_PINYIN_LEN = 40


@dataclass
class Synonyms:
    """Synonym groups (each a set of words meaning the same), with look-ups by pinyin."""

    groups: list[tuple[str, ...]] = field(default_factory=list)

    def __post_init__(self):
        self.by_term: dict[str, tuple[str, ...]] = {}
        self.by_pinyin: dict[str, list[tuple[str, ...]]] = {}
        cleaned = []
        for group in self.groups:
            terms = tuple(dict.fromkeys(normalize(t).strip() for t in group if t and t.strip()))
            if len(terms) < 2:
                continue
            cleaned.append(terms)
            for term in terms:
                self.by_term.setdefault(term, terms)
                if is_han_word(term):
                    for key in {pinyin_full(term), pinyin_initials(term)}:
                        if len(key) >= 2:
                            self.by_pinyin.setdefault(key, []).append(terms)
        self.groups = cleaned
        self.longest = max((len(t) for t in self.by_term), default=0)

    def variants(self, text: str) -> list[str]:
        """``text`` and its rewrites with each synonym replaced by the others of its group
        (longest match first, left to right)."""
        if not self.by_term:
            return [text]
        pieces: list[list[str]] = []
        plain = []
        i = 0
        while i < len(text):
            for n in range(min(self.longest, len(text) - i), 0, -1):
                group = self.by_term.get(text[i : i + n])
                if group:
                    if plain:
                        pieces.append(["".join(plain)])
                        plain = []
                    word = text[i : i + n]
                    pieces.append([word, *[t for t in group if t != word]])
                    i += n
                    break
            else:
                plain.append(text[i])
                i += 1
        if plain:
            pieces.append(["".join(plain)])
        out = []
        for combo in product(*pieces):
            out.append("".join(combo))
            if len(out) >= MAX_VARIANTS:
                break
        return out


def _field_or(word: str) -> Or:
    return Or([Term(f, word, boost=w) for f, w in TEXT_WEIGHTS.items()])


def _words_query(text: str, drop_stopwords: bool):
    words = query_words(text)
    if drop_stopwords:
        kept = [w for w in words if w not in QUERY_STOPWORDS]
        words = kept or words
    if not words:
        return None
    if len(words) == 1:
        return _field_or(words[0])
    return And([_field_or(w) for w in words])


def _phrase_query(text: str):
    words = query_words(text)
    if not words:
        return None
    if len(words) == 1:
        return _field_or(words[0])
    return Or([Phrase(f, words, boost=w) for f, w in TEXT_WEIGHTS.items()])


def _segment_by_lexicon(reader, text: str, fields) -> list[str] | None:
    """Split run-together pinyin into words the index knows, fewest words first
    (``dianshangpeixun`` → dianshang, peixun)."""
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    known: dict[str, bool] = {}
    for i in range(1, n + 1):
        for j in range(max(0, i - 24), i):
            prev = best[j]
            if prev is None:
                continue
            piece = text[j:i]
            if piece not in known:
                known[piece] = any((f, piece) in reader for f in fields)
            if known[piece] and (best[i] is None or len(prev) + 1 < len(best[i])):
                best[i] = prev + [piece]
    return best[n]


def _pinyin_query(reader, text: str, synonyms: Synonyms):
    """Clauses for a chunk of latin letters read as pinyin: full spelling, initials,
    one-edit typos, and synonym groups whose words are spelled so."""
    clauses = []
    for weights in (PINYIN_FULL_WEIGHTS, PINYIN_INITIALS_WEIGHTS):
        words = _segment_by_lexicon(reader, text, tuple(weights))
        if words:
            clauses.append(And([
                Or([Term(f, w, boost=b) for f, b in weights.items()]) for w in words
            ]) if len(words) > 1 else Or([Term(f, words[0], boost=b) for f, b in weights.items()]))
    swaps = {text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1)}
    swaps = [w for w in swaps - {text} if any((f, w) in reader for f in PINYIN_FULL_WEIGHTS)]
    if swaps:
        # Two letters swapped (jiazhneg): whoosh's FuzzyTerm counts a swap as two edits.
        clauses.append(Or([Term(f, w, boost=b * 0.5) for w in swaps
                           for f, b in PINYIN_FULL_WEIGHTS.items()]))
    if len(text) >= 4:
        # One edit (insert, delete, substitute or swap): yangzi → yangzhi. The first
        # letter must match, which keeps the expansion small.
        clauses.append(Or([
            FuzzyTerm(f, text, boost=b * 0.5, maxdist=1, prefixlength=1)
            for f, b in PINYIN_FULL_WEIGHTS.items()
        ]))
    for group in synonyms.by_pinyin.get(text, []):
        for term in group:
            q = _words_query(term, drop_stopwords=False)
            if q is not None:
                clauses.append(q)
    return Or(clauses) if clauses else None


def parse_units(text: str) -> list[tuple[str, str]]:
    """Normalised query → [("phrase"|"chunk", text)]; quotes may be ASCII, full-width or Chinese."""
    norm = normalize(text.translate(_QUOTES))
    units = []
    for m in _UNIT_RE.finditer(norm):
        if m.group(1) is not None:
            if m.group(1).strip():
                units.append(("phrase", m.group(1).strip()))
        else:
            units.append(("chunk", m.group(2)))
    return units


def build_query(reader, text: str, synonyms: Synonyms | None = None):
    """The whoosh query for what a learner typed, or None when nothing is searchable."""
    synonyms = synonyms or Synonyms()
    units = parse_units(text)
    parts = []
    for kind, unit in units:
        alternatives = []
        for variant in synonyms.variants(unit):
            q = _phrase_query(variant) if kind == "phrase" else _words_query(variant, True)
            if q is not None:
                alternatives.append(q)
        if kind == "chunk" and _PINYIN_RE.match(unit) and len(unit) <= MAX_PINYIN_LEN:
            q = _pinyin_query(reader, unit, synonyms)
            if q is not None:
                alternatives.append(q)
        if alternatives:
            parts.append(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
    if not parts:
        return None
    query = parts[0] if len(parts) == 1 else And(parts)
    # "dian shang": several latin chunks may be one word's pinyin typed with spaces.
    if len(units) > 1 and all(k == "chunk" and _PINYIN_RE.match(u) for k, u in units):
        joined = "".join(u for _, u in units)
        if len(joined) <= MAX_PINYIN_LEN:
            pq = _pinyin_query(reader, joined, synonyms)
            if pq is not None:
                query = Or([query, pq])
    return query
