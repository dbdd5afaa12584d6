"""The benchmarks are not tests, but a broken one must not wait for the next release to be
noticed: every bench/*.py runs here at its --quick size (in a scratch copy of bench/, so the
committed results are never touched), and the README's figures must name committed results."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name != "common.py")
META_KEYS = {"commit", "dirty", "command", "cpu_count", "load_average_start", "load_average_end", "date",
             "versions"}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """The repository seen through symlinks, with bench/ copied: a bench writes its results into
    the copy's bench/results."""
    root = tmp_path_factory.mktemp("repo")
    for entry in ROOT.iterdir():
        if entry.name not in ("bench", ".git", "instance"):
            (root / entry.name).symlink_to(entry)
    shutil.copytree(ROOT / "bench", root / "bench", ignore=shutil.ignore_patterns("results", "__pycache__"))
    return root


@pytest.mark.parametrize("name", BENCHES)
def test_bench_runs_at_its_quick_size(name, scratch, tmp_path):
    script = scratch / "bench" / name
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "TEST_DATABASE"))}
    env.update(LMS_BENCH_RESULTS=str(results), LMS_INSTANCE_PATH=str(tmp_path / "instance"))
    out = subprocess.run([sys.executable, str(script), "--quick"], cwd=scratch, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    written = sorted(results.glob("*.quick.json"))
    assert written, f"{name} wrote no results"
    document = json.loads(written[0].read_text(encoding="utf-8"))
    assert META_KEYS <= document["meta"].keys()
    assert "--quick" in document["meta"]["command"] and document["meta"]["quick"] is True
    assert document["meta"]["versions"]["python"] and document["meta"]["versions"]["sqlite"]
    assert document["figures"]
    assert not list((ROOT / "bench" / "results").glob("*.quick.json")), "a quick run wrote into the repository"


def _committed() -> set[str]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "bench/results"], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


FIGURE = re.compile(r"\d[\d,.]*\s*(?:ms|MB|KB|GB|s\b|rows/s|/s|×|%)")


def test_readme_figures_name_committed_results():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    committed = _committed()
    named = set(re.findall(r"bench/results/[\w.-]+\.json", readme))
    assert named, "the README names no results file"
    for path in sorted(named):
        assert path in committed, f"{path} is named in the README but not committed"
        document = json.loads((ROOT / path).read_text(encoding="utf-8"))
        assert META_KEYS <= document["meta"].keys(), path
        assert document["meta"]["quick"] is False, f"{path} is a --quick run"
    # A paragraph that quotes a figure measured by a bench names the file it comes from.
    for paragraph in re.split(r"\n\s*\n", readme):
        benches = {f"{b}.py" for b in re.findall(r"bench/(\w+)\.py", paragraph)}
        if benches and FIGURE.search(paragraph):
            assert "bench/results/" in paragraph, f"figures without their results file:\n{paragraph[:400]}"
