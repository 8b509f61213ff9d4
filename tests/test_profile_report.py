"""`optadvisor profile` end to end: each fixture script gets its documented recommendation
(fixtures/scripts/README.md), measured with real py-spy runs and joined with static facts;
the command line, saved runs, `report` and `scan --profile`."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from profile_support import SCRIPTS, py_spy_problem
from typer.testing import CliRunner

from conftest import ROOT
from optadvisor.api import ScanOptions, profile
from optadvisor.cli import app
from optadvisor.profile import ProfileOptions

pytestmark = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")


@lru_cache(maxsize=None)
def report_of(script: str, *args: str):
    options = ProfileOptions(script=SCRIPTS / script, args=args, root=ROOT, cwd=ROOT,
                             lines=False, stdout="null", stdin="null", timeout=60)
    return profile(options, ScanOptions(paths=(ROOT,), use_cache=False, jobs=1))


def found(report, rule: str) -> list:
    return [r for r in report.recommendations if r.rule == rule]


def test_cpu_bound_hot_function_is_score():
    report = report_of("cpu_bound.py")
    (rec,) = found(report, "OPT501")[:1]
    assert rec.symbol == "score" and rec.path == "fixtures/scripts/cpu_bound.py"
    assert rec.evidence["measured"]["user_self_pct"] > 50
    assert not found(report, "OPT502")


def test_io_wait_points_at_the_waiting_call_in_fetch():
    report = report_of("io_wait.py")
    (rec,) = found(report, "OPT502")
    assert rec.symbol == "fetch"
    source = (SCRIPTS / "io_wait.py").read_text().splitlines()[rec.line - 1]
    assert "sleep" in source, source
    assert rec.evidence["measured"]["wait_pct"] >= 60
    assert "ThreadPoolExecutor" in rec.snippet.after


def test_async_sequential_gets_gather_on_load_all():
    report = report_of("async_sequential.py")
    (rec,) = found(report, "OPT103")
    assert rec.symbol == "load_all"
    # The loop body becomes the per-item coroutine; results keep their order.
    assert "results.extend(await asyncio.gather(*(_one_item(user_id) for user_id in " \
        "range(count))))" in rec.snippet.after
    assert rec.fix.applicability == "unsafe"
    assert rec.evidence["measured"]["seen"] is True
    assert report.profile["asyncio"] is True


def test_memory_growth_is_flagged():
    report = report_of("memory_growth.py")
    (rec,) = found(report, "OPT503")
    assert rec.path == "fixtures/scripts/memory_growth.py"
    assert report.profile["memory"]["leak_suspected"] is True


def test_subprocess_workers_hot_function_is_simulate():
    report = report_of("subprocess_workers.py", "--rounds", "600000")
    hot = [r.symbol for r in found(report, "OPT501")]
    assert hot and hot[0] == "simulate"


def test_slow_pipeline_caches_load_config_first():
    report = report_of("slow_pipeline.py", "--items", "200")
    first = report.recommendations[0]
    assert (first.rule, first.symbol) == ("OPT504", "load_config")
    assert "functools.lru_cache" in first.snippet.after
    assert report.profile["outcome"]["status"] == "ok"
    assert report.profile["serialization_pct"] > 25


def test_report_json_keeps_the_schema_and_adds_the_profile():
    import jsonschema

    report = report_of("cpu_bound.py")
    data = report.to_dict()
    schema = json.loads((ROOT / "optadvisor" / "report.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["schema_version"] == 1 and data["profile"]["functions"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optadvisor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_json_is_not_mixed_with_the_script_output(tmp_path):
    run_file = tmp_path / "run.json"
    proc = run_cli("profile", "fixtures/scripts/slow_pipeline.py", "--format", "json",
                   "--no-lines", "--save-run", str(run_file), "-q", "--", "--items", "60")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the script printed a number: it went to stderr
    assert data["profile"]["command"][-2:] == ["--items", "60"]
    assert any(r["rule"] == "OPT504" for r in data["recommendations"])
    saved = json.loads(run_file.read_text())
    assert saved["kind"] == "profile-run"
    again = CliRunner().invoke(app, ["report", str(run_file), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["profile"]["script"].endswith("slow_pipeline.py")


def test_cli_missing_script_is_exit_2(tmp_path):
    proc = run_cli("profile", str(tmp_path / "nope.py"))
    assert proc.returncode == 2
    assert "nope.py" in proc.stderr


def test_cli_crashing_script_still_reports(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("import time\n"
                      "def work():\n"
                      "    end = time.perf_counter() + 0.4\n"
                      "    while time.perf_counter() < end:\n"
                      "        pass\n"
                      "work()\n"
                      "raise SystemExit(3)\n")
    proc = run_cli("profile", str(script), "--format", "json", "--no-lines", "-q")
    # The report is written, and the exit code says the program failed (3).
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert data["profile"]["outcome"]["status"] == "exit-nonzero"
    assert data["profile"]["outcome"]["returncode"] == 3
    assert any(f["name"] == "work" for f in data["profile"]["functions"])


def _synthetic_run(root: Path, file: Path, name: str, line: int, pct: float):
    from optadvisor.models import HotFunction, ProfileRun, RunEnvironment, RunOutcome

    hot = HotFunction(name=name, file=str(file), path=file.relative_to(root).as_posix(),
                      line=line, user=True, self_seconds=pct / 100, total_seconds=pct / 100,
                      self_pct=pct, total_pct=pct, user_self_pct=pct, samples=int(pct))
    env = RunEnvironment(python="3.11", implementation="CPython", executable=sys.executable,
                         platform="linux", machine="x86_64", cpu_count=2, sampler="py-spy")
    return ProfileRun(command=(sys.executable, str(file)), script=str(file), args=(),
                      cwd=str(root), root=str(root), mode="sample", environment=env,
                      outcome=RunOutcome(status="ok"), wall_seconds=1.0, functions=(hot,))


def test_scan_profile_reranks_by_measured_time(tmp_path):
    from optadvisor.api import scan
    from optadvisor.profile import save_run

    code = ("import time\n\n"
            "async def hot():\n    time.sleep(1)\n\n"
            "async def cold():\n    time.sleep(1)\n")
    source = tmp_path / "svc" / "app.py"
    source.parent.mkdir()
    source.write_text(code)
    plain = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert {r.symbol: r.score for r in plain.recommendations} == {"hot": 70, "cold": 70}
    run_file = tmp_path / "run.json"
    save_run(_synthetic_run(tmp_path, source, "hot", 3, 90.0), run_file)
    ranked = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, profile=run_file))
    scores = {r.symbol: r.score for r in ranked.recommendations}
    assert scores["hot"] > 70 > scores["cold"]
    assert ranked.recommendations[0].symbol == "hot"
    evidence = {r.symbol: r.evidence["measured"] for r in ranked.recommendations}
    assert evidence["hot"]["seen"] and evidence["hot"]["total_pct"] == 90.0
    assert evidence["cold"] == {"seen": False}
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--profile", str(bad)])
    assert result.exit_code == 2


def test_cli_profiles_a_module_as_python_dash_m_runs_it(tmp_path):
    # A package run with -m: its __main__.py, relative imports working, arguments after --.
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "work.py").write_text("import time\n"
                                     "def crunch(seconds):\n"
                                     "    end = time.perf_counter() + seconds\n"
                                     "    while time.perf_counter() < end:\n"
                                     "        pass\n")
    (package / "__main__.py").write_text("import sys\n"
                                         "from .work import crunch\n"
                                         "crunch(float(sys.argv[1]))\n"
                                         "print('done', sys.argv[1:])\n")
    proc = run_cli("profile", "-m", "mypkg", "--format", "json", "-q", "--", "0.5", "x",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    profile = data["profile"]
    assert profile["outcome"]["status"] == "ok"
    assert profile["command"][1:] == ["-m", "mypkg", "0.5", "x"]
    assert profile["script"].endswith("mypkg/__main__.py")
    assert "done ['0.5', 'x']" in proc.stderr  # the program's own output, not in the report
    assert any(f["name"] == "crunch" for f in profile["functions"])
    missing = run_cli("profile", "-m", "no_such_module_here", "-q", cwd=tmp_path)
    assert missing.returncode == 2 and "no module named 'no_such_module_here'" in missing.stderr
    neither = run_cli("profile", "-q", cwd=tmp_path)
    assert neither.returncode == 2 and "-m MODULE" in neither.stderr


def test_cli_attaches_to_a_running_process_for_a_window(tmp_path):
    # A service the test starts and owns; profile --pid samples it for a second and leaves
    # it running (the test stops it).
    service = tmp_path / "svc.py"
    service.write_text("import time\n"
                       "def handle():\n"
                       "    end = time.perf_counter() + 0.05\n"
                       "    while time.perf_counter() < end:\n"
                       "        pass\n"
                       "def serve():\n"
                       "    while True:\n"
                       "        handle()\n"
                       "        time.sleep(0.005)\n"
                       "print('ready', flush=True)\n"
                       "serve()\n")
    child = subprocess.Popen([sys.executable, str(service)], cwd=tmp_path,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        proc = run_cli("profile", "--pid", str(child.pid), "--duration", "1",
                       "--format", "json", "-q", cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        profile = json.loads(proc.stdout)["profile"]
        assert child.poll() is None  # still running: attaching stops nothing
        assert profile["outcome"]["status"] == "ok"
        assert f"pid {child.pid}" in profile["outcome"]["message"]
        assert profile["script"] == str(service)
        names = {f["name"]: f for f in profile["functions"]}
        assert "handle" in names and names["handle"]["path"] == "svc.py"
        assert 0.5 < profile["wall_seconds"] < 30
    finally:
        child.kill()
        child.wait()
    gone = run_cli("profile", "--pid", str(child.pid), "-q")
    assert gone.returncode == 2 and f"no running process with pid {child.pid}" in gone.stderr
    both = run_cli("profile", str(service), "--pid", "1", "-q")
    assert both.returncode == 2 and "one of SCRIPT" in both.stderr
