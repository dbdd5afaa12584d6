"""The figures per region as an Excel workbook, headers in Chinese."""
from __future__ import annotations

import io

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l


def figures_xlsx(data: dict) -> bytes:
    from openpyxl import Workbook

    from lms.exports import append_row
    from lms.subsidies.models import STRANDS
    from lms.subsidies.money import yuan_decimal

    book = Workbook(write_only=True)
    sheet = book.create_sheet("雨露计划补助")
    region = data["region"]
    append_row(sheet, [f"{region.name} {region.code}"])
    with force_locale("zh_Hans_CN"):
        heads = [str(h) for h in (_l("Region"), _l("Approved (yuan)"), _l("Paid (yuan)"), _l("People paid"),
                                  _l("Outstanding (yuan)"))]
        append_row(sheet, heads)
        for r, f in [(region, data["own"])] + data["children"]:
            append_row(sheet, [r.name, yuan_decimal(f["approved_fen"]), yuan_decimal(f["paid_fen"]), f["paid_people"],
                               yuan_decimal(f["outstanding_fen"])])
        append_row(sheet, [])
        append_row(sheet, [str(_l("Strand")), str(_l("Period"))] + heads[1:])
        for (strand, period), f in data["strands"]:
            append_row(sheet, [STRANDS.get(strand, ""), period, yuan_decimal(f["approved_fen"]),
                               yuan_decimal(f["paid_fen"]), f["paid_people"], yuan_decimal(f["outstanding_fen"])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
