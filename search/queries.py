"""Reading the search index: query building, filters, facets, highlights.

Web processes only read. Each thread keeps one open searcher per index folder and
reopens it when the live generation changes (a rebuild swapped it) or when the worker
committed new documents.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from pathlib import Path

from markupsafe import Markup, escape
from whoosh.query import And, Every, FuzzyTerm, Or, Phrase, Term

from search import storage
from search.analysis import (
    is_han_word,
    normalize,
    pinyin_full,
    pinyin_initials,
    query_words,
    segment,
    subwords,
)
from search.schema import (
    EVERYWHERE,
    FACETS,
    PINYIN_FULL_WEIGHTS,
    PINYIN_INITIALS_WEIGHTS,
    TEXT_WEIGHTS,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 10
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


def _filter_docs(searcher, region_code, skill, programme) -> set | None:
    """Allowed documents as a set: filters are built from cached per-term sets instead of
    running the filter query on every search (it cost as much as the search itself)."""
    allowed = None

    def narrow(docs):
        nonlocal allowed
        allowed = set(docs) if allowed is None else allowed & docs

    if region_code is not None:
        terms = [EVERYWHERE] + [region_code[:n] for n in range(1, len(region_code) + 1)]
        narrow(frozenset().union(*(_term_docs(searcher, "regions", t) for t in terms)))
    if skill:
        narrow(_term_docs(searcher, "skill_code", skill) | _term_docs(searcher, "skill_category", skill))
    if programme:
        narrow(_term_docs(searcher, "programme", programme))
    return allowed


@lru_cache(maxsize=8192)
def _pinyin_spans(value: str) -> tuple[tuple[str, str, int, int], ...]:
    """(full pinyin, initials, start, end) of the Chinese words in ``value`` and of the
    words inside them; cached, since the same titles come back query after query."""
    spans = []
    for word, start, end in segment(value):
        if is_han_word(word):
            for part in (word, *subwords(word)):
                spans.append((pinyin_full(part), pinyin_initials(part), start, end))
    return tuple(spans)


def _matched_terms(query, reader) -> tuple[set[str], set[str], set[str]]:
    # Not query.existing_terms(): in whoosh 2.7 it reuses its ``fieldname`` argument as a
    # loop variable and skips every leaf on another field than the first.
    text, full, initials = set(), set(), set()
    seen = set()
    for leaf in query.leaves():
        for term in leaf.expanded_terms(reader):
            seen.add(term)
    for fieldname, word in seen:
        word = word.decode("utf-8") if isinstance(word, bytes) else word
        if fieldname in TEXT_WEIGHTS:
            text.add(word)
        elif fieldname in PINYIN_FULL_WEIGHTS:
            full.add(word)
        elif fieldname in PINYIN_INITIALS_WEIGHTS:
            initials.add(word)
    return text, full, initials


def highlight(value: str, terms: tuple[set[str], set[str], set[str]],
              window: int | None = None) -> Markup | None:
    """``value`` with matched words wrapped in <mark>, everything HTML-escaped; None if
    nothing matched. With ``window``, only that many characters around the first match."""
    if not value:
        return None
    text_terms, full, initials = terms
    norm = normalize(value)
    spans = []
    for term in text_terms:
        at = norm.find(term)
        while term and at >= 0:
            spans.append((at, at + len(term)))
            at = norm.find(term, at + len(term))
    if full or initials:
        for py, first, start, end in _pinyin_spans(value):
            if py in full or first in initials:
                spans.append((start, end))
    if not spans:
        return None
    spans.sort()
    merged = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    start, end = 0, len(value)
    if window and len(value) > window:
        start = max(0, merged[0][0] - window // 3)
        end = min(len(value), start + window)
    out = [Markup("…")] if start > 0 else []
    pos = start
    for s, e in merged:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(value[pos:s]))
        out.append(Markup("<mark>%s</mark>") % value[s:e])
        pos = e
    out.append(escape(value[pos:end]))
    if end < len(value):
        out.append(Markup("…"))
    return Markup("").join(out)


@dataclass
class SearchResult:
    total: int = 0
    hits: list[dict] = field(default_factory=list)
    facets: dict = field(default_factory=lambda: {name: {} for name in FACETS})
    page: int = 1
    pagelen: int = PAGE_SIZE
    fallback: bool = False
    # Per course: the escaped, marked-up title and summary snippet, for the results page.
    fragments: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"total": self.total, "hits": self.hits, "facets": self.facets}


class _Searchers(threading.local):
    def __init__(self):
        self.open: dict[str, tuple[str, object]] = {}


_local = _Searchers()


def get_searcher(root: Path):
    """This thread's searcher on the live generation, reopened if it changed."""
    key = str(root)
    name = storage.read_pointer(Path(root))
    cached = _local.open.get(key)
    if cached is not None:
        cached_name, searcher = cached
        # Not searcher.refresh(): whoosh-reloaded 2.7.5 reuses the old segment readers
        # there and keeps serving documents the worker has deleted.
        if cached_name == name and searcher.up_to_date():
            return searcher
        forget_searcher(root)
    name, ix = storage.open_current(Path(root))
    try:
        searcher = ix.searcher()
    except Exception as exc:
        raise storage.IndexUnavailable("corrupt", repr(exc)) from exc
    searcher.__dict__["_lms_version"] = (key, (name, searcher.reader().generation()))
    _local.open[key] = (name, searcher)
    return searcher


