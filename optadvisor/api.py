"""The one place that runs the pipeline: discover, analyze (cached, parallel), rules,
scores. The CLI only turns flags into ScanOptions and renders what comes back."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from optadvisor import __version__, warm
from optadvisor.analyze import ANALYZER_VERSION
from optadvisor.analyze.catalog import load_catalog
from optadvisor.cache import (
    PASSING_ERRORS, FactCache, context_digest, default_cache_dir, file_digest, gc_paused,
)
from optadvisor.config import load_config
from optadvisor.discover import discover
from optadvisor.models import (
    PRIORITIES, Config, EngineResult, ErrorRecord, FileFacts, Recommendation, Report,
    SourceFile, Summary,
)
from optadvisor.scoring import Outline, plan, rank_key, ranked_targets, targets


@dataclass(frozen=True)
class ScanOptions:
    paths: tuple[Path, ...]
    config_file: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    jobs: int | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    profile: Path | None = None
    """A saved ProfileRun: static recommendations are re-ranked by measured time."""
    notify: Callable[[str], None] | None = None
    """Gets warnings about the inputs (an include pattern or a --select that matches
    nothing); the CLI prints them on stderr."""
    include_tests: bool = False
    """Run the rules on test files too (or `include-tests = true` in the config)."""
    include_examples: bool = False
    """Run the rules on examples, docs and playgrounds too (`include-examples = true`)."""
    shard: tuple[int, int] | None = None
    """(K, N) for `--shard K/N`: analyze only the files the partition gives shard K, and
    carry what a merge needs in the report (optadvisor/shard.py)."""


if TYPE_CHECKING:
    from optadvisor.analyze.catalog import Catalog
    from optadvisor.cache import FixCache
    from optadvisor.engine import Engine, FileInput
    from optadvisor.link import FileLinks
    from optadvisor.rules import CompiledRule
    from optadvisor.models import ProfileRun
    from optadvisor.profile import ProfileOptions
    from optadvisor.shard import ScanSettings

ProgressHook = Callable[[int, int], None]
"""Called with (files done so far, files to analyze)."""


@dataclass
class _Analysis:
    """Facts of a set of files, ready for the rules."""

    inputs: list[FileInput]
    errors: list[ErrorRecord]
    cached: int
    results: "dict[str, warm.FileResult] | None" = None
    """Every file's rule results, when the warm state had them all (then `inputs` is
    empty: no fact was decoded) or the engine was run through it."""
    digests: dict[str, str] = field(default_factory=dict)
    """Of every file read, by path."""
    failed: dict[str, ErrorRecord] = field(default_factory=dict)
    """Files read whose analysis failed (also in `errors`), by path."""
    reused: bool = False
    """Everything came from the warm state unchanged (nothing to write back)."""
    stats: "dict[str, warm.StatKey]" = field(default_factory=dict)
    """What os.stat said of the files, where the warm state may keep it (warm.settled)."""


@dataclass
class _Warm:
    """The warm state of the project being scanned (warm.py)."""

    path: Path
    engine_key: str
    previous: "warm.WarmState | None"
    facts_context: str
    layout_key: str = ""
    project_key: str = ""
    notes: "warm.Notes" = ((), ())
    """The engine's warnings in this scan (kept in the state for a scan that builds none)."""

    @property
    def kept_notes(self) -> "warm.Notes | None":
        """The engine's warnings as the state's scan said them, if it built this engine."""
        previous = self.previous
        return previous.notes if previous is not None and \
            previous.engine_key == self.engine_key else None


def scan(options: ScanOptions, progress: ProgressHook | None = None,
         overlay: Mapping[str, bytes] | None = None) -> Report:
    """`overlay`: file contents (by relative path) to analyze instead of what is on disk,
    for `--fix`'s passes and `--diff`, which write nothing until the end (or never)."""
    started = time.perf_counter()
    config = _config(options)
    catalog = load_catalog(config.catalogs)
    recorder = None
    if options.shard is not None:
        from optadvisor.shard import FixRecorder

        recorder = FixRecorder(_fix_cache(options, config, catalog))
    run = None
    if options.profile is not None:  # read first: a bad run fails before the scan, not after
        from optadvisor.profile import load_run

        run = load_run(options.profile)
    found = discover(list(options.paths), config)
    files, assignment = found.files, None
    if options.shard is not None:
        from optadvisor.shard import partition

        assignment = partition(found.files, options.shard[1])
        files = tuple(f for f in found.files if assignment[f.rel] == options.shard[0])
    # A profile re-ranks by what ran, and a shard document carries every file's facts:
    # both need the facts of every file, so no warm state.
    warm_path = _state_path(options, config) \
        if run is None and options.shard is None and options.use_cache else None
    early = _Early.start(files, config, catalog, options, warm_path) \
        if warm_path is not None and overlay is None else None
    engines = _Engines(options, config, catalog, recorder)
    try:
        state = _warm_state(options, config, catalog, warm_path,
                            early.state if early is not None else None) \
            if warm_path is not None else None
        # The rules load now (while an early worker starts and parses), unless the state
        # kept this engine's notes and no file changed: then most likely no file is
        # evaluated, and they load only if one is.
        engines.checked = state is None or state.kept_notes is None
        if state is None or state.kept_notes is None or early is None or early.changed:
            notes = engines.notes()
        else:
            notes = state.kept_notes
    except BaseException:
        if early is not None:
            early.wait()
        raise
    if state is not None:
        state.notes = notes
    _tell(options, [*notes[0], *found.notes, *notes[1]])
    analysis = _analyze_checked(files, config, catalog, options, progress, overlay, state,
                                early)
    file_errors = list(analysis.errors)
    if state is not None:
        if not _conclude(engines, analysis, state):
            # A template failed in a changed file while the other files' results were
            # reused: as in a scan that evaluates every file, they all are evaluated.
            from optadvisor.rules import TemplateRenderer

            engines.get().templates = TemplateRenderer()
            state.previous = None
            analysis = _analyze_checked(files, config, catalog, options, progress, overlay,
                                        state, None)
            _conclude(engines, analysis, state)
        if overlay is None and not engines.rule_errors() and not analysis.reused:
            _save_state(state, analysis)
        assert analysis.results is not None
        result = _from_results(analysis.results)
    else:
        result = engines.get().run(analysis.inputs)
    analysis.errors[:0] = found.errors
    recs = list(result.recommendations)
    if run is not None:
        from optadvisor.fusion import rerank

        recs = rerank(recs, run, analysis.inputs, engines.get())
    analysis.errors.extend(_rule_errors(engines.rule_errors(), found.root))
    report = _report(found.root, config, analysis, recs, result.suppressed, started,
                     found.excluded, result.skipped)
    if options.shard is not None and assignment is not None and recorder is not None:
        from optadvisor.shard import shard_object

        report = replace(report, shard=shard_object(
            options.shard[0], options.shard[1], assignment,
            _settings_digest(config, catalog, options), ANALYZER_VERSION,
            _scan_settings(options), analysis.inputs, file_errors, found.errors,
            recorder.seen))
    return report


