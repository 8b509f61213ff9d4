"""Rules evaluated over the facts of every file: each match becomes a Recommendation.

Rules are indexed by subject once; per subject the work is one light view and one compiled
closure per rule. Templates render only for matches.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, Sequence

import pathspec

from optadvisor.analyze.catalog import Catalog
from optadvisor.analyze.comments import is_suppressed
from optadvisor.context import DEMOTED, file_context, generated_marker, legacy_path
from optadvisor.analyze import parse_quietly
from optadvisor.fix.edits import apply_edits, compatible, dedented_by
from optadvisor.fix.site import ShapeCall, fix_key
from optadvisor.link import Awaited, Via, Wrapped
from optadvisor.config import ConfigError
from optadvisor.pyversion import project_python, project_runtime
from optadvisor.models import (
    PRIORITIES, Config, EngineResult, ErrorRecord, FileFacts, Fix, Recommendation, Snippet,
    SourceFile, priority_rank,
)
from optadvisor.rules import CompiledRule, TemplateRenderer, plain_title, selected
from optadvisor.scoring import score_recommendation
from optadvisor.subjects import (
    AwaitGroupView, CallView, FileView, FunctionView, LoopView, SourceText,
)

if TYPE_CHECKING:  # the fix machinery (and libcst) loads when a finding first needs a fix
    from optadvisor.cache import FixCache
    from optadvisor.fix.source import FixSource


@dataclass
class FileInput:
    source: SourceFile
    facts: FileFacts
    text: SourceText
    via: dict[int, Via] = field(default_factory=dict)
    """Calls (by index in facts.calls) that block through project helpers (link.py)."""
    awaited: dict[str, Awaited] = field(default_factory=dict)
    """Awaited project callees -> what link knows of them (link.Awaited)."""
    runs_once: frozenset[int] = frozenset()
    """Functions only setup code calls (link.py)."""
    alone: frozenset[int] = frozenset()
    """Coroutines that run alone on an event loop of their own (link.py)."""
    setup_only: frozenset[int] = frozenset()
    """Of runs_once, functions no entry point (`main`) reaches (link.py)."""
    wraps: dict[int, Wrapped] = field(default_factory=dict)
    """Calls (by index in facts.calls) that make an instance of a project class that
    builds a client (link.py)."""
    offloaded: frozenset[int] = frozenset()
    """Calls (by index in facts.calls) in a lambda a project helper runs in a worker
    thread (link.py)."""
    fresh_loop: frozenset[int] = frozenset()
    """Coroutines some project call runs on an event loop made for that call (link.py)."""
    uncalled: frozenset[int] = frozenset()
    """Private functions nothing in the project names (link.py)."""
    on_loop: frozenset[int] = frozenset()
    """Plain `def`s a framework runs on its event loop (link.py's _loop_handler_methods)."""
    starts_alone: frozenset[int] = frozenset()
    """Coroutines alone on their loop until their first await (link.py's _starts_alone)."""
    fix_source: "FixSource | None" = None
    """The file as fix shapes read it, made when its first finding needs a fix."""
    digest: str = ""
    """Of the file's bytes (the fix cache's key); "" when not known."""


class Engine:
    def __init__(self, rules: list[CompiledRule], catalog: Catalog, config: Config,
                 select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
                 fix_cache: "FixCache | None" = None) -> None:
        self.catalog = catalog
        self.fix_cache = fix_cache
        self.skipped_contexts = config.skipped_contexts()
        self.templates = TemplateRenderer()
        self.known = tuple(c.rule.id for c in rules)
        check_codes(self.known, [
            ("--select", select), ("--ignore", ignore), ("select (config)", config.select),
            ("ignore (config)", config.ignore), ("extend-select (config)", config.extend_select),
            *((f"per-path-ignores {p.pattern!r} (config)", p.rules)
              for p in config.per_path_ignores)])
        self.by_subject: dict[str, list[CompiledRule]] = defaultdict(list)
        for compiled in rules:
            if selected(compiled.rule.id, select or config.select, ignore or config.ignore,
                        compiled.rule.opt_in, config.extend_select):
                self.by_subject[compiled.rule.subject].append(compiled)
        self.notes = self._selection_notes(
            (("--select", select) if select else ("select (config)", config.select)),
            (("--ignore", ignore) if ignore else ("ignore (config)", config.ignore)))
        self.path_ignores = [
            (pathspec.GitIgnoreSpec.from_lines([p.pattern]), p.rules)
            for p in config.per_path_ignores
        ]

    def _selection_notes(self, select: tuple[str, tuple[str, ...]],
                         ignore: tuple[str, tuple[str, ...]]) -> list[str]:
        """Warnings for stderr: a select code whose every rule is ignored selects nothing,
        and a selection that leaves no rule runs nothing; a gate that checks nothing must
        not pass in silence."""
        running = {c.rule.id for group in self.by_subject.values() for c in group}
        (select_from, select_codes), (ignore_from, ignore_codes) = select, ignore
        if self.known and not running:
            given = " and ".join(f"{origin} {','.join(codes)}" for origin, codes
                                 in (select, ignore) if codes)
            return [f"no rule runs: nothing is left after {given}"]
        return [f"{select_from} {code} selects no rule that runs: {ignore_from} "
                f"{','.join(ignore_codes)} drops every rule it names"
                for code in select_codes
                if not any(rid in running for rid in self.known
                           if code == "ALL" or rid.startswith(code))]

    def run(self, files: Iterable[FileInput]) -> EngineResult:
        recs: list[Recommendation] = []
        suppressed = 0
        skipped: dict[str, int] = defaultdict(int)
        for item in files:
            self.check_suppressions(item)
            context = file_context(item.source.rel, item.facts)
            if context in self.skipped_contexts:
                # A test blocks, builds clients and loops in order on purpose, on mocks; an
                # example or a playground shows an API one call at a time: what is slow
                # there is not what users run. Their facts still link.
                skipped[context] += 1
                continue
            found, silenced = self.run_file(item)
            recs.extend(found)
            suppressed += silenced
        return EngineResult(recs, suppressed, dict(sorted(skipped.items())))

    def rule_errors(self) -> list[ErrorRecord]:
        """Templates that failed to render so far (rule-error records naming the rule file)."""
        return self.templates.records()

    def check_suppressions(self, item: FileInput) -> None:
        """`# noqa: OPT1O1` suppresses nothing: an unknown code of ours in a suppression
        comment is the same error as in --select (other tools' codes, `E501`, are theirs)."""
        for line, codes in item.facts.suppressions:
            ours = tuple(c for c in codes if c.startswith("OPT"))
            if ours:
                check_codes(self.known, [(f"{item.source.rel}:{line} (suppression comment)",
                                          ours)])

    def run_file(self, item: FileInput) -> tuple[list[Recommendation], int]:
        facts = item.facts
        ignored = tuple(code for spec, codes in self.path_ignores
                        if spec.match_file(item.source.rel) for code in codes)
        table = dict(facts.suppressions)
        file_view = FileView(facts, item.source.component)
        functions = _FunctionViews(facts, self.catalog, item.runs_once, item.alone,
                                   item.setup_only, item.fresh_loop, item.uncalled,
                                   item.on_loop, item.starts_alone)
        matches: list[tuple[CompiledRule, dict[str, Any], tuple[int, int, int, int], str]] = []

        call_rules = self.by_subject.get("call", ())
        if call_rules:
            for index, call in enumerate(facts.calls):
                fview = functions[call.function]
                view = CallView(call, fview, item.text, item.via.get(index),
                                item.wraps.get(index), index in item.offloaded)
                env = {"call": view, "function": fview, "file": file_view}
                for compiled in call_rules:
                    if compiled.when(env):
                        span = (call.line, call.column, call.end_line, call.end_column)
                        matches.append((compiled, env, span, fview.qualname))
        loop_rules = self.by_subject.get("loop", ())
        if loop_rules:
            for loop in facts.loops:
                fview = functions[loop.function]
                env = {"loop": LoopView(loop, item.text, item.awaited, self.catalog),
                       "function": fview, "file": file_view}
                for compiled in loop_rules:
                    if compiled.when(env):
                        header = item.text.line(loop.line)
                        column = len(header) - len(header.lstrip()) + 1
                        span = (loop.line, column, loop.line, len(header.rstrip()) + 1)
                        matches.append((compiled, env, span, fview.qualname))
        for subject, groups in (("await-group", facts.await_groups),
                                ("call-group", facts.call_groups)):
            group_rules = self.by_subject.get(subject, ())
            for group in groups if group_rules else ():
                fview = functions[group.function]
                env = {"group": AwaitGroupView(group, item.text, item.awaited, self.catalog),
                       "function": fview, "file": file_view}
                for compiled in group_rules:
                    if compiled.when(env):
                        first = group.calls[0]
                        last = group.calls[-1]
                        header = item.text.line(first[0])
                        column = len(header) - len(header.lstrip()) + 1
                        span = (first[0], column, last[2], last[3])
                        matches.append((compiled, env, span, fview.qualname))
        cache_rules = self.by_subject.get("cache", ())
        if cache_rules:
            for cache in facts.caches:
                fview = functions[cache.function]
                env = {"cache": cache, "function": fview, "file": file_view}
                for compiled in cache_rules:
                    if compiled.when(env):
                        span = (cache.line, cache.column, cache.end_line, cache.end_column)
                        matches.append((compiled, env, span, fview.qualname))
        function_rules = self.by_subject.get("function", ())
        if function_rules:
            for index in range(len(facts.functions)):
                fview = functions[index]
                env = {"function": fview, "file": file_view}
                fact = fview.fact
                for compiled in function_rules:
                    if compiled.when(env):
                        span = (fact.line, fact.column, fact.line, fact.column)
                        matches.append((compiled, env, span, fact.qualname))
        for compiled in self.by_subject.get("module", ()):
            env = {"file": file_view}
            if compiled.when(env):
                matches.append((compiled, env, (1, 1, 1, 1), "<module>"))

        found: list[tuple[Recommendation, CompiledRule, dict[str, Any]]] = []
        silenced = 0
        occurrences: dict[tuple[str, str, str], int] = defaultdict(int)
        for compiled, env, span, symbol in _outermost(matches):
            rule = compiled.rule
            if ignored and any(rule.id.startswith(code) for code in ignored):
                silenced += 1
                continue
            if table and is_suppressed(rule.id, (span[0], span[2]), table):
                silenced += 1
                continue
            found.append((self.recommend(compiled, env, span, symbol, item, occurrences),
                          compiled, env))
        helped = _one_per_helper(found) + _one_per_class(found)
        recs = [self._site(group, item) for group in _sites(found)]
        if helped:
            recs = _merge_helped(recs, helped, item.text.text)
        recs = _covered(recs)
        if recs and generated_marker(item.text.text):
            recs = _generated(recs)
        return recs, silenced

    def recommend(self, compiled: CompiledRule, env: dict[str, Any],
                   span: tuple[int, int, int, int], symbol: str, item: FileInput,
                   occurrences: dict[tuple[str, str, str], int]) -> Recommendation:
        rule = compiled.rule
        text = item.text
        node_text = _node_text(env, text, span)
        key = (rule.id, symbol, _normalize(node_text))
        occurrence = occurrences[key]
        occurrences[key] += 1
        # surrogateescape: a file name that is not UTF-8 holds lone surrogates, hashed as
        # the name's own bytes (strict UTF-8 ended the scan in UnicodeEncodeError).
        fingerprint = hashlib.sha256(
            "\x1f".join((rule.id, item.source.rel, *key[1:], str(occurrence)))
            .encode("utf-8", "surrogateescape")).hexdigest()[:32]
        rendered = self.templates.render_all(compiled, env, f"{item.source.rel}:{span[0]}")
        before, after = _snippet(text, span, rendered, compiled)
        indent = dedented_by(text.line(span[0]), before)
        # Rules with fix shapes get their fix once their site is known (`_site`).
        fix = Fix("manual", (), rendered["manual"]) \
            if rendered.get("manual") and not compiled.fix_cases else None
        score = score_recommendation(rule, env)
        context = file_context(item.source.rel, item.facts)
        priority, score, note = _ranked(compiled, env, context, score)
        message = rendered.get("message", "") + note
        confidence = _confidence(rule.confidence, env, context)
        return Recommendation(
            rule=rule.id, kind=rule.kind, category=rule.category, priority=priority,
            score=score, path=item.source.rel, line=span[0], column=span[1],
            end_line=span[2], end_column=span[3], symbol=symbol,
            component=item.source.component, title=rendered.get("title") or plain_title(rule),
            message=message, evidence=_evidence(env),
            impact=rendered.get("impact", ""), confidence=confidence, effort=rule.effort,
            snippet=Snippet(before=before, after=after, line=span[0], indent=indent),
            fingerprint=fingerprint, fix=fix,
            context=context,
        )

    def _site(self, group: list[tuple[Recommendation, CompiledRule, dict[str, Any]]],
              item: FileInput) -> Recommendation:
        """One site, one recommendation: the leading rule's recommendation, the others as
        its facets, and one fix that addresses them all (optadvisor/fix/)."""
        lead, compiled, env = group[0]
        rec = lead
        if len(group) > 1:
            top = min((r for r, _, _ in group), key=lambda r: priority_rank(r.priority))
            rec = dataclasses.replace(
                lead, priority=top.priority, score=max(r.score for r, _, _ in group),
                facets=tuple({"rule": r.rule, "kind": r.kind, "message": r.message}
                             for r, _, _ in group[1:]))
        if not compiled.fix_cases:
            return rec
        span = (rec.line, rec.column, rec.end_line, rec.end_column)
        where = f"{rec.path}:{rec.line}"
        lead_call = self._shape_call(compiled, env, where)
        facets = [self._shape_call(c, e, where) for _, c, e in group[1:] if c.fix_cases]
        cache, key = self.fix_cache, ""
        # Of a file on disk (an in-memory source has no project around it).
        python = project_python(item.source.path) if item.source.path.is_absolute() else None
        runtime = project_runtime(item.source.path) if item.source.path.is_absolute() else ""
        if cache is not None and item.digest:
            key = fix_key(item.digest, span, lead_call, facets, python, runtime)
            hit = cache.get(key)
            if hit is not None:
                return dataclasses.replace(rec, fix=hit[0], snippet=hit[1])
        from optadvisor.fix.build import build_fix, snippet_of
        from optadvisor.fix.source import FixSource

        if item.fix_source is None:
            item.fix_source = FixSource(item.text)
        fix = build_fix(lead_call, facets, span, item.fix_source, self.catalog,
                        item.source.rel, python, runtime)
        snippet = snippet_of(item.fix_source, fix, span)
        if cache is not None and key:
            cache.put(key, fix, snippet)
        return dataclasses.replace(rec, fix=fix, snippet=snippet)

    def _shape_call(self, compiled: CompiledRule, env: dict[str, Any], where: str
                    ) -> ShapeCall:
        """The rule's first fix case whose `when` holds here."""
        shape, params = next(((name, params) for when, name, params in compiled.fix_cases
                              if when is None or when(env)), ("", {}))
        return ShapeCall(shape, params, env, self.templates.render(compiled, "manual", env,
                                                                   where))


class _FunctionViews:
    """Views of a file's functions, built when a subject first needs one (index -1 is the
    module): most of a large tree's functions are never looked at by any rule."""

    def __init__(self, facts: FileFacts, catalog: Catalog,
                 runs_once: frozenset[int] = frozenset(),
                 alone: frozenset[int] = frozenset(),
                 setup_only: frozenset[int] = frozenset(),
                 fresh_loop: frozenset[int] = frozenset(),
                 uncalled: frozenset[int] = frozenset(),
                 on_loop: frozenset[int] = frozenset(),
                 starts_alone: frozenset[int] = frozenset()) -> None:
        self.facts = facts
        self.starts_alone = starts_alone
        self.uncalled = uncalled
        self.on_loop = on_loop
        self.catalog = catalog
        self.runs_once = runs_once
        self.alone = alone
        self.setup_only = setup_only
        self.fresh_loop = fresh_loop
        self._loaders: dict[int, int] | None = None
        self._awaited: set[str] | None = None
        self._views: dict[int, FunctionView] = {}

    def __getitem__(self, index: int) -> FunctionView:
        view = self._views.get(index)
        if view is None:
            if index < 0:
                # A Streamlit script runs top to bottom on every interaction: its module
                # level is per request, not start-up (held-out X: awesome-llm-apps' apps).
                view = FunctionView(None, self.catalog, rerun=any(
                    name == "streamlit" or name.startswith("streamlit.")
                    for name in self.facts.imports))
            else:
                if self._loaders is None:
                    self._loaders = loader_counts(self.facts)
                if self._awaited is None:  # last names of what the file's functions await
                    self._awaited = {name.rsplit(".", 1)[-1] for fn in self.facts.functions
                                     for name in fn.awaited_callees}
                fact = self.facts.functions[index]
                view = FunctionView(fact, self.catalog,
                                    self._loaders.get(index, 0), index in self.runs_once,
                                    index in self.alone, self.facts.path,
                                    index in self.setup_only,
                                    fresh_loop=index in self.fresh_loop,
                                    uncalled=index in self.uncalled,
                                    on_loop=index in self.on_loop,
                                    starts_alone=index in self.starts_alone,
                                    awaited_here=fact.name in self._awaited)
            self._views[index] = view
        return view


def loader_counts(facts: FileFacts) -> dict[int, int]:
    """Calls to catalog loaders per function index (what makes a cache candidate)."""
    counts: dict[int, int] = defaultdict(int)
    for call in facts.calls:
        if call.loader and not call.offloaded:
            counts[call.function] += 1
    return counts



def _ranked(compiled: CompiledRule, env: dict[str, Any], context: str,
            score: int) -> tuple[str, int, str]:
    """The finding's priority and score after what lowers them, and a note for its message:
    the rule's own `demote` (its evidence says this one is worth less: local file reads
    gathered, a failure path), code marked `@deprecated` (eval G: semantic-kernel's old
    memory stores, whose replacements already do it right) or kept in a `legacy/` directory
    (held-out Q and S: crawl4ai's and OpenAdapt's) — one level down each — and a
    test, example or script file (shown, ranked last, below the default --fail-on). A
    private function nothing in the project calls (link.py's _uncalled) goes one level
    down too: dead code, or run only from outside (held-out S37: its 3 findings in one
    uncalled method were read as wrong, 2 of them at `high`)."""
    priority, note = compiled.rule.priority, ""
    function = env.get("function")
    deprecated = function is not None and function.deprecated
    uncalled = function is not None and function.uncalled
    file = env.get("file")
    legacy = file is not None and legacy_path(file.path)
    for lower in (compiled.demote is not None and compiled.demote(env), deprecated or legacy,
                  uncalled):
        if lower:
            priority = PRIORITIES[min(priority_rank(priority) + 1, len(PRIORITIES) - 1)]
            score = max(1, score // 2)
    if deprecated:
        note = " (in code marked @deprecated: its replacement may already do this)"
    elif legacy:
        note = " (in a legacy or deprecated directory: code its authors replaced)"
    elif uncalled:
        note = (f" (nothing in the project calls `{function.name}`: if it is dead code, "
                "delete it rather than change it)")
    if context in DEMOTED and priority_rank(priority) < priority_rank("low"):
        priority, score = "low", max(1, score // 3)
    return priority, score, note
"""Contexts whose findings are ranked low (they never fail CI by default): tests and
examples when shown at all, and scripts (CLIs, evals, benchmarks, CI helpers run one at a
time by a developer)."""

_SITE_ORDER = ("blocking-call-in-async", "client-per-call")
"""Kinds that lead at a site they share with others: their fixes also add the missing
timeout (to_thread and hoist_client compose it)."""


@lru_cache(maxsize=4)
def _code_groups(known: tuple[str, ...]) -> frozenset[str]:
    """Every rule id and every prefix of one (`OPT1`, `OPT10`): once per rule set, not per
    suppression comment checked."""
    return frozenset(rule_id[:n] for rule_id in known for n in range(1, len(rule_id) + 1))


def check_codes(known: Sequence[str], where: list[tuple[str, tuple[str, ...]]]) -> None:
    """Every rule code a user wrote names a rule or a group of rules (`OPT1`, `ALL`): a
    typo (`OPT1O1`, `OPT9`) would switch a CI gate off without a word, so it is an error
    that names the closest codes."""
    groups = _code_groups(tuple(known))
    for origin, codes in where:
        for code in codes:
            if code == "ALL" or code.upper() in groups:
                continue
            close = difflib.get_close_matches(code.upper(), sorted(set(known)), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                f"; known rules: {', '.join(sorted(set(known)))}"
            raise ConfigError(f"{origin}: unknown rule code {code!r}{hint}")


_LEVELS = ("high", "medium", "low")


def _confidence(base: str, env: dict[str, Any], context: str) -> str:
    """The rule's confidence, lowered by what this finding's evidence lacks: a test or an
    example is not the service (low); a blocking call reached through three or more
    helpers, or one under an `if`/`except` of its helper, may sit behind a branch that
    rarely runs, and blocking work in setup code (a startup hook, `__aenter__`, a helper
    only they call) runs once (one level down each)."""
    if context in DEMOTED:
        return "low"
    level = _LEVELS.index(base) if base in _LEVELS else 0
    call = env.get("call")
    if call is not None and (getattr(call, "via_depth", 0) >= 3
                             or getattr(call, "via_conditional", False)):
        level += 1
    function = env.get("function")
    if call is not None and call.blocking_category and function is not None and \
            (function.setup or function.runs_once and not getattr(call, "in_loop", False)) \
            and not function.module_level:
        level += 1  # a startup hook or __aenter__: once, usually before any request
    return _LEVELS[min(level, len(_LEVELS) - 1)]


def _sites(found: list[Any]) -> list[list[Any]]:
    """Findings grouped by the exact span they flag, the leading one first: kinds in
    _SITE_ORDER lead (their rewrite takes the others' changes), then priority and score."""
    by_span: dict[tuple[int, int, int, int], list[Any]] = defaultdict(list)
    for entry in found:
        rec = entry[0]
        by_span[(rec.line, rec.column, rec.end_line, rec.end_column)].append(entry)
    groups = list(by_span.values())
    for group in groups:
        if len(group) > 1:
            group.sort(key=lambda e: (_SITE_ORDER.index(e[0].kind) if e[0].kind in _SITE_ORDER
                                      else len(_SITE_ORDER), priority_rank(e[0].priority),
                                      -e[0].score, e[0].rule))
    return groups


def _covered(recs: list[Recommendation]) -> list[Recommendation]:
    """One finding per change: a finding whose fix moves a whole block (a `with cursor`
    block into one worker thread) takes as facets the findings of the same rule (or of
    another that moves blocking work off the loop) inside that block (the `commit()` under
    the `execute()`), whose problem its change removes too; reported apart they are one
    problem counted twice. Two whose changes move the same block (each inside the other's)
    are one finding at the first of them."""
    blocks = {id(rec): [edit for edit in rec.fix.edits
                        if edit.end_line > edit.line and edit.column == 1]
              for rec in recs if rec.fix is not None and rec.fix.applicability != "manual"}
    if not any(blocks.values()):
        return recs

    def inside(inner: Recommendation, host: Recommendation) -> bool:
        return any((edit.line, edit.column) <= (inner.line, inner.column) and
                   (inner.end_line, inner.end_column) <= (edit.end_line, edit.end_column)
                   for edit in blocks.get(id(host), ()))

    def folds(inner: Recommendation, host: Recommendation) -> bool:
        # Not one with facets of its own (a missing timeout on the same call): moving the
        # block does not add the timeout, so that one stays a finding with its own fix. Nor
        # one with a safe fix of its own (`time.sleep` -> `await asyncio.sleep`): `--fix`
        # applies that without the block's unsafe move.
        if inner.facets or inner.fix is not None and inner.fix.applicability == "safe":
            return False
        return host is not inner and host.symbol == inner.symbol and \
            _moved_together(host, inner) and inside(inner, host) and (
                not inside(host, inner) or
                (host.line, host.column, host.rule) < (inner.line, inner.column, inner.rule))

    hosts = [rec for rec in recs if blocks.get(id(rec))]
    # A host folded into another host is not one (its block moves with the other's).
    hosts = [h for h in hosts if not any(folds(h, other) for other in hosts)]
    taken: dict[int, list[Recommendation]] = defaultdict(list)
    out: list[Recommendation] = []
    for rec in recs:
        host = next((h for h in hosts if folds(rec, h)), None)
        if host is None:
            out.append(rec)
        else:
            taken[id(host)].append(rec)
    return [_with_covered(rec, taken[id(rec)]) if id(rec) in taken else rec for rec in out]


class Fold(NamedTuple):
    """A group of findings to fold into one: the (rule, line, column) of each, how many
    distinct functions a part must span to fold, and what builds the lead (lead, siblings,
    the file's text)."""

    keys: list[tuple[str, int, int]]
    build: Callable[[Recommendation, list[Recommendation], str], Recommendation]
    functions: int = 1


def _one_per_helper(found: list[Any]) -> list[Fold]:
    """One finding per coroutine and sync helper: the calls of one coroutine that reach
    blocking work of one category through the methods of one project class (or through
    one helper) are one problem, whose change belongs in that class or helper: give it
    async methods, or move each call off the loop. Reported apart they were one finding
    per call (held-out S47: matrix_chatgpt_bot's message handler, 41 findings, each an
    SQLite query of its `LCManager`). Returns the groups of two or more, named by the helper
    (ending in `()` when every call reaches one function); _merge_helped folds each into
    one finding once their fixes are built.

    Calls group by what the coroutine calls, their first hop: the methods of one class
    (its own included: held-out GRP, chatgpt-telegram-bot's Spotify plugin, whose
    `execute` calls four of its methods that each ask spotipy), or one function. Two calls
    into unrelated code that meet deep down in one incidental lookup are two changes
    (GRP: mage-ai's cache warm-up, a path builder and its own `self.set` both ending five
    calls down in one `os.listdir`). Calls whose chains end in the very same blocking line
    are one group when one of them makes the step all of them share (`load()` beside
    `get_policy()`, which calls `load`), named by that helper."""
    groups: dict[tuple[str, int, str, str, str], list[Any]] = defaultdict(list)
    by_end: dict[tuple[str, int, str, str, str, int], list[Any]] = defaultdict(list)
    for entry in found:
        rec, _, env = entry
        call = env.get("call")
        via = getattr(call, "via_chain", None)
        if rec.kind != "blocking-call-in-async" or via is None or len(via.chain) < 2:
            continue
        end = via.chain[-1]
        # By the function's index, not its name: a module may define two functions of one
        # name (GRP: GPT-SoVITS's GET and POST `set_model` routes, S44b).
        by_end[(rec.rule, call.fact.function, via.category, end.name, end.path,
                end.line)].append(entry)
    for (rule, function, category, *_), entries in by_end.items():
        chains = [e[2]["call"].via_chain.chain for e in entries]
        firsts = {chain[0] for chain in chains}
        shared = _shared_step(chains)
        if len(firsts) > 1 and shared is not None:
            groups[(rule, function, category, shared.path, shared.name + "()")].extend(entries)
        else:
            for entry, chain in zip(entries, chains):
                # A method's class, or a module function itself.
                groups[(rule, function, category, chain[0].path,
                        chain[0].name.rpartition(".")[0] or chain[0].name)].append(entry)
    out: list[Fold] = []
    for (_, _, _, _, owner), entries in groups.items():
        if len(entries) < 2:
            continue
        if not owner.endswith("()"):
            called = {e[2]["call"].via_chain.chain[0].name for e in entries}
            if len(called) == 1:  # one helper all of them call: name it
                owner = called.pop() + "()"
        out.append(Fold([(e[0].rule, e[0].line, e[0].column) for e in entries],
                        partial(_with_helped, owner=owner)))
    return out


def _shared_step(chains: list[tuple[Any, ...]]) -> Any:
    """The first function of the hops every chain ends with (their common tail, the
    blocking call aside), when one of the chains starts there: a helper one call makes
    directly and the others reach through it. None otherwise."""
    tail = list(chains[0][:-1])
    for chain in chains[1:]:
        hops = chain[:-1]
        n = 0
        while n < min(len(tail), len(hops)) and tail[-1 - n] == hops[-1 - n]:
            n += 1
        tail = tail[len(tail) - n:]
    if tail and any(chain[0] == tail[0] for chain in chains):
        return tail[0]
    return None


_CLASS_FOLD = 3
"""Async methods of one class that make the same blocking call before they are one
finding (two stay two: the change may be local to each)."""


def _one_per_class(found: list[Any]) -> list[Fold]:
    """One finding per class and blocking call: the async methods of one class that each
    call the same blocking API directly (`sqlite3.connect` in every method of a store)
    are one design choice, whose change is the class's: an async driver, or its work moved
    off the loop method by method. Reported apart they were one finding per method
    (held-out S49: AWorld's `SQLiteChunkStore`, 11 findings for one pattern). Returns
    the groups of _CLASS_FOLD methods or more; _merge_helped folds each like a helper's."""
    groups: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    for entry in found:
        rec, _, env = entry
        call, function = env.get("call"), env.get("function")
        if rec.kind != "blocking-call-in-async" or call is None or function is None or \
                getattr(call, "via_chain", None) is not None or not call.fact.blocking:
            continue
        owner = function.qualname.rpartition(".")[0]
        if not owner or "<locals>" in owner or not function.is_async:
            continue
        groups[(rec.rule, owner, call.fact.blocking, call.fact.name)].append(entry)
    out: list[Fold] = []
    for (_, owner, _, name), entries in groups.items():
        if len({e[2]["function"].qualname for e in entries}) < _CLASS_FOLD:
            continue
        instead = entries[0][2]["call"].replacement or "an async client"
        out.append(Fold([(e[0].rule, e[0].line, e[0].column) for e in entries],
                        partial(_with_class, owner=owner, name=name, instead=instead),
                        _CLASS_FOLD))
    return out


def _merge_helped(recs: list[Recommendation], helped: list[Fold],
                  text: str) -> list[Recommendation]:
    """Each group of _one_per_helper as few findings as its calls allow: those ranked alike
    and alike in whether their own fix makes the change (a call whose helper uses a
    connection the object holds cannot move to a thread; held-out T: xinference's stores)
    are one finding at the first of them, the others' lines named in its message and their
    facets kept. Its fix makes every call's change when their fixes can be made together
    and the result parses; otherwise the change is said in words (a thread around one call
    alone would leave the others on the loop). A call on a rare path or a quick one keeps
    its own, lower-ranked finding."""
    by_key = {(r.rule, r.line, r.column): r for r in recs}
    dropped: set[tuple[str, int, int]] = set()
    for fold in helped:
        parts: dict[tuple[str, bool], list[Recommendation]] = defaultdict(list)
        for key in sorted(fold.keys, key=lambda k: (k[1], k[2])):
            rec = by_key.get(key)
            if rec is not None:
                parts[(rec.priority, _fixable(rec))].append(rec)
        for part in parts.values():
            if len(part) < 2 or len({r.symbol for r in part}) < fold.functions:
                continue
            lead, siblings = part[0], part[1:]
            dropped.update((r.rule, r.line, r.column) for r in siblings)
            by_key[(lead.rule, lead.line, lead.column)] = fold.build(lead, siblings, text)
    return [by_key[k] for k in ((r.rule, r.line, r.column) for r in recs) if k not in dropped]


def _fixable(rec: Recommendation) -> bool:
    return rec.fix is not None and rec.fix.applicability != "manual" and bool(rec.fix.edits)


def _with_helped(lead: Recommendation, siblings: list[Recommendation], text: str, *,
                 owner: str) -> Recommendation:
    # `Api._get()`: the one helper every call reaches; `LCManager`: the class whose
    # methods they call.
    one = owner.endswith("()")
    owner = owner.removesuffix("()")
    lines = sorted({r.line for r in siblings})
    shown = ", ".join(map(str, lines[:8])) + (" and on" if len(lines) > 8 else "")
    calls, reach = ("call", "reaches") if len(lines) == 1 else ("calls", "reach")
    note = (f" ({len(lines)} more {calls} in `{lead.symbol}` {reach} the same work through "
            f"`{owner}`, at line{'s' if len(lines) > 1 else ''} {shown})")
    listed = _listed([lead, *siblings])
    better = (f"Give `{owner}` "
              + ("an async counterpart that uses" if one else "async counterparts that use")
              + " an async library (aiosqlite, asyncpg or SQLAlchemy's AsyncSession for a "
              "database; httpx.AsyncClient for HTTP; asyncio.create_subprocess_exec for a "
              "command) for this coroutine to await")
    fix = _merged_fix([lead, *siblings], text, (
        f"Makes the change at each of lines {listed}, which all reach blocking work "
        f"through `{owner}`. {lead.fix.message if lead.fix else ''} Where `{owner}` is what "
        f"blocks, the lasting change is there: {better[0].lower()}{better[1:]}."))
    if fix is None:
        words = (f"The calls at lines {listed} all reach blocking work through `{owner}`: "
                 f"moving one of them into a worker thread leaves the others on the loop. "
                 f"{better}, or run each call with `await asyncio.to_thread(...)`.")
        if lead.fix is not None and lead.fix.message:
            words += " For each call: " + lead.fix.message
        # What another call's own fix says that the lead's does not (a session made
        # elsewhere, which a worker thread may not use).
        said = {lead.fix.message if lead.fix is not None else ""}
        for r in siblings:
            if r.fix is not None and r.fix.message and r.fix.message not in said:
                said.add(r.fix.message)
                words += f" Line {r.line}: {r.fix.message}"
        fix = Fix("manual", (), words)
    return _folded(lead, siblings, note, fix)


def _listed(group: list[Recommendation]) -> str:
    """The group's lines in order, the first nine of them."""
    every = sorted(r.line for r in group)
    return ", ".join(map(str, every[:9])) + (" and on" if len(every) > 9 else "")


def _merged_fix(group: list[Recommendation], text: str, message: str) -> Fix | None:
    """Every finding's fix made at once, when each has edits, they fit together and the
    result parses; None otherwise (the change is said in words)."""
    if not all(_fixable(r) for r in group):
        return None
    edits, taken = compatible([r.fix.edits for r in group])  # type: ignore[union-attr]
    if len(taken) != len(group) or not _parses(apply_edits(text, edits)):
        return None
    safe = all(r.fix.applicability == "safe" for r in group)  # type: ignore[union-attr]
    return Fix("safe" if safe else "unsafe", tuple(edits), message)


def _folded(lead: Recommendation, siblings: list[Recommendation], note: str,
            fix: Fix) -> Recommendation:
    """The lead of a folded group: the others' lines in its message, their facets kept,
    the group's highest rank."""
    facets = (*lead.facets, *({**f, "message": f"line {r.line}: {f['message']}"}
                              for r in siblings for f in r.facets))
    group = [lead, *siblings]
    top = min(group, key=lambda r: priority_rank(r.priority))
    return dataclasses.replace(lead, message=lead.message + note, fix=fix, facets=facets,
                               priority=top.priority, score=max(r.score for r in group))


def _with_class(lead: Recommendation, siblings: list[Recommendation], text: str, *,
                owner: str, name: str, instead: str) -> Recommendation:
    """_one_per_class's group as one finding at its first method."""
    others = sorted(siblings, key=lambda r: r.line)
    shown = ", ".join(f"`{r.symbol.rpartition('.')[2]}` (line {r.line})" for r in others[:6])
    if len(others) > 6:
        shown += f" and {len(others) - 6} more"
    n = len({r.symbol for r in others} - {lead.symbol})
    note = (f" ({n} more async method{'s' if n != 1 else ''} of `{owner}` "
            f"make{'s' if n == 1 else ''} the same call on the loop: {shown})")
    listed = _listed([lead, *others])
    better = (f"The lasting change is the class's: in place of `{name}` in its methods, use "
              f"{instead}")
    fix = _merged_fix([lead, *others], text, (
        f"Makes the change at each of lines {listed}. "
        f"{lead.fix.message if lead.fix else ''} {better}."))
    if fix is None:
        words = (f"Each async method of `{owner}` calls `{name}` on the event loop (lines "
                 f"{listed}). {better}; or move each method's blocking work into one sync "
                 f"function run by `await asyncio.to_thread(...)`.")
        if lead.fix is not None and lead.fix.message:
            words += " For each: " + lead.fix.message
        fix = Fix("manual", (), words)
    return _folded(lead, others, note, fix)


def _parses(text: str) -> bool:
    try:
        parse_quietly(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _generated(recs: list[Recommendation]) -> list[Recommendation]:
    """A file that says a tool wrote it: one finding per rule, at its first site, naming the
    others. Their fixes are already advice in words (fix/build.py asks the same
    context.generated_marker): the change belongs in the generator."""
    by_rule: dict[str, list[Recommendation]] = defaultdict(list)
    for rec in recs:
        by_rule[rec.rule].append(rec)
    out = []
    for group in by_rule.values():
        lead = group[0]
        lines = [rec.line for rec in group[1:]]
        more = ""
        if lines:
            shown = ", ".join(map(str, lines[:5])) + (" and on" if len(lines) > 5 else "")
            more = f"; {len(lines)} more like it in this file, at lines {shown}"
        note = (" (this file says it is generated: make the change in its generator, an "
                f"edit here is lost when the file is generated again{more})")
        top = min(group, key=lambda r: priority_rank(r.priority))
        out.append(dataclasses.replace(lead, message=lead.message + note,
                                       priority=top.priority,
                                       score=max(r.score for r in group)))
    return sorted(out, key=lambda r: (r.line, r.column, r.rule))


def _moved_together(host: Recommendation, inner: Recommendation) -> bool:
    """The same rule, or two whose fix moves blocking work off the loop (OPT101/104/105/
    106 share the kind): one block moved takes both (held-out S31b: dataline's Excel
    parse, OPT105, inside the sqlite3 block OPT101 moves)."""
    return host.rule == inner.rule or host.kind == inner.kind == "blocking-call-in-async"


def _with_covered(host: Recommendation, inner: list[Recommendation]) -> Recommendation:
    """The host ranks as the most urgent of what its change removes (as `_site` does)."""
    top = min((host, *inner), key=lambda r: priority_rank(r.priority))
    return dataclasses.replace(
        host, priority=top.priority, score=max(r.score for r in (host, *inner)),
        facets=(*host.facets, *({"rule": r.rule, "kind": r.kind,
                                 "message": f"line {r.line}: {r.message}"} for r in inner)))


def _outermost(matches: list[Any]) -> list[Any]:
    """One finding per rule and chain: `subprocess.Popen(cmd).wait()` holds two blocking
    calls that start at the same place; the outer one (the whole chain) is reported."""
    ordered = sorted(matches, key=lambda m: (m[2][0], m[2][1], m[0].rule.id,
                                              -m[2][2], -m[2][3]))
    out = []
    previous: tuple[str, int, int] | None = None
    for match in ordered:
        key = (match[0].rule.id, match[2][0], match[2][1])
        if key != previous:
            out.append(match)
        previous = key
    return out


def _node_text(env: dict[str, Any], text: SourceText, span: tuple[int, int, int, int]) -> str:
    """What a fingerprint quotes of the flagged code. For a call, its callee only: a fix
    that edits the arguments (`timeout=` added, a reformatted argument list) leaves every
    other finding at that call what it was in the baseline, not "new"."""
    call = env.get("call")
    if call is not None:
        return call.func_source or call.source
    return text.line(span[0]).strip()


_SPACES = re.compile(r"\s+")


def _normalize(code: str) -> str:
    return _SPACES.sub(" ", code).strip()


def _snippet(text: SourceText, span: tuple[int, int, int, int], rendered: dict[str, str],
             compiled: CompiledRule) -> tuple[str, str]:
    """The user's lines around the finding, and the same lines as they should read."""
    line, col, end_line, end_col = span
    lines = [text.line(n) for n in range(line, end_line + 1)]
    before = textwrap.dedent("\n".join(lines))
    replacement = rendered.get("after", "")
    if not replacement:
        return before, ""
    preamble = rendered.get("preamble", "")
    if compiled.rule.fix_scope == "block":
        after = replacement
    else:
        head = lines[0][:col - 1]
        tail = lines[-1][end_col - 1:]
        if tail[:1] in (".", "[", "(") and " " in replacement.strip():
            # `await f(x)[:5]` would await the slice: keep the replacement one operand.
            replacement = f"({replacement})"
        after = textwrap.dedent(head + replacement + tail)
    if preamble:
        after = preamble + "\n\n" + after
    return before, after


def _evidence(env: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    call = env.get("call")
    function = env.get("function")
    if call is not None:
        fact = call.fact
        out["call"] = fact.name
        if call.via_chain is not None:
            out["via"] = [{"name": hop.name, "path": hop.path, "line": hop.line}
                          for hop in call.via_chain.chain]
            out["blocking"] = call.via_chain.category
        for key, value in (("blocking", fact.blocking), ("client", fact.client),
                           ("timeout", fact.timeout)):
            if value:
                out[key] = value
        if fact.loop_depth:
            out["loop_depth"] = fact.loop_depth
        if call.offloaded:
            out["offloaded"] = True
    if function is not None and function.fact is not None:
        out["function"] = function.qualname
        out["async"] = bool(function.is_async)
    hotspot = env.get("hotspot")
    if hotspot is not None:
        out["measured"] = {
            "rank": hotspot.rank, "self_pct": hotspot.self_pct, "total_pct": hotspot.total_pct,
            "user_self_pct": hotspot.user_self_pct, "wait_pct": hotspot.wait_pct,
            "samples": hotspot.samples, "hottest_line": hotspot.hottest_line,
            "hottest_pct": hotspot.hottest_pct, "waiting_line": hotspot.waiting_line,
            "waiting_pct": hotspot.waiting_pct, "static_facts": hotspot.matched,
        }
    calls = env.get("calls")
    if calls is not None and calls.stats is not None:
        stats = calls.stats
        out["calls"] = {
            "calls": stats.calls, "keyed_calls": stats.keyed_calls,
            "distinct_args": stats.distinct_args, "hit_rate": stats.hit_rate,
            "saving_seconds": stats.saving_seconds, "saving_pct": calls.saving_pct,
            "result_bytes": stats.result_bytes, "varies": stats.varies,
            "total_seconds": stats.total_seconds, "mean_seconds": stats.mean_seconds,
            "p95_seconds": stats.p95_seconds, "p99_seconds": stats.p99_seconds,
        }
    io = env.get("io")
    if io is not None:
        out["io_calls"] = {
            "kind": io.kind, "library": io.library, "calls": io.calls, "shapes": io.shapes,
            "total_ms": io.total_ms, "top_shape": io.top_shape, "top_calls": io.top_calls,
            "top_total_ms": io.top_total_ms, "slow_calls": io.slow_calls,
            "sequential_slow_calls": io.sequential_slow_calls,
            "overlapped_calls": io.overlapped_calls, "saving_ms": io.saving_ms,
        }
    run = env.get("run")
    if run is not None and io is None and run.lag_count and (hotspot is None or run.asyncio):
        out["loop_lag"] = {"lags": run.lag_count, "max_lag_ms": run.lag_max_ms,
                           "total_lag_ms": run.lag_total_ms,
                           "threshold_ms": run.lag_threshold_ms, "blocker": run.lag_function,
                           "blocker_lags": run.lag_blocker_lags}
    if run is not None and hotspot is None and io is None:
        out["run"] = {
            "wall_seconds": run.wall_seconds, "cpu_pct": run.cpu_pct, "idle_pct": run.idle_pct,
            "serialization_pct": run.serialization_pct, "rss_growth_mb": run.rss_growth_mb,
            "rss_slope_mb_s": run.rss_slope_mb_s, "rss_r2": run.rss_r2,
            "leak_suspected": run.leak_suspected,
        }
        if run.gc_collections:
            out["gc"] = {"collections": run.gc_collections, "pause_ms": run.gc_pause_ms,
                         "pause_pct": run.gc_pause_pct, "max_pause_ms": run.gc_max_pause_ms,
                         "function": run.gc_function}
    return out
