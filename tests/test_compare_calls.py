"""`compare` of two runs' calls passes: per timed function, calls and mean/p95 per call
before → after (medians of the runs and a test of each change with `--repeat`), in every
format, escaped; never gated. Synthetic runs built from the dataclasses first, then two
real `profile --calls --repeat 3` runs of a program whose per-call wait is an argument."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from profile_support import py_spy_problem
from test_compare_repeats import BASE, EVIL, SLOW, repeated

from optadvisor.compare import compare_runs, render_comparison
from optadvisor.models import CallStats, Comparison, ProfileRun, RepeatCall, RepeatRun
from optadvisor.render import compare_table


def with_calls(run: ProfileRun, means: list[float], p95s: list[float], *,
               name: str = "score", calls: int = 10) -> ProfileRun:
    """`run` (made by `repeated`) whose calls pass timed `name` `calls` times per run at
    these means and 95th percentiles (one per run)."""
    rows = [RepeatCall(name, "/src/app.py", "app.py", 5, calls, m * calls, m, p)
            for m, p in zip(means, p95s)]
    repeats = tuple(RepeatRun(**{**r.__dict__, "calls": (row,)})
                    for r, row in zip(run.repeats, rows))
    middle = sorted(range(len(means)), key=lambda i: means[i])[(len(means) - 1) // 2]
    stats = CallStats(name, "/src/app.py", "app.py", 5, calls=calls,
                      total_seconds=means[middle] * calls, mean_seconds=means[middle],
                      p95_seconds=p95s[middle])
    return ProfileRun(**{**run.__dict__, "repeats": repeats, "calls": (stats,)})


def test_medians_and_tests_of_the_mean_and_the_p95():
    before = with_calls(repeated(BASE), [0.030, 0.031, 0.029], [0.050, 0.052, 0.049])
    after = with_calls(repeated(BASE), [0.010, 0.011, 0.009], [0.051, 0.048, 0.050])
    [row] = compare_runs(before, after, 0.10).calls
    assert (row.name, row.path, row.status, row.before_calls, row.after_calls) == (
        "score", "app.py", "changed", 10, 10)
    assert (row.before_mean, row.after_mean) == (0.030, 0.010)
    assert (row.before_p95, row.after_p95) == (0.050, 0.050)
    assert row.mean_delta_pct == pytest.approx(-66.67)
    assert row.mean_significance.tested and row.mean_significance.significant
    assert row.mean_significance.high < 0
    # The tail did not move: tested, not significant.
    assert row.p95_significance.tested and not row.p95_significance.significant


def test_per_call_rows_never_fail_the_comparison():
    before = with_calls(repeated(BASE), [0.010, 0.011, 0.009], [0.02, 0.02, 0.02])
    after = with_calls(repeated(BASE), [0.030, 0.031, 0.029], [0.05, 0.05, 0.05])
    c = compare_runs(before, after, 0.10)
    assert c.calls[0].mean_significance.significant and c.calls[0].mean_delta_pct > 100
    assert c.regressions == () and c.exit_code == 0


def test_one_run_per_side_is_compared_untested():
    before = with_calls(repeated([1.0]), [0.030], [0.04])
    after = with_calls(repeated([1.0]), [0.010], [0.02])
    before = ProfileRun(**{**before.__dict__, "repeats": ()})
    after = ProfileRun(**{**after.__dict__, "repeats": ()})
    [row] = compare_runs(before, after, 0.10).calls
    assert (row.before_mean, row.after_mean, row.before_p95, row.after_p95) == (
        0.030, 0.010, 0.04, 0.02)
    assert row.mean_significance is None and row.p95_significance is None


def test_new_and_gone_functions_and_a_side_without_a_calls_pass():
    before = with_calls(repeated(BASE), [0.03] * 3, [0.04] * 3, name="old_name")
    after = with_calls(repeated(BASE), [0.03] * 3, [0.04] * 3, name="new_name")
    rows = {d.name: d for d in compare_runs(before, after, None).calls}
    assert rows["old_name"].status == "gone" and rows["old_name"].after_calls == 0
    assert rows["new_name"].status == "new" and rows["new_name"].before_calls == 0
    assert rows["new_name"].mean_significance is None
    plain = repeated(BASE)
    c = compare_runs(before, plain, None)
    assert c.calls == ()
    assert any("only the before run has a calls pass" in note for note in c.notes)


def test_runs_saved_before_p95_was_kept_test_the_mean_alone():
    before = with_calls(repeated(BASE), [0.030, 0.031, 0.029], [0.0, 0.0, 0.0])
    after = with_calls(repeated(BASE), [0.010, 0.011, 0.009], [0.0, 0.0, 0.0])
    [row] = compare_runs(before, after, None).calls
    assert row.mean_significance.significant and row.p95_significance is None
    assert row.before_p95 == 0.0 and row.p95_delta_pct is None


def test_every_format_shows_the_per_call_changes():
    before = with_calls(repeated(BASE), [0.030, 0.031, 0.029], [0.050, 0.052, 0.049])
    after = with_calls(repeated(SLOW), [0.010, 0.011, 0.009], [0.020, 0.021, 0.019])
    c = compare_runs(before, after, 0.10)
    text = compare_table.render(c, width=100, color=False)
    assert "Calls pass: wall time per call (ms)" in text
    assert re.search(r"score +10 +30\.0 → 10\.0 +50\.0 → 20\.0", text)
    assert re.search(r"-66\.7% significant +-60\.0% significant", text)
    narrow = compare_table.render(c, width=80, color=False)
    assert max(map(len, narrow.splitlines())) <= 80
    md = render_comparison(c, "markdown")
    assert ("| `score` | `app.py:5` | 10 | 30.0 ms → 10.0 ms | -66.7% | 50.0 ms → 20.0 ms "
            "| -60.0% | significant | significant |") in md
    page = render_comparison(c, "html")
    assert re.search(r"30\.0 ms → 10\.0 ms</td><td class=\"num\"><span class=\"down\">"
                     r"-66\.7%</span><span class=\"interval\">significant · -22\.0 ms … "
                     r"-18\.0 ms</span>", page)
    data = json.loads(render_comparison(c, "json"))
    [row] = data["calls"]
    assert row["before_mean"] == 0.030 and row["after_p95"] == 0.020
    assert row["mean_significance"]["significant"] is True
    assert Comparison.from_dict(data) == c


def test_formats_escape_the_function_names():
    hostile = EVIL + "\x1b]0;pwned\x07|*x*"
    before = with_calls(repeated(BASE), [0.03] * 3, [0.04] * 3, name=hostile)
    after = with_calls(repeated(BASE), [0.01] * 3, [0.02] * 3, name=hostile)
    c = compare_runs(before, after, None)
    assert c.calls[0].name == hostile
    page = render_comparison(c, "html")
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = render_comparison(c, "table")
    assert "\x1b" not in text
    md = render_comparison(c, "markdown")
    assert "\x1b" not in md
    calls_section = md.split("### Calls pass", 1)[1]
    row = next(line for line in calls_section.splitlines() if "alert" in line)
    # Inside a code span; its `|` escaped so it does not open a column.
    assert row.startswith("| `<script>alert(1)</script>") and "\\|*x*` |" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 10


# --------------------------------------------------------------------------- real runs

PROGRAM = """
    import sys
    import time


    def fetch(item, delay):
        time.sleep(delay)  # the request: what a slower backend stretches
        return sum(range(2000 + item))


    def main(delay):
        return sum(fetch(i, delay) for i in range(20))


    if __name__ == "__main__":
        print(main(float(sys.argv[1])))
