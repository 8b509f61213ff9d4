"""The sample monorepo against its hand-written golden file (fixtures/agents/EXPECTED.toml)."""

from __future__ import annotations

import sys
from collections import Counter

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from conftest import FIXTURES

from optadvisor.api import ScanOptions, scan


def expected() -> Counter[tuple[str, str, int]]:
    data = tomllib.loads((FIXTURES / "EXPECTED.toml").read_text(encoding="utf-8"))
    return Counter((f["rule"], f["path"], f["line"]) for f in data["finding"])


def test_scan_matches_golden_file():
    report = scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=2))
    # Compared as multisets: a finding reported twice is as wrong as a missing one.
    # One site, one recommendation: rules that matched the same call are its facets.
    got = Counter((r.rule, r.path, r.line) for r in report.recommendations)
    got.update((f["rule"], r.path, r.line) for r in report.recommendations for f in r.facets)
    want = expected()
    assert not (want - got), f"expected but not found: {sorted(want - got)}"
    assert not (got - want), f"found but not expected (or twice): {sorted(got - want)}"
    assert report.errors == ()
    assert report.summary.suppressed == 2
    assert report.summary.components == 9
