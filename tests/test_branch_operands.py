"""A call that is a branch of a conditional expression, or the right side of `and`/`or`,
runs on some paths only, as one under an `if` does: a helper that reaches blocking work only
there is not reported at its async callers (held-out S37: aisuite's `Gateway(settings=...)`,
whose `__init__` reads the settings file only when it is given none)."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "pkg/__init__.py": "",
    "pkg/gateway.py": '''import requests


def load_settings():
    return requests.get("http://config/settings", timeout=5).json()


class Gateway:
    def __init__(self, settings=None):
        self.settings = settings if settings is not None else load_settings()


class Cached:
    def __init__(self, settings=None):
        self.settings = settings or load_settings().get("gateway")


class Awaiting:
    def __init__(self, settings=None):
        self.settings = None if settings else load_settings()


class Always:
    def __init__(self, settings=None):
        self.settings = load_settings() if True else settings
        self.more = load_settings()
''',
    "pkg/app.py": '''from pkg.gateway import Always, Awaiting, Cached, Gateway


async def start(settings):
    return Gateway(settings=settings), Cached(settings), Awaiting(settings)


async def start_always(settings):
    return Always(settings)
''',
}


def test_a_helper_that_blocks_only_in_a_conditional_operand_is_not_reported(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    assert [(r.symbol, r.snippet.before) for r in report.recommendations] == [
        ("start_always", "return Always(settings)")]
