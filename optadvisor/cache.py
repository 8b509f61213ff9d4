"""Content-addressed cache of per-file facts (and of the fixes built from them).

The key of an entry is a hash of the file's bytes and of everything else facts depend on:
the analyzer version, the API catalog, and the config keys that change analysis. Rules are
not part of it: they only read facts, so editing a rule never costs a re-parse. The file's
path is not part of it either, so a renamed or copied file is a hit.

Entries are JSON (never pickle: a cache dir can be shared or tampered with), written to a
temporary file and renamed into place, so concurrent scans never see half an entry; an
entry that does not decode, or whose stored key differs, is ignored and rebuilt. So is one
that is not a regular file, is over CACHE_ENTRY_BYTES or nests too deep (inputs.py): a
FIFO there hung every scan, and a deeply nested one failed every scan with RecursionError
until the cache was cleared.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from optadvisor.inputs import CACHE_ENTRY_BYTES, load_json
from optadvisor.models import (
    AwaitGroupFact, CacheFact, CallFact, ErrorRecord, FileFacts, Fix, FunctionFact, LoopFact, Snippet,
)

FORMAT = 1
PASSING_ERRORS = ("internal-error", "too-slow", "out-of-memory")
"""Analysis failures that are not kept: the next scan tries the file again."""

_CALL_FIELDS = tuple(CallFact.__dataclass_fields__)
_FUNC_FIELDS = tuple(FunctionFact.__dataclass_fields__)
_LOOP_FIELDS = tuple(LoopFact.__dataclass_fields__)
_CACHE_FIELDS = tuple(CacheFact.__dataclass_fields__)


def _json_types(cls: type) -> tuple[type | tuple[type, ...], ...]:
    """What each field of a facts dataclass looks like after a JSON round trip."""
    simple: dict[str, type | tuple[type, ...]] = {
        "bool": bool, "int": int, "str": str, "float": (int, float)}
    out = []
    for f in dataclasses.fields(cls):
        name = (f.type if isinstance(f.type, str) else getattr(f.type, "__name__", ""))
        name = name.replace(" ", "")
        out.append(list if name.startswith("tuple") else simple.get(name, object))
    return tuple(out)


_CALL_TYPES = _json_types(CallFact)
_FUNC_TYPES = _json_types(FunctionFact)
_LOOP_TYPES = _json_types(LoopFact)
_CACHE_TYPES = _json_types(CacheFact)


def default_cache_dir() -> Path:
    env = os.environ.get("OPTADVISOR_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "optadvisor"


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def context_digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))  # paths: their own bytes
        h.update(b"\0")
    return h.hexdigest()


class _Entries:
    """JSON entries under root/<kind>-v<FORMAT>/, one file per key and context."""

    kind = ""

    def __init__(self, root: Path, context: str) -> None:
        self.root = root / f"{self.kind}-v{FORMAT}"
        self.context = context
        self.writable = True

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}-{self.context}.json"


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a scan decodes cached facts or links them:
    they are ~150k small acyclic objects kept to the end (the standard library's), and
    each generation-2 collection walked all of those made so far — two thirds of the time
    of decoding them (json.loads of the standard library's 26 MB of entries: 1.5-2.3 s
    with the collector, 0.55-0.67 s without, on one machine in one run). Not around
    parsing: libcst's trees may hold cycles, and a worker-less scan parses in-process."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class FactCache(_Entries):
    kind = "facts"

    def get(self, digest: str) -> FileFacts | ErrorRecord | None:
        """The facts, or the error record, a file with these bytes gave; None on a miss.
        Failures are cached too: a file that does not parse would otherwise be analyzed
        again on every scan, and start a worker pool for nothing."""
        try:
            data = load_json(self._path(digest), CACHE_ENTRY_BYTES, own=True)
        except (OSError, ValueError):
            return None  # a miss; or not a regular file, too large, not JSON, too deep
        try:
            if data.get("key") != [digest, self.context]:
                return None
            if "error" in data:
                kind, message, line = _row(data["error"], (str, str, (int, type(None))))
                return ErrorRecord("", kind, message, line)
            return decode_facts(data["facts"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None  # corrupt or foreign: rebuilt by the caller

    def exists(self, digest: str) -> bool:
        """Whether there is an entry for these bytes (which get() may still refuse)."""
        return os.path.lexists(self._path(digest))

    def put(self, digest: str, facts: FileFacts | ErrorRecord) -> None:
        if not self.writable:
            return
        if isinstance(facts, ErrorRecord):
            if facts.kind in PASSING_ERRORS:
                return  # a crash or a busy machine may not happen again: try next time
            body: dict[str, Any] = {"error": [facts.kind, facts.message, facts.line]}
        else:
            body = {"facts": encode_facts(facts)}
        payload = json.dumps({"key": [digest, self.context], **body}, separators=(",", ":"))
        self.writable = _write(self._path(digest), payload)


class FixCache(_Entries):
    """Fixes and their snippets, by a key of the file's bytes, the site and what the rules
    ask of it (fix/site.py: fix_key): a warm scan then parses nothing to show them."""

    kind = "fixes"

    def get(self, key: str) -> tuple[Fix, Snippet] | None:
        try:
            data = load_json(self._path(key), CACHE_ENTRY_BYTES, own=True)
            if data.get("key") != [key, self.context]:
                return None
            return Fix.from_dict(data["fix"]), Snippet(**data["snippet"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # a miss, or corrupt: built again

    def put(self, key: str, fix: Fix, snippet: Snippet) -> None:
        if self.writable:
            payload = json.dumps({"key": [key, self.context], "fix": fix.to_dict(),
                                  "snippet": dataclasses.asdict(snippet)},
                                 separators=(",", ":"))
            self.writable = _write(self._path(key), payload)


def _write(path: Path, payload: str) -> bool:
    """An entry written whole or not at all; False when the cache dir cannot be written
    (read-only or full: that costs speed, never results)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
            try:
                os.replace(tmp, path)
            except IsADirectoryError:
                # Something put a directory where this entry goes: an empty one is
                # removed and the entry rebuilt; a full one is left and only this entry
                # goes unwritten (the rest of the cache still works).
                try:
                    os.rmdir(path)
                except OSError:
                    os.unlink(tmp)
                    return True
                os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        return False
    return True