def forget_searcher(root: Path) -> None:
    cached = _local.open.pop(str(root), None)
    if cached is not None:
        try:
            cached[1].close()
        except Exception:
            log.debug("closing a stale searcher failed", exc_info=True)


def search_index(root: Path, text: str, *, region_code: str | None = None,
                 skill: str | None = None, programme: str | None = None, page: int = 1,
                 pagelen: int = PAGE_SIZE, synonyms: Synonyms | None = None) -> SearchResult:
    """Search the live index. Raises IndexUnavailable when it cannot answer."""
    args = (text, region_code, skill, programme, page, pagelen, synonyms)
    failure = None
    # A searcher opened just before a swap or a merge may have lost its files: one retry
    # on a fresh searcher before calling the index corrupt.
    for _attempt in range(2):
        try:
            return _search_once(get_searcher(root), *args)
        except storage.IndexUnavailable as exc:
            forget_searcher(root)
            failure = (exc.status, exc.detail)
            break
        except Exception as exc:  # whoosh on damaged files raises anything
            forget_searcher(root)
            failure = ("corrupt", repr(exc))
            log.warning("search index failed: %r", exc)
            storage.discard_failure(exc)
    raise storage.IndexUnavailable(*failure)


_TITLE = ("title", "title_py", "title_in")
_SKILL = ("skill", "skill_py", "skill_in")
RANK_TIERS = (frozenset(_TITLE), frozenset(_TITLE + _SKILL), frozenset(_TITLE + _SKILL + ("summary",)), None)
# Bounds the document sets cached by one process (elements, about 50 bytes each).
DOCSET_CACHE_ELEMENTS = 400_000