def _config(options: ScanOptions) -> Config:
    config = load_config(list(options.paths), options.config_file)
    if options.include_tests or options.include_examples:
        config = replace(config, include_tests=config.include_tests or options.include_tests,
                         include_examples=config.include_examples or options.include_examples)
    return config


def _settings_digest(config: Config, catalog: "Catalog", options: ScanOptions) -> str:
    from optadvisor.resources import rule_files
    from optadvisor.shard import settings_digest

    return settings_digest(config, rule_files(config.rule_dirs), catalog.digest,
                           options.select, options.ignore)


def _scan_settings(options: ScanOptions) -> "ScanSettings":
    from optadvisor.shard import ScanSettings

    return ScanSettings(
        paths=tuple(p.absolute().as_posix() for p in options.paths),
        config_file=options.config_file.absolute().as_posix() if options.config_file else None,
        select=options.select, ignore=options.ignore, include_tests=options.include_tests,
        include_examples=options.include_examples)


def _state_path(options: ScanOptions, config: Config) -> Path:
    return warm.state_path(options.cache_dir or config.cache_dir or default_cache_dir(),
                           options.paths, config.config_file)


def _warm_state(options: ScanOptions, config: Config, catalog: "Catalog", path: Path,
                data: Any = None) -> _Warm:
    """The project's warm state (read now, or `data` read by _Early; used once the files
    are read). Its engine key is of what the engine is built from (the selection as given,
    jinja2, which parses and renders the templates, and warm.engine_key's parts), so it is
    known before, or without, building the engine."""
    from optadvisor.resources import rule_files

    context = _facts_context(config, catalog)
    selection = (options.select, options.ignore, config.select, config.ignore,
                 config.extend_select,
                 [(p.pattern, p.rules) for p in config.per_path_ignores],
                 sorted(config.skipped_contexts()), _version_of("jinja2"))
    key = warm.engine_key(context, rule_files(config.rule_dirs), catalog.digest, selection)
    return _Warm(path, key, warm.load(path, key, data), context)


class _Engines:
    """The scan's engine, built on first use: a warm scan that evaluates no file loads no
    rule (jinja2's import, 25 rule files and their templates) and opens no fix cache."""

    def __init__(self, options: ScanOptions, config: Config, catalog: "Catalog",
                 fixes: "FixCache | None") -> None:
        self._options, self._config, self._catalog = options, config, catalog
        self._fixes = fixes
        """The shard's recorder: the engine must use that one."""
        self.built: Engine | None = None
        self.checked = True
        """False when a scan with this warm engine key loaded these rules checked: their
        templates are parsed when they render (rules.load_rule)."""

    def get(self) -> Engine:
        from optadvisor.engine import Engine
        from optadvisor.rules import load_rules

        if self.built is None:
            options, config = self._options, self._config
            fixes = self._fixes if self._fixes is not None else \
                _fix_cache(options, config, self._catalog)
            self.built = Engine(load_rules(config.rule_dirs, self.checked), self._catalog,
                                config, options.select, options.ignore, fixes)
        return self.built

    def notes(self) -> "warm.Notes":
        """Its warnings about the selection: said before discovery's, and after."""
        engine = self.get()
        return tuple(engine.notes), tuple(_static_notes(engine))

    def rule_errors(self) -> list[ErrorRecord]:
        """Templates that failed to render: none when no rule was loaded."""
        return self.built.rule_errors() if self.built is not None else []


class _Early:
    """Files that changed since the warm state's scan, and have no fact entry, analyzed in
    workers from the moment they are known: a worker takes ~0.5 s to start and import
    libcst, while this thread loads the rules and the rest of the warm state."""

    def __init__(self, state: Any, sources: "_Sources", changed: bool,
                 jobs: list[tuple[str, bytes]], job: "_Background | None") -> None:
        self.state = state
        """The warm state's JSON (decoded again once the engine key is known)."""
        self.sources = sources
        """Every file's digest (and bytes where read): _analyze reads nothing twice."""
        self.changed = changed
        """Whether the file set or any file's bytes differ from the warm state's."""
        self.jobs = {rel for rel, _ in jobs}
        self._job = job

    @classmethod
    def start(cls, files: "Sequence[SourceFile]", config: Config, catalog: "Catalog",
              options: ScanOptions, path: Path) -> "_Early | None":
        from optadvisor.spawn import default_jobs

        data = warm.read(path)
        previous = warm.load(path, "", data)  # digests and stats (no results: another key)
        if previous is None:
            return None  # a first scan analyzes every file anyway
        errors: list[ErrorRecord] = []
        sources = _Sources(files, config, errors, None, previous)
        if errors:
            return None  # _analyze reads them again and reports them
        cache = FactCache(options.cache_dir or config.cache_dir or default_cache_dir(),
                          _facts_context(config, catalog))
        assert previous.digests is not None
        jobs = [(rel, sources.data(rel)) for rel, digest in sources.digests.items()
                if digest != previous.digests.get(rel) and not cache.exists(digest)]
        changed = sources.digests != previous.digests
        if not jobs:
            return cls(data, sources, changed, [], None)
        requested = options.jobs or config.jobs or default_jobs()

        def analyze() -> "dict[str, FileFacts | ErrorRecord]":
            from optadvisor.workers import Budget, analyze_all

            outcomes = analyze_all(jobs, catalog, config.max_file_bytes, requested,
                                   lambda n: None,
                                   Budget(config.max_file_seconds, config.max_file_mib))
            for rel, outcome in outcomes.items():
                cache.put(sources.digests[rel], outcome)
            return outcomes

        return cls(data, sources, changed, jobs, _Background(analyze))

    def outcomes(self) -> "dict[str, FileFacts | ErrorRecord]":
        return self._job.result() if self._job is not None else {}  # type: ignore[no-any-return]

    def wait(self) -> None:
        """For a scan that stops before using it (the worker is not left running)."""
        try:
            self.outcomes()
        except Exception:  # noqa: BLE001 - the scan's own error is the one to report
            pass


