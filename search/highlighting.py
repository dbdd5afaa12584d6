"""Highlights: the matched words (text, full pinyin or initials) wrapped in <mark> in a stored
title or summary, everything else HTML-escaped."""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from search.analysis import is_han_word, normalize, pinyin_full, pinyin_initials, segment, subwords
from search.schema import PINYIN_FULL_WEIGHTS, PINYIN_INITIALS_WEIGHTS, TEXT_WEIGHTS

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


def matched_terms(query, reader) -> tuple[set[str], set[str], set[str]]:
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
