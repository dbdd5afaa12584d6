"""Answering from the index: one open searcher per thread and index folder, reopened when the
live generation changes (a rebuild swapped it) or the worker committed new documents; cached
document sets for filters and facets; tiered ranking; the result with its highlights.

Web processes only read: the worker is the index's one writer (search.indexer)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from whoosh.query import And, Every, FuzzyTerm, Or, Phrase, Term

from search import storage
from search.highlighting import matched_terms, highlight
from search.parsing import Synonyms, build_query
from search.schema import EVERYWHERE, FACETS

log = logging.getLogger(__name__)

PAGE_SIZE = 10


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
    terms = empty if isinstance(query, Every) or scoring is None else matched_terms(scoring, reader)
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
