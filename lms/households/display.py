"""How registry fields and values are shown: Chinese column names, labels."""
from __future__ import annotations

from . import categories as cat
from .spreadsheet import HEADERS

_ENUMS = {"relation": cat.Relation, "education": cat.Education, "student_status": cat.StudentStatus,
          "labour_skill": cat.LabourSkill, "work_place": cat.WorkPlace, "sex": cat.Sex,
          "doc_type": cat.DocType, "household_type": cat.HouseholdType,
          "poverty_status": cat.PovertyStatus, "main_cause": cat.Cause, "standard": cat.Standard}
_MULTI = {"health": cat.Health, "other_causes": cat.Cause}

FIELD_LABELS = {f: names[0] for f, names in HEADERS.items()}
FIELD_LABELS.update(birth_ymd="出生日期", id_number="证件号码", removed="移出", phone="成员联系电话")


def value_label(field: str, value: str | None) -> str:
    """A stored value (a code, codes, a flag) as officials read it."""
    if value is None or value == "":
        return ""
    if field in _ENUMS:
        try:
            return _ENUMS[field](value).label
        except ValueError:
            return value
    if field in _MULTI:
        return "、".join(_MULTI[field](c).label for c in value.split(",") if c)
    if field in ("dibao", "tekun", "mandarin"):
        return "是" if value in ("1", "True", "true") else "否"
    return value
