"""Shards: one scan split across the jobs of a CI matrix, merged into exactly the report of
the whole scan.

`scan --shard K/N` discovers the whole tree, keeps the files the partition gives shard K,
analyzes only those and writes a shard document: the schema_version 1 report of what it
saw, plus a `shard` object carrying what the link stage and the rules need — every file's
facts, its text (what templates, snippets and fingerprints read), the digest of its bytes
and the fixes already built — with the whole partition and a digest of the rules and the
config. `report SHARD...` checks the set, joins the facts and runs link and the rules over
all of them: cross-file findings come out as in one scan, and no file is parsed again
(fixes come from the shards' own; only a site the merged facts change is built again).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optadvisor.config import ConfigError
from optadvisor.models import Config, ErrorRecord, Fix, Snippet, SourceFile

if TYPE_CHECKING:
    from optadvisor.cache import FixCache
    from optadvisor.engine import FileInput

FORMAT = 1
"""Version of the `shard` object; a merge refuses others."""

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1-based) -> (K, N)."""
    match = _SPEC.fullmatch(text)
    if match is None:
        raise ConfigError(f"--shard wants K/N (e.g. 2/8), not {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--shard {text}: K must be between 1 and N (N ≥ 1)")
    return index, count


FILE_WEIGHT = 512
"""Bytes a file counts for besides its size: a small file still costs a read, a worker
round trip and its facts, so a run of empty `__init__.py` files is not free."""


