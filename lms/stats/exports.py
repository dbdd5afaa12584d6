"""Excel exports: the same columns, headers and figures as the screen (headers in Chinese)."""
from __future__ import annotations

import io

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l


def region_columns():
    """(key, header, kind) of the region table, shared by the page and the export."""
    return [
        ("name", _l("Region"), "text"),
        ("laborers", _l("Laborers"), "int"),
        ("with_1", _l("With ≥1 skill"), "int"),
        ("coverage_1", _l("Coverage ≥1"), "pct"),
        ("with_2", _l("With ≥2 skills"), "int"),
        ("coverage_2", _l("Coverage ≥2"), "pct"),
        ("households", _l("Households with laborers"), "int"),
        ("household_coverage_1", _l("Household coverage ≥1"), "pct"),
        ("household_coverage_2", _l("Household coverage ≥2"), "pct"),
        ("households_without_skill", _l("Households with no skilled laborer"), "int"),
    ]


def followup_columns():
    return [
        ("household_no", _l("Household number"), "text"),
        ("name", _l("Name"), "text"),
        ("relation", _l("Relation to head"), "text"),
        ("sex", _l("Sex"), "text"),
        ("age", _l("Age"), "int"),
        ("labour_skill", _l("Labour capacity (as registered)"), "text"),
        ("phone", _l("Phone"), "text"),
        ("courses_text", _l("Courses enrolled (progress)"), "text"),
    ]


def courses_text(row: dict) -> str:
    """The courses cell as the screen shows it: 无 when there are none."""
    from flask_babel import gettext as _

    return "；".join(f"{c['title']}（{c['progress'] * 100:.0f}%）" for c in row["courses"]) or _("none")


def _workbook(title: str, columns, rows: list[dict], heading: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from lms.exports import append_row

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    append_row(sheet, [heading])
    sheet["A1"].font = Font(bold=True)
    with force_locale("zh_Hans_CN"):
        append_row(sheet, [str(label) for _key, label, _kind in columns])
    for row in rows:
        append_row(sheet, [row.get(key, "") for key, _label, _kind in columns])
    for i, (_key, _label, kind) in enumerate(columns, start=1):
        letter = sheet.cell(row=2, column=i).column_letter
        sheet.column_dimensions[letter].width = 30 if kind == "text" else 14
        if kind == "pct":
            for cell in sheet[letter][2:]:
                cell.number_format = "0.0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def region_table_xlsx(own: dict, children: list[dict], heading: str) -> bytes:
    """The region's own row first, then each child region: the table's order on screen."""
    return _workbook("技能覆盖", region_columns(), [own] + children, heading)


def followup_xlsx(rows: list[dict], heading: str) -> bytes:
    with force_locale("zh_Hans_CN"):
        rows = [dict(r, courses_text=courses_text(r), phone=r.get("phone") or "—") for r in rows]
    return _workbook("跟踪名单", followup_columns(), rows, heading)