def encode_facts(facts: FileFacts) -> dict[str, Any]:
    return {
        "path": facts.path,
        "lines": facts.lines,
        "functions": [[getattr(f, k) for k in _FUNC_FIELDS] for f in facts.functions],
        "calls": [[getattr(c, k) for k in _CALL_FIELDS] for c in facts.calls],
        "loops": [[getattr(lp, k) for k in _LOOP_FIELDS] for lp in facts.loops],
        "await_groups": [_group_row(g) for g in facts.await_groups],
        "call_groups": [_group_row(g) for g in facts.call_groups],
        "caches": [[getattr(c, k) for k in _CACHE_FIELDS] for c in facts.caches],
        "imports": list(facts.imports),
        "bindings": [list(pair) for pair in facts.bindings],
        "class_bases": [[qual, list(bases)] for qual, bases in facts.class_bases],
        "suppressions": [[line, list(codes)] for line, codes in facts.suppressions],
        "positions": facts.positions,
        "handed": list(facts.handed),
        "handed_names": list(facts.handed_names),
        "module_callees": list(facts.module_callees),
        "driven": list(facts.driven),
        "run_handed": list(facts.run_handed),
        "private_refs": list(facts.private_refs),
    }


def _group_row(g: AwaitGroupFact) -> list[Any]:
    return [g.function, g.line, g.column, [list(c) for c in g.calls], list(g.targets),
            list(g.names)]


def _row(values: Any, types: tuple[type | tuple[type, ...], ...]) -> list[Any]:
    """A stored row, checked: an entry with the right key but rows of another shape or
    type (hand-edited, or written by a build whose fact fields differ without an
    ANALYZER_VERSION bump) must be a miss. Before, `CallFact(*row)` filled missing
    trailing fields with defaults, and a wrong type (`"lines": "9"`) crashed the scan
    later, far from the cache."""
    # map() keeps the per-field check in C: warm scans check ~80k rows.
    if (not isinstance(values, list) or len(values) != len(types)
            or not all(map(isinstance, values, types))):
        raise ValueError("cache row of the wrong shape")
    return values


