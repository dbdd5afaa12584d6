"""XLSX and CSV exports of the registry, with Chinese headers; user data written as text
(``lms.exports``)."""
from __future__ import annotations

import csv
import os
import tempfile

from openpyxl import Workbook
from sqlalchemy import select

from lms.crypto import mask_id
from lms.exports import append_row, csv_row
from lms.extensions import db

from .models import Member
from .queries import HouseholdFilters, households_query, laborer_counts
from .services import cipher

HOUSEHOLD_HEADERS = ("户编号", "村代码", "村", "户主姓名", "户主证件号码", "人口数", "劳动力数", "贫困户属性",
                     "主要致贫原因", "其他致贫原因", "脱贫状态", "脱贫年度", "年度")
_BATCH = 1000


def household_rows(user, filters: HouseholdFilters):
    """The rows of the households the user sees (filtered), headers first."""
    from lms.regions.models import Region

    yield list(HOUSEHOLD_HEADERS)
    names: dict[str, str] = {}
    decrypt = cipher().decrypt
    stmt = households_query(user, filters).execution_options(yield_per=_BATCH)
    for part in db.session.scalars(stmt).partitions(_BATCH):
        ids = [h.id for h in part]
        members = db.session.execute(select(Member.household_id, Member.relation, Member.name,
                                            Member.id_enc).where(Member.household_id.in_(ids),
                                                                 Member.removed_at.is_(None)))
        heads, sizes = {}, {}
        for hid, relation, name, enc in members:
            sizes[hid] = sizes.get(hid, 0) + 1
            if relation.value == "01":
                heads[hid] = (name, mask_id(decrypt(bytes(enc))))
        labor = laborer_counts(ids)
        missing = {h.village_code for h in part} - names.keys()
        if missing:
            names.update(db.session.execute(select(Region.code, Region.name)
                                            .where(Region.code.in_(missing))).all())
        for h in part:
            head = heads.get(h.id, ("", ""))
            yield [h.household_no, h.village_code, names.get(h.village_code, ""), head[0],
                   head[1], sizes.get(h.id, 0), labor.get(h.id, 0), _label(h.household_type),
                   _label(h.main_cause), "、".join(h.other_cause_labels),
                   _label(h.poverty_status), h.exit_year or "", h.year]


def write_households(user, filters: HouseholdFilters) -> str:
    """Write the households the user sees (filtered) to a temporary XLSX; its path."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("贫困户")
    for row in household_rows(user, filters):
        append_row(sheet, row)
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="households-")
    os.close(fd)
    book.save(path)
    return path


def write_households_csv(user, filters: HouseholdFilters) -> str:
    """The same rows as a UTF-8 CSV (with the byte-order mark Excel needs to read UTF-8); its path."""
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="households-")
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        for row in household_rows(user, filters):
            writer.writerow(csv_row(row))
    return path


def _label(value) -> str:
    return value.label if value is not None else ""
