"""The profile section of the HTML report in a real headless Chromium (Debian's
/usr/bin/chromium through playwright's Python package; no browser is ever downloaded),
with the launch flags and skip rules of test_render_html_browser.py.

The report is the real cpu_bound.py profile of test_render_profile.py, with a hostile
frame added to its stacks: nothing is requested, nothing is logged as an error, no
injected script runs, the flamegraph draws one element per frame, hovering a frame shows
its figures, clicking one zooms into it and Reset zooms back out.
Set OPTADVISOR_PROFILE_SCREENSHOT=/some/file.png to keep a screenshot of the section.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from browser_support import needs_browser, open_page
from test_render_profile import HOSTILE_NAME, flame_nodes, hostile_report, profile_report


pytestmark = needs_browser


def frame(tab, name: str):
    """The flamegraph element whose bar reads exactly `name`."""
    return tab.locator("#flame .fr").filter(has_text=re.compile(f"^{re.escape(name)}$")).first


def test_profile_section_in_chromium(browser, tmp_path: Path):
    report = hostile_report()
    stacks = report.profile["stacks"]
    # A sibling of `score` wide enough to see, whatever this run happened to sample (a real
    # cpu_bound.py run gives `tokenize` anywhere from 0 to 10% of the samples).
    path = next(st["frames"] for st in stacks if any(f.startswith("score ") for f in st["frames"]))
    parent = path[:[f.startswith("score ") for f in path].index(True)]
    total = sum(st["samples"] for st in stacks)
    stacks.append({"frames": [*parent, "sibling (cpu_bound.py:99)"],
                   "samples": max(10, total // 4), "idle": 0})
    context, tab, seen = open_page(browser, tmp_path / "profile.html", report)
    try:
        assert tab.is_visible("#profile")
        assert tab.locator("#profile-timeline svg.timeline polyline").count() == 2
        # One element per frame of the stacks, merged by function (the default view).
        frames = tab.locator("#flame .fr")
        assert frames.count() == flame_nodes(stacks) > 3
        assert tab.get_attribute("#flame", "data-frames") == str(flame_nodes(stacks))
        assert tab.is_disabled("#flame-reset")

        # Hover: the tooltip names the frame and its share, as text.
        score = frame(tab, "score")
        score.hover()
        tip = tab.inner_text("#flame-tip")
        assert tip.startswith("score\ncpu_bound.py") and "samples" in tip and "% of all" in tip

        # Click: the frame fills the width, what is not under it goes, Reset restores.
        sibling = frame(tab, "sibling")
        assert sibling.is_visible()
        before = score.bounding_box()["width"]
        score.click()
        assert score.evaluate("e => e.style.width") == "100%"
        assert score.bounding_box()["width"] > before
        assert "Zoomed to score" in tab.inner_text("#flame-crumb")
        assert sibling.is_hidden()
        assert tab.is_enabled("#flame-reset")
        tab.click("#flame-reset")
        assert sibling.is_visible() and tab.is_disabled("#flame-reset")
        score.click()
        tab.keyboard.press("Escape")
        assert sibling.is_visible()

        # One frame per line, then highlighting.
        tab.check("#flame-lines")
        assert frames.count() == flame_nodes(stacks, by_line=True)
        tab.fill("#flame-q", "sibling")
        assert tab.locator("#flame .fr.hit").count() >= 1
        assert "matches" in tab.inner_text("#flame-crumb")
        tab.fill("#flame-q", "")
        tab.uncheck("#flame-lines")

        # The hostile frame is drawn as text and ran nothing.
        hostile = frame(tab, HOSTILE_NAME)
        assert hostile.count() == 1
        hostile.hover()
        assert tab.inner_text("#flame-tip").startswith(HOSTILE_NAME)
        assert tab.evaluate("window.__pwned === undefined")
        assert tab.evaluate("document.scripts.length") == 4
        assert HOSTILE_NAME in tab.inner_text("#profile-functions")

        shot = os.environ.get("OPTADVISOR_PROFILE_SCREENSHOT")
        if shot:
            tab.mouse.move(0, 0)
            tab.locator("#profile").screenshot(path=shot)
    finally:
        context.close()
    assert seen["dialogs"] == [], "an injected script ran"
    assert seen["requests"] == [], "the page tried to load something"
    assert seen["errors"] == [], "the console logged errors"


def test_plain_profile_page_has_no_errors(browser, tmp_path: Path):
    context, tab, seen = open_page(browser, tmp_path / "plain.html", profile_report())
    try:
        assert tab.is_visible("#flame .fr")
        # The recommendations table still works on a profile page.
        total = len(profile_report().recommendations)
        assert tab.inner_text("#shown-count") == f"{total} of {total}"
    finally:
        context.close()
    assert seen == {"requests": [], "errors": [], "dialogs": []}


def test_lag_timeline_in_chromium(browser, tmp_path: Path):
    """The event-loop lag timeline of a real loop_blocker.py run: drawn inline (nothing
    requested, no error), one bar per lag in time order, each bar's tooltip its figures,
    and a hostile blocker name shown as text."""
    import dataclasses
    import json

    from test_profile_loop_lag import blocker_report

    report = blocker_report()
    data = json.loads(json.dumps(report.profile))
    lag = data["loop_lag"]
    lag["worst"][0] = {**lag["worst"][0], "function": HOSTILE_NAME}
    context, tab, seen = open_page(browser, tmp_path / "lag.html",
                                   dataclasses.replace(report, profile=data))
    try:
        svg = tab.locator("#profile-loop-lag svg.lag-timeline")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box["width"] > 300 and box["height"] > 50
        bars = svg.locator("rect.lag-bar")
        assert bars.count() == lag["lags"] == len(lag["timeline"]) >= 3
        rects = [bars.nth(i).bounding_box() for i in range(bars.count())]
        assert all(r["width"] > 0 and r["height"] > 0 for r in rects)
        assert [r["x"] for r in rects] == sorted(r["x"] for r in rects)
        # All bars sit on the same baseline, inside the chart.
        bottoms = {round(r["y"] + r["height"]) for r in rects}
        assert len(bottoms) == 1 and box["y"] < bottoms.pop() <= box["y"] + box["height"]
        tips = [bars.nth(i).locator("title").text_content() for i in range(bars.count())]
        assert all(re.match(r"^\d+\.\d\d s: the loop ran \d+ ms late", t) for t in tips)
        assert any(f"held by {HOSTILE_NAME}" in t for t in tips)  # as text
        assert tab.evaluate("window.__pwned === undefined")
    finally:
        context.close()
    assert seen == {"requests": [], "errors": [], "dialogs": []}
