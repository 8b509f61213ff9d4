"""The warm path: what the last scan of a project concluded, file by file, so that the next
scan redoes only what its inputs changed.

One state file per project (the directories scanned and the config file) sits in the
cache dir. It holds, per file, the digest of its bytes and its rule results — the
recommendations, the suppressed count and the outline that ranking needs — under a key
made of everything those results read: the file's bytes and path, its component, what the
project-wide link stage found for it (the helpers its calls block through, in other files
too), and the engine key (optadvisor's code, the rule files, the catalog, the selection).
The engine key is of the rules' inputs, not of the loaded rules, and the state keeps the
warnings the engine gave (Notes): a scan that finds the state's engine key and evaluates
no file loads no rule at all (jinja2's import and 25 rule files with their templates).
So:

- nothing changed (every file's digest and the project key equal): the results are taken
  as they are; no fact is decoded, nothing is linked or evaluated;
- some files changed: facts come from the content-hash cache (cache.py), the link stage
  runs over the whole project, and only the files whose key changed are evaluated again —
  the changed files, and any other file whose link results they changed (an async caller
  of a helper that now blocks);
- the rules, the config or optadvisor changed: the engine key differs and every file is
  evaluated again (facts stay cached).

Each file's row also keeps what os.stat said of it when it was read (warm.stat_key):
a later scan that finds the same size, mtime, ctime and inode takes the stored digest
instead of reading and hashing the file again (git's index does the same, for the same
reason: reading and hashing 1,800 files was a tenth of a warm scan). Why that is safe:
ctime cannot be set from user space, and any write or utime() moves it, so an edit that
keeps the size and restores the mtime (`cp -p`, `touch -r`, rsync -t) still differs. The
classic risk is an edit within the same timestamp tick as the stat that was kept; so a
stat is kept only for a file that had not changed (by its ctime) for RACY_NS when the
scan started, and any later write gives it a ctime the kept one cannot equal. A file that
changed during the scan that read it keeps no stat and is hashed next time. What is left
is what git accepts too: a clock set back, or a tool that writes raw disk blocks. The content
hash stays the truth: every file whose stat differs, or whose bytes a scan needs, is read
and hashed (a digest that then differs from the stat's starts the analysis over with
every file hashed).

The state is JSON, read with the same guards as every cache entry (regular file, size
cap, nesting depth) and checked field by field: a corrupt, truncated, foreign or hostile
state is ignored (the scan does the work and writes a new one), never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from optadvisor.cache import _write, encode_facts
from optadvisor.inputs import load_json
from optadvisor.models import (
    CallFact, ErrorRecord, FileFacts, FunctionFact, LoopFact, Recommendation, SourceFile,
)
from optadvisor.scoring import Outline, outline

if TYPE_CHECKING:
    from optadvisor.engine import Engine, FileInput

FORMAT = 16
"""2: each file's stat is kept (an unchanged file is neither read nor hashed). 3: a link
chain carries the bridge flag and the async twin (before, a warm scan gave the thread fix a
cold scan does not give), an awaited callee whether it reaches more than local files, and
which coroutines run alone on a loop of their own. 4: the engine key is of the rules'
inputs (engine_key), and the engine's notes are kept. 5: whether the helper is a generator
the coroutine's loop drives (its advice is in words, not a thread). 6: an awaited callee
which others of its await group it calls itself (they are not independent), and which
functions only set-up code (not an entry point) calls. 7: whether a helper of a chain
needs the running event loop (no thread fix). 8: calls that make an instance of a project
class whose `__init__` builds a client (link.Wrapped). 9: calls in a lambda a project
helper runs in a worker thread (FileLinks.offloaded). 10: private functions nothing in the
project names (FileLinks.uncalled). 11: an awaited callee whether it queues on a handle its
object holds (Awaited.ordered). 12: whether it waits for a rate limit (Awaited.paced). 13:
whether it runs work concurrently itself (Awaited.concurrent). 14: plain handler methods a web
framework runs on its event loop (FileLinks.on_loop). 15: coroutines alone on their loop
until their first await (FileLinks.starts_alone)."""
RACY_NS = 3_000_000_000
"""A file changed less than this before a scan keeps no stat: its next scan hashes it.
Covers file systems with coarse timestamps (FAT: 2 s) and a clock a little behind."""
STATE_BYTES = 256 * 1024 * 1024
"""One project's state (the standard library's: ~0.3 MB)."""


StatKey = tuple[int, int, int, int]
"""(size, mtime_ns, ctime_ns, inode)."""
Notes = tuple[tuple[str, ...], tuple[str, ...]]
"""The warnings the engine gave for the selection, said before and after discovery's."""


