"""Tests are context: a finding in a test or an example is shown, ranked low, and does not
fail CI by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from optadvisor.api import ScanOptions, exit_code, scan
from optadvisor.context import context_of


@pytest.mark.parametrize("rel,expected", [
    ("agents/research/fetch.py", "library"),
    ("tests/test_fetch.py", "test"),
    ("pkg/tests/helpers.py", "test"),
    ("pkg/fetch_test.py", "test"),
    ("conftest.py", "test"),
    ("examples/quickstart.py", "example"),
    ("docs/snippets/agent.py", "example"),
    ("scripts/backfill.py", "script"),
    ("app/migrations/0001_init.py", "migration"),
    ("latest/protest.py", "library"),
])
def test_context_from_path(rel: str, expected: str):
    assert context_of(rel) == expected


def test_findings_in_tests_are_low_and_do_not_fail_the_gate(tmp_path: Path):
    code = "import requests\n\nasync def f(url):\n    return requests.get(url, timeout=5)\n"
    for rel in ("svc/app.py", "tests/test_app.py"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    by_path = {r.path: r for r in report.recommendations}
    assert by_path["svc/app.py"].priority == "high"
    assert by_path["svc/app.py"].context == "library"
    assert by_path["tests/test_app.py"].priority == "low"
    assert by_path["tests/test_app.py"].context == "test"
    assert report.recommendations[-1].path == "tests/test_app.py"  # ranked last
    only_tests = scan(ScanOptions(paths=(tmp_path / "tests",), use_cache=False, jobs=1))
    assert exit_code(only_tests, "high") == 0
