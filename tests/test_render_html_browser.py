"""The HTML report in a real headless Chromium (Debian's /usr/bin/chromium, driven by
playwright's Python package; no browser is ever downloaded).

On the fixtures report with hostile content in a path, a symbol and code: nothing is
requested from the network, nothing is logged as an error, no injected script runs,
filtering and sorting work, and a recommendation expands to its highlighted source.
Set OPTADVISOR_SCREENSHOT=/some/file.png to keep a screenshot of the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import needs_browser, open_page
from test_render_common import EVIL_CODE, EVIL_PATH, evil_report


pytestmark = needs_browser


@pytest.fixture
def page(browser, tmp_path: Path):
    report = evil_report()
    context, tab, seen = open_page(browser, tmp_path / "report.html", report)
    yield tab, seen, report
    context.close()


def visible_ranks(tab) -> list[int]:
    return tab.eval_on_selector_all(
        "#rec-body tr.rec:not([hidden])", "rows => rows.map(r => Number(r.dataset.rank))")


def test_report_in_chromium(page):
    tab, seen, report = page
    total = len(report.recommendations)
    assert tab.inner_text("#shown-count") == f"{total} of {total}"
    assert visible_ranks(tab) == list(range(1, total + 1))

    # Hostile text is shown as text; nothing it carries was parsed as markup or ran.
    first = tab.locator("#rec-1")
    assert f"{EVIL_PATH}:" in first.locator("td.loc").inner_text()
    assert tab.locator("img").count() == 0
    assert tab.evaluate("document.scripts.length") == 2
    assert tab.evaluate("window.__pwned === undefined")

    # Filtering: free text, then a priority select, then reset.
    term = report.recommendations[1].symbol
    tab.fill("#q", term.upper())
    wanted = [i for i, rec in enumerate(report.recommendations, start=1)
              if term.lower() in "\n".join((f"{rec.path}:{rec.line}", rec.symbol, rec.message,
                                            rec.rule, rec.kind, rec.component,
                                            rec.title)).lower()]
    assert 2 in wanted and len(wanted) < total and visible_ranks(tab) == wanted
    tab.fill("#q", "no such thing anywhere")
    assert visible_ranks(tab) == [] and tab.is_visible("#no-match")
    tab.click("#reset")
    tab.select_option("#f-priority", "medium")
    medium = [i for i, rec in enumerate(report.recommendations, start=1)
              if rec.priority == "medium"]
    assert medium and visible_ranks(tab) == medium
    assert tab.inner_text("#shown-count") == f"{len(medium)} of {total}"
    tab.click("#reset")
    # A breakdown bar filters by its component.
    component = report.recommendations[1].component
    tab.click(f'button.bar[data-filter="component"][data-value="{component}"]')
    assert visible_ranks(tab) == [i for i, rec in enumerate(report.recommendations, start=1)
                                  if rec.component == component]
    tab.click("#reset")

    # Sorting: score (high first, then low first), location (path, line).
    tab.click('th button[data-sort="score"]')
    scores = [report.recommendations[i - 1].score for i in visible_ranks(tab)]
    assert scores == sorted(scores, reverse=True)
    assert tab.get_attribute("th:has(button[data-sort=score])", "aria-sort") == "descending"
    tab.click('th button[data-sort="score"]')
    scores = [report.recommendations[i - 1].score for i in visible_ranks(tab)]
    assert scores == sorted(scores)
    tab.click('th button[data-sort="location"]')
    places = [(report.recommendations[i - 1].path, report.recommendations[i - 1].line)
              for i in visible_ranks(tab)]
    assert places == sorted(places)
    tab.click('th button[data-sort="rank"]')
    assert visible_ranks(tab) == list(range(1, total + 1))

    # Expanding: the hostile one shows its snippet (no file), highlighted, as text.
    assert tab.is_hidden("#detail-1")
    tab.click("#rec-1 td.msg")
    assert tab.is_visible("#detail-1")
    assert tab.get_attribute("#rec-1 button.toggle", "aria-expanded") == "true"
    marked = tab.locator("#detail-1 .code-before .hll")
    assert marked.count() == 2
    assert EVIL_CODE in marked.first.inner_text()
    # A real one shows the file around the flagged line, the flagged line marked.
    real = report.recommendations[1]
    tab.click("#rec-2 button.toggle")
    assert tab.is_visible("#detail-2")
    numbers = tab.locator("#detail-2 .code-before .linenos").all_inner_texts()
    assert numbers[0].strip() == str(max(1, real.line - 3))
    flagged = tab.locator("#detail-2 .code-before .hll").first.inner_text()
    assert real.snippet.before.splitlines()[0].strip() in flagged
    assert real.snippet.after.splitlines()[0].strip() in \
        tab.locator("#detail-2 .code-after").inner_text()
    tab.click("#rec-2 td.msg")
    assert tab.is_hidden("#detail-2")

    shot = os.environ.get("OPTADVISOR_SCREENSHOT")
    if shot:
        tab.click("#rec-2 td.msg")
        tab.screenshot(path=shot, full_page=True)

    assert seen["dialogs"] == [], "an injected script ran"
    assert seen["requests"] == [], "the page tried to load something"
    assert seen["errors"] == [], "the console logged errors"
