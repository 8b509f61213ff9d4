"""`--format markdown`: golden output on the fixtures, escaping, and the size limit."""

from __future__ import annotations

import dataclasses
import re

from test_render_common import (
    EVIL_CODE,
    EVIL_PATH,
    check_golden,
    evil_report,
    stable_report,
    with_recommendations,
)

from optadvisor.models import Snippet
from optadvisor.render import markdown
from optadvisor.render.markdown import code, diff, text


def test_fixtures_golden():
    check_golden("fixtures.md", markdown.render(stable_report()))


def test_summary_targets_and_every_recommendation_with_its_snippets():
    report = stable_report()
    out = markdown.render(report)
    assert out.startswith(f"## ⚡ optadvisor: {len(report.recommendations)} recommendations")
    assert "| Priority |" in out and "### Top targets by component" in out
    for rank, rec in enumerate(report.recommendations, start=1):
        assert f"**{rank}.** `{rec.path}:{rec.line}`" in out
    # A change is shown as a diff; advice in words (manual fixes) under the user's code.
    changes = [r for r in report.recommendations if r.snippet.after]
    assert out.count("```diff\n") == len(changes)
    assert out.count("**What to do:**") == len(report.recommendations) - len(changes)
    # Cut to a PR comment's size, it fits and keeps the best-ranked first.
    comment = markdown.render(report, limit=markdown.COMMENT_LIMIT_CHARS)
    assert len(comment.encode()) < markdown.COMMENT_LIMIT_CHARS and "**1.** " in comment


def test_over_the_limit_the_lowest_ranked_are_left_out_and_counted():
    report = stable_report()
    full = markdown.render(report)
    limit = len(full.encode()) // 2
    out = markdown.render(report, limit=limit)
    assert len(out.encode()) < limit
    shown = len(re.findall(r"^\*\*\d+\.\*\* ", out, flags=re.MULTILINE))
    assert 0 < shown < len(report.recommendations)
    left = len(report.recommendations) - shown
    assert f"> {left} more recommendation" in out
    # The best-ranked ones are the ones kept.
    assert "**1.** " in out and f"**{len(report.recommendations)}.** " not in out


def test_tiny_limit_still_returns_a_bounded_document():
    out = markdown.render(stable_report(), limit=300)
    assert len(out.encode()) < 300
    assert "cut to fit the size limit" in out


def test_hostile_text_is_shown_not_obeyed():
    out = markdown.render(evil_report())
    # The path is inside a code span, where HTML is literal text.
    assert f"`{EVIL_PATH}:" in out
    # Outside code spans, markup is escaped; inside the message's own spans it is kept.
    assert "is slow &amp; `<script>` is \"quoted\"" in out
    assert f"`{EVIL_CODE}`" in out
    # Code goes into a fence: `</script>` inside it is code, not a tag.
    assert "- y = '</script>'" in out
    # Raw HTML contexts (<summary>) get HTML escaping.
    assert "<summary>Fix: Blocking &lt;i&gt;call&lt;/i&gt; &amp; &#34;more&#34; (" in out
    without_code = re.sub(r"^(`{3,})\w*\n.*?^\1$", "", out, flags=re.MULTILINE | re.DOTALL)
    without_code = re.sub(r"(`+).*?\1", "", without_code)
    assert "<img" not in without_code and "<script" not in without_code


def test_text_escapes_markdown_outside_code_spans():
    assert text("__init__.py *x* [a](b) <i>&") == \
        r"\_\_init\_\_.py \*x\* \[a\](b) \<i\>&amp;"
    assert text("keep `a_b|c` code") == r"keep `a_b\|c` code"
    assert text("two\nlines") == "two lines"


def test_code_spans_survive_backticks_and_pipes():
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b") == r"`a\|b`"


def test_diff_fence_outgrows_backticks_in_the_code():
    block = diff("s = '```'", "s = 1")
    assert block.startswith("````diff\n- s = '```'\n+ s = 1\n````")


def test_no_recommendations():
    report = with_recommendations(stable_report(), [])
    report = dataclasses.replace(report, summary=dataclasses.replace(
        report.summary, recommendations=0, by_priority={}, by_kind={}))
    out = markdown.render(report)
    assert "No recommendations: nothing to change." in out


def test_multi_line_fix_is_one_diff_block():
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0],
                              snippet=Snippet(before="a = f(\n    1,\n)", after="a = g(1)\n\nb = 2"))
    out = markdown.render(with_recommendations(report, [rec]))
    assert "```diff\n- a = f(\n-     1,\n- )\n+ a = g(1)\n+\n+ b = 2\n```" in out
