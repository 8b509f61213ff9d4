"""Which files a scan reads, and which component (agent) each belongs to.

Inside a git work tree the file list comes from `git ls-files` (tracked + untracked, minus
what .gitignore, .git/info/exclude and the global excludes drop); elsewhere a walk applies
every .gitignore on the way with pathspec. Paths named on the command line are always
scanned, whatever the ignore files say. Broken symlinks and symlink loops become error
records instead of crashing the walk.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pathspec

from optadvisor.models import Config, ErrorRecord, SourceFile

# Directories nobody wants scanned: tool caches, virtualenvs, vendored installs.
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".eggs", "*.egg-info",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".optadvisor_cache",
    "node_modules", "site-packages", "dist-packages", "__pypackages__", "buck-out",
)


@dataclass(frozen=True)
class Discovery:
    root: Path
    files: tuple[SourceFile, ...]
    errors: tuple[ErrorRecord, ...]


def scan_root(paths: list[Path]) -> Path:
    """The directory report paths are relative to: the one dir given, or the common parent."""
    resolved = [p.absolute() for p in paths]
    if len(resolved) == 1:
        only = resolved[0]
        return only if only.is_dir() else only.parent
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return common if common.is_dir() else common.parent


def discover(paths: list[Path], config: Config) -> Discovery:
    root = scan_root(paths)
    include = pathspec.GitIgnoreSpec.from_lines(config.include)
    exclude = pathspec.GitIgnoreSpec.from_lines((*DEFAULT_EXCLUDE, *config.exclude))
    components = _ComponentFinder(root, config.component_roots)
    found: dict[str, SourceFile] = {}
    errors: list[ErrorRecord] = []

    def add(path: Path, explicit: bool) -> None:
        rel = _rel(path, root)
        if rel not in found:
            found[rel] = SourceFile(path=path, rel=rel, component=components.of(rel),
                                    explicit=explicit)

    for given in paths:
        path = given.absolute()
        if path.is_symlink() and not path.exists():
            errors.append(ErrorRecord(_rel(path, root), "broken-symlink",
                                      f"symlink points to a missing file: {os.readlink(path)}"))
        elif path.is_file():
            add(path, explicit=True)  # named on the command line: always scanned
        elif path.is_dir():
            listed = None
            if config.respect_gitignore:
                listed = _git_files(path)
            if listed is None:
                walker = _Walker(path, config.respect_gitignore, errors, root)
                listed = walker.files()
            for file in listed:
                under = _rel(file, path)
                if not include.match_file(under) or exclude.match_file(under):
                    continue
                if file.is_symlink() and not file.exists():
                    errors.append(ErrorRecord(
                        _rel(file, root), "broken-symlink",
                        f"symlink points to a missing file: {os.readlink(file)}"))
                    continue
                add(file, explicit=False)
        else:
            errors.append(ErrorRecord(str(given), "not-found", "no such file or directory"))
    files = tuple(sorted(found.values(), key=lambda f: f.rel))
    return Discovery(root=root, files=files, errors=tuple(errors))


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _git_files(directory: Path) -> list[Path] | None:
    """Files git would show under `directory`, or None when it is not in a work tree."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            [git, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
            cwd=directory, capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    out = []
    for raw in proc.stdout.split(b"\0"):
        if raw:
            name = os.fsdecode(raw)
            path = directory / name
            # A tracked file deleted from the work tree is not there to scan.
            if path.exists() or path.is_symlink():
                out.append(path)
    return out


class _Walker:
    """A .gitignore-aware walk for trees outside git, following dir symlinks safely."""

    def __init__(self, top: Path, gitignore: bool, errors: list[ErrorRecord], root: Path):
        self.top = top
        self.gitignore = gitignore
        self.errors = errors
        self.root = root

    def files(self) -> list[Path]:
        out: list[Path] = []
        seen: set[tuple[int, int]] = set()
        self._walk(self.top, [], seen, out)
        return out

    def _walk(self, folder: Path, specs: list[tuple[Path, pathspec.PathSpec]],
              seen: set[tuple[int, int]], out: list[Path]) -> None:
        try:
            stat = folder.stat()
        except OSError as exc:
            self.errors.append(ErrorRecord(_rel(folder, self.root), "unreadable", str(exc)))
            return
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            self.errors.append(ErrorRecord(_rel(folder, self.root), "symlink-loop",
                                           "directory already visited through a symlink"))
            return
        seen.add(key)
        if self.gitignore:
            ignore_file = folder / ".gitignore"
            if ignore_file.is_file():
                try:
                    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    specs = [*specs, (folder, pathspec.GitIgnoreSpec.from_lines(lines))]
                except OSError:
                    pass
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.errors.append(ErrorRecord(_rel(folder, self.root), "unreadable", str(exc)))
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if self._ignored(path, is_dir, specs):
                continue
            if is_dir:
                if entry.name in (".git", ".hg", ".svn"):
                    continue
                self._walk(path, specs, seen, out)
            else:
                out.append(path)

    @staticmethod
    def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]]) -> bool:
        for base, spec in specs:
            rel = path.relative_to(base).as_posix()
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


class _ComponentFinder:
    """Component = configured root pattern, else nearest dir with pyproject.toml below the
    scan root, else the first directory under the scan root."""

    def __init__(self, root: Path, patterns: tuple[str, ...]):
        self.root = root
        self.patterns = patterns
        self._pyproject: dict[str, bool] = {}

    def of(self, rel: str) -> str:
        parts = rel.split("/")[:-1]
        if not parts:
            return self.root.name or "."
        if self.patterns:
            for i in range(len(parts), 0, -1):
                prefix = "/".join(parts[:i])
                if any(fnmatch.fnmatchcase(prefix, p) for p in self.patterns):
                    return prefix
        for i in range(len(parts), 0, -1):
            prefix = "/".join(parts[:i])
            if self._has_pyproject(prefix):
                return prefix
        return parts[0]

    def _has_pyproject(self, prefix: str) -> bool:
        if prefix not in self._pyproject:
            self._pyproject[prefix] = (self.root / prefix / "pyproject.toml").is_file()
        return self._pyproject[prefix]
