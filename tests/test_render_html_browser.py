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


def _big_report(count: int):
    """The fixtures report grown to `count` findings, on long, deep paths."""
    import dataclasses

    from test_render_common import stable_report

    report = stable_report()
    base = report.recommendations
    recs = []
    for i in range(count):
        rec = base[i % len(base)]
        deep = "/".join(f"package_{i % 7}_with_a_rather_long_directory_name_{d}"
                        for d in range(4))
        recs.append(dataclasses.replace(
            rec, path=f"services/{deep}/module_with_a_long_file_name_{i}.py",
            symbol=f"VeryLongClassNameForTesting{i}.method_with_a_long_name_{i}",
            fingerprint=f"{rec.fingerprint[:16]}{i:016d}"))
    summary = dataclasses.replace(report.summary, recommendations=count)
    return dataclasses.replace(report, recommendations=tuple(recs), summary=summary)


def test_a_report_of_a_thousand_findings_stays_inside_1280_pixels(browser, tmp_path):
    report = _big_report(1200)
    context, tab, seen = open_page(browser, tmp_path / "big.html", report)
    try:
        tab.set_viewport_size({"width": 1280, "height": 900})
        overflow = tab.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"page {overflow[0]} px wide in a {overflow[1]} px window"
        # No table cell sticks out of its card, and long paths wrap (at `/`), not the page.
        wide = tab.evaluate("""() => {
            const out = [];
            for (const el of document.querySelectorAll('table')) {
                const card = el.parentElement.getBoundingClientRect();
                const r = el.getBoundingClientRect();
                if (r.right > card.right + 1) out.push([el.id || el.className, r.right, card.right]);
            }
            return out; }""")
        assert wide == [], wide
        # A wrapped location breaks after a `/`: every line of it but the last ends in one.
        lines = tab.evaluate("""() => {
            const code = document.querySelector('#rec-1 td.loc code');
            const range = document.createRange();
            const out = [];
            let line = '', top = null;
            for (const node of code.childNodes) {
                if (node.nodeType !== Node.TEXT_NODE) continue;
                for (let i = 0; i < node.length; i++) {
                    range.setStart(node, i); range.setEnd(node, i + 1);
                    const y = Math.round(range.getBoundingClientRect().top);
                    if (top !== null && y > top) { out.push(line); line = ''; }
                    top = y; line += node.data[i];
                }
            }
            out.push(line);
            return out; }""")
        assert len(lines) > 1, lines
        assert all(line.endswith("/") for line in lines[:-1]), lines
        assert seen["errors"] == [] and seen["requests"] == []
    finally:
        context.close()
