import pytest

from lms.households import categories as cat


def test_labels_and_codes_as_in_the_national_system():
    assert len(cat.Relation) == 28
    assert (cat.Relation("01").label, cat.Relation("27").label, cat.Relation("99").label) == (
        "户主", "之叔伯", "其他")
    assert [m.label for m in cat.LabourSkill] == ["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力",
                                                  "无劳动力"]
    assert [m.value for m in cat.PovertyStatus] == ["0", "1", "3", "4"]
    assert cat.Cause("07").label == "缺技术" and cat.Cause("01").label == "因病"
    assert cat.WorkPlace("1").label == "乡（镇）内务工"
    assert len(cat.StudentStatus) == 25 and cat.StudentStatus("24").label == "硕士研究生及以上"


@pytest.mark.parametrize("enum,text,code", [
    (cat.Relation, "户主", "01"), (cat.Relation, "1", "01"), (cat.Relation, "01", "01"),
    (cat.HouseholdType, "五保户", "3"), (cat.HouseholdType, "低保户", "2"),
    (cat.WorkPlace, "乡(镇)内务工", "1"), (cat.PovertyStatus, "已脱贫（享受政策）", "1"),
    (cat.Education, "２", "2"), (cat.LabourSkill, " 技能劳动力 ", "2"), (cat.Sex, "'男", "1"),
])
def test_labels_or_codes_are_accepted(enum, text, code):
    assert enum.parse(text).value == code


def test_unknown_values_are_none():
    assert cat.Relation.parse("邻居") is None and cat.Education.parse("7") is None
