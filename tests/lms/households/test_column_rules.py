"""Each column rule's whole-column quick test against its row-by-row form
(``quick=False``) on a varied sample: clean columns (where the quick test decides)
and columns with a few faulty or unusual cells (where it must hand over)."""
from __future__ import annotations

import random

import pytest

from lms.households import column_rules as rules

from .records import make_id

SEEDS = range(40)


def _columns(seed: int, n: int = 30) -> dict[str, list]:
    """A chunk's columns, clean or (for most seeds) with some cells spoilt."""
    rnd = random.Random(seed)
    spoil = seed % 4 != 0  # every fourth sample clean: the quick tests' own case
    ids, births, places, months, education, student = [], [], [], [], [], []
    for k in range(n):
        birth = f"{rnd.randint(1940, 2015)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        number = make_id(birth, rnd.randint(1, 999), area=rnd.choice(["621123", "621102"]))
        if spoil and rnd.random() < 0.1:
            number = rnd.choice([number[:17] + "x", number[:17] + "0", number[:15], "123", "",
                                 "621123800101011", number.lower(), " " + number,
                                 make_id(birth, 5, area="622426"), "六二一" + number[3:]])
        ids.append(number)
        spelled = rnd.choice([birth, f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"])
        if spoil and rnd.random() < 0.1:
            spelled = rnd.choice(["", "1999-01-01", f"{birth[:4]}/{birth[4:6]}/{birth[6:]}",
                                  f"{birth[:4]}年{int(birth[4:6])}月{int(birth[6:])}日", "abc"])
        births.append(spelled)
        working = rnd.random() < 0.4
        places.append("2" if working else None)
        months.append(rnd.randint(1, 12) if working else rnd.choice([None, 0]))
        if spoil and rnd.random() < 0.1:
            places[-1], months[-1] = rnd.choice([("2", None), (None, 3), ("3", 0)])
        at_school = rnd.random() < 0.2
        student.append("1" if at_school else None)
        education.append(None if at_school else rnd.choice([None, "2", "3"]))
        if spoil and at_school and rnd.random() < 0.3:
            education[-1] = "2"
    return {"ids": ids, "births": births, "places": places, "months": months,
            "education": education, "student": student}


def _id_column(col, doc_types, quick):
    read = rules.read_id_column(col, doc_types, {}, frozenset({"621123", "621102"}), quick)
    return (read.person, read.docno, read.births, read.sexes, read.kinds, read.errors,
            sorted(read.warnings, key=repr))


@pytest.mark.parametrize("seed", SEEDS)
def test_id_column_quick_and_row_by_row_agree(seed):
    cols = _columns(seed)
    rnd = random.Random(seed)
    doc_types = [None if rnd.random() < 0.9 or seed % 4 == 0 else "1" for _ in cols["ids"]]
    quick = _id_column(cols["ids"], doc_types, True)
    assert quick == _id_column(cols["ids"], doc_types, False)
    if seed % 4 == 0:
        assert quick[5] == [] and None not in quick[0]  # a clean column reads whole


def test_id_column_quick_and_row_by_row_agree_with_a_disability_certificate():
    from lms.households.categories import DocType

    col = [make_id("19800101", 11), make_id("19820202", 12) + "42", make_id("19900101", 13)]
    types = [None, DocType.DISABILITY_CERT.value, None]
    quick = _id_column(col, types, True)
    assert quick == _id_column(col, types, False)
    assert quick[4] == ["1", DocType.DISABILITY_CERT.value, "1"] and quick[5] == []


@pytest.mark.parametrize("seed", SEEDS)
def test_birth_dates_quick_and_row_by_row_agree(seed):
    cols = _columns(seed)
    read = rules.read_id_column(cols["ids"], [None] * len(cols["ids"]), {}, frozenset())
    found = rules.birth_mismatches(cols["births"], read.person, read.births, True)
    assert found == rules.birth_mismatches(cols["births"], read.person, read.births, False)
    if seed % 4 == 0:
        assert found == []


def test_birth_date_spelled_otherwise_is_not_a_mismatch_either_way():
    number = make_id("19860901", 11)
    for quick in (True, False):
        assert rules.birth_mismatches(["1986年9月1日", "19860902"], [number, number],
                                      [19860901, 19860901], quick) == [1]


@pytest.mark.parametrize("seed", SEEDS)
def test_students_education_quick_and_row_by_row_agree(seed):
    cols = _columns(seed)
    found = rules.educated_students(cols["education"], cols["student"], True)
    assert found == rules.educated_students(cols["education"], cols["student"], False)
    assert all(cols["student"][k] and cols["education"][k] for k in found)


@pytest.mark.parametrize("seed", SEEDS)
def test_work_place_and_months_quick_and_row_by_row_agree(seed):
    cols = _columns(seed)
    found = rules.work_mismatches(cols["places"], cols["months"], True)
    assert found == rules.work_mismatches(cols["places"], cols["months"], False)
    if seed % 4 == 0:
        assert found == []


@pytest.mark.parametrize("texts", [
    ["a", "", "  b  "], ["'0931-1234567", "13800000000"], ["x" * 25, "y"], ["‘007", "`", "'"],
    ["", ""], ["it's", "ok"], ["中文名字" * 6, "短"],
])
def test_free_text_and_cell_text_quick_and_row_by_row_agree(texts):
    assert rules.free_texts(texts, 20, True) == rules.free_texts(texts, 20, False)
    assert rules.cell_texts(texts, True) == rules.cell_texts(texts, False)
    assert rules.cell_texts(texts) == [rules.cell_text(t) for t in texts]


def test_cell_texts_of_numbers_and_blanks():
    cells = [12, None, " 7 ", "'H1"]
    assert rules.cell_texts(cells, True) == rules.cell_texts(cells, False) == ["12", "", "7", "H1"]
