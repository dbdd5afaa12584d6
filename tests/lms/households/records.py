"""Registry test data: valid ID numbers and member-export rows (imported by the registry tests;
the ``export`` fixture that writes them is in conftest.py)."""
from __future__ import annotations

from lms.households.idnumbers import check_character

# The demo regions (tests/conftest.py ``regions``): 渭源县 621123, 清源镇 621123100, 示例一村 …201.
VILLAGE = "621123100201"
OTHER_VILLAGE = "621123101201"  # 莲峰镇 示例三村
ELSEWHERE = "621102100201"  # 安定区 示例五村

HEADER = ["户编号", "姓名", "证件号码", "与户主关系", "劳动技能", "村代码", "性别", "文化程度", "在校生状况",
          "务工所在地", "务工时间（月）", "贫困户属性", "主要致贫原因", "脱贫状态", "年度"]


def make_id(birth: str = "19800101", seq: int = 1, area: str = "621123") -> str:
    """A valid 18-digit ID: odd ``seq`` for a man, even for a woman."""
    body = f"{area}{birth}{seq:03d}"
    return body + check_character(body)


def row(hno="H1", name="张三", id_number=None, relation="户主", skill="普通劳动力", village=VILLAGE,
        sex="", education="初中", student="", place="", months="", htype="一般贫困户",
        cause="缺技术", status="未脱贫", year="2024", **extra):
    values = {"户编号": hno, "姓名": name, "证件号码": id_number or make_id(), "与户主关系": relation,
              "劳动技能": skill, "村代码": village, "性别": sex, "文化程度": education, "在校生状况": student,
              "务工所在地": place, "务工时间（月）": months, "贫困户属性": htype, "主要致贫原因": cause,
              "脱贫状态": status, "年度": year}
    values.update(extra)
    return values


def family(hno="H1", seed=1, village=VILLAGE, **head):
    """A valid 3-person household: 户主 (man), 配偶 (woman), 之子 (student)."""
    return [
        row(hno, "张三", make_id("19800101", seed * 10 + 1), "户主", village=village, **head),
        row(hno, "李四", make_id("19820202", seed * 10 + 2), "配偶", "弱劳动力或半劳动力",
            village=village),
        row(hno, "张小", make_id("20120303", seed * 10 + 1), "之子", "无劳动力", village=village,
            education="", student="小学"),
    ]
