"""Scores, candidate flags, ranked targets and the action plan.

A recommendation's score ranks by impact x confidence / effort (DESIGN.md): the rule's
priority sets the impact, the context raises it (work repeated in a loop costs once per
item), and confidence and effort scale it. Targets (functions, files, components) add up
the recommendations inside them and the static signs that code should be measured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Collection, Iterable, NamedTuple

from optadvisor.models import (
    FileFacts, FunctionFact, PlanPhase, Recommendation, Rule, SourceFile, Target,
    priority_rank,
)

IMPACT = {"critical": 90, "high": 70, "medium": 45, "low": 20}
CONFIDENCE = {"high": 1.0, "medium": 0.8, "low": 0.6}
EFFORT = {"small": 1.0, "medium": 0.8, "large": 0.6}
LOOP_BONUS = 15
"""Per enclosing loop: the cost is paid once per item."""
WORTH_ACTING = 40
"""A recommendation at or above this score makes its function an optimization candidate."""

CACHING_KINDS = {"cache-candidate", "unbounded-cache", "client-per-call"}
ASYNC_KINDS = {"blocking-call-in-async", "sequential-awaits", "await-in-loop", "n-plus-one",
               "sync-retry-sleep", "io-wait", "sequential-blocking-calls"}


def score_recommendation(rule: Rule, env: dict[str, Any]) -> int:
    impact = IMPACT.get(rule.priority, 20)
    call = env.get("call")
    if call is not None and call.loop_depth:
        impact += LOOP_BONUS * min(call.loop_depth, 2)
    hotspot = env.get("hotspot")
    if hotspot is not None:
        # Measured: the share of the run this function costs is the impact.
        impact += min(30.0, max(hotspot.user_self_pct, hotspot.total_pct) / 3)
    value = impact * CONFIDENCE.get(rule.confidence, 0.8) * EFFORT.get(rule.effort, 0.8)
    return max(0, min(100, round(value)))


def measured_score(score: int, share: float | None) -> int:
    """A static score re-weighted by the measured share (0-100) of its function's time:
    x0.6 when the run never reached it, up to x1.4 when the function took all of it."""
    factor = 0.6 if share is None else 0.6 + 0.8 * min(100.0, share) / 100
    return max(0, min(100, round(score * factor)))


def rank_key(rec: Recommendation) -> tuple[Any, ...]:
    return (-rec.score, priority_rank(rec.priority), rec.path, rec.line, rec.rule)


def profiling_signal(fn: FunctionFact, network_calls: int) -> bool:
    """Code whose cost cannot be judged statically: nested iteration, big bodies, or
    network/IO calls repeated inside loops."""
    return fn.max_loop_depth >= 2 or fn.statements >= 60 or (fn.loops > 0 and network_calls > 0)


@dataclass
class _Acc:
    path: str
    component: str
    symbol: str
    kind: str
    scores: list[int]
    caching: bool = False
    async_: bool = False
    profiling: bool = False
    optimization: bool = False

    def add(self, rec: Recommendation) -> None:
        self.scores.append(rec.score)
        self.caching |= rec.kind in CACHING_KINDS or rec.category == "caching"
        self.async_ |= rec.kind in ASYNC_KINDS or rec.category == "async"
        self.optimization |= rec.score >= WORTH_ACTING

    def target(self) -> Target:
        return Target(kind=self.kind, path=self.path, component=self.component,
                      symbol=self.symbol, score=combined_score(self.scores, self.profiling),
                      caching=self.caching,
                      async_=self.async_, profiling=self.profiling,
                      optimization=self.optimization, recommendations=len(self.scores))


def combined_score(scores: list[int], profiling: bool) -> int:
    """The best finding counts whole; each further one closes half as much of the
    remaining gap to 100 as the one before (a probabilistic "or" with decaying weights), so
    a file with many findings ranks above one with few without every busy file hitting 100.
    Code that should be measured adds a little."""
    remaining = 1.0
    for i, score in enumerate(sorted(scores, reverse=True)):
        remaining *= 1 - (score / 100) * (0.5 ** i)
    total = 100 * (1 - remaining) + (5 if profiling else 0)
    return max(0, min(100, round(total)))


class Outline(NamedTuple):
    """What ranking targets needs of one file: its size, and the functions that can be a
    target (those with findings or a profiling signal), in source order. Small enough to
    keep per file in the warm state (warm.py), so a warm scan ranks without facts."""

    rel: str
    component: str
    lines: int
    functions: int
    marks: tuple[tuple[str, bool], ...]
    """(qualname, profiling signal) of each function a target may be made for."""


def outline(source: SourceFile, facts: FileFacts, symbols: Collection[str]) -> Outline:
    """`symbols`: the symbols of this file's recommendations (their functions rank even
    without a profiling signal)."""
    network_by_fn: dict[int, int] = defaultdict(int)
    for call in facts.calls:
        if call.timeout or call.blocking:
            network_by_fn[call.function] += 1
    marks = []
    for index, fn in enumerate(facts.functions):
        profiling = profiling_signal(fn, network_by_fn.get(index, 0))
        if profiling or fn.qualname in symbols:
            marks.append((fn.qualname, profiling))
    return Outline(source.rel, source.component, facts.lines, len(facts.functions),
                   tuple(marks))


def targets(files: Iterable[tuple[SourceFile, FileFacts]],
            recs: list[Recommendation]) -> tuple[list[Target], dict[str, int]]:
    """Ranked function/file/component targets and the candidate counts (per function)."""
    symbols: dict[str, set[str]] = defaultdict(set)
    for rec in recs:
        symbols[rec.path].add(rec.symbol)
    return ranked_targets([outline(source, facts, symbols.get(source.rel, ()))
                           for source, facts in files], recs)


def ranked_targets(outlines: Iterable[Outline], recs: list[Recommendation]
                   ) -> tuple[list[Target], dict[str, int]]:
    """`targets` from the files' outlines."""
    by_symbol: dict[tuple[str, str], list[Recommendation]] = defaultdict(list)
    by_path: dict[str, list[Recommendation]] = defaultdict(list)
    for rec in recs:
        by_symbol[(rec.path, rec.symbol)].append(rec)
        by_path[rec.path].append(rec)
    functions: list[_Acc] = []
    file_accs: dict[str, _Acc] = {}
    comp_accs: dict[str, _Acc] = {}
    for item in outlines:
        file_acc = _Acc(item.rel, item.component, "", "file", [])
        comp_acc = comp_accs.setdefault(
            item.component, _Acc("", item.component, "", "component", []))
        for qualname, profiling in item.marks:
            found = by_symbol.get((item.rel, qualname), ())
            if not found and not profiling:
                continue  # marked for findings that are no longer among `recs`
            acc = _Acc(item.rel, item.component, qualname, "function", [])
            acc.profiling = profiling
            for rec in found:
                acc.add(rec)
            functions.append(acc)
            file_acc.profiling |= profiling
        for rec in by_path.get(item.rel, ()):
            file_acc.add(rec)
        if file_acc.scores or file_acc.profiling:
            file_accs[item.rel] = file_acc
            comp_acc.scores.extend(file_acc.scores)
            comp_acc.caching |= file_acc.caching
            comp_acc.async_ |= file_acc.async_
            comp_acc.profiling |= file_acc.profiling
            comp_acc.optimization |= file_acc.optimization
    counts = {
        "caching": sum(a.caching for a in functions),
        "async": sum(a.async_ for a in functions),
        "profiling": sum(a.profiling for a in functions),
        "optimization": sum(a.optimization for a in functions),
    }
    ranked = [a.target() for a in (*functions, *file_accs.values(), *comp_accs.values())
              if a.scores or a.profiling]
    ranked.sort(key=lambda t: (-t.score, t.kind, t.path, t.symbol))
    return ranked, counts


def plan(recs: list[Recommendation], target_list: list[Target]) -> list[PlanPhase]:
    """Quick wins first (high impact, small effort), then structural changes, then what
    to measure next."""
    quick, structural = [], []
    for index, rec in enumerate(recs):
        if rec.effort == "small" and rec.score >= WORTH_ACTING:
            quick.append(index)
        else:
            structural.append(index)
    measure = [t for t in target_list if t.kind == "function" and t.profiling]
    phases = [
        PlanPhase("Quick wins", f"{len(quick)} small change(s) with a large effect", tuple(quick)),
        PlanPhase("Structural changes", f"{len(structural)} change(s) that need more care",
                  tuple(structural)),
        PlanPhase("Measure next",
                  f"{len(measure)} function(s) whose cost only a profile can tell: "
                  "run `optadvisor profile` on an entry point that reaches them", ()),
    ]
    return [p for p in phases if p.recommendations or p.name == "Measure next" and measure]
