"""The application's search (``search_courses``): the index first, the database when the index
cannot answer (missing, stale or corrupt: a rebuild is queued), with the admins' synonyms and
the learner's region. The pieces live beside it: parsing (search.parsing), the searcher and its
caches (search.searcher), highlights (search.highlighting).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from search import storage
from search.analysis import query_words
from search.highlighting import highlight
from search.parsing import QUERY_STOPWORDS, Synonyms, parse_units
from search.searcher import PAGE_SIZE, SearchResult, search_index

log = logging.getLogger(__name__)


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
    # As the index counts skill_code: each course under its skill and under the skill's parent.
    counts = {}
    for code, parent_code in db.session.execute(
            select(skill_alias.code, parent.code).select_from(Course)
            .join(skill_alias, Course.skill_id == skill_alias.id).outerjoin(parent, skill_alias.parent_id == parent.id)
            .where(Course.id.in_(select(matched.c.id)))):
        for c in (code, parent_code):
            if c:
                counts[c] = counts.get(c, 0) + 1
    result.facets["skill_code"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
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
