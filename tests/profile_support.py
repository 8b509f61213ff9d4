"""Shared helpers for the profile tests: where the fixture scripts are, whether py-spy can
attach here, and the "top function" definitions fixtures/scripts/README.md documents."""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from pathlib import Path

from optadvisor.models import HotFunction, ProfileRun
from optadvisor.profile.sampling import find_py_spy

SCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "scripts"


@functools.lru_cache(maxsize=1)
def py_spy_problem() -> str:
    """Empty when py-spy can sample a child here, else why not (for skip reasons)."""
    binary = find_py_spy()
    if binary is None:
        return "py-spy is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe.json"
        try:
            done = subprocess.run(
                [binary, "record", "--output", str(out), "--format", "speedscope", "--",
                 sys.executable, "-c", "sum(range(3 * 10**6))"],
                capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"py-spy cannot run: {exc}"
        if done.returncode != 0 or not out.is_file():
            return f"py-spy cannot attach here: {(done.stderr or done.stdout).strip()[-200:]}"
    return ""


def top_user(run: ProfileRun) -> HotFunction:
    """The user function with the most time charged to it, `<module>` aside."""
    ranked = run.ranked_user_functions()
    assert ranked, f"no user functions in {[f.name for f in run.functions]}"
    return ranked[0]


def by_name(run: ProfileRun, name: str, user: bool = True) -> HotFunction:
    for function in run.functions:
        if function.name == name and function.user == user:
            return function
    raise AssertionError(f"{name} not among {[f.name for f in run.functions]}")