def _conclude(engines: _Engines, analysis: _Analysis, state: _Warm) -> bool:
    """Every file's rule results into analysis.results: evaluated where the warm state's
    do not hold. False when a template failed while other files' results were reused."""
    if analysis.results is None:  # every file's facts, linked
        analysis.results, _ = warm.evaluate(engines.get(), analysis.inputs, state.engine_key,
                                            state.previous)
    elif analysis.inputs:  # the changed files only: the others' results hold
        fresh, _ = warm.evaluate(engines.get(), analysis.inputs, state.engine_key, None)
        analysis.results.update(fresh)
        return not engines.rule_errors()
    return True


def _save_state(state: _Warm, analysis: _Analysis) -> None:
    assert analysis.results is not None
    digests = {rel: analysis.digests[rel] for rel in analysis.results}
    errors = {rel: error for rel, error in analysis.failed.items()
              if error.kind not in PASSING_ERRORS}
    digests.update((rel, analysis.digests[rel]) for rel in errors)
    # A file without a kept outcome (a crash, a timeout) is analyzed again next time: no
    # scan may then take everything from the state.
    complete = set(digests) == set(analysis.digests)
    warm.save(state.path, warm.WarmState(state.engine_key, state.layout_key,
                                         state.project_key if complete else "",
                                         digests, analysis.results, errors,
                                         {rel: analysis.stats[rel] for rel in digests
                                          if rel in analysis.stats}, state.notes))


def _from_results(results: "dict[str, warm.FileResult]") -> EngineResult:
    recs: list[Recommendation] = []
    skipped: Counter[str] = Counter()
    suppressed = 0
    for rel in sorted(results):  # the engine's order: by path, then as found
        result = results[rel]
        recs.extend(result.recommendations)
        suppressed += result.suppressed
        if result.skipped:
            skipped[result.skipped] += 1
    return EngineResult(recs, suppressed, dict(sorted(skipped.items())))


def _tell(options: ScanOptions, notes: list[str]) -> None:
    if options.notify is not None:
        for note in dict.fromkeys(notes):
            options.notify(note)


PROFILE_SUBJECTS = frozenset({"hotspot", "run", "io"})


def _static_notes(engine: Engine) -> list[str]:
    """`scan --select OPT5`: every selected rule reads a profile run; a scan runs none."""
    if not engine.by_subject or set(engine.by_subject) - PROFILE_SUBJECTS:
        return []
    ids = sorted(c.rule.id for group in engine.by_subject.values() for c in group)
    return [(f"the selected rules ({', '.join(ids)}) read profile runs: a scan runs none of "
             "them (use `optadvisor profile`)")]


def profile(run_options: "ProfileOptions", options: ScanOptions,
            progress: Callable[[str], None] | None = None, saved_as: str = "") -> Report:
    """Run a script under the profilers, then recommend from what was measured and from
    what the scan knows about the code that ran."""
    from optadvisor.profile import run_profile, save_run

    run = run_profile(run_options, progress=progress)
    if saved_as:
        save_run(run, Path(saved_as))
    return profile_report(run, options, saved_as)


def profile_report(run: "ProfileRun", options: ScanOptions, saved_as: str = "",
                   rules: list[CompiledRule] | None = None) -> Report:
    """A report for a (new or saved) run: the profile rules over the measured functions,
    and the static rules over the user files that ran, ranked by measured time."""
    from optadvisor.engine import Engine
    from optadvisor.rules import load_rules

    from optadvisor.discover import component_finder
    from optadvisor.fusion import merge_measured, profile_recommendations, rerank
    from optadvisor.profile.summary import profile_summary

    started = time.perf_counter()
    root = Path(run.root)
    config = load_config([root], options.config_file)
    catalog = load_catalog(config.catalogs)
    engine = Engine(rules if rules is not None else load_rules(config.rule_dirs), catalog,
                    config, options.select, options.ignore)
    _tell(options, engine.notes)
    components = component_finder(root, config.component_roots)
    files = {Path(f.file) for f in run.functions if f.user}
    files.update(Path(c.file) for c in run.io_calls)
    files.add(Path(run.script) if Path(run.script).is_absolute() else root / run.script)
    sources = []
    for path in sorted(files):
        if path.is_file():
            rel = _relative(path, root)
            sources.append(SourceFile(path=path, rel=rel, component=components.of(rel),
                                      explicit=True))
    analysis = _analyze(sources, config, catalog, options, None)
    result = engine.run(analysis.inputs)
    measured = profile_recommendations(engine, run, analysis.inputs, components)
    recs = merge_measured(rerank(list(result.recommendations), run, analysis.inputs, engine),
                          measured)
    analysis.errors.extend(_rule_errors(engine.rule_errors(), root))
    report = _report(root, config, analysis, recs, result.suppressed, started)
    return replace(report, profile=profile_summary(run, saved_as))


def _rule_errors(errors: list[ErrorRecord], root: Path) -> list[ErrorRecord]:
    """Rule templates that failed to render, their rule file relative to the root when it
    is inside it (a project's own rule-dirs)."""
    return [replace(e, path=_relative(Path(e.path), root) if Path(e.path).is_absolute()
                    else e.path) for e in errors]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _facts_context(config: Config, catalog: "Catalog") -> str:
    """What facts depend on besides a file's bytes (the fact cache's context)."""
    return context_digest(__version__, ANALYZER_VERSION, catalog.digest,
                          json.dumps(config.analysis_key(), sort_keys=True),
                          _parser_versions())


def _analyze_checked(files: "Sequence[SourceFile]", config: Config, catalog: "Catalog",
                     options: ScanOptions, progress: ProgressHook | None,
                     overlay: Mapping[str, bytes] | None, state: _Warm | None,
                     early: _Early | None) -> _Analysis:
    """_analyze, done again with every file hashed when one whose stat matched the warm
    state's turned out to hold other bytes (warm.py: the stat pre-check)."""
    try:
        return _analyze(files, config, catalog, options, progress, overlay, state,
                        early=early)
    except _StaleStat:
        if early is not None:
            early.wait()
        return _analyze(files, config, catalog, options, progress, overlay, state,
                        trust_stats=False)


class _StaleStat(Exception):
    """A file whose stat equals the warm state's was read, and its bytes are others."""


