"""`optadvisor compare`: two saved results side by side, for CI.

Two ProfileRuns give per-function deltas (matched by path and qualified name) and the
deltas of wall time, CPU time, script time and peak RSS. Two scan reports give the
recommendations that came and went (matched by fingerprint) and the change of their
counts. What counts as a regression is written into the Comparison itself (`criteria`),
so every output says which rule failed the build and why.

    comparison = compare_files(Path("before.json"), Path("after.json"), 0.10)
    print(render_comparison(comparison, "markdown"))
    sys.exit(comparison.exit_code)
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

from optadvisor import __version__
from optadvisor.compare_calls import call_deltas, calls_note, user_path
from optadvisor.config import ConfigError
from optadvisor.inputs import DOCUMENT_BYTES, InputError, load_json
from optadvisor.models import (
    PRIORITIES,
    ComparedFile,
    Comparison,
    CountDelta,
    FindingDelta,
    FunctionDelta,
    HotFunction,
    MetricDelta,
    ProfileRun,
    Recommendation,
    Regression,
    RepeatFunction,
    RepeatRun,
    Report,
    Significance,
    priority_rank,
)
from optadvisor.profile.store import is_profile_run
from optadvisor.render import json_text
from optadvisor.significance import CONFIDENCE, MIN_RUNS, median, test_change

FORMATS = ("table", "markdown", "html", "json")
"""`table`, `markdown` and `html` are optadvisor/render/compare_<name>.py."""

SIGNIFICANT_SHARE_PCT = 5.0
"""A function must take this share of either run's wall time to fail a comparison."""
SAMPLE_FLOOR = 2
"""…and, for sampled runs, grow by more than this many sampling intervals: a function
seen in 2 samples and then 3 has not slowed down by 50 %."""
SEVERE = ("critical", "high")
_EPSILON = 1e-9


# --------------------------------------------------------------------------- options


_REGRESSION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$")


def parse_regression(text: str) -> float:
    """`10%` → 0.10, `0.1` → 0.10. A bare number is a fraction and must be below 1:
    `10` alone is ambiguous (10 % or 1000 %?), so it is refused rather than guessed."""
    match = _REGRESSION.match(str(text))
    if match is None:
        raise ConfigError(f"--max-regression: {text!r} is not a percentage "
                          "(write it as 10% or 0.1)")
    value = float(match.group(1))
    if match.group(2):
        return value / 100
    if value >= 1:
        raise ConfigError(f"--max-regression: {text!r} is ambiguous; write {text.strip()}% "
                          f"for {text.strip()} percent (a bare number is a fraction below 1)")
    return value


def percent(fraction: float) -> str:
    """0.1 → `10%`, 0.125 → `12.5%`."""
    return f"{round(fraction * 100, 4):g}%"


# --------------------------------------------------------------------------- entry points


def compare_files(before: Path, after: Path, max_regression: float | None,
                  findings: Path | None = None) -> Comparison:
    """Raises ConfigError, naming the file, for anything that cannot be compared.
    `findings`: a scan report (made before `scan --fix`) whose recommendations mark the
    functions of two profile runs that the fix changed."""
    first, second = _load(Path(before)), _load(Path(after))
    if isinstance(first, ProfileRun) and isinstance(second, ProfileRun):
        comparison = compare_runs(first, second, max_regression,
                                  before_file=str(before), after_file=str(after))
        if findings is not None:
            scan = _load(Path(findings))
            if not isinstance(scan, Report):
                raise ConfigError(f"{findings}: --findings takes a scan report "
                                  "(--format json), not a profile run")
            comparison = with_findings(comparison, scan, str(findings), (first, second))
        return comparison
    if findings is not None:
        raise ConfigError("--findings marks functions of two profile runs; "
                          f"{before} and {after} are not both profile runs")
    if isinstance(first, Report) and isinstance(second, Report):
        return compare_reports(first, second, max_regression,
                               before_file=str(before), after_file=str(after))
    raise ConfigError(f"cannot compare {before} ({_what(first)}) with {after} "
                      f"({_what(second)}): compare two profile runs or two scan reports")


def _what(loaded: ProfileRun | Report) -> str:
    return "a profile run" if isinstance(loaded, ProfileRun) else "a scan report"