"""


@pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")
def test_real_calls_passes_compare_per_call(tmp_path: Path):
    from optadvisor.profile import ProfileOptions, run_profile

    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(PROGRAM))

    def profiled(delay: str) -> ProfileRun:
        # `fetch` named as flagged (what `--findings` does): the fast run sleeps 20 ms in
        # all, which a loaded machine's sampler may not catch, and only sampled or flagged
        # functions are wrapped (CI once saw no `fetch` row at all).
        return run_profile(ProfileOptions(script=script, args=(delay,), calls=True, repeat=3,
                                          flagged=((str(script.resolve()), "fetch"),),
                                          stdout="null", stdin="null", timeout=120))

    fast, slow = profiled("0.001"), profiled("0.04")
    c = compare_runs(fast, slow, 0.10)
    row = next(d for d in c.calls if d.name == "fetch")
    assert row.status == "changed" and row.before_calls == row.after_calls == 20
    # A sleep only ever lasts longer than asked: 40 ms is a floor, and 1 ms plus the sum
    # stays far below it even on a loaded machine.
    assert row.after_mean >= 0.040 and row.after_p95 >= 0.040
    assert row.before_mean < row.after_mean and row.before_p95 < row.after_p95
    assert row.mean_significance.tested and row.mean_significance.significant
    assert row.mean_significance.low > 0
    assert all(len(r.calls) and r.calls[0].p95_seconds > 0 for r in slow.repeats)
    assert "fetch" in render_comparison(c, "markdown").split("### Calls pass", 1)[1]
    data = json.loads(render_comparison(c, "json"))
    assert any(d["name"] == "fetch" for d in data["calls"])
