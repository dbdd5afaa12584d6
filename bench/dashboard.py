"""Skill-goal dashboard at province scale, on SQLite and on PostgreSQL in one run.

Builds a province with the registry's synth (``lms.households.synth``: several counties, ≥1 M
households, ≥4 M members), gives ≥3 M skill awards, rebuilds the roll-ups, then measures warm p50/p95
of the province, city, county, township and village pages and of the JSON API (in-process WSGI
client, signed in as an admin), the time until 1,000 new awards show in the province figures by each
path that really makes awards — a certificate file of 1,000 rows through `flask skills
import-certificates`, and 1,000 single sign-offs through the assessment form
(bench/probes/award_paths.py) — and the database size. With ``--assignments N`` (300,000 at full
size) the province also holds N training assignments and N/10 deferrals
(bench/probes/followup_cases.py): the follow-up village page, the open-cases export of a county and
of the province (first byte and whole file: it streams), the time for an award to close an assigned
case and show in the province figures, the province page's first view after each such change, and
the weekly overdue summary's first call after a change (time and statements).

Each database in turn (``--backends``, default ``sqlite,postgresql``): SQLite in a file, PostgreSQL
in a throwaway cluster started here with durable defaults (bench/common.py, the recipe of
tests/with_postgres.sh) or the one ``--database-url`` names (emptied first). Prints the figures and
writes bench/results/dashboard.json, one block per database, with bench/common.py's metadata.

    python bench/dashboard.py                 # full: 1.1 M households, 3.3 M awards, 300,000 assignments
                                              # (~30–60 min on 2 cores, both databases: estimated
                                              # from a run at 1/20 of the size, 160 s)
    python bench/dashboard.py --quick         # 2,000 households (PostgreSQL skipped if not installed)
    python bench/dashboard.py --backends sqlite --households 50000 --awards 150000 --assignments 15000
        [--database-url postgresql+psycopg://…] [--new-awards 1000] [--requests 40] [--keep DIR]

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

from bench.common import write_results  # noqa: E402
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: 2,000 households, 6,000 awards, no extra batch, 5 requests, 50 new awards")
    parser.add_argument("--households", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--awards", type=int, default=None, help="default 3,000,000")
    parser.add_argument("--new-awards", type=int, default=None,
                        help="awards made by each path (certificate import, single sign-offs); default 1,000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="which databases, in this order (default both: one run, one results file)")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL to use instead of a throwaway cluster started here (emptied first)")
    parser.add_argument("--keep", default="", help="Folder for the SQLite database (kept afterwards).")
    parser.add_argument("--requests", type=int, default=None, help="default 40")
    parser.add_argument("--reuse", action="store_true",
                        help="The databases are already loaded (--keep, --database-url): only measure.")
    parser.add_argument("--assignments", type=int, default=None,
                        help="training assignments among laborers without a skill; default 300,000 (0: none)")
    parser.add_argument("--extra-households", type=int, default=None,
                        help="A second batch in two more counties (the synth averages ~3.7 members a household); "
                             "default 100,000.")
    args = parser.parse_args(argv)
    sizes = ({"households": 2_000, "awards": 6_000, "new_awards": 50, "requests": 5, "extra_households": 0,
              "assignments": 600}
             if args.quick else
             {"households": 1_000_000, "awards": 3_000_000, "new_awards": 1_000, "requests": 40,
              "extra_households": 100_000, "assignments": 300_000})
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    from bench.common import postgres_bin, postgres_version, throwaway_postgres

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-dashboard-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("LMS_INSTANCE_PATH", str(work / "instance"))
    result: dict = {}
    versions: dict = {}
    pg_url = args.database_url
    if args.reuse and "postgresql" in backends and not pg_url:
        raise SystemExit("--reuse on PostgreSQL needs --database-url (a throwaway cluster starts empty)")
    for backend in backends:
        if backend == "sqlite":
            result["sqlite"] = run(args, f"sqlite:///{work / 'bench.db'}", work)
        elif backend == "postgresql" and pg_url:
            versions["postgresql"] = postgres_version(pg_url)
            result["postgresql"] = run(args, pg_url, work)
        elif backend == "postgresql" and postgres_bin() is None and args.quick:
            # A smoke run on a machine without the server: say so rather than fail.
            result["postgresql"] = {"skipped": "PostgreSQL server binaries not found"}
        elif backend == "postgresql":
            with throwaway_postgres() as (url, _data):
                versions["postgresql"] = postgres_version(url)
                result["postgresql"] = run(args, url, work)
                result["postgresql"]["server"] = "throwaway, durable defaults (fsync, synchronous_commit on)"
        else:
            raise SystemExit(f"unknown backend {backend!r}")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    write_results("dashboard", result, argv=sys.argv if argv is None else ["bench/dashboard.py", *argv],
                  quick=args.quick, extra_versions=versions or None, database="+".join(result))


def run(args, url: str, work: Path) -> dict:
    """Load (unless --reuse) and measure one database; returns its figures."""
    from lms import create_app
    from lms.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_KEY": "bench-data-key", "SECRET_KEY": "bench",
                      "QUEUE_IMMEDIATE": True, "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
                      "WTF_CSRF_ENABLED": True})
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    started = time.time()
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
    if args.assignments and not args.reuse:
        from bench.probes.followup_cases import load_assignments

        result["followup_load"] = load_assignments(app, Loader, args.assignments, args.seed)
        log(f"follow-up: {result['followup_load']}")
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
            "(SELECT count(*) FROM skill_awards), (SELECT count(*) FROM followup_assignments)")).one()
        result["rows"] = {"households": counts[0], "members": counts[1], "awards": counts[2], "assignments": counts[3]}
        pick = {}
        for level in (1, 2, 3, 4, 5):
            pick[level] = db.session.scalar(db.select(Region.code).where(Region.level == level).order_by(Region.code))
    client = signed_in_client(app)
    # Other work on the machine slows every figure: record how busy it was.
    result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    result["cpus"] = os.cpu_count()
    pages = {}
    for name, level in (("province", 1), ("city", 2), ("county", 3), ("township", 4), ("village", 5)):
        pages[f"{name}_page"] = time_get(client, f"/stats/skills?region={pick[level]}", args.requests)
        log(f"{name} page {pick[level]}: {pages[name + '_page']}")
    if args.assignments:
        from bench.probes.followup_cases import export_times

        pages["followup_village_page"] = time_get(client, f"/followup?region={pick[5]}", args.requests)
        log(f"follow-up village page: {pages['followup_village_page']}")
        for name, level, n in (("county", 3, 3), ("province", 1, 2)):
            result[f"followup_{name}_export"] = export_times(client, pick[level], n)
            log(f"follow-up {name} export: {result[f'followup_{name}_export']}")
    for name, level in (("province", 1), ("city", 2), ("county", 3), ("township", 4), ("village", 5)):
        pages[f"{name}_api"] = time_get(client, f"/api/v1/stats/skills?region={pick[level]}", args.requests)
        log(f"{name} api: {pages[name + '_api']}")
    result["latency"] = pages
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.assignments:
        from bench.probes.followup_cases import award_closes_case, weekly_summary

        result["award_closes_case"] = closes = award_closes_case(app, client, pick[1], min(args.new_awards, 200))
        log(f"award closes a case: {closes}")
        result["weekly_summary_after_change"] = weekly = weekly_summary(app, pick[1], min(args.requests, 20))
        log(f"weekly overdue summary, first call after a change: {weekly}")
    from bench.probes.award_paths import awards_by_certificate_import, awards_by_single_signoffs, fresh_laborers

    people = fresh_laborers(app, 2 * args.new_awards)
    if len(people) < 2 * args.new_awards:
        raise RuntimeError(f"only {len(people)} laborers without an award: load more households")
    with app.app_context():
        from courses.models import Skill

        skill = db.session.get(Skill, skills[0])
        skill_code, skill_id = skill.code, skill.id
    result["new_awards_certificate_import"] = ci = awards_by_certificate_import(
        app, client, people[:args.new_awards], skill_code, pick[1], work)
    log(f"{ci['rows']:,} awards by certificate import: {ci}")
    result["new_awards_single_signoffs"] = so = awards_by_single_signoffs(
        app, client, people[args.new_awards:], skill_id, pick[1])
    log(f"{so['signoffs']:,} single sign-offs: {so}")
    with app.app_context():
        if backend == "postgresql":
            size = db.session.scalar(db.text("SELECT pg_database_size(current_database())"))
        else:
            db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
            size = (work / "bench.db").stat().st_size
        result["database_bytes"] = size
        result["database_gb"] = round(size / 1e9, 2)
    result["wall_seconds"] = round(time.time() - started, 1)
    log(f"{backend} done in {result['wall_seconds']} s")
    return result


if __name__ == "__main__":
    main()
