"""Message catalogs: one domain per area, all in ``lms/translations``.

``python -m lms.i18n_catalog extract DOMAIN`` refreshes an area's zh_Hans_CN catalog from its code
and lists the strings still untranslated; the test suite uses ``untranslated()`` to keep the
Chinese catalogs complete.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from lms.config import REPO_ROOT

LOCALE = "zh_Hans_CN"
CATALOG_DIR = REPO_ROOT / "lms" / "translations" / LOCALE / "LC_MESSAGES"
# Which source folders feed which domain (lms = everything in lms/ the other domains don't own).
DOMAIN_PATHS = {
    "lms": ("lms",),
    "households": ("lms/households",),
    "learning": ("lms/learning",),
    "stats": ("lms/stats", "lms/skills"),
    "media": ("media",),
    "courses": ("courses",),
    "search": ("search",),
    "followup": ("lms/followup",),
    "subsidies": ("lms/subsidies",),
}
METHOD_MAP = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _owned_elsewhere(domain: str) -> set[Path]:
    mine = {REPO_ROOT / p for p in DOMAIN_PATHS[domain]}
    return {REPO_ROOT / p for d, paths in DOMAIN_PATHS.items() if d != domain for p in paths
            if any((REPO_ROOT / p).is_relative_to(m) and REPO_ROOT / p != m for m in mine)}


def extract(domain: str) -> Catalog:
    catalog = Catalog(locale=LOCALE, domain=domain, project="Xiangxue")
    skip = _owned_elsewhere(domain)
    for rel in DOMAIN_PATHS[domain]:
        root = REPO_ROOT / rel
        if not root.exists():
            continue

        def keep(dirpath: str) -> bool:
            path = Path(dirpath)
            return not any(path == s or path.is_relative_to(s) for s in skip) and "__pycache__" not in path.parts

        for filename, lineno, message, comments, context in extract_from_dir(
                root, METHOD_MAP, keywords=KEYWORDS, directory_filter=keep,
                options_map={"**/templates/**.html": {"extensions": "jinja2.ext.do"}}):
            catalog.add(message, None, [(str(Path(rel) / filename), lineno)], context=context)
    return catalog


def load(domain: str) -> Catalog | None:
    path = CATALOG_DIR / f"{domain}.po"
    if not path.exists():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=LOCALE)


def untranslated() -> dict[str, list[str]]:
    """Every extracted msgid, per domain, with no Chinese translation in any catalog."""
    known: set[str] = set()
    for domain in DOMAIN_PATHS:
        catalog = load(domain)
        for message in catalog or ():
            msg_id = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else (message.string or ("",))[0]
            if msg_id and text and not message.fuzzy:
                known.add(msg_id)
    missing = {}
    for domain in DOMAIN_PATHS:
        ids = [m.id if isinstance(m.id, str) else m.id[0] for m in extract(domain) if m.id]
        gaps = [i for i in ids if i not in known]
        if gaps:
            missing[domain] = gaps
    return missing


def refresh(domain: str) -> list[str]:
    template = extract(domain)
    catalog = load(domain) or Catalog(locale=LOCALE, domain=domain, project="Xiangxue")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    CATALOG_DIR.mkdir(parents=True, exist_ok=True)
    with (CATALOG_DIR / f"{domain}.po").open("wb") as fh:
        write_po(fh, catalog, width=100)
    return [m.id for m in catalog if m.id and not m.string]


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "extract" or sys.argv[2] not in DOMAIN_PATHS:
        sys.exit(f"usage: python -m lms.i18n_catalog extract {{{','.join(DOMAIN_PATHS)}}}")
    for msg_id in refresh(sys.argv[2]):
        print("untranslated:", msg_id)