class _Sources:
    """The files of a scan, each one's digest, and its bytes when they are needed. A file
    whose stat equals the one the warm state kept takes the kept digest unread (warm.py
    says why that is safe); its bytes are read, and checked against that digest, only
    when a stage needs them."""

    def __init__(self, files: "Sequence[SourceFile]", config: Config,
                 errors: list[ErrorRecord], overlay: Mapping[str, bytes] | None,
                 previous: "warm.WarmState | None") -> None:
        started = time.time_ns()
        self.files: dict[str, SourceFile] = {}
        self.digests: dict[str, str] = {}
        self.stats: dict[str, warm.StatKey] = {}
        self._data: dict[str, bytes] = {}
        kept = previous.stats or {} if previous is not None else {}
        kept_digests = previous.digests or {} if previous is not None else {}
        for source in files:
            rel = source.rel
            if overlay and rel in overlay:
                data: bytes | None = overlay[rel]
            else:
                key = _stat(source, config, errors)
                if key is None:
                    continue
                if key == kept.get(rel) and rel in kept_digests:
                    self.files[rel] = source
                    self.digests[rel] = kept_digests[rel]
                    self.stats[rel] = key
                    continue
                data = _read(source, errors)
                if data is None:
                    continue
                if warm.settled(key, started):
                    self.stats[rel] = key
            self.files[rel] = source
            self.digests[rel] = file_digest(data)
            self._data[rel] = data

    def data(self, rel: str) -> bytes:
        data = self._data.get(rel)
        if data is None:
            try:
                data = self.files[rel].path.read_bytes()
            except OSError as exc:
                raise _StaleStat(rel) from exc
            if file_digest(data) != self.digests[rel]:
                raise _StaleStat(rel)
            self._data[rel] = data
        return data


def _analyze(files: "Sequence[SourceFile]", config: Config, catalog: "Catalog",
             options: ScanOptions, progress: ProgressHook | None,
             overlay: Mapping[str, bytes] | None = None,
             state: _Warm | None = None, trust_stats: bool = True,
             early: _Early | None = None) -> _Analysis:
    """Read, look up in the cache, analyze what is missing (in workers), link. When the
    warm state has every file's results unchanged, only read (or only stat: _Sources)."""
    from optadvisor.packages import package_prefixes
    from optadvisor.spawn import default_jobs

    errors: list[ErrorRecord] = []
    cache = None
    if options.use_cache:
        context = state.facts_context if state else _facts_context(config, catalog)
        cache = FactCache(options.cache_dir or config.cache_dir or default_cache_dir(), context)

    facts: dict[str, FileFacts] = {}
    cached = 0
    misses: list[tuple[str, bytes]] = []
    failed: dict[str, ErrorRecord] = {}
    if early is not None and state is not None and state.previous is not None:
        sources = early.sources  # read and hashed by the same rules, moments ago
    else:
        sources = _Sources(files, config, errors, overlay,
                           state.previous if state is not None and trust_stats else None)
    digests = sources.digests

    done = 0
    total = 0
    analyzed: "dict[str, FileFacts | ErrorRecord]" = {}

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    requested = options.jobs or config.jobs or default_jobs()
    if requested > default_jobs() * 2:
        # Clamped in analyze_all (`--jobs 10000` started 64 processes for 60 files).
        _tell(options, [f"jobs = {requested:,} is more than twice the {default_jobs()} "
                        f"core(s): at most {default_jobs() * 2} worker processes"])

    def analyze(jobs: list[tuple[str, bytes]]) -> "dict[str, FileFacts | ErrorRecord]":
        from optadvisor.workers import Budget, analyze_all

        nonlocal total
        started: "dict[str, FileFacts | ErrorRecord]" = {}
        if early is not None and any(rel in early.jobs for rel, _ in jobs):
            started = {rel: outcome for rel, outcome in early.outcomes().items()
                       if rel in {rel for rel, _ in jobs}}
            jobs = [(rel, data) for rel, data in jobs if rel not in started]
            if not jobs:
                return started
        total += len(jobs)
        outcomes = analyze_all(jobs, catalog, config.max_file_bytes, requested, advance,
                               Budget(config.max_file_seconds, config.max_file_mib))
        for rel, outcome in outcomes.items():
            if cache:
                cache.put(digests[rel], outcome)
        return {**started, **outcomes}

    if state is not None:
        state.layout_key, state.project_key = warm.project_keys(
            state.facts_context, [(sources.files[rel], digests[rel]) for rel in digests],
            package_prefixes(sources.files[rel] for rel in digests))
        kept = _all_warm(state, digests)
        if kept is not None:
            results, kept_errors = kept
            errors.extend(kept_errors)
            assert state.previous is not None
            return _Analysis([], errors, len(results), results, digests,
                             failed=dict(state.previous.errors or {}),
                             reused=sources.stats == state.previous.stats,
                             stats=sources.stats)
        if cache is not None:
            changed = _changed_only(state, sources, digests, cache, analyze,
                                    early.jobs if early is not None else set())
            if isinstance(changed, _Analysis):
                changed.errors[:0] = errors
                return changed
            analyzed = changed  # what it analyzed is not analyzed twice

    # Files with no cache entry at all are analyzed in workers while this thread decodes
    # the entries of the others (a one-file change: the worker's start-up, libcst's import
    # and the parse cost no wall time). An entry that turns out unusable is a late miss.
    started = early.jobs if early is not None else set()  # analyzed already, not cached
    absent = [(rel, sources.data(rel)) for rel in digests if rel not in analyzed and (
        rel in started or not (cache and cache.exists(digests[rel])))]

    # (Not `early`: the analyze closure above reads that name for the _Early start.)
    background = _Background(analyze, absent) if absent and len(absent) < len(digests) \
        else None
    outcomes = {} if background else analyze(absent) if absent else {}
    unseen = {rel for rel, _ in absent} | set(analyzed)
    with gc_paused():
        for rel in list(digests):
            if rel in unseen:
                continue
            hit = cache.get(digests[rel]) if cache else None
            if isinstance(hit, ErrorRecord):
                failed[rel] = replace(hit, path=rel)
                errors.append(failed[rel])
            elif hit is not None:
                facts[rel] = replace(hit, path=rel)
                cached += 1
            else:
                misses.append((rel, sources.data(rel)))
    if background:
        outcomes = background.result()
    outcomes.update(analyzed)
    if misses:
        outcomes.update(analyze(misses))
    for rel, outcome in outcomes.items():
        if isinstance(outcome, ErrorRecord):
            failed[rel] = outcome
            errors.append(outcome)
        else:
            facts[rel] = outcome

    # Not imported above: a warm scan that returned early never loads them.
    from optadvisor.engine import FileInput
    from optadvisor.subjects import SourceText

    inputs = [
        FileInput(sources.files[rel], facts[rel], SourceText.from_bytes(sources.data(rel)),
                  digest=digests[rel])
        for rel in sorted(facts)
    ]
    _link(inputs, catalog)
    return _Analysis(inputs, errors, cached, digests=digests, failed=failed,
                     stats=sources.stats)


