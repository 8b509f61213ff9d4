"""OPT105 reports file work that grows with the data (link.Via.scaled, subjects' call.scaled),
across files: a helper in another module that reads per item, or calls a helper per item,
or calls one that walks a tree, is reported at its async caller; one that reads one small
file is not, however deep; and the chain shown ends in the walk, not in a stat beside it."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "app/__init__.py": "",
    "app/store.py": '''import json
import os


def read_one(path):
    with open(path) as f:
        return json.load(f)


def read_all(folder):
    return [read_one(os.path.join(folder, name)) for name in os.listdir(folder)]


def settings(path):
    return read_one(path)


def usage(root, extra):
    total = sum(os.path.getsize(path) for path in extra)
    for _, _, names in os.walk(root):
        total += len(names)
    return total


def report(root):
    return {"files": usage(root, [])}
''',
    "app/service.py": '''from app.store import read_all, report, settings


async def history(folder):
    return read_all(folder)


async def config(path):
    return settings(path)


async def stats(root):
    return report(root)
''',
}


def test_scaled_file_work_is_reported_through_helpers_in_other_files(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    found = {(r.path, r.symbol): r for r in report.recommendations}
    # read_all calls read_one per item; report -> usage walks a tree; settings reads one file.
    assert set(found) == {("app/service.py", "history"), ("app/service.py", "stats")}
    walk = [hop["name"] for hop in found[("app/service.py", "stats")].evidence["via"]]
    assert walk == ["report", "usage", "os.walk"]  # not the stats made before it
    assert "grows with the data" in found[("app/service.py", "history")].message