@dataclass(frozen=True)
class FileResult:
    """The rule results of one file, and the key they were computed under."""

    key: str
    recommendations: tuple[Recommendation, ...]
    suppressed: int
    skipped: str
    """The context whose files the rules skip ("test", "example"), or ""."""
    outline: Outline
    links: list[Any] | None = None
    """What the link stage found for the file (links_form), when it found anything."""


@dataclass
class WarmState:
    """The state of one project as the last scan left it."""

    engine_key: str
    layout_key: str = ""
    """Of the file set (paths, module roots, components) and the facts context."""
    project_key: str = ""
    """Of every file read (path, component, module root, digest) and the facts context:
    when it is unchanged, so is every file's link result. "" when the last scan left a file
    without a cached outcome (an internal error, a timeout), which must be redone."""
    digests: dict[str, str] | None = None
    results: dict[str, FileResult] | None = None
    errors: dict[str, ErrorRecord] | None = None
    """Files whose analysis failed in a way the fact cache keeps (a parse error)."""
    stats: dict[str, StatKey] | None = None
    """What os.stat said of a file whose digest is kept, when it can be trusted."""
    notes: Notes = ((), ())
    """The engine's warnings under engine_key: said again by a scan that builds no engine."""

    def __post_init__(self) -> None:
        self.digests = self.digests or {}
        self.results = self.results or {}
        self.errors = self.errors or {}
        self.stats = self.stats or {}


def stat_key(st: "os.stat_result") -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def settled(key: StatKey, started_ns: int) -> bool:
    """Whether a stat may be kept: the file had not changed for RACY_NS when the scan
    that read it started (see the module docstring). The ctime, not the mtime: every
    write sets the ctime to the time of the write, while the mtime can be set to anything
    (utime)."""
    return key[2] < started_ns - RACY_NS


