"""The whoosh schema of the course index: one document per published course."""
from __future__ import annotations

import hashlib
import json

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from search.analysis import chinese_analyzer, pinyin_analyzer

# Bump when the fields or the analysis change: an index built with another version is
# stale and is rebuilt.
SCHEMA_VERSION = 2

# Query-time boosts: title > skill > summary > lesson titles > trainers/programme > lesson text.
TEXT_WEIGHTS = {
    "title": 8.0,
    "skill": 4.0,
    "summary": 2.0,
    "lessons": 1.5,
    "people": 1.2,
    "body": 1.0,
}
PINYIN_FULL_WEIGHTS = {"title_py": 6.0, "skill_py": 3.0}
PINYIN_INITIALS_WEIGHTS = {"title_in": 3.0, "skill_in": 1.5}
# skill_code counts each course under its skill and that skill's parent: the results page shows the
# top-level skills, the home page's tiles, by the same names.
FACETS = ("skill_category", "skill_code", "programme")

# Marks a course offered in every region (a course with no regions).
EVERYWHERE = "*"


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=chinese_analyzer(unigrams=True), stored=True),
        title_py=TEXT(analyzer=pinyin_analyzer()),
        title_in=TEXT(analyzer=pinyin_analyzer(initials=True)),
        skill=TEXT(analyzer=chinese_analyzer(unigrams=True), stored=True),
        skill_py=TEXT(analyzer=pinyin_analyzer()),
        skill_in=TEXT(analyzer=pinyin_analyzer(initials=True)),
        summary=TEXT(analyzer=chinese_analyzer(), stored=True),
        lessons=TEXT(analyzer=chinese_analyzer()),
        people=TEXT(analyzer=chinese_analyzer()),
        body=TEXT(analyzer=chinese_analyzer()),
        skill_code=KEYWORD(stored=True),
        skill_category=ID(stored=True, sortable=True),
        programme=ID(stored=True, sortable=True),
        regions=KEYWORD(scorable=False),
        version=STORED(),
    )


def document_version(doc: dict) -> str:
    """A fingerprint of everything indexed about a course: the periodic check compares it
    with the database's, so any change whose index job was lost (a lesson edited, a skill
    renamed) is found, not only changes that touched the course row."""
    payload = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:20]


def document_fields(doc: dict) -> dict:
    """Whoosh fields for one course document.

    ``doc`` is the plain dict the indexer works with (built from a course by ``search.documents``):
    id, title, summary, skill, skill_code (one code or a list: the skill and its parent),
    skill_category, programme, programme_name,
    trainers [names], lessons [{title, body, captions}], regions [codes].
    """
    lessons = doc.get("lessons") or []
    skill = doc.get("skill") or ""
    regions = [r for r in (doc.get("regions") or []) if r]
    codes = doc.get("skill_code") or []
    if isinstance(codes, str):
        codes = [codes]
    return {
        "id": str(doc["id"]),
        "title": doc.get("title") or "",
        "title_py": doc.get("title") or "",
        "title_in": doc.get("title") or "",
        "skill": skill,
        "skill_py": skill,
        "skill_in": skill,
        "summary": doc.get("summary") or "",
        "lessons": "\n".join(lesson.get("title") or "" for lesson in lessons),
        "people": "\n".join([doc.get("programme_name") or "", *(doc.get("trainers") or [])]),
        "body": "\n".join(
            part for lesson in lessons
            for part in (lesson.get("body") or "", lesson.get("captions") or "") if part
        ),
        "skill_code": " ".join(c for c in codes if c),
        "skill_category": doc.get("skill_category") or "",
        "programme": doc.get("programme") or "",
        "regions": " ".join(regions) if regions else EVERYWHERE,
        "version": document_version(doc),
    }