def _link(inputs: list[FileInput], catalog: "Catalog") -> None:
    """What every file learns from the others (link.py), set on its input."""
    from optadvisor.link import link

    with gc_paused():  # its memos and indexes: many small objects, no cycles to find
        links = link([(i.source, i.facts) for i in inputs], catalog)
    for item in inputs:
        found = links.get(item.source.rel)
        if found is not None:
            _set_links(item, found)


def _set_links(item: FileInput, found: FileLinks) -> None:
    item.via, item.awaited, item.runs_once = found.via, found.awaited, found.runs_once
    item.alone, item.setup_only, item.wraps = found.alone, found.setup_only, found.wraps
    item.offloaded, item.fresh_loop = found.offloaded, found.fresh_loop
    item.uncalled, item.on_loop, item.starts_alone = \
        found.uncalled, found.on_loop, found.starts_alone

def _changed_only(state: _Warm, sources: "_Sources",
                  digests: Mapping[str, str], cache: FactCache,
                  analyze: "Callable[[list[tuple[str, bytes]]], dict[str, FileFacts | ErrorRecord]]",
                  started: "set[str]") -> "_Analysis | dict[str, FileFacts | ErrorRecord]":
    """When the files are those of the warm state's scan and every changed file still
    gives the link stage the same facts, positions aside (warm.link_digest: a comment, a
    literal or a loop body changed, lines added or removed), no file's links change but
    for the lines of hops into the changed files: only the changed files, and the files
    whose chains run through them, are evaluated; no other file's facts are read.
    Otherwise, what it analyzed (for the full path)."""
    from optadvisor.engine import FileInput
    from optadvisor.subjects import SourceText

    previous = state.previous
    if previous is None or not previous.project_key or \
            previous.engine_key != state.engine_key or \
            previous.layout_key != state.layout_key or previous.digests.keys() != digests.keys():
        return {}
    assert previous.results is not None and previous.errors is not None
    changed = [rel for rel in digests if digests[rel] != previous.digests[rel]]
    if any(rel not in previous.results for rel in changed):
        return {}  # a file that failed before: it joins the link stage now
    facts: dict[str, FileFacts] = {}
    misses = []
    for rel in changed:
        # Analyzed since the scan started (_Early): its entry is new, not a cache hit.
        hit = None if rel in started else cache.get(digests[rel])
        if isinstance(hit, FileFacts):
            facts[rel] = replace(hit, path=rel)
        elif hit is None:
            misses.append((rel, sources.data(rel)))
        else:
            return {}
    outcomes = analyze(misses) if misses else {}
    if not all(isinstance(outcome, FileFacts) for outcome in outcomes.values()):
        return outcomes  # a file that leaves the link stage
    facts.update(outcomes)  # type: ignore[arg-type]
    moves = {}
    for rel in changed:
        before = cache.get(previous.digests[rel])
        if not isinstance(before, FileFacts) or \
                warm.link_digest(before) != warm.link_digest(facts[rel]):
            return outcomes
        moved = warm.line_moves(before, facts[rel])
        if moved is None:
            return outcomes
        moves[rel] = moved
    links = {}
    for rel, result in previous.results.items():
        try:
            form = warm.moved_links(result.links, moves)
        except KeyError:
            return outcomes  # a hop line the facts do not account for
        if rel in facts or form != result.links:
            links[rel] = form
    for rel in links.keys() - facts.keys():  # a chain runs through a changed file
        hit = cache.get(digests[rel])
        if not isinstance(hit, FileFacts):
            return outcomes
        facts[rel] = replace(hit, path=rel)
    inputs = []
    for rel in sorted(links):
        item = FileInput(sources.files[rel], facts[rel],
                         SourceText.from_bytes(sources.data(rel)), digest=digests[rel])
        warm.set_links(item, links[rel])
        inputs.append(item)
    results = {rel: result for rel, result in previous.results.items() if rel not in links}
    errors = [previous.errors[rel] for rel in sorted(previous.errors)]
    return _Analysis(inputs, errors, len(digests) - len(previous.errors) - len(misses),
                     results, dict(digests), failed=dict(previous.errors),
                     stats=sources.stats)


def _all_warm(state: _Warm, digests: Mapping[str, str]
              ) -> "tuple[dict[str, warm.FileResult], list[ErrorRecord]] | None":
    """Every file's results and kept errors from the warm state, when the project is
    exactly as the state's scan saw it (same files, bytes, rules, code); else None."""
    previous = state.previous
    if previous is None or not previous.project_key or \
            previous.project_key != state.project_key or \
            previous.engine_key != state.engine_key or previous.digests != digests:
        return None
    assert previous.results is not None and previous.errors is not None
    return ({rel: previous.results[rel] for rel in sorted(previous.results)},
            [previous.errors[rel] for rel in sorted(previous.errors)])