class _DocsetCache:
    """Document sets shared by every thread of the process, for one version of each index
    (keyed by generation name and whoosh's commit generation): a gunicorn worker's
    threads build each set once, and the sets are dropped when the index changes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sets: dict = {}
        self.size = 0
        self.current: dict = {}  # index folder → (generation name, commit generation)

    def get(self, searcher, key, compute) -> frozenset:
        version = searcher.__dict__.get("_lms_version")
        if version is None:  # a searcher not opened by get_searcher: its own, short-lived cache
            own = searcher.__dict__.setdefault("_lms_docsets", {})
            if key not in own:
                own[key] = frozenset(compute())
            return own[key]
        folder, stamp = version
        docs = self.sets.get((folder, stamp, key))
        if docs is not None:
            return docs
        docs = frozenset(compute())
        with self.lock:
            current = self.current.get(folder)
            if current is not None and stamp < current:
                return docs  # a thread still on an older version: do not evict the newer one
            if current != stamp:
                self.sets = {k: v for k, v in self.sets.items() if k[0] != folder}
                self.size = sum(len(v) for v in self.sets.values())
                self.current[folder] = stamp
            if self.size + len(docs) > DOCSET_CACHE_ELEMENTS:
                self.sets.clear()
                self.size = 0
            self.sets[(folder, stamp, key)] = docs
            self.size += len(docs)
        return docs


_docsets = _DocsetCache()


def _cached_docs(searcher, key, compute) -> frozenset:
    return _docsets.get(searcher, key, compute)


def _term_docs(searcher, fieldname: str, text: str) -> frozenset:
    """The documents holding one term (cached until the index changes)."""
    return _cached_docs(searcher, ("term", fieldname, text),
                        lambda: searcher.docs_for_query(Term(fieldname, text)))


def matching_docs(searcher, query) -> frozenset:
    """The documents matching ``query``, from cached per-term sets joined in C (set
    union and intersection) instead of whoosh's per-document matchers: the count and
    the facets need every match, and walking ten thousand matches through whoosh's
    Python matchers cost more than the rest of a search."""
    if isinstance(query, Term):
        return _term_docs(searcher, query.fieldname, query.text)
    if isinstance(query, Or):
        return frozenset().union(*(matching_docs(searcher, q) for q in query.subqueries))
    if isinstance(query, And):
        sets = sorted((matching_docs(searcher, q) for q in query.subqueries), key=len)
        out = sets[0]
        for other in sets[1:]:
            if not out:
                break
            out = out & other
        return out
    if isinstance(query, FuzzyTerm):
        words = _fuzzy_words(searcher, query)
        return frozenset().union(*(_term_docs(searcher, query.fieldname, w) for w in words))
    if isinstance(query, Phrase):
        # Only documents holding every word can hold the phrase: check positions there.
        candidates = matching_docs(searcher, And([Term(query.fieldname, w) for w in query.words]))
        if not candidates:
            return frozenset()
        return _cached_docs(searcher, ("phrase", query.fieldname, tuple(query.words)),
                            lambda: searcher.docs_for_query(query))
    return frozenset(searcher.docs_for_query(query))


def _fuzzy_words(searcher, query: FuzzyTerm) -> tuple:
    """The index words within the fuzzy term's distance (whoosh builds an automaton for
    every call; a search asks several times)."""
    cache = searcher.__dict__.setdefault("_lms_fuzzy", {})
    key = (query.fieldname, query.text, query.maxdist, query.prefixlength)
    words = cache.get(key)
    if words is None:
        if len(cache) > 2048:
            cache.clear()
        words = tuple(w for _f, w in query.expanded_terms(searcher.reader()))
        cache[key] = words
    return words


def _for_scoring(searcher, query):
    """The query to rank documents already known to match: phrases become their words
    (positions were checked by ``matching_docs``) and fuzzy terms their expansions, so
    scoring does not walk word positions or rebuild automata."""
    if isinstance(query, (Or, And)):
        kept = [_for_scoring(searcher, q) for q in query.subqueries]
        kept = [k for k in kept if k is not None]
        if not kept:
            return None
        return type(query)(kept, boost=query.boost)
    if isinstance(query, Phrase):
        return And([Term(query.fieldname, w) for w in query.words], boost=query.boost)
    if isinstance(query, FuzzyTerm):
        words = _fuzzy_words(searcher, query)
        if not words:
            return None
        return Or([Term(query.fieldname, w, boost=query.boost) for w in words])
    return query


def _restrict(query, fields):
    """``query`` with every leaf outside ``fields`` removed (None if nothing is left)."""
    if isinstance(query, (Or, And)):
        kept = [_restrict(q, fields) for q in query.subqueries]
        if isinstance(query, And):
            if any(k is None for k in kept):
                return None
            return And(kept)
        kept = [k for k in kept if k is not None]
        return Or(kept) if kept else None
    if isinstance(query, (Term, Phrase, FuzzyTerm)):
        return query if query.fieldname in fields else None
    return query


def _facet_counts(searcher, name: str, docs: frozenset) -> dict:
    counts = {}
    for value in searcher.reader().field_terms(name):
        if not value:
            continue
        n = len(docs & _term_docs(searcher, name, value))
        if n:
            counts[value] = n
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _search_once(searcher, text, region_code, skill, programme, page, pagelen, synonyms):
    page = max(1, int(page or 1))
    reader = searcher.reader()
    query = build_query(reader, text or "", synonyms)
    result = SearchResult(page=page, pagelen=pagelen)
    if query is None:
        if not (skill or programme):
            return result
        query = Every()
    docs = matching_docs(searcher, query)
    allowed = _filter_docs(searcher, region_code, skill, programme)
    if allowed is not None:
        docs = docs & allowed
    result.total = len(docs)
    if not docs:
        return result
    for name in FACETS:
        result.facets[name] = _facet_counts(searcher, name, docs)

    # Rank in tiers: courses matched in the title first, then in title or skill, then in
    # title, skill or summary, then anywhere (lessons, trainers); within a tier by the score
    # on that tier's fields. Scoring only the tiers a page needs keeps a common word from
    # scoring every course in pure Python.
    start, end = (page - 1) * pagelen, page * pagelen
    ranked: list[tuple[float, int]] = []
    placed: frozenset = frozenset()
    scoring = _for_scoring(searcher, query) if not isinstance(query, Every) else query
    for fields in RANK_TIERS:
        if len(ranked) >= end or len(placed) == len(docs) or scoring is None:
            break
        tier_query = query if fields is None else _restrict(query, fields)
        tier_scoring = scoring if fields is None else _restrict(scoring, fields)
        if tier_query is None or tier_scoring is None:
            continue
        tier_docs = (docs if fields is None else matching_docs(searcher, tier_query) & docs) - placed
        if not tier_docs:
            continue
        hits = searcher.search(tier_scoring, limit=end - len(ranked), filter=set(tier_docs), terms=False)
        ranked += [(hit.score or 0.0, hit.docnum) for hit in hits]
        placed = placed | tier_docs

    empty: tuple[set[str], set[str], set[str]] = (set(), set(), set())
    terms = empty if isinstance(query, Every) or scoring is None else _matched_terms(scoring, reader)
    for score, docnum in ranked[start:end]:
        stored = searcher.stored_fields(docnum)
        highlights = []
        marked = {}
        for name, window in (("title", None), ("skill", None), ("summary", 60)):
            h = highlight(stored.get(name) or "", terms, window)
            if h is not None:
                highlights.append(str(h))
                marked[name] = h
        result.fragments[int(stored["id"])] = marked
        result.hits.append({
            "course": int(stored["id"]),
            "title": stored.get("title") or "",
            "highlights": highlights,
            "score": round(float(score), 4),
        })
    return result


# --- The application's search: index first, the database when the index cannot answer ---

SYNONYM_TTL = 30.0
_synonym_cache: dict = {"at": 0.0, "value": None}
_synonym_lock = threading.Lock()


def current_synonyms() -> Synonyms:
    """The admins' synonym groups, re-read at most every SYNONYM_TTL seconds per process
    (and at once in the process that saved them)."""
    import time

    from lms.extensions import db
    from search.models import SynonymGroup

    now = time.monotonic()
    cached = _synonym_cache["value"]
    if cached is not None and now - _synonym_cache["at"] < SYNONYM_TTL:
        return cached
    with _synonym_lock:
        rows = db.session.scalars(db.select(SynonymGroup.terms).order_by(SynonymGroup.id)).all()
        value = Synonyms([tuple(terms.split()) for terms in rows])
        _synonym_cache.update(at=now, value=value)
    return value


def forget_synonyms() -> None:
    _synonym_cache.update(at=0.0, value=None)


def learner_region(user) -> str | None:
    """What limits the courses a user finds: a learner's village code; None (no limit) for
    staff; "" (courses offered everywhere) for someone not signed in or without a village."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    if user.role.value == "learner":
        return user.region_code or ""
    return None


