"""The frozen values every stage passes on: configuration, facts, rules, recommendations.

Everything shared lives here so the other modules import from one place and never from
each other in a cycle. Facts are plain data (ints, strings, tuples) so they survive the
trip to worker processes and the JSON cache without custom codecs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

SCHEMA_VERSION = 1

PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
"""Highest first; `--fail-on` compares against this order."""

LEVELS: tuple[str, ...] = ("high", "medium", "low")
"""For confidence; effort uses EFFORTS."""

EFFORTS: tuple[str, ...] = ("small", "medium", "large")

CANDIDATES: tuple[str, ...] = ("caching", "async", "profiling", "optimization")


def priority_rank(priority: str) -> int:
    """0 for critical … 3 for low; unknown priorities sort last."""
    try:
        return PRIORITIES.index(priority)
    except ValueError:
        return len(PRIORITIES)


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class PathIgnore:
    """`per-path-ignores`: rules silenced for files matching a gitignore-style pattern."""

    pattern: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    project_root: Path
    config_file: Path | None = None
    include: tuple[str, ...] = ("*.py", "*.pyi")
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path_ignores: tuple[PathIgnore, ...] = ()
    component_roots: tuple[str, ...] = ()
    cache_dir: Path | None = None
    jobs: int = 0
    catalogs: tuple[Path, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    max_file_bytes: int = 5 * 1024 * 1024
    fail_on: str = "high"
    respect_gitignore: bool = True

    def analysis_key(self) -> dict[str, Any]:
        """The parts of the config that change per-file facts (and so the cache key)."""
        return {"max_file_bytes": self.max_file_bytes}


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class SourceFile:
    path: Path
    """Absolute path on disk."""
    rel: str
    """POSIX path relative to the scan root: what reports show."""
    component: str
    explicit: bool = False


@dataclass(frozen=True)
class ErrorRecord:
    path: str
    kind: str
    """parse-error, decode-error, too-large, too-deep, not-found, unreadable, symlink-loop,
    internal-error, config-error, rule-error."""
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class CallFact:
    """A call site the catalog knows something about (blocking, client, network, …)."""

    name: str
    """Resolved dotted name: `requests.get`, `openai.OpenAI.chat.completions.create`."""
    line: int
    column: int
    end_line: int
    end_column: int
    function: int
    """Index of the enclosing function in FileFacts.functions; -1 for module level."""
    awaited: bool = False
    loop_depth: int = 0
    """Loops around the call inside its own function (module level counts its loops)."""
    offloaded: bool = False
    """Inside a def/lambda handed to asyncio.to_thread, run_in_executor and the like."""
    in_with: bool = False
    assigned_to: str = ""
    """`self.attr`, `global`, `local` or `` (not assigned)."""
    lazy: bool = False
    """Stored for reuse: assigned to self.x / a module global (lazy initialisation)."""
    blocking: str = ""
    """Category of blocking work (http, sleep, subprocess, file, db, cloud, llm) or ``."""
    client: str = ""
    """Kind of client the call builds (http, llm, db, cloud, cache) or ``."""
    timeout: str = ""
    """For network calls: set | missing | none | default | dynamic; `` if not a network call."""
    replacement: str = ""
    """What the catalog suggests instead (e.g. `httpx.AsyncClient`)."""

    @property
    def network(self) -> bool:
        return bool(self.timeout)


@dataclass(frozen=True)
class FunctionFact:
    name: str
    qualname: str
    line: int
    end_line: int
    column: int = 1
    is_async: bool = False
    class_name: str = ""
    parent: int = -1
    decorators: tuple[str, ...] = ()
    cached: bool = False
    """Decorated with a memoizing decorator (functools.lru_cache, cache, cached_property…)."""
    params: int = 0
    statements: int = 0
    loops: int = 0
    max_loop_depth: int = 0
    calls: int = 0
    awaits: int = 0
    yields: bool = False
    callees: tuple[str, ...] = ()
    """Distinct resolved names this function calls (for the link stage and profiling)."""

    @property
    def lines(self) -> int:
        return self.end_line - self.line + 1

    @property
    def is_method(self) -> bool:
        return bool(self.class_name)


@dataclass(frozen=True)
class LoopFact:
    line: int
    end_line: int
    kind: str
    """for | async for | while."""
    function: int
    depth: int
    awaits: int = 0
    calls: int = 0


@dataclass(frozen=True)
class FileFacts:
    """Everything one parse + one visit learns about one file."""

    path: str
    lines: int
    functions: tuple[FunctionFact, ...] = ()
    calls: tuple[CallFact, ...] = ()
    loops: tuple[LoopFact, ...] = ()
    imports: tuple[str, ...] = ()
    suppressions: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """(line, codes) pairs; codes == ("*",) silences every rule on that line."""
    positions: str = "ast"
    """Where positions came from: `ast` (matched by order) or `libcst` (fallback)."""


@dataclass(frozen=True)
class FileResult:
    """What analysis of one file yields: facts, or an error record (never an exception)."""

    source: SourceFile
    digest: str
    facts: FileFacts | None = None
    error: ErrorRecord | None = None
    cached: bool = False


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleExample:
    code: str
    triggers: int
    """How many recommendations of this rule the code must produce (0 for near misses)."""
    line: int
    """Line of the example in its rule file (for test ids and error messages)."""
    note: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    category: str
    priority: str
    subject: str
    when: str
    title: str
    message: str
    impact: str
    fix_after: str
    confidence: str
    effort: str
    source_file: Path
    docs: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[RuleExample, ...] = ()
    tags: tuple[str, ...] = ()
    precision: str = "high"
    lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each key in its TOML file, so errors can point at it."""
    fix_scope: str = "call"
    """`call`: fix.after replaces the flagged call in the user's line; `block`: it is the
    whole code to write."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Snippet:
    before: str
    after: str


@dataclass(frozen=True)
class Recommendation:
    rule: str
    kind: str
    category: str
    priority: str
    score: int
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    symbol: str
    component: str
    title: str
    message: str
    evidence: Mapping[str, Any]
    impact: str
    confidence: str
    effort: str
    snippet: Snippet
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["evidence"] = dict(self.evidence)
        return out


@dataclass(frozen=True)
class Target:
    """A function, file or component ranked as a place worth working on."""

    kind: str
    """function | file | component."""
    path: str
    component: str
    symbol: str
    score: int
    caching: bool
    async_: bool
    profiling: bool
    optimization: bool
    recommendations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "component": self.component,
            "symbol": self.symbol,
            "score": self.score,
            "caching": self.caching,
            "async": self.async_,
            "profiling": self.profiling,
            "optimization": self.optimization,
            "recommendations": self.recommendations,
        }

    @property
    def flags(self) -> dict[str, bool]:
        return {
            "caching": self.caching,
            "async": self.async_,
            "profiling": self.profiling,
            "optimization": self.optimization,
        }


@dataclass(frozen=True)
class PlanPhase:
    name: str
    description: str
    recommendations: tuple[int, ...]
    """Indexes into Report.recommendations."""


@dataclass(frozen=True)
class Summary:
    files: int
    lines: int
    functions: int
    components: int
    errors: int
    seconds: float
    recommendations: int
    by_priority: Mapping[str, int]
    by_kind: Mapping[str, int]
    candidates: Mapping[str, int]
    cached_files: int = 0
    suppressed: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("by_priority", "by_kind", "candidates"):
            out[key] = dict(out[key])
        return out


@dataclass(frozen=True)
class Report:
    root: str
    summary: Summary
    recommendations: tuple[Recommendation, ...]
    targets: tuple[Target, ...]
    errors: tuple[ErrorRecord, ...]
    plan: tuple[PlanPhase, ...] = ()
    tool_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "optadvisor", "version": self.tool_version},
            "root": self.root,
            "summary": self.summary.to_dict(),
            "recommendations": [r.to_dict() for r in self.recommendations],
            "targets": [t.to_dict() for t in self.targets],
            "errors": [e.to_dict() for e in self.errors],
            "plan": [
                {"name": p.name, "description": p.description,
                 "recommendations": list(p.recommendations)}
                for p in self.plan
            ],
        }
