"""A real headless Chromium for the HTML report tests: Debian's /usr/bin/chromium driven
by playwright's Python package (never a downloaded browser), with the launch flags this
closed network needs. The `browser` fixture itself is in conftest.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from optadvisor.render import html

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


def _playwright_missing() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return True
    return False


needs_browser = pytest.mark.skipif(
    chromium() is None or _playwright_missing(),
    reason=f"needs Chromium at {CHROMIUM} (Debian package `chromium`) and playwright "
           "(the Python package) to open the report in")


def open_page(browser, path: Path, report):
    """Write the report, open it in a fresh context, and record every request other than
    the page itself, every console error or warning, page error and dialog."""
    path.write_text(html.render(report), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(5_000)
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "dialogs": []}
    url = path.as_uri()
    tab.on("request", lambda r: r.url != url and not r.url.startswith("data:")
           and seen["requests"].append(r.url))
    tab.on("console", lambda m: m.type in ("error", "warning")
           and seen["errors"].append(f"{m.type}: {m.text}"))
    tab.on("pageerror", lambda e: seen["errors"].append(f"pageerror: {e}"))

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    # Loading is not what these tests time: a report of a thousand findings took more than
    # 5 s to load on a slow 2-core CI machine (2026-12-05), where the layout checks after it
    # passed in the runs before. The other actions keep the 5 s default.
    tab.goto(url, wait_until="load", timeout=60_000)
    return context, tab, seen
