"""Changes to search data: the admins' synonym table (flush, never commit)."""
from __future__ import annotations

import re

from flask_babel import gettext as _

from lms.audit import record
from lms.extensions import db
from search.analysis import normalize
from search.models import SynonymGroup

_SEPARATORS = re.compile(r"[\s,，、;；/|=]+")
MAX_TERM = 40


class SynonymError(ValueError):
    pass


def parse_synonyms(text: str) -> list[list[str]]:
    """One group per line; words separated by spaces, commas or 、. Lines with one word are
    errors (a synonym needs a partner); words are stored normalised (simplified, half-width)."""
    groups = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        words = [normalize(w).strip() for w in _SEPARATORS.split(line) if w.strip()]
        words = list(dict.fromkeys(w for w in words if w))
        if not words:
            continue
        if len(words) < 2:
            raise SynonymError(_("Line %(line)d: a group needs at least two words.", line=number))
        if any(len(w) > MAX_TERM for w in words):
            raise SynonymError(_("Line %(line)d: a word is longer than %(max)d characters.",
                                 line=number, max=MAX_TERM))
        if len(" ".join(words)) > 500:
            raise SynonymError(_("Line %(line)d: the group is too long.", line=number))
        groups.append(words)
    return groups


def replace_synonyms(actor, text: str) -> list[SynonymGroup]:
    """Replace the whole synonym table with the groups in ``text`` (the admin page's form)."""
    from search.queries import forget_synonyms

    groups = parse_synonyms(text)
    before = db.session.scalar(db.select(db.func.count()).select_from(SynonymGroup)) or 0
    db.session.execute(db.delete(SynonymGroup))
    rows = [SynonymGroup(terms=" ".join(words)) for words in groups]
    db.session.add_all(rows)
    db.session.flush()
    record(actor, "search.synonyms", "search_synonyms", {"before": before, "after": len(rows)})
    forget_synonyms()
    return rows


def seed_synonyms() -> int:
    """Add the default groups when the table is empty (demo data, tests)."""
    from search.models import DEFAULT_SYNONYMS

    if db.session.scalar(db.select(db.func.count()).select_from(SynonymGroup)):
        return 0
    db.session.add_all(SynonymGroup(terms=" ".join(group)) for group in DEFAULT_SYNONYMS)
    db.session.flush()
    return len(DEFAULT_SYNONYMS)