class _Background:
    """A call run in a thread; result() waits for it and raises what it raised."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        import threading

        self._outcome: tuple[bool, Any] = (False, None)

        def target() -> None:
            try:
                self._outcome = (True, call(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to result()
                self._outcome = (False, exc)

        self._thread = threading.Thread(target=target, name="optadvisor-analyze",
                                        daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        ok, value = self._outcome
        if not ok:
            raise value
        return value


def _fix_cache(options: ScanOptions, config: Config, catalog: "Catalog") -> "FixCache | None":
    """Fixes are a pure function of a file's bytes, the site, the fix code and the catalog:
    cached next to the facts, so a warm scan shows them without parsing anything."""
    if not options.use_cache:
        return None
    from optadvisor.cache import FixCache
    from optadvisor.fix import code_digest

    context = context_digest(__version__, code_digest(), catalog.digest, _parser_versions())
    return FixCache(options.cache_dir or config.cache_dir or default_cache_dir(), context)


def _report(root: Path, config: Config, analysis: _Analysis, recs: list[Recommendation],
            suppressed: int, started: float,
            excluded: Mapping[str, Mapping[str, int]] | None = None,
            skipped: Mapping[str, int] | None = None,
            path_prefix: str | None = None) -> Report:
    inputs, errors = analysis.inputs, analysis.errors
    recs = sorted(recs, key=rank_key)
    if analysis.results is not None:
        outlines: list[Outline] = [analysis.results[rel].outline
                                   for rel in sorted(analysis.results)]
        ranked, candidates = ranked_targets(outlines, recs)
        files = len(outlines)
        lines = sum(o.lines for o in outlines)
        functions = sum(o.functions for o in outlines)
        components = len({o.component for o in outlines})
    else:
        ranked, candidates = targets(((i.source, i.facts) for i in inputs), recs)
        files = len(inputs)
        lines = sum(i.facts.lines for i in inputs)
        functions = sum(len(i.facts.functions) for i in inputs)
        components = len({i.source.component for i in inputs})
    by_priority = Counter(r.priority for r in recs)
    errors.sort(key=lambda e: (e.path, e.kind))
    summary = Summary(
        files=files,
        lines=lines,
        functions=functions,
        components=components,
        errors=len(errors),
        seconds=round(time.perf_counter() - started, 3),
        recommendations=len(recs),
        by_priority={p: by_priority[p] for p in PRIORITIES if by_priority[p]},
        by_kind=dict(sorted(Counter(r.kind for r in recs).items())),
        candidates=candidates,
        cached_files=analysis.cached,
        suppressed=suppressed,
        by_context=dict(sorted(Counter(r.context for r in recs if r.context).items())),
        excluded_by_default=dict(excluded or {}), skipped_by_context=dict(skipped or {}),
    )
    return Report(
        root=root.as_posix(), summary=summary, recommendations=tuple(recs),
        targets=tuple(ranked), errors=tuple(errors), plan=tuple(plan(recs, ranked)),
        tool_version=__version__,
        path_prefix=_repo_prefix(root, config) if path_prefix is None else path_prefix,
    )


def scan_source(code: str, rel: str = "example.py", select: tuple[str, ...] = (),
                config: Config | None = None, rules: list[CompiledRule] | None = None,
                rule_errors: list[ErrorRecord] | None = None
                ) -> tuple[list[Recommendation], ErrorRecord | None]:
    """Analyze one in-memory source text (with the shipped rules unless `rules` is given):
    what rule examples, tests and `optadvisor rules check` use. Runs nothing it analyzes,
    like every scan. Templates that failed to render (rule-error records) are appended to
    `rule_errors` when it is given."""
    from optadvisor.engine import Engine, FileInput
    from optadvisor.link import link
    from optadvisor.rules import load_rules
    from optadvisor.subjects import SourceText

    from optadvisor.analyze import analyze_bytes, run_with_deep_stack

    config = config or Config(project_root=Path.cwd())
    catalog = load_catalog(config.catalogs)
    if rules is None:
        rules = load_rules(config.rule_dirs)
    engine = Engine(rules, catalog, config, select)
    data = code.encode("utf-8")
    outcome = run_with_deep_stack(
        lambda: analyze_bytes(rel, data, catalog, config.max_file_bytes))
    if isinstance(outcome, ErrorRecord):
        return [], outcome
    source = SourceFile(path=Path(rel), rel=rel, component=".")
    links = link([(source, outcome)], catalog).get(rel)
    item = FileInput(source, outcome, SourceText(code))
    if links is not None:
        _set_links(item, links)
    found = engine.run([item])
    if rule_errors is not None:
        rule_errors.extend(engine.rule_errors())
    return sorted(found.recommendations, key=lambda r: (r.line, r.column, r.rule)), None


def _parser_versions() -> str:
    """libcst and CPython (whose ast supplies positions) shape the facts too."""
    return f"libcst {_version_of('libcst')}; python {sys.version_info[0]}.{sys.version_info[1]}"


@lru_cache(maxsize=None)
def _version_of(package: str) -> str:
    """An installed dependency's version, from its metadata: importing it (libcst, jinja2)
    would cost a warm scan more than it saves. Once per process: the modules a process
    imported do not change when the package is upgraded under it."""
    return _dist_info_version(package) or _metadata_version(package)


def _dist_info_version(package: str) -> str | None:
    """The version in the name of the first `NAME-VERSION.dist-info` directory on sys.path
    (the wheel format puts it there; importlib.metadata looks along sys.path in the same
    order), or None. importlib.metadata's import alone (email, zipfile, csv) was ~5% of a
    warm scan."""
    wanted = package.lower().replace("-", "_")
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a directory: a zip, a missing entry
            continue
        for name in sorted(names):
            if name.endswith(".dist-info"):
                distribution, _, version = name[:-len(".dist-info")].partition("-")
                if version and distribution.lower().replace(".", "_") == wanted:
                    return version
    return None


def _metadata_version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        return "?"


def profile_source(code: str, rules: list[CompiledRule], args: tuple[str, ...] = (),
                   rule_errors: list[ErrorRecord] | None = None
                   ) -> tuple[list[Recommendation], "ProfileRun"]:
    """Run one in-memory script under the sampling profiler and apply `rules` to what was
    measured: how profile rules' examples are tested (`optadvisor rules check` too).
    Templates that failed to render are appended to `rule_errors` when it is given."""
    import tempfile

    from optadvisor.profile import ProfileOptions, run_profile

    with tempfile.TemporaryDirectory(prefix="optadvisor-example-") as tmp:
        root = Path(tmp).resolve()
        script = root / "example.py"
        script.write_text(code, encoding="utf-8")
        # Rules on the calls pass's I/O counts need that pass.
        calls = any(c.rule.subject == "io" for c in rules)
        run = run_profile(ProfileOptions(script=script, args=args, root=root, cwd=root,
                                         lines=False, calls=calls, stdin="null",
                                         stdout="null", timeout=60))
        report = profile_report(run, ScanOptions(paths=(root,), use_cache=False, jobs=1),
                                rules=rules)
    if rule_errors is not None:
        rule_errors.extend(e for e in report.errors if e.kind == "rule-error")
    return list(report.recommendations), run


def _stat(source: SourceFile, config: Config, errors: list[ErrorRecord]
          ) -> "warm.StatKey | None":
    """A file's stat (warm.stat_key), or an error record; huge files are refused before
    being read."""
    try:
        key = warm.stat_key(os.stat(source.path))
    except OSError as exc:
        errors.append(_unreadable(source, exc))
        return None
    size = key[0]
    if config.max_file_bytes and size > config.max_file_bytes:
        errors.append(ErrorRecord(
            source.rel, "too-large",
            f"{size:,} bytes is over the {config.max_file_bytes:,}-byte limit "
            "(raise max-file-bytes in [tool.optadvisor] to scan it)"))
        return None
    return key


def _read(source: SourceFile, errors: list[ErrorRecord]) -> bytes | None:
    """A file's bytes, or an error record (None and no record for a directory)."""
    try:
        return source.path.read_bytes()
    except IsADirectoryError:
        return None
    except OSError as exc:
        errors.append(_unreadable(source, exc))
        return None