def search_courses(text: str, *, user=None, skill: str | None = None,
                   programme: str | None = None, page: int = 1,
                   pagelen: int = PAGE_SIZE) -> SearchResult:
    """Search published courses as ``user`` may see them. Never raises for a broken index:
    a missing, stale or corrupt one is queued for a rebuild and the database answers."""
    from search.storage import index_root

    root = index_root()
    region = learner_region(user)
    synonyms = current_synonyms()
    try:
        return search_index(root, text, region_code=region, skill=skill, programme=programme,
                            page=page, pagelen=pagelen, synonyms=synonyms)
    except storage.IndexUnavailable as exc:
        log.warning("search index %s (%s): answering from the database", exc.status, exc.detail)
        _queue_rebuild(root)
    result = search_database(text, region_code=region, skill=skill, programme=programme,
                             page=page, pagelen=pagelen, synonyms=synonyms)
    result.fallback = True
    return result


def _queue_rebuild(root: Path) -> None:
    from lms.queue import enqueue_now
    from search import indexer, tasks

    if indexer.request_rebuild(root):
        try:
            enqueue_now(tasks.rebuild_index)
        except Exception:
            indexer.clear_rebuild_request(root)
            log.exception("could not queue a search index rebuild")


def search_database(text: str, *, region_code: str | None = None, skill: str | None = None,
                    programme: str | None = None, page: int = 1, pagelen: int = PAGE_SIZE,
                    synonyms: Synonyms | None = None) -> SearchResult:
    """A plain database search (words in title or summary) used while the index is rebuilt:
    slower and without pinyin, but the same filters and the same answer shape."""
    from sqlalchemy import and_, func, or_, select

    from courses.models import Course, Programme, Skill, SkillCategory
    from courses.queries import offered_to
    from lms.extensions import db

    page = max(1, int(page or 1))
    result = SearchResult(page=page, pagelen=pagelen)
    synonyms = synonyms or Synonyms()
    alternatives, words_seen = [], set()
    for kind, unit in parse_units(text or ""):
        options = []
        for variant in synonyms.variants(unit):
            words = query_words(variant)
            if kind == "chunk":
                words = [w for w in words if w not in QUERY_STOPWORDS] or words
            if not words:
                continue
            words_seen.update(words)
            pattern = [variant] if kind == "phrase" else words
            options.append(and_(*[or_(Course.title.contains(w, autoescape=True),
                                      Course.summary.contains(w, autoescape=True)) for w in pattern]))
        if options:
            alternatives.append(or_(*options))
    if not alternatives and not (skill or programme):
        return result
    conditions = [Course.published.is_(True), *alternatives]
    if region_code is not None:
        conditions.append(offered_to(region_code))
    skill_alias = db.aliased(Skill)
    parent = db.aliased(Skill)
    base = (select(Course.id).join(skill_alias, Course.skill_id == skill_alias.id)
            .outerjoin(parent, skill_alias.parent_id == parent.id)
            .join(Programme, Course.programme_id == Programme.id))
    if skill:
        by_skill = [skill_alias.code == skill, parent.code == skill]
        category = {c.value: c for c in SkillCategory}.get(skill)
        if category is not None:
            by_skill.append(skill_alias.category == category)
        conditions.append(or_(*by_skill))
    if programme:
        conditions.append(Programme.code == programme)
    matched = base.where(*conditions).subquery()
    result.total = db.session.scalar(select(func.count()).select_from(matched)) or 0
    if not result.total:
        return result
    for name, column in (("skill_category", Skill.category), ("programme", Programme.code)):
        stmt = (select(column, func.count()).select_from(Course)
                .join(Skill, Course.skill_id == Skill.id).join(Programme, Course.programme_id == Programme.id)
                .where(Course.id.in_(select(matched.c.id))).group_by(column))
        counts = {getattr(k, "value", k): n for k, n in db.session.execute(stmt) if k}
        result.facets[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
    rows = db.session.execute(
        select(Course.id, Course.title, Course.summary).where(Course.id.in_(select(matched.c.id)))
        .order_by(Course.published_at.desc(), Course.id.desc())
        .offset((page - 1) * pagelen).limit(pagelen))
    terms = (words_seen, set(), set())
    for cid, title, summary in rows:
        marked = {"title": highlight(title, terms), "summary": highlight(summary or "", terms, 60)}
        marked = {k: v for k, v in marked.items() if v is not None}
        result.fragments[cid] = marked
        highlights = [str(h) for h in marked.values()]
        result.hits.append({"course": cid, "title": title, "highlights": highlights, "score": 0.0})
    return result