def state_path(cache_dir: Path, paths: Sequence[Path], config_file: Path | None) -> Path:
    """Where the state of a scan of `paths` (with this config file) is kept."""
    where = json.dumps([sorted(str(p.resolve()) for p in paths),
                        str(config_file.resolve()) if config_file else ""])
    name = hashlib.blake2b(where.encode(), digest_size=16).hexdigest()
    return cache_dir / f"projects-v{FORMAT}" / f"{name}.json"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Of optadvisor's own code: results computed by other code are not reused, even
    without a version bump (a checkout of another branch, an edit)."""
    h = hashlib.blake2b(digest_size=16)
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode("utf-8", "surrogateescape")
                 + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def engine_key(facts_context: str, rule_files: Iterable[Path], catalog_digest: str,
               selection: Any) -> str:
    """What every file's rule results depend on besides the file: the facts context, the
    rule files' bytes, the catalog, the selection as given (select, ignore, per-path
    ignores, the contexts skipped, and what renders templates: api._warm_state) and
    optadvisor's code. All inputs, nothing loaded from them: the engine built from them,
    its rules, its warnings and its errors are a function of this key, so a state saved
    under it says that building that engine succeeded and what it warned."""
    h = hashlib.blake2b(digest_size=16)
    for part in (facts_context, catalog_digest, code_digest(), repr(selection)):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for path in rule_files:
        h.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def project_keys(facts_context: str, sources: Iterable[tuple[SourceFile, str]],
                 packages: Mapping[str, str]) -> tuple[str, str]:
    """(layout key, project key): of the file set (each file's path, module root and
    component, the package each scanned directory is, the facts context), and of that
    and every file's facts (by its digest). The project key covers everything the link
    stage reads."""
    layout = hashlib.blake2b(digest_size=16)
    layout.update(facts_context.encode() + b"\0" + repr(sorted(packages.items())).encode())
    project = layout.copy()
    for source, digest in sorted(sources, key=lambda s: s[0].rel):
        where = f"\0{source.rel}\0{source.module_root}\0{source.component}".encode(
            "utf-8", "surrogateescape")  # a name that is not UTF-8: its own bytes
        layout.update(where)
        project.update(where + f"\0{digest}".encode())
    return layout.hexdigest(), project.hexdigest()


_NOT_LINKED = ("path", "lines", "imports", "caches", "suppressions", "positions")
"""Fact fields link.py never reads."""
_POSITIONS = {"line", "column", "end_line", "end_column", "await_line", "await_column",
              "await_end_line", "await_end_column"}


def _kept(cls: type) -> list[int]:
    return [i for i, name in enumerate(cls.__dataclass_fields__) if name not in _POSITIONS]


_KEPT = {"functions": _kept(FunctionFact), "calls": _kept(CallFact), "loops": _kept(LoopFact)}


def link_digest(facts: FileFacts) -> str:
    """Of what the link stage reads of a file's facts, positions aside. link.py reads a
    line only to name a hop of a chain (Hop.line); so two versions of a file with the same
    digest give every file the same links, but for the lines of hops into it (line_moves).
    A changed comment, docstring, literal or loop body, lines added or removed: the same
    digest. A call or a function added, removed or renamed: another."""
    body = encode_facts(facts)
    for name in _NOT_LINKED:
        del body[name]
    for name, kept in _KEPT.items():
        body[name] = [[row[i] for i in kept] for row in body[name]]
    for name in ("await_groups", "call_groups"):
        body[name] = [[row[0], row[4], row[5]] for row in body[name]]
    return hashlib.blake2b(json.dumps(body, separators=(",", ":")).encode(),
                           digest_size=16).hexdigest()


def line_moves(before: FileFacts, after: FileFacts) -> dict[tuple[str, int], int] | None:
    """Where each line a hop into this file can name went, (name, old line) -> new line:
    the functions' (by qualname) and the calls' (by name), two versions of a file with the
    same link_digest being the same functions and calls in the same order. None when one
    (name, line) would go to two places (a line split in two): the project is linked
    again then."""
    moves: dict[tuple[str, int], int] = {}
    pairs = [*((a.qualname, a.line, b.line) for a, b in zip(before.functions, after.functions)),
             *((a.name, a.line, b.line) for a, b in zip(before.calls, after.calls))]
    for name, old, new in pairs:
        if moves.setdefault((name, old), new) != new:
            return None
    return moves


def moved_links(form: list[Any] | None, moves: Mapping[str, Mapping[tuple[str, int], int]]
                ) -> list[Any] | None:
    """A links_form with the lines of its hops into the files in `moves` moved; raises
    KeyError for a hop line nothing says where it went."""
    if form is None or not moves:
        return form
    via, *rest_of_form = form
    return [[[index, [[name, path, moves[path][(name, line)] if path in moves else line]
                      for name, path, line in chain], *rest]
             for index, chain, *rest in via], *rest_of_form]


def links_form(item: "FileInput") -> list[Any] | None:
    """What link found for a file, as JSON in a canonical order (None for nothing)."""
    if not (item.via or item.awaited or item.runs_once or item.alone or item.wraps
            or item.offloaded or item.fresh_loop or item.uncalled or item.on_loop
            or item.starts_alone):
        return None
    from optadvisor.models import VIA_FLAGS

    # Every field of Via after its chain, in declaration order (set_links passes them back
    # positionally): a field left out would come back as its default, or in another's place.
    return [[[index, [[h.name, h.path, h.line] for h in via.chain],
              *(getattr(via, name) for name in VIA_FLAGS)]
             for index, via in sorted(item.via.items())],
            [[name, *found] for name, found in sorted(item.awaited.items())],
            sorted(item.runs_once), sorted(item.alone), sorted(item.setup_only),
            [[index, found.kind, found.built] for index, found in sorted(item.wraps.items())],
            sorted(item.offloaded), sorted(item.fresh_loop), sorted(item.uncalled),
            sorted(item.on_loop), sorted(item.starts_alone)]


def set_links(item: "FileInput", form: list[Any] | None) -> None:
    """The inverse of links_form, onto `item`."""
    from optadvisor.link import Awaited, Hop, Via, Wrapped

    if form is None:
        return
    via, awaited, once, alone, setup_only, wraps, offloaded, fresh_loop, uncalled, on_loop, \
        starts_alone = form
    item.via = {index: Via(tuple(Hop(*hop) for hop in chain), *rest)
                for index, chain, *rest in via}
    item.awaited = {name: Awaited(*found[:5], tuple(found[5]), *found[6:])
                    for name, *found in awaited}
    item.runs_once = frozenset(once)
    item.alone = frozenset(alone)
    item.setup_only = frozenset(setup_only)
    item.wraps = {index: Wrapped(kind, built) for index, kind, built in wraps}
    item.offloaded = frozenset(offloaded)
    item.fresh_loop = frozenset(fresh_loop)
    item.uncalled = frozenset(uncalled)
    item.on_loop = frozenset(on_loop)
    item.starts_alone = frozenset(starts_alone)


def result_key(engine: str, item: "FileInput", links: list[Any] | None) -> str:
    """Of everything one file's rule results read (engine.py: run_file)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{engine}\0{item.source.rel}\0{item.source.component}\0{item.digest}\0"
             .encode("utf-8", "surrogateescape"))
    h.update(json.dumps(links, separators=(",", ":")).encode())
    return h.hexdigest()


