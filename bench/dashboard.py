"""Skill-goal dashboard at province scale.

Builds a province with the registry's synth (``lms.households.synth``: several counties, ≥1 M
households, ≥4 M members), gives ≥3 M skill awards, rebuilds the roll-ups, then measures warm p50/p95
of the province, county, township and village pages and of the JSON API (in-process WSGI client,
signed in as an admin), the time until 1,000 new awards show in the province figures, and the
database size. Prints the figures and writes bench/results/dashboard-<backend>.json.

    python bench/dashboard.py [--households 1000000] [--awards 3000000] [--database-url URL]
                              [--keep DIR] [--requests 40]

Loading bypasses the spreadsheet import (benchmarked separately in bench/households_import.py):
rows from the synth go straight into the tables in batches (COPY on PostgreSQL), IDs encrypted and
hashed as the import does.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COUNTIES = ("621121", "621122", "621123", "621124", "621125", "621126")
# The synth averages ~3.7 members a household: a second batch in two more counties tops the province
# up past 4 M members (--extra-households).
EXTRA_COUNTIES = ("621127", "621128")
BATCH = 20_000


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


class Loader:
    """Batched inserts: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, engine):
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        if not self.pg:
            cur = self.raw.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            # Random ID-hash keys: the unique index is written all over; a big page cache keeps it in memory.
            cur.execute("PRAGMA cache_size=-1000000")
            cur.close()

    def insert_new(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Insert, skipping rows whose key exists (the province and city of a second batch)."""
        cur = self.raw.cursor()
        marks = ", ".join(("%s" if self.pg else "?") for _ in columns)
        verb = "INSERT" if self.pg else "INSERT OR IGNORE"
        tail = " ON CONFLICT DO NOTHING" if self.pg else ""
        cur.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}", rows)
        cur.close()

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        cur = self.raw.cursor()
        if self.pg:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        cur.close()

    def commit(self):
        self.raw.commit()

    def close(self):
        self.raw.commit()
        self.raw.close()


def load_registry(app, households: int, seed: int, counties=COUNTIES) -> dict:
    from lms.extensions import db
    from lms.households import categories as cat
    from lms.households.services import cipher
    from lms.households.synth import Synth

    synth = Synth(households, seed, counties, 2024)
    with app.app_context():
        ids = cipher()
        hid = db.session.scalar(db.text("SELECT coalesce(max(id), 0) FROM households"))
        mid = db.session.scalar(db.text("SELECT coalesce(max(id), 0) FROM members"))
        first_member = mid
        db.session.rollback()
        loader = Loader(db.engine)
        loader.insert_new("regions", ("code", "name", "level", "parent_code"), [tuple(r) for r in synth.regions])
        loader.commit()
        codes = {}
        for enum in (cat.Relation, cat.StudentStatus, cat.LabourSkill, cat.HouseholdType, cat.Cause,
                     cat.PovertyStatus, cat.Sex, cat.Education, cat.DocType):
            codes[enum] = {k: v.value for k, v in enum.lookup().items()}
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) if not loader.pg else dt.datetime.now(dt.timezone.utc)
        hh_rows, m_rows = [], []
        last_no = None
        started = time.time()
        hcols = ("id", "household_no", "village_code", "year", "household_type", "poverty_status", "main_cause",
                 "phone", "created_at", "updated_at")
        mcols = ("id", "household_id", "id_enc", "id_hash", "person_no", "name", "sex", "birth_ymd", "doc_type",
                 "relation", "education", "student_status", "labour_skill", "phone", "created_at", "updated_at")
        for row in synth.rows():
            (_p, _c, _k, _t, _v, vcode, hno, pno, name, sex, birth, doc, number, _nation, hphone, phone, year,
             rel, edu, student, skill, *_rest) = row
            htype, cause, status = row[34], row[35], row[37]
            if hno != last_no:
                hid += 1
                last_no = hno
                hh_rows.append((hid, hno, vcode, int(year), codes[cat.HouseholdType][htype], codes[cat.PovertyStatus][status],
                                codes[cat.Cause][cause], hphone, now, now))
            mid += 1
            person = number[:18]
            m_rows.append((mid, hid, ids.encrypt(number), ids.digest(person), pno, name, codes[cat.Sex][sex],
                           int(birth.replace("-", "")), codes[cat.DocType][doc], codes[cat.Relation][rel],
                           codes[cat.Education].get(edu) if edu else None,
                           codes[cat.StudentStatus].get(student) if student else None,
                           codes[cat.LabourSkill][skill], phone or None, now, now))
            if len(m_rows) >= BATCH:
                loader.insert("households", hcols, hh_rows)
                loader.insert("members", mcols, m_rows)
                loader.commit()
                hh_rows, m_rows = [], []
                if mid % 500_000 < BATCH:
                    log(f"  {hid:,} households, {mid:,} members ({mid / (time.time() - started):,.0f} members/s)")
        loader.insert("households", hcols, hh_rows)
        loader.insert("members", mcols, m_rows)
        loader.close()
        if loader.pg:
            with db.engine.begin() as conn:
                for t in ("households", "members"):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
    return {"households": households, "members": mid - first_member, "regions": len(synth.regions),
            "villages": len(synth.villages), "load_seconds": round(time.time() - started, 1),
            "first_member_id": first_member + 1}


def seed_skills(app) -> list[int]:
    from lms.extensions import db
    from courses.models import Skill, SkillCategory

    names = ["马铃薯种植", "中药材种植", "食用菌栽培", "果树栽培", "茶叶种植", "辣椒种植", "肉牛养殖", "肉羊养殖",
             "生猪养殖", "家禽养殖", "水产养殖", "农产品加工", "家政服务", "育婴员", "养老护理员", "中式烹调",
             "牛肉拉面", "电工", "焊工", "砌筑工", "钢筋工", "电子商务", "汽车驾驶", "挖掘机驾驶", "刺绣",
             "民族手工艺", "乡村旅游", "农家乐经营", "农机维修", "设施农业"]
    with app.app_context():
        existing = {s.name: s.id for s in db.session.scalars(db.select(Skill))}
        for i, name in enumerate(names):
            if name not in existing:
                db.session.add(Skill(code=f"bench{i:02d}", name=name, category=SkillCategory.agriculture))
        db.session.commit()
        return [s.id for s in db.session.scalars(db.select(Skill))]


def load_awards(app, target: int, skills: list[int], seed: int, first_member_id: int = 1) -> dict:
    """Awards to members (mostly laborers, some repeats of one skill), dated 2019–2026."""
    from lms.extensions import db

    rng = random.Random(seed)
    started = time.time()
    with app.app_context():
        loader = Loader(db.engine)
        members = db.session.execute(db.text(
            "SELECT m.id, h.village_code FROM members m JOIN households h ON h.id = m.household_id "
            "WHERE m.labour_skill IN ('1','2','3') AND m.student_status IS NULL AND m.id >= :first"),
            {"first": first_member_id}).all()
        db.session.rollback()
        cols = ("member_id", "region_code", "skill_id", "evidence", "source", "awarded_on", "created_at")
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) if not loader.pg else dt.datetime.now(dt.timezone.utc)
        evidences = ("training_certificate", "special_ability", "skill_level", "qualification", "course_completion",
                     "trainer_signoff")
        sources = {"course_completion": "course", "trainer_signoff": "offline_class"}
        start = dt.date(2019, 1, 1).toordinal()
        span = dt.date(2026, 10, 31).toordinal() - start
        rows, made = [], 0
        while made < target:
            for member_id, village in members:
                r = rng.random()
                k = 0 if r < 0.30 else 1 if r < 0.65 else 2 if r < 0.90 else 3
                for _ in range(k):
                    ev = rng.choice(evidences)
                    rows.append((member_id, village, rng.choice(skills), ev, sources.get(ev, "certificate_import"),
                                 dt.date.fromordinal(start + rng.randrange(span)), now))
                    made += 1
                if len(rows) >= BATCH:
                    loader.insert("skill_awards", cols, rows)
                    loader.commit()
                    rows = []
                if made >= target:
                    break
        loader.insert("skill_awards", cols, rows)
        loader.close()
    return {"awards": made, "load_seconds": round(time.time() - started, 1)}


def signed_in_client(app):
    from lms.accounts.services import create_user
    from lms.extensions import db

    with app.app_context():
        if db.session.scalar(db.select(db.func.count()).select_from(db.text("users")).where(
                db.text("username = 'benchadmin'"))) == 0:
            create_user(username="benchadmin", role="admin", password="bench-password-1")
            db.session.commit()
    client = app.test_client()
    page = client.get("/signin/staff").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/signin/staff", data={"username": "benchadmin", "password": "bench-password-1",
                                                  "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def time_get(client, url: str, n: int) -> dict:
    for _ in range(3):
        assert client.get(url).status_code == 200, url
    times, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        assert response.status_code == 200
    # CPU time of this process per request: what the page costs, whatever else the machine is doing
    # (on PostgreSQL the server's own CPU is not in it).
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
            "cpu_p50_ms": round(statistics.median(cpu), 1), "cpu_p95_ms": round(percentile(cpu, 0.95), 1)}


def new_awards_visible(app, client, skills: list[int], province: str) -> dict:
    """1,000 new awards (a certificate batch across villages) until the province JSON shows them."""
    from lms.extensions import db
    from lms.households.models import Household, Member
    from lms.skills.models import Evidence, SkillAward, Source
    from lms.skills.services import award_skill
    before = client.get(f"/api/v1/stats/skills?region={province}").get_json()
    with app.app_context():
        # Laborers without any award yet: each new award raises with_1 by one.
        candidates = db.session.scalars(
            db.select(Member).join(Household).where(
                Member.labour_skill.in_(("1", "3")), Member.student_status.is_(None),
                Member.birth_ymd.between(19700101, 20000101),
                ~db.exists().where(SkillAward.member_id == Member.id)).limit(1000)).all()
        from lms.stats.rollups import tracking

        started = time.perf_counter()
        villages = {m.household.village_code for m in candidates}
        with tracking([m.household_id for m in candidates], villages):
            for m in candidates:
                award_skill(skill_id=skills[0], evidence=Evidence.training_certificate,
                            source=Source.certificate_import, member=m, awarded_on=dt.date(2026, 11, 1),
                            refresh=False)
            inserted = time.perf_counter()
        db.session.commit()
        refreshed = time.perf_counter()
    after = client.get(f"/api/v1/stats/skills?region={province}").get_json()
    elapsed = time.perf_counter() - started
    return {"awards": len(candidates), "villages": len(villages), "seconds": round(elapsed, 2),
            "award_rows_seconds": round(inserted - started, 2), "rollup_refresh_seconds": round(refreshed - inserted, 2),
            "with_1_before": before["with_1"], "with_1_after": after["with_1"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--awards", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", default="", help="Folder for the SQLite database (kept afterwards).")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--reuse", action="store_true", help="The database is already loaded: only measure.")
    parser.add_argument("--extra-households", type=int, default=100_000,
                        help="A second batch in two more counties (the synth averages ~3.7 members a household).")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-dashboard-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    os.environ.setdefault("LMS_INSTANCE_PATH", str(work / "instance"))
    from lms import create_app
    from lms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": "bench-data-key", "SECRET_KEY": "bench",
                      "QUEUE_IMMEDIATE": True, "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
                      "WTF_CSRF_ENABLED": True})
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    result: dict = {"backend": backend, "counties": len(COUNTIES) + (len(EXTRA_COUNTIES) if args.extra_households else 0)}
    if not args.reuse:
        with app.app_context():
            db.drop_all()
            db.create_all()
        log(f"loading {args.households:,} households into {backend}")
        result["registry"] = load_registry(app, args.households, args.seed)
        log(f"registry: {result['registry']}")
        skills = seed_skills(app)
        result["award_load"] = load_awards(app, args.awards, skills, args.seed)
        log(f"awards: {result['award_load']}")
    loaded = not args.reuse
    if args.extra_households:
        skills = seed_skills(app)
        log(f"loading {args.extra_households:,} more households in {EXTRA_COUNTIES}")
        result["registry_extra"] = load_registry(app, args.extra_households, args.seed + 1, EXTRA_COUNTIES)
        log(f"registry (extra): {result['registry_extra']}")
        result["award_load_extra"] = load_awards(app, args.extra_households * 3, skills, args.seed + 1,
                                                 result["registry_extra"]["first_member_id"])
        log(f"awards (extra): {result['award_load_extra']}")
        loaded = True
    if loaded:
        with app.app_context():
            if backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
            else:
                db.session.execute(db.text("ANALYZE"))
                db.session.commit()
            t = time.time()
            from lms.stats.rollups import rebuild

            regions = rebuild()
            db.session.commit()
            result["rebuild"] = {"regions": regions, "seconds": round(time.time() - t, 1)}
            log(f"rebuild: {result['rebuild']}")
    skills = seed_skills(app)
    with app.app_context():
        from lms.regions.models import Region

        counts = db.session.execute(db.text(
            "SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM members), "
            "(SELECT count(*) FROM skill_awards)")).one()
        result["rows"] = {"households": counts[0], "members": counts[1], "awards": counts[2]}
        pick = {}
        for level in (1, 3, 4, 5):
            pick[level] = db.session.scalar(db.select(Region.code).where(Region.level == level).order_by(Region.code))
    client = signed_in_client(app)
    # Other work on the machine slows every figure: record how busy it was.
    result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    pages = {}
    for name, level in (("province", 1), ("county", 3), ("township", 4), ("village", 5)):
        pages[f"{name}_page"] = time_get(client, f"/stats/skills?region={pick[level]}", args.requests)
        log(f"{name} page {pick[level]}: {pages[name + '_page']}")
    for name, level in (("province", 1), ("county", 3), ("village", 5)):
        pages[f"{name}_api"] = time_get(client, f"/api/v1/stats/skills?region={pick[level]}", args.requests)
        log(f"{name} api: {pages[name + '_api']}")
    result["latency"] = pages
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["new_awards"] = new_awards_visible(app, client, skills, pick[1])
    log(f"1,000 new awards: {result['new_awards']}")
    with app.app_context():
        if backend == "postgresql":
            size = db.session.scalar(db.text("SELECT pg_database_size(current_database())"))
        else:
            db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
            size = (work / "bench.db").stat().st_size
        result["database_bytes"] = size
        result["database_gb"] = round(size / 1e9, 2)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"dashboard-{backend}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
