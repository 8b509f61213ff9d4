from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "agents"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Tests never touch the user's cache dir."""
    monkeypatch.setenv("OPTADVISOR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the browser tests (see browser_support.py)."""
    from browser_support import ARGS, chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                              args=ARGS, timeout=20_000)
        yield launched
        launched.close()


def scan_tree(root: Path, *select: str, **options: object) -> list:
    """The recommendations of a cold scan of `root` (one process), with only `select`'s
    rules when some are named."""
    from optadvisor.api import ScanOptions, scan

    options = {"use_cache": False, "jobs": 1, **options}
    return scan(ScanOptions(paths=(root,), select=select, **options)).recommendations


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


os.environ.setdefault("COLUMNS", "120")
