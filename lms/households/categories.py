"""The national categories of the 建档立卡 record (DOMAIN.md §1), as enums.

Each member's ``value`` is the code stored in the database; ``label`` is the
Chinese label exactly as officials' spreadsheets use it.  ``parse`` accepts a
label or a code.
"""
from __future__ import annotations

import enum

from lms.spreadsheets.text import normalize


class Category(str, enum.Enum):
    """A national category: value = code, ``label`` = Chinese label."""

    label: str

    def __new__(cls, code: str, label: str):
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.label = label
        return obj

    def __str__(self) -> str:
        return self.label

    @classmethod
    def lookup(cls) -> dict[str, "Category"]:
        """Every accepted spelling (label, code, aliases) → member."""
        table = cls.__dict__.get("_lookup_cache")
        if table is None:
            table = {}
            for m in cls:
                table[m.value] = m
                table[m.label] = m
                table[normalize(m.label)] = m
                if m.value.isdigit():
                    table[str(int(m.value))] = m
            table.update(getattr(cls, "_aliases", lambda: {})())
            type.__setattr__(cls, "_lookup_cache", table)
        return table

    @classmethod
    def parse(cls, text: str) -> "Category | None":
        """The member for a label or code; None when unknown.  ``text`` may carry
        full-width characters, spaces or an Excel apostrophe."""
        table = cls.lookup()
        hit = table.get(text)
        if hit is None:
            hit = table.get(normalize(text))
        return hit


class Relation(Category):
    """与户主关系"""

    HEAD = ("01", "户主")
    SPOUSE = ("02", "配偶")
    SON = ("03", "之子")
    DAUGHTER = ("04", "之女")
    DAUGHTER_IN_LAW = ("05", "之儿媳")
    SON_IN_LAW = ("06", "之女婿")
    GRANDSON = ("07", "之孙子")
    GRANDDAUGHTER = ("08", "之孙女")
    DAUGHTERS_SON = ("09", "之外孙子")
    DAUGHTERS_DAUGHTER = ("10", "之外孙女")
    FATHER = ("11", "之父")
    MOTHER = ("12", "之母")
    WIFES_FATHER = ("13", "之岳父")
    WIFES_MOTHER = ("14", "之岳母")
    HUSBANDS_FATHER = ("15", "之公公")
    HUSBANDS_MOTHER = ("16", "之婆婆")
    GRANDFATHER = ("17", "之祖父")
    GRANDMOTHER = ("18", "之祖母")
    MATERNAL_GRANDFATHER = ("19", "之外祖父")
    MATERNAL_GRANDMOTHER = ("20", "之外祖母")
    SIBLING = ("21", "之兄弟姐妹")
    GREAT_GRANDSON = ("22", "之曾孙子")
    GREAT_GRANDDAUGHTER = ("23", "之曾孙女")
    NEPHEW = ("24", "之侄儿")
    NIECE = ("25", "之侄女")
    SIBLING_IN_LAW = ("26", "之兄弟媳妇")
    UNCLE = ("27", "之叔伯")
    OTHER = ("99", "其他")


class Education(Category):
    """文化程度 (empty for a current student)"""

    ILLITERATE = ("1", "文盲或半文盲")
    PRIMARY = ("2", "小学")
    JUNIOR = ("3", "初中")
    SENIOR = ("4", "高中")
    COLLEGE = ("5", "大专")
    BACHELOR = ("6", "本科及以上")


class StudentStatus(Category):
    """在校生状况 (None = not a student)"""

    PRESCHOOL_CHILD = ("00", "学龄前儿童")
    PRESCHOOL = ("01", "学前教育")
    PRIMARY = ("02", "小学")
    GRADE_7 = ("03", "七年级")
    GRADE_8 = ("04", "八年级")
    GRADE_9 = ("05", "九年级")
    HIGH_1 = ("06", "普通高中一年级")
    HIGH_2 = ("07", "普通高中二年级")
    HIGH_3 = ("08", "普通高中三年级")
    VOC_1 = ("09", "中职一年级")
    VOC_2 = ("10", "中职二年级")
    VOC_3 = ("11", "中职三年级")
    HIGHER_VOC_1 = ("12", "高职高专一年级")
    HIGHER_VOC_2 = ("13", "高职高专二年级")
    HIGHER_VOC_3 = ("14", "高职高专三年级")
    TECH_1 = ("15", "技师学院一年级")
    TECH_2 = ("16", "技师学院二年级")
    TECH_3 = ("17", "技师学院三年级")
    TECH_4 = ("18", "技师学院四年级")
    UNI_1 = ("19", "本科一年级")
    UNI_2 = ("20", "本科二年级")
    UNI_3 = ("21", "本科三年级")
    UNI_4 = ("22", "本科四年级")
    UNI_5 = ("23", "本科五年级")
    POSTGRADUATE = ("24", "硕士研究生及以上")


