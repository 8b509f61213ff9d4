"""`--format html`, read as text: self-contained, escaped, CSP-locked, excerpts right.

The page in a real browser is tests/test_render_html_browser.py.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html as htmllib
import json
import re

from test_render_common import (
    EVIL_CODE,
    EVIL_PATH,
    EVIL_SYMBOL,
    evil_report,
    stable_report,
    with_recommendations,
)

from optadvisor.models import Snippet
from optadvisor.render import html
from optadvisor.render.html import inline_code

SCRIPT = re.compile(r"<script([^>]*)>(.*?)</script>", re.DOTALL)


def scripts(page: str) -> list[tuple[str, str]]:
    return SCRIPT.findall(page)


def data_of(page: str) -> dict:
    (body,) = [text for attrs, text in scripts(page) if 'id="optadvisor-data"' in attrs]
    return json.loads(body)


def test_csp_allows_exactly_the_inline_script_and_nothing_remote():
    page = html.render(stable_report())
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert csp, "no CSP meta tag"
    policy = htmllib.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    (code,) = [text for attrs, text in scripts(page) if not attrs.strip()]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy


def test_no_external_loads():
    page = html.render(stable_report())
    # Nothing is fetched: every src/href is a data: URI, except plain <a> links (rule
    # references a person may click; a page never loads those by itself).
    for tag, attrs in re.findall(r"<([a-zA-Z]+)\b([^>]*)>", page):
        for url in re.findall(r"\b(?:src|href|srcset|action|poster)=\"([^\"]*)\"", attrs):
            if tag.lower() == "a":
                assert url.startswith(("https://", "http://", "#")), url
            else:
                assert url.startswith("data:"), (tag, url)
    assert "@import" not in page and not re.search(r"url\((?!data:)", page)


def test_hostile_content_is_escaped_everywhere():
    page = html.render(evil_report())
    assert len(scripts(page)) == 2  # the data block and the app script, nothing injected
    assert "<img" not in page and "<i>call</i>" not in page
    assert "<script>alert(1)</script>" not in page
    assert htmllib.escape(EVIL_PATH, quote=False) in page
    # In the JSON block, < > & are \u escapes, and the data reads back unchanged.
    data = data_of(page)
    first = data["recommendations"][0]
    assert first["path"] == EVIL_PATH and first["symbol"] == EVIL_SYMBOL
    assert EVIL_CODE in first["message"]
    (body,) = [t for a, t in scripts(page) if 'id="optadvisor-data"' in a]
    assert "<" not in body and ">" not in body and "&" not in body


def test_summary_counts_and_a_row_per_recommendation():
    report = stable_report()
    page = html.render(report)
    assert page.count('<tr class="rec"') == len(report.recommendations)
    assert page.count('<tr class="detail"') == len(report.recommendations)
    for kind in report.summary.by_kind:
        assert f'data-filter="kind" data-value="{kind}"' in page
    assert len(data_of(page)["recommendations"]) == len(report.recommendations)


def test_excerpt_comes_from_the_file_with_the_flagged_lines_marked():
    report = stable_report()
    rec = report.recommendations[0]
    page = html.render(with_recommendations(report, [rec]))
    detail = page[page.index('id="detail-1"'):]
    marked = re.search(r'<span class="hll">(.*?)</span>\n?</span>|<span class="hll">(.*?)\n',
                       detail, re.DOTALL)
    assert marked
    flagged = re.sub(r"<[^>]+>", "", marked.group(0))
    first_line = rec.snippet.before.splitlines()[0].strip()
    assert htmllib.unescape(flagged).strip().endswith(first_line)
    # Three lines of context above, numbered as in the file.
    assert f'<span class="linenos">{rec.line - 3}</span>' in detail


def test_without_sources_the_snippet_is_the_excerpt():
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0],
                              snippet=Snippet(before="a = f(\n    1)", after="a = g(1)"))
    page = html.render(with_recommendations(report, [rec]), read_sources=False)
    detail = page[page.index('id="detail-1"'):]
    assert detail.count('class="hll"') == 2
    assert "Flagged code" in detail


def test_a_path_leaving_the_root_is_not_read(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("TOKEN = 'do-not-show'\n" * 20)
    root = tmp_path / "root"
    root.mkdir()
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0], path="../secret.py", line=5,
                              end_line=5, snippet=Snippet(before="TOKEN", after="x"))
    report = dataclasses.replace(with_recommendations(report, [rec]), root=str(root))
    assert "do-not-show" not in html.render(report)


def test_profile_section_renders_nothing_without_a_profile():
    page = html.render(stable_report())
    assert 'id="profile"' not in page and "PROFILE SECTION" not in page


def test_inline_code_escapes_text_and_marks_code():
    assert inline_code("`<a>` & <b>") == "<code>&lt;a&gt;</code> &amp; &lt;b&gt;"
    assert inline_code("odd ` tick <x>") == "odd ` tick &lt;x&gt;"


def test_rows_past_the_highlight_cap_show_plain_code(monkeypatch):
    monkeypatch.setattr(html, "MAX_HIGHLIGHTED", 1)
    report = stable_report()
    page = html.render(with_recommendations(report, list(report.recommendations[:2])))
    first = page[page.index('id="detail-1"'):page.index('id="detail-2"')]
    second = page[page.index('id="detail-2"'):]
    assert '<span class="n">' in first and '<span class="n">' not in second
    assert '<span class="hll">' in second and '<span class="linenos">' in second