def _builder(cls: type, fields: tuple[str, ...]) -> Callable[..., Any]:
    """`cls(*row)` for a frozen dataclass of facts, without its generated __init__ (one
    object.__setattr__ per field): the row is checked already, and a scan that links the
    whole project builds ~150k of these (the standard library's). The facts round-trip
    test compares what it builds with the analyzer's own objects."""
    new = object.__new__

    def build(*row: Any) -> Any:
        obj = new(cls)
        obj.__dict__.update(zip(fields, row))
        return obj

    return build


_new_function = _builder(FunctionFact, _FUNC_FIELDS)
_new_call = _builder(CallFact, _CALL_FIELDS)
_new_loop = _builder(LoopFact, _LOOP_FIELDS)

_FUNC_TUPLES = tuple(i for i, t in enumerate(_FUNC_TYPES) if t is list)
"""The FunctionFact fields stored as JSON lists (tuples in the facts): only these are
converted, not every field of every function (a relinking scan decodes ~60k of them)."""


def _function(values: list[Any]) -> FunctionFact:
    row = list(_row(values, _FUNC_TYPES))
    for i in _FUNC_TUPLES:
        row[i] = tuple(row[i])
    return _new_function(*row)


def _await_group(values: list[Any]) -> AwaitGroupFact:
    function, line, column, calls, targets, names = _row(
        values, (int, int, int, list, list, list))
    spans = tuple(tuple(_row(c, (int, int, int, int))) for c in calls)
    return AwaitGroupFact(function, line, column, spans,  # type: ignore[arg-type]
                          tuple(_row(targets, (str,) * len(targets))),
                          tuple(_row(names, (str,) * len(names))))


def decode_facts(data: dict[str, Any]) -> FileFacts:
    _row([data["path"], data["lines"], data["positions"], data["imports"], data["handed"],
          data["handed_names"], data["module_callees"], data["driven"], data["run_handed"],
          data["private_refs"]],
         (str, int, str, list, list, list, list, list, list, list))
    bindings = tuple(tuple(_row(pair, (str, str))) for pair in data["bindings"])
    class_bases = []
    for qual, bases in data["class_bases"]:
        _row([qual, bases], (str, list))
        class_bases.append((qual, tuple(_row(bases, (str,) * len(bases)))))
    suppressions = []
    for line, codes in data["suppressions"]:
        _row([line, codes], (int, list))
        suppressions.append((line, tuple(_row(codes, (str,) * len(codes)))))
    return FileFacts(
        path=data["path"],
        lines=data["lines"],
        functions=tuple(_function(v) for v in data["functions"]),
        calls=tuple(_new_call(*_row(v, _CALL_TYPES)) for v in data["calls"]),
        loops=tuple(_new_loop(*_row(v, _LOOP_TYPES)) for v in data["loops"]),
        await_groups=tuple(_await_group(v) for v in data["await_groups"]),
        call_groups=tuple(_await_group(v) for v in data["call_groups"]),
        caches=tuple(CacheFact(*_row(v, _CACHE_TYPES)) for v in data["caches"]),
        imports=tuple(_row(data["imports"], (str,) * len(data["imports"]))),
        bindings=bindings,  # type: ignore[arg-type]
        class_bases=tuple(class_bases),
        suppressions=tuple(suppressions),
        positions=data["positions"],
        handed=tuple(_row(data["handed"], (str,) * len(data["handed"]))),
        handed_names=tuple(_row(data["handed_names"], (str,) * len(data["handed_names"]))),
        module_callees=tuple(_row(data["module_callees"],
                                  (str,) * len(data["module_callees"]))),
        driven=tuple(_row(data["driven"], (str,) * len(data["driven"]))),
        run_handed=tuple(_row(data["run_handed"], (str,) * len(data["run_handed"]))),
        private_refs=tuple(_row(data["private_refs"], (str,) * len(data["private_refs"]))),
    )