def evaluate(engine: "Engine", inputs: list["FileInput"], key: str,
             previous: WarmState | None) -> tuple[dict[str, FileResult], int]:
    """Every file's rule results: the previous scan's where the file's key is the same,
    the engine's otherwise. Also how many were evaluated."""
    from optadvisor.rules import TemplateRenderer

    old = previous.results if previous is not None and previous.engine_key == key else {}
    results: dict[str, FileResult] = {}
    evaluated = 0
    for item in inputs:
        links = links_form(item)
        rkey = result_key(key, item, links)
        hit = old.get(item.source.rel) if old else None
        if hit is not None and hit.key == rkey:
            results[item.source.rel] = hit
        else:
            results[item.source.rel] = _run(engine, item, rkey, links)
            evaluated += 1
    if evaluated < len(inputs) and engine.rule_errors():
        # A template that failed here may have stopped rendering for the files after it
        # (rules.py: TemplateRenderer), as it would in a scan that evaluates them all:
        # reused results cannot say so, so they all are evaluated again.
        engine.templates = TemplateRenderer()
        results = {}
        for item in inputs:
            links = links_form(item)
            results[item.source.rel] = _run(engine, item, result_key(key, item, links),
                                            links)
        evaluated = len(inputs)
    return results, evaluated


def _run(engine: "Engine", item: "FileInput", key: str, links: list[Any] | None
         ) -> FileResult:
    found = engine.run([item])
    recs = tuple(found.recommendations)
    return FileResult(key, recs, found.suppressed, next(iter(found.skipped), ""),
                      outline(item.source, item.facts, {r.symbol for r in recs}), links)


# --------------------------------------------------------------------------- the file


def read(path: Path) -> Any:
    """The state file's JSON, or None."""
    try:
        return load_json(path, STATE_BYTES, own=True)
    except (OSError, ValueError):
        return None  # missing, not a regular file, too large, not JSON, too deep


def load(path: Path, engine: str, data: Any = None) -> WarmState | None:
    """The state at `path` (or its JSON, `data`, read already) when it was written under
    this engine key... or under another one (its digests and project key still tell which
    facts are unchanged: None only when there is no usable state)."""
    if data is None:
        data = read(path)
    if data is None:
        return None
    try:
        return _decode(data, engine)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # corrupt or foreign: the scan writes a new one


def save(path: Path, state: WarmState) -> bool:
    """False when the cache dir cannot be written (that costs speed, never results)."""
    assert state.results is not None and state.errors is not None
    assert state.digests is not None and state.stats is not None
    stats = state.stats
    body = {
        "format": FORMAT, "engine": state.engine_key, "layout": state.layout_key,
        "project": state.project_key, "notes": [list(state.notes[0]), list(state.notes[1])],
        "files": {rel: [state.digests[rel], r.key, r.suppressed, r.skipped,
                        [r.outline.component, r.outline.lines, r.outline.functions,
                         [list(m) for m in r.outline.marks]],
                        [rec.to_dict() for rec in r.recommendations], r.links,
                        _stat_row(stats.get(rel))]
                  for rel, r in state.results.items()},
        "errors": {rel: [state.digests[rel], e.kind, e.message, e.line,
                         _stat_row(stats.get(rel))]
                   for rel, e in state.errors.items()},
    }
    return _write(path, json.dumps(body, separators=(",", ":")))


def _decode(data: Any, engine: str) -> WarmState:
    if data.get("format") != FORMAT:
        raise ValueError("another format")
    project = _typed(data["project"], str)
    layout = _typed(data["layout"], str)
    stored_engine = _typed(data["engine"], str)
    digests: dict[str, str] = {}
    results: dict[str, FileResult] = {}
    errors: dict[str, ErrorRecord] = {}
    stats: dict[str, StatKey] = {}
    before, after = _shape(data["notes"], 2)
    notes = (tuple(_typed(n, str) for n in _typed(before, list)),
             tuple(_typed(n, str) for n in _typed(after, list)))
    same = stored_engine == engine
    for rel, row in _typed(data["files"], dict).items():
        digest, key, suppressed, skipped, shape, recs, links, stat = _shape(row, 8)
        component, lines, functions, marks = _shape(shape, 4)
        digests[rel] = _typed(digest, str)
        if stat is not None:
            stats[rel] = _stat(stat)
        if not same:
            continue  # the results were computed by other rules or code: only digests
        results[rel] = FileResult(
            _typed(key, str), tuple(_recommendation(r, rel) for r in _typed(recs, list)),
            _typed(suppressed, int), _typed(skipped, str),
            Outline(rel, _typed(component, str), _typed(lines, int), _typed(functions, int),
                    tuple((_typed(q, str), _typed(p, bool))
                          for q, p in (_shape(m, 2) for m in _typed(marks, list)))),
            _links(links))
    for rel, row in _typed(data["errors"], dict).items():
        digest, kind, message, line, stat = _shape(row, 5)
        digests[rel] = _typed(digest, str)
        if stat is not None:
            stats[rel] = _stat(stat)
        if line is not None:
            _typed(line, int)
        errors[rel] = ErrorRecord(rel, _typed(kind, str), _typed(message, str), line)
    return WarmState(stored_engine, layout, project, digests, results, errors, stats, notes)