# Written as "非在校生" or left empty: not a student.
NOT_A_STUDENT = "非在校生"


class Health(Category):
    """健康状况 (multi-valued)"""

    HEALTHY = ("1", "健康")
    CHRONIC = ("2", "长期慢性病")
    SERIOUS = ("3", "患有大病")
    DISABLED = ("4", "残疾")


class LabourSkill(Category):
    """劳动技能 (labour capacity)"""

    ORDINARY = ("1", "普通劳动力")
    SKILLED = ("2", "技能劳动力")
    WEAK = ("3", "弱劳动力或半劳动力")
    LOST = ("4", "丧失劳动力")
    NONE = ("5", "无劳动力")


class WorkPlace(Category):
    """务工所在地 (None = not working away)"""

    IN_TOWNSHIP = ("1", "乡（镇）内务工")
    IN_COUNTY = ("2", "乡（镇）外县内务工")
    IN_PROVINCE = ("3", "县外省内务工")
    OUT_OF_PROVINCE = ("4", "省外务工")
    OTHER = ("5", "其他")


class HouseholdType(Category):
    """贫困户属性"""

    GENERAL = ("1", "一般贫困户")
    DIBAO = ("2", "低保贫困户")
    TEKUN = ("3", "特困供养贫困户")

    @classmethod
    def _aliases(cls):
        # Older exports: 低保户, 五保户 (五保 became 特困供养 in 2014).
        return {"低保户": cls.DIBAO, "五保户": cls.TEKUN, "五保贫困户": cls.TEKUN}


class Cause(Category):
    """主要致贫原因 / 其他致贫原因"""

    ILLNESS = ("01", "因病")
    DISABILITY = ("02", "因残")
    SCHOOLING = ("03", "因学")
    DISASTER = ("04", "因灾")
    NO_LAND = ("05", "缺土地")
    NO_WATER = ("06", "缺水")
    NO_SKILLS = ("07", "缺技术")
    NO_LABOUR = ("08", "缺劳力")
    NO_CAPITAL = ("09", "缺资金")
    POOR_TRANSPORT = ("10", "交通条件落后")
    NO_DRIVE = ("11", "自身发展动力不足")
    MARRIAGE = ("12", "因婚")
    FUNERAL = ("13", "因丧")
    OTHER = ("99", "其他")


class PovertyStatus(Category):
    """脱贫状态"""

    POOR = ("0", "未脱贫")
    OUT_WITH_SUPPORT = ("1", "已脱贫(享受政策)")
    RELAPSED = ("3", "返贫")
    OUT = ("4", "已脱贫(不再享受政策)")


class Standard(Category):
    """识别标准"""

    NATIONAL = ("1", "国家标准")
    PROVINCIAL = ("2", "省定标准")
    MUNICIPAL = ("3", "市定标准")


class Sex(Category):
    """性别"""

    MALE = ("1", "男")
    FEMALE = ("2", "女")


class DocType(Category):
    """证件类型 (our codes)"""

    RESIDENT_ID = ("1", "居民身份证")
    DISABILITY_CERT = ("2", "残疾人证")

    @classmethod
    def _aliases(cls):
        return {"身份证": cls.RESIDENT_ID, "二代身份证": cls.RESIDENT_ID,
                "第二代居民身份证": cls.RESIDENT_ID, "残疾证": cls.DISABILITY_CERT}


YES_NO = {"是": True, "否": False, "1": True, "0": False, "Y": True, "N": False}
