"""Synthetic member exports in the national format, for tests and benchmarks.

Deterministic for a seed and streamed: rows are generated household by
household and written as they come, so a four-million-member file needs little
memory.  Next to the export goes a regions CSV (code, name, level, parent_code)
holding the province, city, county, townships and villages the file uses.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator

from . import categories as cat
from .idnumbers import _area_periods, check_character

COLUMNS = ("省", "市", "县", "乡", "村", "村代码", "户编号", "人口编号", "姓名", "性别", "出生日期",
           "证件类型", "证件号码", "民族", "户联系电话", "成员联系电话", "年度", "与户主关系", "文化程度",
           "在校生状况", "劳动技能", "务工时间（月）", "健康状况", "政治面貌", "务工企业名称", "是否享受低保",
           "失学或辍学原因", "是否会讲普通话", "务工所在地", "户主姓名", "户主证件号码", "是否特困供养人员",
           "残疾类别", "识别标准", "贫困户属性", "主要致贫原因", "其他致贫原因", "脱贫状态", "脱贫年度")
REGION_COLUMNS = ("code", "name", "level", "parent_code")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英文华建国玉兰红梅海燕春生德福永新小龙凤"
PLACE = "东西南北新永安和平兴福康宁家河川山沟坪川湾岔堡庄塬峪"
_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)
_SIZE_WEIGHTS = (10, 18, 20, 22, 15, 9, 4, 2)
_CAUSES = [c for c in cat.Cause]
# 因病 and 缺技术 are the commonest recorded causes.
_CAUSE_WEIGHTS = (25, 10, 6, 2, 4, 3, 20, 8, 12, 3, 4, 1, 1, 1)
_STATUS = (cat.PovertyStatus.POOR, cat.PovertyStatus.OUT_WITH_SUPPORT, cat.PovertyStatus.RELAPSED,
           cat.PovertyStatus.OUT)
_STATUS_WEIGHTS = (10, 55, 3, 32)
_TYPES = (cat.HouseholdType.GENERAL, cat.HouseholdType.DIBAO, cat.HouseholdType.TEKUN)
_TYPE_WEIGHTS = (70, 25, 5)
_PLACES = list(cat.WorkPlace)
_NATIONS = ("汉族",) * 18 + ("回族", "东乡族")


def county_names(county: str) -> tuple[str, str, str]:
    """(province, city, county) names for a 6-digit county code."""
    from stdnum import numdb

    def name(code):
        periods = _area_periods(code)
        current = [n for _s, end, n in periods if end is None] or [n for *_x, n in periods]
        return current[-1] if current else code

    province = dict(numdb.get("cn/loc").info(county)).get(county[:2], {}).get("province", county[:2])
    return province, name(county[:4] + "00"), name(county)


def _place(rng: random.Random, suffix: str) -> str:
    return rng.choice(PLACE) + rng.choice(PLACE) + suffix


class Synth:
    """One synthetic registry: its villages, and its households' member rows."""

    def __init__(self, households: int, seed: int = 1, counties: tuple[str, ...] = ("621123",),
                 year: int = 2024):
        self.households = households
        self.seed = seed
        self.counties = counties
        self.year = year
        self.rng = random.Random(seed)
        self._serial: dict[tuple[str, str], int] = {}
        # About 150 households a village, 12 villages a township (capped by the codes).
        villages = max(1, -(-households // (150 * len(counties))))
        per_town = min(999, max(12, -(-villages // 30)))
        towns = -(-villages // per_town)
        self.regions: list[tuple[str, str, int, str | None]] = []
        self.villages: list[tuple[str, tuple[str, str, str, str, str]]] = []
        names_rng = random.Random(seed * 7919 + 1)
        for county in counties:
            prov, city, cty = county_names(county)
            pc, cc, kc = county[:2] + "0" * 10, county[:4] + "0" * 8, county + "000000"
            for code, name, level, parent in ((pc, prov, 1, None), (cc, city, 2, pc),
                                              (kc, cty, 3, cc)):
                if all(r[0] != code for r in self.regions):
                    self.regions.append((code, name, level, parent))
            made = 0
            for t in range(1, towns + 1):
                tcode = f"{county}{100 + t:03d}000"
                tname = _place(names_rng, "镇") + (str(t) if t > 20 else "")
                self.regions.append((tcode, tname, 4, kc))
                for v in range(1, per_town + 1):
                    if made == villages:
                        break
                    vcode = f"{county}{100 + t:03d}{v:03d}"
                    vname = _place(names_rng, "村") + (str(v) if v > 20 else "")
                    self.regions.append((vcode, vname, 5, tcode))
                    self.villages.append((vcode, (prov, city, cty, tname, vname)))
                    made += 1

    def _person_id(self, area: str, age: int, male: bool) -> tuple[str, dt.date]:
        rng = self.rng
        born = dt.date(self.year - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        key = ("m" if male else "f", area, born)
        n = self._serial.get(key, 0)
        while n >= 499:
            born += dt.timedelta(days=1)
            key = ("m" if male else "f", area, born)
            n = self._serial.get(key, 0)
        self._serial[key] = n + 1
        seq = 2 * n + (1 if male else 2)
        body = f"{area}{born:%Y%m%d}{seq:03d}"
        return body + check_character(body), born

    def rows(self) -> Iterator[list[str]]:
        """Member rows in COLUMNS order, household by household."""
        rng = self.rng
        per_village: dict[str, int] = {}
        for h in range(self.households):
            vcode, names = self.villages[h % len(self.villages)]
            area = vcode[:6]
            serial = per_village[vcode] = per_village.get(vcode, 0) + 1
            household_no = f"{vcode}{serial:05d}"
            size = rng.choices(_SIZES, _SIZE_WEIGHTS)[0]
            htype = rng.choices(_TYPES, _TYPE_WEIGHTS)[0]
            if size == 1 and rng.random() < 0.5:
                htype = cat.HouseholdType.TEKUN
            cause = rng.choices(_CAUSES, _CAUSE_WEIGHTS)[0]
            others = ",".join(c.label for c in rng.sample(_CAUSES, rng.choice((0, 0, 1, 2)))
                              if c is not cause)
            status = rng.choices(_STATUS, _STATUS_WEIGHTS)[0]
            exit_year = str(rng.randint(2014, 2020)) if status in (
                cat.PovertyStatus.OUT_WITH_SUPPORT, cat.PovertyStatus.OUT) else ""
            standard = cat.Standard.NATIONAL if rng.random() < 0.95 else cat.Standard.PROVINCIAL
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            surname = rng.choice(SURNAMES)
            head_age = rng.randint(24, 82)
            head_male = rng.random() < 0.85
            people = [(cat.Relation.HEAD, head_age, head_male, surname)]
            if size >= 2 and rng.random() < 0.85:
                people.append((cat.Relation.SPOUSE, max(20, head_age + rng.randint(-5, 3)),
                               not head_male, rng.choice(SURNAMES)))
            if size - len(people) >= 3 and head_age < 60 and rng.random() < 0.4:
                people.append((cat.Relation.MOTHER if rng.random() < 0.6 else cat.Relation.FATHER,
                               head_age + rng.randint(22, 30), None, surname))
            while len(people) < size:
                if head_age > 55 and rng.random() < 0.4:
                    male = rng.random() < 0.5
                    people.append((cat.Relation.GRANDSON if male else cat.Relation.GRANDDAUGHTER,
                                   rng.randint(0, max(0, head_age - 45)), male, surname))
                else:
                    male = rng.random() < 0.52
                    people.append((cat.Relation.SON if male else cat.Relation.DAUGHTER,
                                   max(0, min(head_age - 18, rng.randint(0, head_age - 18))),
                                   male, surname))
            head_name = head_id = ""
            for i, (rel, age, male, sname) in enumerate(people):
                if rel is cat.Relation.FATHER:
                    male = True
                elif rel is cat.Relation.MOTHER:
                    male = False
                elif male is None:
                    male = rng.random() < 0.5
                age = min(age, 99)
                number, born = self._person_id(area, age, male)
                name = sname + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
                if i == 0:
                    head_name, head_id = name, number
                education, student, skill, place, months, health, doc, disab = (
                    self._person(age))
                if doc is cat.DocType.DISABILITY_CERT:
                    number = number + disab[1] + str(rng.randint(1, 4))
                yield [names[0], names[1], names[2], names[3], names[4], vcode, household_no,
                       f"{household_no}{i + 1:02d}", name, "男" if male else "女",
                       f"{born:%Y-%m-%d}", doc.label, number, rng.choice(_NATIONS), phone,
                       f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if 16 <= age < 70 else "",
                       str(self.year), rel.label, education, student, skill, months,
                       health, "群众", "", "是" if htype is cat.HouseholdType.DIBAO else "否", "",
                       "是" if age > 8 and rng.random() < 0.8 else "否", place, head_name, head_id,
                       "是" if htype is cat.HouseholdType.TEKUN else "否", disab[0],
                       standard.label, htype.label, cause.label, others, status.label, exit_year]

    def _person(self, age: int):
        rng = self.rng
        student = education = place = months = ""
        if age < 3:
            student = cat.StudentStatus.PRESCHOOL_CHILD.label
        elif age < 6:
            student = cat.StudentStatus.PRESCHOOL.label
        elif age < 12:
            student = cat.StudentStatus.PRIMARY.label
        elif age < 15:
            student = list(cat.StudentStatus)[3 + age - 12].label
        elif age < 18 and rng.random() < 0.8:
            base = 6 if rng.random() < 0.6 else 9
            student = list(cat.StudentStatus)[base + age - 15].label
        elif age < 22 and rng.random() < 0.2:
            student = list(cat.StudentStatus)[(12 if rng.random() < 0.6 else 19) + age - 18].label
        if not student:
            if age >= 60:
                education = rng.choices(list(cat.Education)[:3], (45, 40, 15))[0].label
            else:
                education = rng.choices(list(cat.Education), (8, 30, 40, 14, 5, 3))[0].label
        if age < 16 or student:
            skill = cat.LabourSkill.NONE
        elif age < 60:
            skill = rng.choices(list(cat.LabourSkill), (60, 10, 18, 7, 5))[0]
        else:
            skill = rng.choices(list(cat.LabourSkill), (10, 0, 35, 20, 35))[0]
        if skill in (cat.LabourSkill.ORDINARY, cat.LabourSkill.SKILLED) and rng.random() < 0.45:
            place = rng.choices(_PLACES, (15, 25, 30, 28, 2))[0].label
            months = str(rng.randint(1, 12))
        roll = rng.random()
        health, doc, disab = cat.Health.HEALTHY.label, cat.DocType.RESIDENT_ID, ("", "")
        if roll < 0.04:
            health = cat.Health.DISABLED.label
            kind = rng.choice((("肢体残疾", "4"), ("视力残疾", "1"), ("听力残疾", "2"),
                               ("智力残疾", "5")))
            disab = kind
            if rng.random() < 0.25:
                doc = cat.DocType.DISABILITY_CERT
        elif roll < 0.16:
            health = cat.Health.CHRONIC.label
        elif roll < 0.20:
            health = cat.Health.SERIOUS.label
        if health != cat.Health.HEALTHY.label and skill is cat.LabourSkill.SKILLED:
            skill = cat.LabourSkill.WEAK
        return education, student, skill.label, place, months, health, doc, disab


def regions_path(out: str) -> str:
    """Where the regions CSV for an export goes: beside it."""
    stem = out.rsplit(".", 1)[0] if "." in out.rsplit("/", 1)[-1] else out
    return stem + "-regions.csv"


def write(out: str, households: int, seed: int = 1, counties: tuple[str, ...] = ("621123",),
          fmt: str = "csv", encoding: str = "utf-8", year: int = 2024) -> dict:
    """Write an export and its regions CSV; returns counts."""
    synth = Synth(households, seed, counties, year)
    rows = 0
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("建档立卡贫困人口")
        sheet.append([f"建档立卡贫困人口信息（{synth.regions[2][1]}）"])
        sheet.append(list(COLUMNS))
        for row in synth.rows():
            sheet.append(row)
            rows += 1
        book.save(out)
    else:
        with open(out, "w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for row in synth.rows():
                writer.writerow(row)
                rows += 1
    with open(regions_path(out), "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(REGION_COLUMNS)
        writer.writerows(synth.regions)
    return {"households": households, "members": rows, "regions": len(synth.regions),
            "regions_file": regions_path(out)}
