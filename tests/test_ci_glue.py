"""The CI glue shipped in the repo: the composite action runs for real (its scan step in
bash, with the variables GitHub sets), and the pre-commit hook is well formed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, ROOT


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_outputs_have_values_and_inputs_never_reach_scripts_directly():
    data = action()
    assert data["runs"]["using"] == "composite"
    for name, output in data["outputs"].items():
        assert "steps.scan.outputs." in output["value"], name
    for step in data["runs"]["steps"]:
        script = step.get("run", "")
        assert "${{" not in script, f"step {step.get('name')} interpolates into its script"


def _scan_step() -> dict:
    return next(s for s in action()["runs"]["steps"] if s.get("id") == "scan")


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is needed to run the step")
@pytest.mark.parametrize("paths,fail_on,code", [
    (str(FIXTURES), "high", 1),
    (str(FIXTURES / "summarizer"), "critical", 0),
])
def test_action_scan_step_runs(tmp_path, paths, fail_on, code):
    step = _scan_step()
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    env = dict(os.environ)
    env.update({
        "OA_PATHS": paths, "OA_FAIL_ON": fail_on, "OA_BASELINE": "",
        "OA_SARIF": str(tmp_path / "out.sarif"), "OA_ARGS": "--jobs 1",
        "RUNNER_TEMP": str(tmp_path), "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
    })
    proc = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == code, proc.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["exit-code"] == str(code)
    assert int(values["recommendations"]) > 0
    assert (tmp_path / "out.sarif").is_file()
    assert "optadvisor" in summary.read_text()
    # Annotations went to stdout as workflow commands.
    assert re.search(r"^::(error|warning|notice) ", proc.stdout, re.M)


def _step_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "OA_PATHS": str(FIXTURES), "OA_FAIL_ON": "high", "OA_BASELINE": "",
        "OA_SARIF": str(tmp_path / "out.sarif"), "OA_ARGS": "--jobs 1", "OA_SHARD": "",
        "OA_MERGE": "", "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "outputs.txt"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
    })
    env.update(values)
    return env


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is needed to run the step")
def test_action_shards_then_merges(tmp_path):
    """Matrix jobs with `shard: K/2` write their documents (exit 0: they do not gate); a
    merge job with `merge: shards/*.json` annotates, writes SARIF and gates on the whole."""
    step = _scan_step()
    shards = tmp_path / "shards"
    shards.mkdir()
    for k in (1, 2):
        proc = subprocess.run(["bash", "-c", step["run"]], cwd=shards, capture_output=True,
                              text=True, timeout=300, check=False,
                              env=_step_env(tmp_path, OA_SHARD=f"{k}/2"))
        assert proc.returncode == 0, proc.stderr
        assert (shards / f"optadvisor-shard-{k}-of-2.json").is_file()
    outputs = (tmp_path / "outputs.txt").read_text()
    assert "shard-document=optadvisor-shard-2-of-2.json" in outputs
    (tmp_path / "outputs.txt").unlink()
    proc = subprocess.run(["bash", "-c", step["run"]], capture_output=True, text=True,
                          timeout=300, check=False,
                          env=_step_env(tmp_path, OA_MERGE=f"{shards}/*.json"))
    assert proc.returncode == 1, proc.stderr
    values = dict(line.split("=", 1) for line in
                  (tmp_path / "outputs.txt").read_text().splitlines())
    whole = subprocess.run([sys.executable, "-m", "optadvisor", "scan", str(FIXTURES),
                            "--format", "json", "-q"], capture_output=True, text=True,
                           timeout=300, check=False)
    assert values["recommendations"] == str(json.loads(whole.stdout)["summary"]["recommendations"])
    assert (tmp_path / "out.sarif").is_file()
    assert re.search(r"^::(error|warning|notice) ", proc.stdout, re.M)


def test_action_injection_attempt_stays_data(tmp_path):
    step = _scan_step()
    marker = tmp_path / "pwned"
    env = dict(os.environ)
    env.update({
        "OA_PATHS": str(FIXTURES / "summarizer"), "OA_FAIL_ON": "never", "OA_BASELINE": "",
        "OA_SARIF": str(tmp_path / "out.sarif"), "OA_ARGS": f"$(touch {marker})",
        "OA_MERGE": f"$(touch {marker}) *$(touch {marker})",
        "RUNNER_TEMP": str(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md"),
        "GITHUB_OUTPUT": str(tmp_path / "o.txt"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
    })
    subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, timeout=300)
    assert not marker.exists()


def test_pre_commit_hook():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "optadvisor" and hook["entry"].startswith("optadvisor scan")
    assert hook["language"] == "python" and "python" in hook["types"]