def render_comparison(comparison: Comparison, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown compare format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json_text(comparison.to_dict(), indent=2) + "\n"
    # Imported on demand, like render.get_renderer: JSON in CI never loads rich or jinja.
    render: Any = import_module(f"optadvisor.render.compare_{fmt}").render
    return str(render(comparison))


def _load(path: Path) -> ProfileRun | Report:
    try:
        data = load_json(path, DOCUMENT_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except InputError as exc:  # a directory, a FIFO, a device; too large; too deep
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from None
    if is_profile_run(data):
        try:
            return ProfileRun.from_dict(data)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if isinstance(data, dict) and "summary" in data and "recommendations" in data:
        if data.get("schema_version") != 1:
            raise ConfigError(f"{path}: scan report schema_version "
                              f"{data.get('schema_version')!r} is not supported (1 is)")
        try:
            return Report.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{path}: malformed scan report: {exc!r}") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    what = f"kind {kind!r}" if isinstance(kind, str) else type(data).__name__
    raise ConfigError(f"{path}: not a profile run (--save-run) or a scan report "
                      f"(--format json); found {what}")


# --------------------------------------------------------------------------- profile runs


def compare_runs(before: ProfileRun, after: ProfileRun, max_regression: float | None, *,
                 before_file: str = "before", after_file: str = "after") -> Comparison:
    """Deltas of two runs. When both were made with `profile --repeat N` (N ≥ MIN_RUNS), the
    figures are the medians of their runs and a change counts only when it is significant
    (optadvisor/significance.py); otherwise one figure is compared with one, as always."""
    floor = _sample_floor(before, after)
    totals = tuple(_run_totals(before, after, max_regression))
    functions = _function_deltas(before, after, max_regression, floor,
                                 _coverage_gain(before, after))
    tested = _tested(before, after)
    regressions = [_total_regression(m) for m in totals if m.regression]
    regressions += [_function_regression(f) for f in
                    sorted((f for f in functions if f.regression),
                           key=lambda f: (-f.delta_seconds, f.name))]
    return Comparison(
        kind="profile-run",
        before=_run_side(before, before_file), after=_run_side(after, after_file),
        max_regression=max_regression, totals=totals, functions=functions,
        calls=call_deltas(before, after),
        criteria=tuple(_run_criteria(max_regression, floor, tested)),
        regressions=tuple(regressions),
        notes=(*_run_notes(before, after), *_repeat_notes(before, after),
               *calls_note(before, after)),
        tool_version=__version__)


# --------------------------------------------------------------------------- repeated runs


def _runs(run: ProfileRun) -> int:
    """How many runs a side's figures stand for (its repeats that ended normally)."""
    return len(run.ok_repeats()) if run.repeats else 1


def _tested(before: ProfileRun, after: ProfileRun) -> bool:
    return min(_runs(before), _runs(after)) >= MIN_RUNS


def _values(run: ProfileRun, single: float | None,
            each: Callable[[RepeatRun], float | None]) -> list[float]:
    """One figure of every normally ended repeated run, or the run's single figure;
    missing figures (no monitor, killed early) left out."""
    if not run.repeats:
        return [single] if single is not None else []
    return [v for v in (each(r) for r in run.ok_repeats()) if v is not None]


def _median_or_none(values: list[float]) -> float | None:
    return median(values) if values else None


def _significance(before: list[float], after: list[float], before_run: ProfileRun,
                  after_run: ProfileRun) -> Significance | None:
    """The test of a change; None when neither side was repeated (nothing to test with)."""
    if not before_run.repeats and not after_run.repeats:
        return None
    return test_change(before, after)


def _repeat_notes(before: ProfileRun, after: ProfileRun) -> Iterable[str]:
    runs = (_runs(before), _runs(after))
    if min(runs) >= MIN_RUNS:
        return
    if runs == (1, 1):
        yield ("not tested for significance: one run per side, and one run of a program "
               "moves by several percent on its own; profile both with --repeat 5 so that "
               "compare reports only significant changes")
        return
    yield (f"not tested for significance: {runs[0]} and {runs[1]} runs that ended "
           f"normally, {MIN_RUNS} per side are needed (profile both with --repeat 5); "
           "figures of repeated runs are medians")


def with_findings(comparison: Comparison, scan: Report, file: str,
                  runs: tuple[ProfileRun, ProfileRun] | None = None) -> Comparison:
    """Marks each user function of a run comparison with the rules the scan found in it
    (matched by path and qualified name), and sums up what happened to those functions:
    the measured effect of fixing them. When both runs timed functions with findings in
    their calls pass (`profile --calls --findings`), their wall time per call is compared
    too: a coroutine that waits on I/O is rarely on the sampled stack, so this is where an
    async fix shows."""
    rules: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in scan.recommendations:
        rules[(rec.path, rec.symbol)].add(rec.rule)
    timed_note = _timed_with_findings(rules, runs, file) if runs is not None else ""
    functions = []
    marked = []
    for function in comparison.functions:
        found = rules.get((function.path, function.name)) if function.user else None
        if found:
            function = replace(function, findings=tuple(sorted(found)))
            marked.append(function)
        functions.append(function)
    if not marked and timed_note:
        note = timed_note
    elif not marked:
        wall = next((m for m in comparison.totals if m.name == "wall_seconds"), None)
        total = "" if wall is None else (
            f" Wall time: {format_value(wall.before, 's')} → {format_value(wall.after, 's')}"
            + (f" ({signed_pct(wall.delta_pct)})" if wall.delta_pct is not None else "") + ".")
        note = (f"No profiled function has a finding in {file}. A coroutine waiting on I/O "
                "is not on the sampled stack, so the effect of async fixes shows in the run's "
                "totals (or time them: `profile --calls --findings` on both runs); otherwise "
                "check that the runs and the scan were made from the same directory, on the "
                "same code." + total)
    else:
        before = sum(f.before_total for f in marked)
        after = sum(f.after_total for f in marked)
        ratio = _ratio(before, after)
        lines = [f"{f.name} ({', '.join(f.findings)}): "
                 f"{format_value(f.before_total, 's')} → {format_value(f.after_total, 's')}"
                 + (f" ({signed_pct(f.delta_pct)})" if f.delta_pct is not None else "")
                 + (f", {verdict(f.significance, 's')}" if f.significance is not None else "")
                 for f in sorted(marked, key=lambda f: f.delta_seconds)]
        note = (f"Functions with findings in {file}: {len(marked)}, "
                f"{format_value(before, 's')} → {format_value(after, 's')} in total"
                + (f" ({signed_pct(_pct(ratio))})" if ratio is not None else "")
                + ". " + "; ".join(lines))
        if timed_note:
            note += ". " + timed_note
    return replace(comparison, functions=tuple(functions),
                   notes=(*comparison.notes, note))


def _timed_with_findings(rules: dict[tuple[str, str], set[str]],
                         runs: tuple[ProfileRun, ProfileRun], file: str) -> str:
    """`Timed by the calls pass, with findings in F: handle (OPT103): 4 calls, 1.20 s → 0.31 s
    per call (-74.2%)`; "" when no function with findings was timed in both runs."""
    before = {(c.path, c.name): c for c in runs[0].calls if c.calls}
    after = {(c.path, c.name): c for c in runs[1].calls if c.calls}
    lines = []
    for key in sorted(set(before) & set(after) & set(rules)):
        old, new = before[key], after[key]
        old_means, new_means = _call_means(runs[0], key), _call_means(runs[1], key)
        old_mean, new_mean = median(old_means), median(new_means)
        ratio = _ratio(old_mean, new_mean)
        calls = (f"{old.calls}" if old.calls == new.calls else f"{old.calls} → {new.calls}") \
            + (" call" if new.calls == 1 else " calls")
        tested = ""
        if runs[0].repeats or runs[1].repeats:
            tested = f", {verdict(test_change(old_means, new_means, digits=9), 's')}"
        lines.append(f"{key[1]} ({', '.join(sorted(rules[key]))}): {calls}, "
                     f"{format_value(old_mean, 's')} → "
                     f"{format_value(new_mean, 's')} per call"
                     + (f" ({signed_pct(_pct(ratio))})" if ratio is not None else "")
                     + tested)
    if not lines:
        return ""
    return f"Timed by the calls pass, with findings in {file}: " + "; ".join(lines) + "."


def _call_means(run: ProfileRun, key: tuple[str, str]) -> list[float]:
    """The wall time per call of one function in each calls pass of the run: one per
    repeated run (`--calls --repeat`), else the one pass's."""
    means = [c.mean_seconds for r in run.ok_repeats() for c in r.calls
             if (c.path, c.name) == key and c.calls]
    if means:
        return means
    return [c.mean_seconds for c in run.calls if (c.path, c.name) == key and c.calls][:1]


def _run_side(run: ProfileRun, file: str) -> ComparedFile:
    label = " ".join([Path(run.script).name, *run.args])
    problem = ""
    outcome = run.outcome
    if outcome.status != "ok":
        problem = outcome.message or {
            "timeout": "stopped at the timeout",
            "signal": f"killed by {outcome.signal or 'a signal'}",
            "exception": f"raised {outcome.exception}" if outcome.exception else "raised",
            "exit-nonzero": f"exited with {outcome.returncode}",
        }.get(outcome.status, outcome.status)
    return ComparedFile(file=file, kind="profile-run", label=label, created=run.created,
                        tool_version=run.tool_version, status=outcome.status, problem=problem,
                        runs=_runs(run))


def _peak_rss(run: ProfileRun) -> float | None:
    peak = (run.metrics.rss_peak if run.metrics else 0) or (
        run.memory.rss_peak if run.memory else 0)
    return float(peak) if peak else None


def _positive(value: float) -> float | None:
    return value if value > 0 else None


_TOTALS: tuple[tuple[str, str, str, Callable[[ProfileRun], float | None],
                     Callable[[RepeatRun], float | None], bool], ...] = (
    ("wall_seconds", "wall time", "s", lambda r: _positive(r.wall_seconds),
     lambda r: _positive(r.wall_seconds), True),
    ("cpu_seconds", "CPU time", "s", lambda r: _positive(r.cpu_seconds),
     lambda r: _positive(r.cpu_seconds), True),
    ("rss_peak_bytes", "peak RSS", "bytes", lambda r: _peak_rss(r),
     lambda r: float(r.rss_peak) if r.rss_peak else None, True),
    ("script_seconds", "script time", "s", lambda r: _positive(r.script_seconds),
     lambda r: _positive(r.script_seconds), False),
)
"""name, label, unit, the figure of a run, of one repeated run, gated."""


def _run_totals(before: ProfileRun, after: ProfileRun,
                limit: float | None) -> Iterable[MetricDelta]:
    for name, label, unit, single, each, gated in _TOTALS:
        old = _values(before, single(before), each)
        new = _values(after, single(after), each)
        metric = _metric(name, label, unit, _median_or_none(old), _median_or_none(new),
                         limit if gated else None, gated=gated)
        significance = _significance(old, new, before, after)
        if significance is not None:
            metric = replace(metric, significance=significance,
                             regression=metric.regression and _confirmed(significance))
        yield metric


def _confirmed(significance: Significance) -> bool:
    """Whether a regression found on the medians stands: untested ones do (today's rule,
    the notes say they were not tested), tested ones only when the figure significantly
    grew."""
    if not significance.tested:
        return True
    return significance.significant and (significance.low or 0.0) > 0


def _metric(name: str, label: str, unit: str, before: float | None, after: float | None,
            limit: float | None, *, gated: bool = True) -> MetricDelta:
    delta = None if before is None or after is None else _round(after - before)
    ratio = _ratio(before, after)
    regression = (gated and limit is not None and ratio is not None
                  and ratio > limit + _EPSILON)
    return MetricDelta(name=name, label=label, unit=unit, before=before, after=after,
                       delta=delta, delta_pct=_pct(ratio), gated=gated,
                       regression=regression)


def _ratio(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before <= 0:
        return None
    return (after - before) / before


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio * 100, 2)


def _round(value: float) -> float:
    return round(value, 6)


def _sample_floor(before: ProfileRun, after: ProfileRun) -> float:
    """Seconds a function's time must grow by, beyond the ratio, to count (0 when traced)."""
    rates = [run.samples.rate for run in (before, after)
             if run.samples is not None and run.samples.rate > 0 and run.mode == "sample"]
    return SAMPLE_FLOOR / min(rates) if rates else 0.0


def _function_path(run: ProfileRun, function: HotFunction | RepeatFunction) -> str:
    """The path a function is matched by: user code relative to the profiled script's own
    directory (two runs of one script started from different directories, or from two
    checkouts, name its files alike), library code independent of where the interpreter
    lives."""
    if function.user:
        return user_path(run, function.file, function.path)
    file = function.file.replace("\\", "/")
    stdlib = run.environment.stdlib.replace("\\", "/").rstrip("/")
    if stdlib and file.startswith(stdlib + "/"):
        rest = file[len(stdlib) + 1:]
        for marker in ("site-packages/", "dist-packages/"):
            if rest.startswith(marker):
                return "<site-packages>/" + rest[len(marker):]
        return "<stdlib>/" + rest
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in file:
            return "<site-packages>/" + file.split(marker, 1)[1]
    return function.path


def _by_key(run: ProfileRun) -> dict[tuple[str, str], HotFunction]:
    found: dict[tuple[str, str], HotFunction] = {}
    for function in run.functions:
        key = (_function_path(run, function), function.name)
        seen = found.get(key)
        if seen is None or function.total_seconds > seen.total_seconds:
            found[key] = function
    return found


def _repeat_times(run: ProfileRun) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(total, self) seconds of each function in each normally ended repeated run, by
    compare's key; a run a function is missing from gave it no time (0)."""
    runs = run.ok_repeats()
    times: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(
        lambda: [(0.0, 0.0)] * len(runs))
    for index, repeated in enumerate(runs):
        seen: set[tuple[str, str]] = set()
        for function in repeated.functions:
            key = (_function_path(run, function), function.name)
            if key in seen:  # the same name in two files that match alike: the heavier
                continue
            seen.add(key)
            times[key][index] = (function.total_seconds, function.self_seconds)
    return times


def _wall(run: ProfileRun) -> float:
    """The wall time shares are of: the median of repeated runs."""
    walls = [r.wall_seconds for r in run.ok_repeats() if r.wall_seconds > 0]
    return median(walls) if run.repeats and walls else run.wall_seconds


def _share(seconds: float, run: ProfileRun) -> float:
    wall = _wall(run)
    if wall <= 0:
        wall = max((f.total_seconds for f in run.functions), default=0.0)
    return round(100 * seconds / wall, 2) if wall > 0 else 0.0


def _uncovered(run: ProfileRun) -> float:
    """Seconds of the run's wall time its samples do not cover (the wall time less the
    total of the script's `<module>`, the root frame of every sample): a sampler attaches
    some milliseconds after the process starts, and how many varies from run to run. The
    median over repeated runs; 0 when the run has no root frame to tell."""
    def gap(one: ProfileRun) -> float:
        roots = [f.total_seconds for f in one.functions if f.name == "<module>" and f.user]
        if not roots or one.wall_seconds <= 0:
            return 0.0
        return max(0.0, one.wall_seconds - max(roots))
    runs = run.ok_repeats() if run.repeats else []
    return median([gap(r) for r in runs]) if runs else gap(run)


def _coverage_gain(before: ProfileRun, after: ProfileRun) -> float:
    """Seconds the after run's samples gained only by covering more of its wall time than
    the before run's did: a function's time may grow by that much with no change at all
    (CI, 2 cores: a 0.16 s script sampled for 0.09 s before and 0.16 s after read as a
    +78% regression of `<module>`, at the same wall time)."""
    if before.mode != "sample" or after.mode != "sample":
        return 0.0
    return max(0.0, _uncovered(before) - _uncovered(after))


def _function_deltas(before: ProfileRun, after: ProfileRun, limit: float | None,
                     floor: float, gained: float = 0.0) -> tuple[FunctionDelta, ...]:
    old, new = _by_key(before), _by_key(after)
    old_runs, new_runs = _repeat_times(before), _repeat_times(after)
    rows: list[FunctionDelta] = []
    for key in {*old, *new}:
        a, b = old.get(key), new.get(key)
        known = b or a
        assert known is not None
        # Repeated runs: the medians of every run's figures (a run without the function
        # gave it 0), whichever run the report's body is.
        old_times = old_runs[key] if before.repeats else None
        new_times = new_runs[key] if after.repeats else None
        before_total, before_self = _median_times(old_times, a)
        after_total, after_self = _median_times(new_times, b)
        # Seen on a side: in its report's run, or (repeated) in any of its runs.
        seen_before = a is not None or any(t for t in _totals_of(old_times, None))
        seen_after = b is not None or any(t for t in _totals_of(new_times, None))
        ratio = _ratio(before_total, after_total) if seen_before and seen_after else None
        before_share, after_share = _share(before_total, before), _share(after_total, after)
        significant = max(before_share, after_share) >= SIGNIFICANT_SHARE_PCT
        delta = _round(after_total - before_total)
        regression = (limit is not None and significant and ratio is not None
                      and ratio > limit + _EPSILON and delta > floor + gained + _EPSILON)
        significance = None
        if significant and (old_times is not None or new_times is not None):
            significance = test_change(_totals_of(old_times, a), _totals_of(new_times, b))
            regression = regression and _confirmed(significance)
        rows.append(FunctionDelta(
            # User code is shown as the later run names it (relative to its root).
            name=key[1], path=known.path if known.user else key[0], line=known.line, user=bool(a and a.user or b and b.user),
            status="changed" if seen_before and seen_after else ("new" if seen_after else "gone"),
            before_self=before_self, after_self=after_self,
            before_total=before_total, after_total=after_total, delta_seconds=delta,
            delta_pct=_pct(ratio), before_share=before_share, after_share=after_share,
            significant=significant, regression=regression, significance=significance))
    rows.sort(key=lambda f: (not f.user, -abs(f.delta_seconds),
                             -max(f.before_total, f.after_total), f.path, f.name))
    return tuple(rows)


def _median_times(times: list[tuple[float, float]] | None,
                  function: HotFunction | None) -> tuple[float, float]:
    """(total, self) of one side: medians over its repeated runs, else the one run's."""
    if times is not None:
        return (_round(median([t for t, _ in times])), _round(median([s for _, s in times])))
    if function is None:
        return 0.0, 0.0
    return function.total_seconds, function.self_seconds


def _totals_of(times: list[tuple[float, float]] | None,
               function: HotFunction | None) -> list[float]:
    """A function's total time in each of one side's runs (the one run's without
    repeats; none when that run did not see it)."""
    if times is not None:
        return [total for total, _ in times]
    return [function.total_seconds] if function is not None else []


def _total_regression(metric: MetricDelta) -> Regression:
    rule = {"wall_seconds": "wall-time", "cpu_seconds": "cpu-time",
            "rss_peak_bytes": "peak-rss"}.get(metric.name, metric.name)
    before, after = (format_value(v, metric.unit) for v in (metric.before, metric.after))
    return Regression(rule=rule, subject=metric.label, message=(
        f"{metric.label} {signed_pct(metric.delta_pct)}: {before} → {after}"
        + _tested_suffix(metric.significance, metric.unit)))


def _function_regression(function: FunctionDelta) -> Regression:
    return Regression(
        rule="function-time", subject=function.name, path=function.path,
        line=function.line, message=(
            f"`{function.name}` total time {signed_pct(function.delta_pct)}: "
            f"{function.before_total:.3f} s → {function.after_total:.3f} s "
            f"({max(function.before_share, function.after_share):.1f}% of wall time)"
            + _tested_suffix(function.significance, "s")))


def _tested_suffix(significance: Significance | None, unit: str) -> str:
    if significance is None or not significance.tested:
        return ""
    return (f", medians of {significance.runs_before} and {significance.runs_after} runs, "
            f"{interval_text(significance, unit)}")


def _run_criteria(limit: float | None, floor: float, tested: bool = False) -> Iterable[str]:
    if tested:
        yield (f"figures are medians of the repeated runs; a change is significant when the "
               f"{CONFIDENCE:.0%} bootstrap interval of the difference of the medians "
               "excludes zero, and only significant changes count")
    if limit is None:
        yield "no --max-regression given: deltas are reported, nothing fails"
        return
    significant = ", and significantly so" if tested else ""
    yield (f"wall time, CPU time or peak RSS more than {percent(limit)} above the before "
           f"run{significant}")
    floor_text = (f" and by more than {floor:.2f} s ({SAMPLE_FLOOR} sampling intervals)"
                  if floor else "")
    yield (f"a function's total time more than {percent(limit)} above the before run"
           f"{floor_text}{significant} (beyond what the after run's samples gained by "
           "covering more of its wall time), for functions that take at least "
           f"{SIGNIFICANT_SHARE_PCT:g}% of either run's wall time; smaller functions, and "
           "functions only one run has, are shown but never fail")


def _run_notes(before: ProfileRun, after: ProfileRun) -> Iterable[str]:
    for name, run in (("before", before), ("after", after)):
        if run.outcome.status != "ok":
            side = _run_side(run, "")
            yield (f"the {name} run did not finish normally ({run.outcome.status}: "
                   f"{side.problem}); its figures cover only what ran")
    if Path(before.script).name != Path(after.script).name:
        yield (f"the runs profiled different scripts ({Path(before.script).name} and "
               f"{Path(after.script).name})")
    if before.mode != after.mode:
        yield f"the runs were measured differently ({before.mode} and {after.mode} mode)"
    elif before.environment.sampler.split()[:1] != after.environment.sampler.split()[:1]:
        yield (f"the runs used different samplers ({before.environment.sampler} and "
               f"{after.environment.sampler}): function times are not strictly comparable")
    if before.environment.python != after.environment.python:
        yield (f"the runs used different Pythons ({before.environment.python} and "
               f"{after.environment.python})")


# --------------------------------------------------------------------------- scans


def compare_reports(before: Report, after: Report, max_regression: float | None, *,
                    before_file: str = "before", after_file: str = "after") -> Comparison:
    old = [*before.recommendations, *before.unchanged]
    new = [*after.recommendations, *after.unchanged]
    added, fixed, unchanged = _match(old, new)
    findings = tuple([_finding("new", r) for r in sorted(added, key=_rank)]
                     + [_finding("fixed", r) for r in sorted(fixed, key=_rank)])
    count = _metric("recommendations", "recommendations", "count", float(len(old)),
                    float(len(new)), None, gated=max_regression is not None)
    growth = _growth(len(old), len(new))
    grew = max_regression is not None and growth > max_regression + _EPSILON
    count = replace(count, regression=grew)
    totals = (
        count,
        *(_metric(name, label, "count", float(getattr(before.summary, name)),
                  float(getattr(after.summary, name)), None, gated=False)
          for name, label in (("files", "files"), ("lines", "lines"),
                              ("functions", "functions"), ("errors", "files not analyzed"))),
    )
    regressions: list[Regression] = []
    if grew:
        assert max_regression is not None
        regressions.append(Regression(
            rule="recommendation-growth", subject="recommendations", message=(
                f"recommendations grew from {len(old)} to {len(new)} "
                f"({_growth_text(len(old), len(new))}), more than {percent(max_regression)}")))
    if max_regression is not None:
        for rec in sorted(added, key=_rank):
            if rec.priority in SEVERE:
                regressions.append(Regression(
                    rule="severe-recommendation", subject=f"{rec.rule} {rec.kind}",
                    path=rec.path, line=rec.line, message=(
                        f"new {rec.priority} recommendation {rec.rule}: {rec.message}")))
    return Comparison(
        kind="scan", before=_scan_side(before, before_file), after=_scan_side(after, after_file),
        max_regression=max_regression, totals=totals, findings=findings,
        unchanged=len(unchanged), counts=tuple(_counts(old, new)),
        criteria=tuple(_scan_criteria(max_regression)), regressions=tuple(regressions),
        notes=tuple(_scan_notes(before, after)), tool_version=__version__)


def _scan_side(report: Report, file: str) -> ComparedFile:
    return ComparedFile(file=file, kind="scan", label=report.root or "(unknown root)",
                        tool_version=report.tool_version)


def _match(old: list[Recommendation], new: list[Recommendation]
           ) -> tuple[list[Recommendation], list[Recommendation], list[Recommendation]]:
    """(new, fixed, unchanged). Fingerprints are unique within a scan (they count
    occurrences), but matching as multisets keeps the counts right if one is not."""
    waiting: dict[str, list[Recommendation]] = defaultdict(list)
    for rec in old:
        waiting[rec.fingerprint].append(rec)
    added: list[Recommendation] = []
    unchanged: list[Recommendation] = []
    for rec in new:
        if waiting.get(rec.fingerprint):
            waiting[rec.fingerprint].pop(0)
            unchanged.append(rec)
        else:
            added.append(rec)
    fixed = [rec for recs in waiting.values() for rec in recs]
    return added, fixed, unchanged


def _rank(rec: Recommendation) -> tuple[int, int, str, int, str]:
    return (priority_rank(rec.priority), -rec.score, rec.path, rec.line, rec.rule)


def _finding(status: str, rec: Recommendation) -> FindingDelta:
    return FindingDelta(status=status, rule=rec.rule, kind=rec.kind, priority=rec.priority,
                        score=rec.score, path=rec.path, line=rec.line, symbol=rec.symbol,
                        component=rec.component, message=rec.message,
                        fingerprint=rec.fingerprint)


def _growth(before: int, after: int) -> float:
    if before:
        return (after - before) / before
    return math.inf if after else 0.0


def _growth_text(before: int, after: int) -> str:
    return f"+{100 * (after - before) / before:.1f}%" if before else "from none"


def _counts(old: list[Recommendation], new: list[Recommendation]) -> Iterable[CountDelta]:
    for group, attribute in (("priority", "priority"), ("kind", "kind")):
        a = Counter(getattr(r, attribute) for r in old)
        b = Counter(getattr(r, attribute) for r in new)
        if group == "priority":
            names = [*PRIORITIES, *sorted((set(a) | set(b)) - set(PRIORITIES))]
        else:
            names = sorted(set(a) | set(b), key=lambda k: (-max(a[k], b[k]), k))
        for name in names:
            yield CountDelta(group=group, name=name, before=a[name], after=b[name])


def _scan_criteria(limit: float | None) -> Iterable[str]:
    if limit is None:
        yield "no --max-regression given: new and fixed recommendations are reported, " \
              "nothing fails"
        return
    yield f"the number of recommendations grew by more than {percent(limit)}"
    yield "any new recommendation is critical or high priority (whatever the threshold)"


def _scan_notes(before: Report, after: Report) -> Iterable[str]:
    if before.summary.errors != after.summary.errors:
        yield (f"files not analyzed: {before.summary.errors} before, "
               f"{after.summary.errors} after; their recommendations are missing from "
               "the counts")
    for name, report in (("before", before), ("after", after)):
        if report.summary.baseline:
            yield (f"the {name} scan was made with --baseline; both its new and its "
                   "unchanged recommendations are compared")


# --------------------------------------------------------------------------- text


# Shared by the messages here and the compare renderers, so every format shows the same
# figure the same way.


def signed_pct(value: float | None) -> str:
    """12.345 → `+12.3%`; None (nothing to divide by) → `n/a`."""
    return "n/a" if value is None else f"{value:+.1f}%"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "bytes":
        if abs(value) < 1048576:
            return f"{value / 1024:.0f} KiB"
        return f"{value / 1048576:.1f} MiB"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.0f}"


def milliseconds(seconds: float | None) -> str:
    """A time per call: `12.3 ms`; `–` when it was not measured."""
    return f"{seconds * 1000:.1f} ms" if seconds else "–"


def milliseconds_bounds(significance: Significance | None) -> str:
    """`-22.0 ms … -18.0 ms`: the interval of a change of a time per call ("" untested)."""
    if significance is None or significance.low is None or significance.high is None:
        return ""
    return f"{significance.low * 1000:+.1f} ms … {significance.high * 1000:+.1f} ms"


def format_delta(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    sign = "+" if value > 0 else ("-" if value < 0 else "±")
    return sign + format_value(abs(value), unit)


def spread_text(low: float | None, high: float | None, unit: str) -> str:
    """`0.498–0.530 s`: the range of one side's repeated runs."""
    if low is None or high is None:
        return "–"
    if unit == "s":
        return f"{low:.3f}–{high:.3f} s"
    if unit == "bytes":
        return f"{low / 1048576:.1f}–{high / 1048576:.1f} MiB"
    return f"{format_value(low, unit)}–{format_value(high, unit)}"


def bounds_text(significance: Significance | None, unit: str) -> str:
    """`+0.210 s … +0.402 s`: the interval of the difference of the medians ("" untested)."""
    if significance is None or significance.low is None or significance.high is None:
        return ""
    return f"{format_delta(significance.low, unit)} … {format_delta(significance.high, unit)}"


def interval_text(significance: Significance, unit: str) -> str:
    """`95% interval +0.210 s … +0.402 s` of the difference of the medians."""
    bounds = bounds_text(significance, unit)
    return f"{significance.confidence:.0%} interval {bounds}" if bounds else ""


def verdict(significance: Significance | None, unit: str) -> str:
    """What the test of one change says, in words: `significant: 95% interval …`, `no
    significant change (95% interval …)`, `not tested (1 and 3 runs)`; "" without
    repeated runs on either side."""
    if significance is None:
        return ""
    if not significance.tested:
        return (f"not tested ({significance.runs_before} and {significance.runs_after} runs; "
                f"{MIN_RUNS} per side needed)")
    text = interval_text(significance, unit)
    if not significance.significant:
        return f"no significant change ({text})"
    return f"significant ({text})"


def short_verdict(significance: Significance | None) -> str:
    """`significant`, `no significant change`, `not tested (1 and 3 runs)`; "" without
    repeated runs on either side. Tables show the interval in a column of its own."""
    if significance is None:
        return ""
    if not significance.tested:
        return f"not tested ({significance.runs_before} and {significance.runs_after} runs)"
    return "significant" if significance.significant else "no significant change"


def is_noise(significance: Significance | None) -> bool:
    """A tested change that is not significant: shown, but not as a change."""
    return significance is not None and significance.tested and not significance.significant


def headline(comparison: Comparison) -> str:
    """The one-line verdict every format opens with."""
    if comparison.max_regression is None:
        return "report only (no --max-regression)"
    limit = percent(comparison.max_regression)
    count = len(comparison.regressions)
    if count:
        return f"{count} regression{'s' if count != 1 else ''} (--max-regression {limit})"
    return f"no regression (--max-regression {limit})"


def location(path: str, line: int) -> str:
    return f"{path}:{line}" if line else path
