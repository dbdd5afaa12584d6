"""The two paths that really make awards, timed until the province figures show them (part of
bench/dashboard.py, kept apart so each file stays readable): a certificate file through
`flask skills import-certificates`, and single sign-offs through the assessment form."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))
    return values[k]


def fresh_laborers(app, count: int) -> list[tuple[int, str, str]]:
    """(member id, ID number, village) of working-age laborers with no award yet: each new award
    raises the province's with_1 by exactly one."""
    from lms.households.models import Household, Member
    from lms.households.services import cipher
    from lms.extensions import db
    from lms.skills.models import SkillAward

    with app.app_context():
        rows = db.session.execute(
            db.select(Member.id, Member.id_enc, Household.village_code).join(Household).where(
                Member.labour_skill.in_(("1", "3")), Member.student_status.is_(None), Member.removed_at.is_(None),
                Member.birth_ymd.between(19700101, 20000101),
                ~db.exists().where(SkillAward.member_id == Member.id)).order_by(Member.id).limit(2 * count)).all()
        ids = cipher()
        people = [(mid, ids.decrypt(enc), village) for mid, enc, village in rows]
        # Resident ID cards only: a disability-certificate number (20/22 characters) is not what a
        # certificate file carries.
        return [p for p in people if len(p[1]) == 18][:count]


def _with_1(client, province: str) -> int:
    return client.get(f"/api/v1/stats/skills?region={province}").get_json()["with_1"]


def awards_by_certificate_import(app, client, people, skill_code: str, province: str, work: Path) -> dict:
    """A certificate file of len(people) rows through the real `flask skills import-certificates`
    (the command, its service, its roll-up refresh and its commit), then the province API."""
    import csv

    path = work / "certificates.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["证件号码", "技能", "证书类型", "证书编号", "发证日期", "发证机构"])
        for n, (_mid, number, _village) in enumerate(people):
            out.writerow([number, skill_code, "培训合格证书", f"BENCH-{os.getpid()}-{n:06d}", "2026-11-01",
                          "县人社局"])
    before = _with_1(client, province)
    started = time.perf_counter()
    report_path = work / "certificates-report.json"
    result = app.test_cli_runner().invoke(args=["skills", "import-certificates", str(path), "--report",
                                                str(report_path)])
    imported = time.perf_counter()
    after = _with_1(client, province)
    visible = time.perf_counter()
    if result.exit_code != 0:
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
        raise RuntimeError(f"import-certificates exited {result.exit_code}: "
                           f"{[(e['row'], e['code']) for e in report.get('errors', [])][:10]} {result.output[-500:]}")
    return {"rows": len(people), "villages": len({v for *_x, v in people}),
            "command_seconds": round(imported - started, 2), "seconds_until_visible": round(visible - started, 2),
            "with_1_before": before, "with_1_after": after, "shown": after - before,
            "output": result.output.strip().splitlines()[-1]}


def awards_by_single_signoffs(app, client, people, skill_id: int, province: str) -> dict:
    """An offline class with len(people) trainees, each passed on its own through the assessment
    form (POST /skills/classes/<id>/trainees/<id>/assess, the view and the award service it calls,
    one request and one transaction each), then the province API."""
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.skills import services
    from lms.skills.models import Trainee

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.username == "benchadmin"))
        klass = services.create_class(title="测评线下班", skill_id=skill_id, region_code=province,
                                      starts_on=dt.date(2026, 10, 1), ends_on=dt.date(2026, 11, 1), trainer=admin)
        added, unknown = services.add_trainees(klass, [number for _mid, number, _v in people], admin)
        db.session.commit()
        class_id = klass.id
        trainees = list(db.session.scalars(db.select(Trainee.id).where(Trainee.class_id == class_id)))
    if unknown:
        raise RuntimeError(f"{len(unknown)} ID numbers not found for the roster")
    page = client.get(f"/skills/classes/{class_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page)
    token = token.group(1)
    before = _with_1(client, province)
    each = []
    started = time.perf_counter()
    for trainee_id in trainees:
        t = time.perf_counter()
        response = client.post(f"/skills/classes/{class_id}/trainees/{trainee_id}/assess",
                               data={"result": "pass", "csrf_token": token})
        each.append((time.perf_counter() - t) * 1000)
        if response.status_code != 302:
            raise RuntimeError(f"sign-off answered {response.status_code}")
    done = time.perf_counter()
    after = _with_1(client, province)
    visible = time.perf_counter()
    return {"signoffs": len(trainees), "villages": len({v for *_x, v in people}),
            "seconds_all": round(done - started, 2), "seconds_until_visible": round(visible - started, 2),
            "per_signoff_p50_ms": round(statistics.median(each), 1),
            "per_signoff_p95_ms": round(percentile(each, 0.95), 1),
            "with_1_before": before, "with_1_after": after, "shown": after - before}