def partition(files: Iterable[SourceFile], count: int) -> dict[str, int]:
    """Relative path -> shard (1..count). Files in path order (POSIX, by code point: the
    same on every machine whatever order the file system lists them in) are cut into
    `count` runs of about equal weight (size + FILE_WEIGHT): each file goes to the shard
    whose share of the total holds the middle of its weight. Balanced by bytes, what the
    parse costs, to within a file's weight; a package's modules mostly stay together,
    so fewer call chains cross shards; and a change to one file moves at most the few
    files at the cuts, so each shard's cache stays warm across commits (a size-sorted
    greedy split reshuffled every file after the one that changed)."""
    weighted = sorted((f.rel, _size(f.path) + FILE_WEIGHT) for f in files)
    total = sum(weight for _, weight in weighted)
    out: dict[str, int] = {}
    before = 0
    for rel, weight in weighted:
        middle_twice = 2 * before + weight  # integers: no float rounding differs anywhere
        out[rel] = min(count, middle_twice * count // (2 * total) + 1)
        before += weight
    return out


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # unreadable: its error record is made by the shard that owns it


def settings_digest(config: Config, rule_files: Sequence[Path], catalog_digest: str,
                    select: Sequence[str], ignore: Sequence[str]) -> str:
    """What must be the same for shards to make one scan: the rule files (by content), the
    catalogs, the selection and the config keys that pick, analyze and judge files. Paths
    of the checkout are left out (runners may check out elsewhere)."""
    h = hashlib.blake2b(digest_size=16)
    for path in rule_files:
        h.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
        h.update(b"\0")
    settings = {
        "catalogs": catalog_digest, "select": list(select), "ignore": list(ignore),
        "config": {key: repr(getattr(config, key)) for key in (
            "include", "exclude", "select", "ignore", "extend_select", "per_path_ignores",
            "component_roots",
            "max_file_bytes", "max_file_seconds", "max_file_mib", "respect_gitignore",
            "include_tests", "include_examples")},
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def partition_digest(assignment: Mapping[str, int]) -> str:
    return hashlib.blake2b(json.dumps(sorted(assignment.items())).encode(),
                           digest_size=16).hexdigest()


class FixRecorder:
    """The fix cache a shard's engine uses: every fix it shows (from the disk cache or
    built) is kept for the shard document, so the merge shows it without parsing."""

    def __init__(self, inner: FixCache | None) -> None:
        self.inner = inner
        self.seen: dict[str, tuple[Fix, Snippet]] = {}

    def get(self, key: str) -> tuple[Fix, Snippet] | None:
        hit = self.inner.get(key) if self.inner is not None else None
        if hit is not None:
            self.seen[key] = hit
        return hit

    def put(self, key: str, fix: Fix, snippet: Snippet) -> None:
        self.seen[key] = (fix, snippet)
        if self.inner is not None:
            self.inner.put(key, fix, snippet)


class KnownFixes:
    """The merge's fix cache: the fixes the shards built, by the same key (fix/site.py)."""

    def __init__(self, entries: Mapping[str, tuple[Fix, Snippet]]) -> None:
        self.entries = dict(entries)

    def get(self, key: str) -> tuple[Fix, Snippet] | None:
        return self.entries.get(key)

    def put(self, key: str, fix: Fix, snippet: Snippet) -> None:
        self.entries[key] = (fix, snippet)


@dataclass(frozen=True)
class ScanSettings:
    """What `report` needs to run the rules as the shards' scan did."""

    paths: tuple[str, ...]
    config_file: str | None
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    include_tests: bool
    include_examples: bool


def shard_object(index: int, count: int, assignment: Mapping[str, int], digest: str,
                 analyzer_version: str, settings: ScanSettings, inputs: Sequence[FileInput],
                 file_errors: Sequence[ErrorRecord], discovery_errors: Sequence[ErrorRecord],
                 fixes: Mapping[str, tuple[Fix, Snippet]]) -> dict[str, Any]:
    """The `shard` object of a shard document (report.schema.json, $defs/shard)."""
    from optadvisor.cache import encode_facts

    return {
        "format": FORMAT,
        "index": index,
        "count": count,
        "analyzer_version": analyzer_version,
        "settings_digest": digest,
        "partition": {"digest": partition_digest(assignment),
                      "files": [[rel, k] for rel, k in sorted(assignment.items())]},
        "scan": {**asdict(settings), "paths": list(settings.paths),
                 "select": list(settings.select), "ignore": list(settings.ignore)},
        "files": [{"path": item.source.rel, "component": item.source.component,
                   "module_root": item.source.module_root, "explicit": item.source.explicit,
                   "digest": item.digest, "text": item.text.text,
                   "facts": encode_facts(item.facts)} for item in inputs],
        "file_errors": [e.to_dict() for e in file_errors],
        "discovery_errors": [e.to_dict() for e in discovery_errors],
        "fixes": [{"key": key, "fix": fix.to_dict(), "snippet": asdict(snippet)}
                  for key, (fix, snippet) in sorted(fixes.items())],
    }


def is_shard(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("shard"), dict)


@dataclass(frozen=True)
class ShardSet:
    """A complete, consistent set of shard documents, in shard order."""

    documents: tuple[Mapping[str, Any], ...]

    @property
    def first(self) -> Mapping[str, Any]:
        return self.documents[0]

    @property
    def shards(self) -> list[Mapping[str, Any]]:
        return [doc["shard"] for doc in self.documents]


def check_set(named: Sequence[tuple[Path, Mapping[str, Any]]]) -> ShardSet:
    """The documents make one scan: the same N, optadvisor and analyzer version, rules and
    config, partition; every shard once. Anything else is a ConfigError naming what is
    wrong (a merge of an incomplete set would silently lose findings)."""
    if not named:
        raise ConfigError("no shard documents given")
    for path, doc in named:
        shard = doc["shard"]
        if shard.get("format") != FORMAT:
            raise ConfigError(f"{path}: shard format {shard.get('format')!r} is not "
                              f"supported (this optadvisor reads {FORMAT})")
    ref_path, ref = named[0]
    ref_shard = ref["shard"]
    checks = (
        ("N (shard count)", lambda d: d["shard"].get("count")),
        ("optadvisor version", lambda d: d.get("tool", {}).get("version")),
        ("analyzer version", lambda d: d["shard"].get("analyzer_version")),
        ("rules and config digest", lambda d: d["shard"].get("settings_digest")),
        ("scanned root", lambda d: d.get("root")),
        ("partition of the files", lambda d: d["shard"].get("partition", {}).get("digest")),
    )
    for what, get in checks:
        for path, doc in named[1:]:
            if get(doc) != get(ref):
                raise ConfigError(
                    f"{path} and {ref_path} are not shards of one scan: different {what} "
                    f"({get(doc)!r} vs {get(ref)!r})")
    count = ref_shard["count"]
    by_index: dict[int, Path] = {}
    for path, doc in named:
        index = doc["shard"]["index"]
        if index in by_index:
            raise ConfigError(f"shard {index}/{count} given twice: {by_index[index]} and {path}")
        by_index[index] = path
    missing = [k for k in range(1, count + 1) if k not in by_index]
    if missing:
        owned: dict[int, list[str]] = {}
        for rel, k in ref_shard["partition"]["files"]:
            owned.setdefault(k, []).append(rel)
        names = ", ".join(
            f"{k}/{count} ({len(owned.get(k, []))} files"
            + (f", e.g. {owned[k][0]}" if owned.get(k) else "") + ")" for k in missing)
        raise ConfigError(f"missing shard{'s' if len(missing) > 1 else ''} {names}: "
                          f"{len(by_index)} of {count} given")
    order = sorted(named, key=lambda item: item[1]["shard"]["index"])
    return ShardSet(tuple(doc for _, doc in order))


def settings_of(shard: Mapping[str, Any]) -> ScanSettings:
    scan = shard["scan"]
    return ScanSettings(paths=tuple(scan["paths"]), config_file=scan.get("config_file"),
                        select=tuple(scan.get("select", ())),
                        ignore=tuple(scan.get("ignore", ())),
                        include_tests=bool(scan.get("include_tests")),
                        include_examples=bool(scan.get("include_examples")))


def known_fixes(shards: Iterable[Mapping[str, Any]]) -> KnownFixes:
    return KnownFixes({entry["key"]: (Fix.from_dict(entry["fix"]), Snippet(**entry["snippet"]))
                       for shard in shards for entry in shard.get("fixes", ())})


def error_records(items: Iterable[Mapping[str, Any]]) -> list[ErrorRecord]:
    return [ErrorRecord(**item) for item in items]