def _unreadable(source: SourceFile, exc: OSError) -> ErrorRecord:
    kind = "symlink-loop" if exc.errno == 40 else "unreadable"
    return ErrorRecord(source.rel, kind, exc.strerror or str(exc))


def _repo_prefix(root: Path, config: Config) -> str:
    """The scanned root relative to the repository (git top level, else the directory of
    the config file), for the CI formats that want repo-relative paths."""
    import shutil
    import subprocess

    top: Path | None = None
    git = shutil.which("git")
    if git:
        try:
            proc = subprocess.run([git, "rev-parse", "--show-toplevel"], cwd=root,
                                  capture_output=True, text=True, timeout=10, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                top = Path(proc.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            top = None
    if top is None and config.config_file is not None:
        top = config.project_root
    if top is None:
        return ""
    try:
        rel = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def load_reports(paths: Sequence[Path]) -> Report:
    """What `optadvisor report` shows: one report, several merged (merge_reports), or the
    shards of one scan joined into the report of the whole scan (merge_shards)."""
    from optadvisor.config import ConfigError
    from optadvisor.shard import is_shard

    documents = [(path, _load_document(path)) for path in paths]
    shards = [(path, data) for path, data in documents if is_shard(data)]
    if shards:
        others = [str(path) for path, data in documents if not is_shard(data)]
        if others:
            raise ConfigError(f"{others[0]}: not a shard document (written by `scan --shard "
                              "K/N --format json`), while the other inputs are shards: "
                              "merge shards of one scan alone")
        return merge_shards(shards)
    return merge_reports([_report_of(path, data) for path, data in documents])


def load_report(path: Path) -> Report:
    """A scan or profile JSON written by `--format json`, or a run saved by
    `profile --save-run` (its recommendations are made again from the measurements and
    the code as it is now), as a Report."""
    return _report_of(path, _load_document(path))


def _load_document(path: Path) -> Any:
    from optadvisor.config import ConfigError
    from optadvisor.inputs import DOCUMENT_BYTES, InputError, load_json

    try:
        return load_json(path, DOCUMENT_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON: {exc}") from None


def _report_of(path: Path, data: Any) -> Report:
    from optadvisor.config import ConfigError
    from optadvisor.profile.store import is_profile_run

    if is_profile_run(data):
        from optadvisor.models import ProfileRun

        try:
            run = ProfileRun.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: malformed profile run: {exc}") from None
        root = Path(run.root)
        return profile_report(run, ScanOptions(paths=(root,)), saved_as=str(path))
    if not isinstance(data, dict) or data.get("schema_version") != 1 or "summary" not in data:
        raise ConfigError(f"{path}: not an optadvisor report (schema_version 1)")
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: malformed report: {exc}") from None


def merge_shards(named: Sequence[tuple[Path, Mapping[str, Any]]]) -> Report:
    """The report of the whole scan from the documents of its shards: their facts joined,
    linked and judged by the rules as one scan does (files -> facts -> link -> rules), so
    cross-file findings that span shards are found. Nothing is parsed again: each file's
    text and facts come from its shard, and so do the fixes."""
    from optadvisor.engine import Engine, FileInput
    from optadvisor.rules import load_rules
    from optadvisor.subjects import SourceText

    from optadvisor.cache import decode_facts
    from optadvisor.config import ConfigError
    from optadvisor.shard import check_set, error_records, known_fixes, settings_of

    started = time.perf_counter()
    try:
        shards = check_set(named)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"malformed shard document: {exc!r}") from None
    first = shards.first
    written_by = first.get("tool", {}).get("version")
    if written_by != __version__:
        raise ConfigError(f"the shards were written by optadvisor {written_by}; this is "
                          f"{__version__}: merge them with the version that scanned")
    try:
        settings = settings_of(first["shard"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"malformed shard document: {exc!r}") from None
    options = ScanOptions(
        paths=tuple(Path(p) for p in settings.paths),
        config_file=Path(settings.config_file) if settings.config_file else None,
        select=settings.select, ignore=settings.ignore, use_cache=False,
        include_tests=settings.include_tests, include_examples=settings.include_examples)
    config = _config(options)
    catalog = load_catalog(config.catalogs)
    rules = load_rules(config.rule_dirs)
    if _settings_digest(config, catalog, options) != first["shard"]["settings_digest"]:
        raise ConfigError(
            "the rules or config where `report` runs differ from the shards' (digest "
            f"{first['shard']['settings_digest']}): merge in a checkout of the commit the "
            "shards scanned, with the same --config and rule files")
    engine = Engine(rules, catalog, config, options.select, options.ignore,
                    known_fixes(shards.shards))  # type: ignore[arg-type]
    root = Path(first["root"])
    inputs: list[FileInput] = []
    owner: dict[str, int] = {}
    file_errors: list[ErrorRecord] = []
    try:
        for shard in shards.shards:
            for entry in shard["files"]:
                rel = entry["path"]
                if rel in owner:
                    raise ConfigError(f"{rel} is in shard {owner[rel]} and in shard "
                                      f"{shard['index']}: not shards of one partition")
                owner[rel] = shard["index"]
                source = SourceFile(path=root / rel, rel=rel, component=entry["component"],
                                    explicit=bool(entry.get("explicit")),
                                    module_root=entry.get("module_root", ""))
                inputs.append(FileInput(source, replace(decode_facts(entry["facts"]), path=rel),
                                        SourceText(entry["text"]), digest=entry["digest"]))
            file_errors.extend(error_records(shard.get("file_errors", ())))
        errors = [*error_records(first["shard"].get("discovery_errors", ())), *file_errors]
        summary = first["summary"]
        excluded = summary.get("excluded_by_default", {})
        cached = sum(doc["summary"].get("cached_files", 0) for doc in shards.documents)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"malformed shard document: {exc!r}") from None
    inputs.sort(key=lambda i: i.source.rel)
    _link(inputs, catalog)
    analysis = _Analysis(inputs, errors, cached)
    result = engine.run(analysis.inputs)
    analysis.errors.extend(_rule_errors(engine.rule_errors(), root))
    return _report(root, config, analysis, list(result.recommendations), result.suppressed,
                   started, excluded, result.skipped, path_prefix=first.get("path_prefix", ""))


def merge_reports(reports: list[Report]) -> Report:
    """One report from several (shards of one scan, or scans of sibling trees)."""
    if len(reports) == 1:
        return reports[0]
    recs = sorted((r for rep in reports for r in rep.recommendations), key=rank_key)
    ranked = sorted((t for rep in reports for t in rep.targets),
                    key=lambda t: (-t.score, t.kind, t.path, t.symbol))
    errors = tuple(e for rep in reports for e in rep.errors)
    by_priority = Counter(r.priority for r in recs)
    s = [rep.summary for rep in reports]
    candidates: Counter[str] = Counter()
    for item in s:
        candidates.update(item.candidates)
    summary = Summary(
        files=sum(x.files for x in s), lines=sum(x.lines for x in s),
        functions=sum(x.functions for x in s),
        components=len({r.component for r in recs} | {t.component for t in ranked}),
        errors=len(errors), seconds=round(sum(x.seconds for x in s), 3),
        recommendations=len(recs),
        by_priority={p: by_priority[p] for p in PRIORITIES if by_priority[p]},
        by_kind=dict(sorted(Counter(r.kind for r in recs).items())),
        candidates=dict(candidates), cached_files=sum(x.cached_files for x in s),
        suppressed=sum(x.suppressed for x in s),
        excluded_by_default=_sum_excluded(x.excluded_by_default for x in s),
        skipped_by_context=dict(sorted(sum((Counter(x.skipped_by_context) for x in s),
                                           Counter()).items())),
    )
    first = reports[0]
    return Report(root=first.root, summary=summary, recommendations=tuple(recs),
                  targets=tuple(ranked), errors=errors, plan=tuple(plan(recs, ranked)),
                  tool_version=first.tool_version, path_prefix=first.path_prefix)


def _sum_excluded(parts: Iterable[Mapping[str, Mapping[str, int]]]
                  ) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for part in parts:
        for reason, counts in part.items():
            entry = total.setdefault(reason, {"files": 0, "directories": 0})
            for key in entry:
                entry[key] += counts.get(key, 0)
    return total


def exit_code(report: Report, fail_on: str) -> int:
    """0: nothing at or above `fail_on`; 1: something is. Low-confidence findings (tests,
    examples, long helper chains) are shown but never fail the run."""
    if fail_on == "never":
        return 0
    limit = PRIORITIES.index(fail_on)
    return int(any(PRIORITIES.index(r.priority) <= limit for r in report.recommendations
                   if r.priority in PRIORITIES and r.confidence != "low"))


@dataclass(frozen=True)
class FixOutcome:
    """What `scan --fix` / `--diff` did: the report of what remains, and each changed
    file's text before and after."""

    report: Report
    fixed: int
    changes: Mapping[str, tuple[str, str]]
    """Relative path -> (text before, text after)."""
    unsafe_left: int
    """Remaining recommendations whose fix is unsafe (applied with --unsafe-fixes)."""


def fix(options: ScanOptions, unsafe: bool = False, write: bool = True,
        progress: ProgressHook | None = None) -> FixOutcome:
    """Apply the applicable fixes, re-scan the changed files and repeat until nothing
    changes (at most MAX_PASSES): fixes compose, and a second run changes nothing. Files
    are written at the end, atomically, and only when they still compile."""
    from optadvisor.fix.apply import MAX_PASSES, applicable, fix_pass

    overlay: dict[str, bytes] = {}
    originals: dict[str, tuple[bytes, str]] = {}
    current: dict[str, str] = {}
    fixed = 0
    report = scan(options, progress)
    root = Path(report.root)
    for _ in range(MAX_PASSES):
        by_path: dict[str, list[Recommendation]] = {}
        for rec in report.recommendations:
            if applicable(rec, unsafe):
                by_path.setdefault(rec.path, []).append(rec)
        changed = False
        for rel, recs in sorted(by_path.items()):
            if rel not in current:
                data = (root / rel).read_bytes()
                text = _editable_text(data)
                if text is None:
                    continue
                originals[rel] = (data, text)
                current[rel] = text
            step = fix_pass(current[rel], recs, unsafe, rel)
            if step.applied and step.text != current[rel]:
                current[rel] = step.text
                overlay[rel] = _encode(step.text, originals[rel][0])
                fixed += len(step.applied)
                changed = True
        if not changed:
            break
        report = scan(replace(options, notify=None), None, overlay)  # warned once already
    changes = {rel: (originals[rel][1], text) for rel, text in current.items()
               if text != originals[rel][1]}
    if write:
        for rel in sorted(changes):
            _write_atomically(root / rel, overlay[rel])
    unsafe_left = sum(1 for r in report.recommendations
                      if r.fix is not None and r.fix.applicability == "unsafe" and r.fix.edits)
    return FixOutcome(report=report, fixed=fixed, changes=changes,
                      unsafe_left=0 if unsafe else unsafe_left)


def _editable_text(data: bytes) -> str | None:
    """Fixes rewrite UTF-8 files only (with or without a BOM): re-encoding a file in a
    legacy encoding is not a change a linter should make silently."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _encode(text: str, original: bytes) -> bytes:
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    return bom + text.encode("utf-8")


def _write_atomically(path: Path, data: bytes) -> None:
    import tempfile

    path = path.resolve()  # a symlinked file is changed where it lives
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".optadvisor-fix",
                               dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def flagged_functions(path: Path) -> tuple[tuple[str, str], ...]:
    """(absolute file, qualified name) of every function a saved scan report has findings
    in: what `profile --calls --findings` times besides the hot ones."""
    report = load_report(path)
    root = Path(report.root)
    found = {((root / rec.path).resolve().as_posix(), rec.symbol)
             for rec in report.recommendations
             if rec.symbol and not rec.symbol.startswith("<")}
    return tuple(sorted(found))


def flagged_awaits(path: Path) -> tuple[tuple[str, str, str, str, int, int], ...]:
    """(absolute file, qualified name, rule, kind, line, end_line) of the await findings
    (sequential-awaits, await-in-loop) of a saved scan report: the groups whose await time
    and concurrency `profile --calls --findings` measures."""
    from optadvisor.profile.awaits import AWAIT_KINDS

    report = load_report(path)
    root = Path(report.root)
    found = {((root / rec.path).resolve().as_posix(), rec.symbol, rec.rule, rec.kind,
              rec.line, rec.end_line)
             for rec in report.recommendations
             if rec.kind in AWAIT_KINDS and rec.symbol and not rec.symbol.startswith("<")}
    return tuple(sorted(found))
