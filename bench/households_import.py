"""Household-registry import on SQLite: a synthetic national-format export of at
least 1,000,000 member rows, parsed, validated and inserted end to end.

    .venv/bin/python bench/households_import.py [--households 275000] [--seed 1] [--keep DIR]

Measured in the same run: the import (in a child process, so its peak memory is
its own), and the sqlite3 command-line ``.import`` of the same CSV into a plain
table.  Prints the figures and writes bench/results/households_import.json.
Targets: >= 50,000 validated rows/s, at most 4x the ``.import`` time, peak memory
under 1 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def import_phase(workdir: str, csv_path: str) -> dict:
    """Run in the child: a fresh database, the regions, then the timed import."""
    os.environ["LMS_INSTANCE_PATH"] = workdir
    from lms import create_app
    from lms.extensions import db
    from lms.regions.services import import_regions

    from lms.households.importing.run import import_households
    from lms.households.synth import regions_path

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.db",
                      "DATA_KEY": "bench-data-key", "SECRET_KEY": "bench"})
    with app.app_context():
        db.create_all()
        import_regions(Path(regions_path(csv_path)).read_text(encoding="utf-8"))
        db.session.commit()
        started = time.perf_counter()
        cpu = time.process_time()
        report = import_households(csv_path)
        db.session.commit()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        data = report.as_dict()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_kb = helper.ru_maxrss
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": data["rows"],
            "helper_cpu_seconds": helper.ru_utime + helper.ru_stime,
            "members_created": data["members_created"], "rejected": data["rejected"],
            "error_count": data["error_count"], "peak_rss_mb": round(peak_kb / 1024, 1),
            "peak_rss_children_mb": round(children_kb / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=275_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="work in this folder and keep it (a second run reuses "
                        "the synthetic file)")
    parser.add_argument("--import-phase", nargs=2, metavar=("WORKDIR", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_phase:
        print(json.dumps(import_phase(*args.import_phase)))
        return

    workdir = args.keep or tempfile.mkdtemp(prefix="households-bench-")
    os.makedirs(workdir, exist_ok=True)
    csv_path = os.path.join(workdir, "members.csv")
    try:
        from lms.households.synth import write

        started = time.perf_counter()
        stamp = os.path.join(workdir, "synth.json")
        if args.keep and os.path.exists(stamp) and json.load(open(stamp))["args"] == [
                args.households, args.seed]:
            synth = json.load(open(stamp))["synth"]  # same file as last time: reuse it
        else:
            synth = write(csv_path, args.households, seed=args.seed)
            with open(stamp, "w") as fh:
                json.dump({"args": [args.households, args.seed], "synth": synth}, fh)
        synth_seconds = time.perf_counter() - started
        size_mb = os.path.getsize(csv_path) / 1e6
        print(f"synth: {synth['households']:,} households, {synth['members']:,} members, "
              f"{size_mb:.0f} MB in {synth_seconds:.1f} s")

        plain = os.path.join(workdir, "plain.db")
        for stale in (plain, os.path.join(workdir, "bench.db")):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(stale + suffix):
                    os.remove(stale + suffix)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(["sqlite3", plain, ".mode csv", f".import {csv_path} members"], check=True)
        sqlite_seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sqlite_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"sqlite3 .import: {sqlite_seconds:.2f} s "
              f"({synth['members'] / sqlite_seconds:,.0f} rows/s), CPU {sqlite_cpu:.1f} s")

        child = subprocess.run([sys.executable, __file__, "--import-phase", workdir, csv_path],
                               check=True, capture_output=True, text=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rate = result["rows"] / result["seconds"]
        ratio = result["seconds"] / sqlite_seconds
        # The machine is shared: CPU seconds say what the work costs whatever else runs.
        # The two processes overlap, so on two free cores the slower one sets the pace.
        busiest = max(result["cpu_seconds"], result["helper_cpu_seconds"])
        cpu_rate = result["rows"] / busiest
        print(f"import: {result['rows']:,} rows ({result['members_created']:,} members created, "
              f"{result['rejected']} rejected) in {result['seconds']:.2f} s = {rate:,.0f} rows/s; "
              f"CPU {result['cpu_seconds']:.1f} s writer + {result['helper_cpu_seconds']:.1f} s "
              f"reader/validator (= {cpu_rate:,.0f} rows/s when each has a core); "
              f"{ratio:.2f}x the sqlite3 .import time; "
              f"peak memory {result['peak_rss_mb']:.0f} MB "
              f"(+ helper processes {result['peak_rss_children_mb']:.0f} MB)")
        figures = {
            "households": synth["households"], "member_rows": synth["members"],
            "csv_mb": round(size_mb, 1), "synth_seconds": round(synth_seconds, 2),
            "sqlite_import_seconds": round(sqlite_seconds, 2),
            "import_seconds": round(result["seconds"], 2),
            "import_cpu_seconds": round(result["cpu_seconds"], 2),
            "helper_cpu_seconds": round(result["helper_cpu_seconds"], 2),
            "rows_per_cpu_second_of_busiest_process": round(cpu_rate),
            "sqlite_import_cpu_seconds": round(sqlite_cpu, 2),
            "cpu_ratio_to_sqlite_import": round(
                (result["cpu_seconds"] + result["helper_cpu_seconds"]) / sqlite_cpu, 2),
            "rows_per_second": round(rate), "ratio_to_sqlite_import": round(ratio, 2),
            "peak_rss_mb": result["peak_rss_mb"],
            "peak_rss_children_mb": result["peak_rss_children_mb"],
            "rejected": result["rejected"],
            "targets": {"rows_per_second": 50_000, "ratio_to_sqlite_import": 4,
                        "peak_rss_mb": 1024},
            "load_average": os.getloadavg(),
        }
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / "households_import.json").write_text(json.dumps(figures, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
