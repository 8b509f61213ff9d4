"""Scores, candidate flags, targets and the plan, on the fixtures and on small cases."""

from __future__ import annotations

from conftest import FIXTURES, write

from optadvisor.api import ScanOptions, scan, scan_source
from optadvisor.render.table import render, target_line


def fixtures_report():
    return scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=1))


def test_scores_rank_and_range():
    report = fixtures_report()
    scores = [r.score for r in report.recommendations]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)


def test_loop_raises_score_over_same_rule_outside_loop():
    code = '''
import time

async def once():
    time.sleep(1)

async def many(items):
    for item in items:
        time.sleep(1)
'''
    recs, _ = scan_source(code)
    by_symbol = {r.symbol: r.score for r in recs}
    assert by_symbol["many"] > by_symbol["once"]


def test_candidates_count_function_targets():
    report = fixtures_report()
    functions = [t for t in report.targets if t.kind == "function"]
    counts = report.summary.candidates
    assert counts["async"] == sum(t.async_ for t in functions) > 0
    assert counts["caching"] == sum(t.caching for t in functions) > 0
    assert counts["optimization"] == sum(t.optimization for t in functions) > 0
    assert counts["profiling"] == sum(t.profiling for t in functions)
    # Every function with an OPT101 is an async candidate.
    async_symbols = {(r.path, r.symbol) for r in report.recommendations if r.rule == "OPT101"}
    flagged = {(t.path, t.symbol) for t in functions if t.async_}
    assert async_symbols <= flagged


def test_profiling_candidate_from_nested_loops(tmp_path):
    write(tmp_path, {"a/heavy.py": '''
def pairs(xs, ys):
    out = []
    for x in xs:
        for y in ys:
            out.append(x * y)
    return out
'''})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    (target,) = [t for t in report.targets if t.kind == "function"]
    assert target.symbol == "pairs" and target.profiling and not target.optimization
    assert report.summary.candidates["profiling"] == 1


def test_terminal_ends_with_top_targets():
    report = fixtures_report()
    text = render(report, width=100, color=False)
    tail = text[text.index("Top targets"):]
    best_file = next(t for t in report.targets if t.kind == "file")
    assert target_line(best_file) in tail
    assert "score" in tail and "✓" in tail


def test_plan_puts_quick_wins_first():
    report = fixtures_report()
    assert report.plan[0].name == "Quick wins"
    quick = [report.recommendations[i] for i in report.plan[0].recommendations]
    assert quick and all(r.effort == "small" for r in quick)
    covered = sorted(i for p in report.plan for i in p.recommendations)
    assert covered == list(range(len(report.recommendations)))


def test_combined_score_grows_with_findings_but_stays_below_100():
    from optadvisor.scoring import combined_score

    assert combined_score([70], False) == 70
    assert combined_score([70, 70], False) > 70
    many = combined_score([70] * 30, False)
    assert combined_score([70, 70], False) < many < 100
    assert combined_score([], True) == 5