def _stat_row(key: StatKey | None) -> list[int] | None:
    return list(key) if key is not None else None


def _stat(row: Any) -> StatKey:
    size, mtime, ctime, inode = _shape(row, 4)
    return (_typed(size, int), _typed(mtime, int), _typed(ctime, int), _typed(inode, int))


def _links(form: Any) -> list[Any] | None:
    """A stored links_form, checked (set_links builds from it)."""
    if form is None:
        return None
    from optadvisor.models import VIA_FLAGS, Via

    types = {name: type(getattr(Via((), "", ""), name)) for name in VIA_FLAGS}
    via, awaited, once, alone, setup_only, wraps, offloaded, fresh_loop, uncalled, on_loop, \
        starts_alone = _shape(form, 11)
    for row in _typed(via, list):
        index, chain, *flags = _shape(row, 2 + len(VIA_FLAGS))
        _typed(index, int)
        for name, value in zip(VIA_FLAGS, flags):
            _typed(value, types[name])
        for hop in _typed(chain, list):
            name, path, line = _shape(hop, 3)
            _typed(name, str), _typed(path, str), _typed(line, int)
    for row in _typed(awaited, list):
        # The name, then link.Awaited's fields in order (not imported: a warm scan never
        # loads the link stage).
        name, is_async, awaits, reaches_io, lazy_init, reaches_net, calls_awaited, ordered, \
            paced, concurrent, prompts = _shape(row, 11)
        _typed(name, str), _typed(is_async, bool), _typed(awaits, int)
        _typed(reaches_io, bool), _typed(lazy_init, bool), _typed(reaches_net, bool)
        _typed(ordered, bool), _typed(paced, bool), _typed(concurrent, bool)
        _typed(prompts, bool)
        for other in _typed(calls_awaited, list):
            _typed(other, str)
    for index in (*_typed(once, list), *_typed(alone, list), *_typed(setup_only, list),
                  *_typed(offloaded, list), *_typed(fresh_loop, list),
                  *_typed(uncalled, list), *_typed(on_loop, list),
                  *_typed(starts_alone, list)):
        _typed(index, int)
    for row in _typed(wraps, list):
        index, kind, built = _shape(row, 3)
        _typed(index, int), _typed(kind, str), _typed(built, str)
    return form


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise TypeError("a state field of the wrong type")
    return value


def _shape(value: Any, length: int) -> list[Any]:
    if type(value) is not list or len(value) != length:
        raise ValueError("a state row of the wrong shape")
    return value


_REC_STR = ("rule", "kind", "category", "priority", "path", "symbol", "component", "title",
            "message", "impact", "confidence", "effort", "fingerprint", "context")
_REC_INT = ("score", "line", "column", "end_line", "end_column")


def _recommendation(data: Any, rel: str) -> Recommendation:
    """A stored recommendation, checked as strictly as the renderers will trust it."""
    _typed(data, dict)
    for name in _REC_STR:
        _typed(data[name], str)
    for name in _REC_INT:
        _typed(data[name], int)
    if data["path"] != rel:
        raise ValueError("a recommendation stored under another file")
    _typed(data["evidence"], dict)
    snippet = _typed(data["snippet"], dict)
    for name in ("before", "after"):
        _typed(snippet[name], str)
    for name in ("line", "indent"):
        _typed(snippet[name], int)
    fix = data.get("fix")
    if fix is not None:
        _typed(fix["applicability"], str)
        _typed(fix.get("message", ""), str)
        for edit in _typed(fix.get("edits", []), list):
            for name in ("line", "column", "end_line", "end_column"):
                _typed(edit[name], int)
            _typed(edit["content"], str)
    for facet in _typed(data.get("facets", []), list):
        for value in _typed(facet, dict).values():
            _typed(value, str)
    rec = Recommendation.from_dict(data)
    if rec.to_dict() != data:  # a key of its own, or one of a missing field's defaults
        raise ValueError("a recommendation of another shape")
    return rec
