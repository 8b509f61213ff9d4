"""Which files a scan reads, and which component (agent) each belongs to.

Inside a git work tree the file list comes from `git ls-files` (tracked + untracked, minus
what .gitignore, .git/info/exclude and the global excludes drop); elsewhere a walk applies
every .gitignore on the way with pathspec. Paths named on the command line are always
scanned, whatever the ignore files say. Broken symlinks and symlink loops become error
records instead of crashing the walk.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from optadvisor.inputs import CONFIG_BYTES, InputError, read_regular
from optadvisor.models import Config, ErrorRecord, SourceFile

# Directories nobody wants scanned, by name: installed packages, tool caches and version
# control. Virtual environments are not among them: they are recognised by what they hold
# (ENVIRONMENT_MARKERS), since a directory named `venv` may be code (the standard
# library's own `venv` package was dropped unsaid when the name was enough).
INSTALLED_PACKAGES = ("site-packages", "dist-packages", "__pypackages__", ".eggs")
TOOL_DIRECTORIES = (
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", "*.egg-info", "__pycache__", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".optadvisor_cache", "node_modules", "buck-out",
)
DEFAULT_EXCLUDE = (*INSTALLED_PACKAGES, *TOOL_DIRECTORIES)
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")
"""What makes a directory an environment: venv, virtualenv, uv and poetry write
`pyvenv.cfg` at its top; conda keeps `conda-meta/` there."""

VIRTUAL_ENVIRONMENT = "virtual-environment"
INSTALLED = "installed-packages"
TOOLS = "tool-directory"
SHADOWED = "shadowed-module"
BUILD_COPY = "build-copy"
EXCLUSION_REASONS = (VIRTUAL_ENVIRONMENT, INSTALLED, TOOLS, SHADOWED, BUILD_COPY)
"""Why default excludes dropped files: keys of Summary.excluded_by_default."""


IGNORE_FILE_BYTES = CONFIG_BYTES
"""A .gitignore read by the walk outside git (real ones are a few KiB)."""


@dataclass(frozen=True)
class Discovery:
    root: Path
    files: tuple[SourceFile, ...]
    errors: tuple[ErrorRecord, ...]
    notes: tuple[str, ...] = ()
    """Warnings for stderr: an include pattern that matches no file, directories that gave
    nothing to scan (a scan of 0 files used to be silent, exit 0)."""
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)
    """Files the default excludes dropped, by reason: {"files": n, "directories": n}."""


_DEFAULT_INCLUDE = Config.__dataclass_fields__["include"].default


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
    exclude = pathspec.GitIgnoreSpec.from_lines(config.exclude)
    components = _ComponentFinder(root, config.component_roots)
    found: dict[str, SourceFile] = {}
    errors: list[ErrorRecord] = []
    walked: list[str] = []  # every file under the directories, as the patterns see it
    dirs: list[str] = []
    counts = {"included": 0, "excluded": 0, "scanned": 0}
    excluded: list[tuple[tuple[str, str], int]] = []  # ((reason, directory), files)

    def add(path: Path, rel: str, explicit: bool, base: str) -> None:
        """`base`: the module root, the directory named relative to the root."""
        if rel not in found:
            found[rel] = SourceFile(path=path, rel=rel, component=components.of(rel),
                                    explicit=explicit, module_root=base)

    def base_of(named: Path) -> str:
        return "" if named == root else _rel(named, root)

    for given in paths:
        path = given.absolute()
        if path.is_dir():
            listed = None
            if config.respect_gitignore:
                listed = _git_files(path)
            if listed is None:
                walker = _Walker(path, config.respect_gitignore, errors, root)
                listed = walker.files()
            prefix = _pattern_prefix(path, config, exclude)
            dirs.append(str(given))
            defaults = _DefaultExcludes(path)
            base = base_of(path)
            for file in listed:
                inside = _rel(file, path)
                under = prefix + inside
                walked.append(under)
                if not include.match_file(under):
                    continue
                counts["included"] += 1
                # The config's own patterns come first: a `!` one can take back a default.
                excluded_here = exclude.check_file(under).include if config.exclude else None
                if excluded_here or (excluded_here is None and defaults.drops(inside)):
                    counts["excluded"] += 1
                    continue
                rel = _rel(file, root)
                problem = _not_scannable(file, rel, dirs_too=True)
                if problem is _DIRECTORY:
                    continue  # a dir symlink git lists as an entry: git does not follow it
                if problem is not None:
                    errors.append(problem)
                    continue
                counts["scanned"] += 1
                add(file, rel, explicit=False, base=base)
            excluded.extend(defaults.dropped.items())
        elif os.path.lexists(path):
            # Named on the command line: always scanned, whatever include/exclude say,
            # unless it cannot be read as a file at all.
            rel = _rel(path, root)
            problem = _not_scannable(path, rel)
            if problem is not None:
                errors.append(problem)
            else:
                add(path, rel, explicit=True, base=base_of(path.parent))
        else:
            errors.append(ErrorRecord(str(given), "not-found", "no such file or directory"))
    for rel in _shadowed(found):
        # `pkg/x.py` beside a package `pkg/x/`: `import pkg.x` finds the package, so the
        # module never runs (a leftover of a refactor): its findings would all be false.
        source = found.pop(rel)
        excluded.append(((SHADOWED, source.path.parent.as_posix()), 1))
    copies: dict[str, int] = {}
    for rel, directory in _build_copies(found):
        # `build/lib/pkg/x.py`, setuptools' copy of the project's own `pkg/x.py`: nothing
        # imports it, and its findings repeat the source's (held-out S46: reliableGPT
        # commits its build directory; six findings twice).
        found.pop(rel)
        copies[directory] = copies.get(directory, 0) + 1
    excluded.extend(((BUILD_COPY, directory), files) for directory, files in copies.items())
    files = tuple(sorted(found.values(), key=lambda f: f.rel))
    notes = _pattern_notes(config, dirs, walked, counts) if dirs else ()
    return Discovery(root=root, files=files, errors=tuple(errors), notes=notes,
                     excluded=_by_reason(excluded))


class _DefaultExcludes:
    """Which directories under one scanned directory the default excludes drop, and why.
    The directory named on the command line is never one of them: a user who names a
    virtualenv or a site-packages gets it scanned. The outermost dropped directory counts
    (a site-packages inside a virtualenv is the virtualenv's)."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.installed = pathspec.GitIgnoreSpec.from_lines(INSTALLED_PACKAGES)
        self.tools = pathspec.GitIgnoreSpec.from_lines(TOOL_DIRECTORIES)
        self.reasons: dict[str, str | None] = {}
        self.dropped: dict[tuple[str, str], int] = {}
        """(reason, directory relative to top) -> files dropped there."""

    def drops(self, inside: str) -> bool:
        """Whether the file at `inside` (relative to top) is under a dropped directory;
        counted when it is."""
        parts = inside.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            reason = self._reason(directory)
            if reason is not None:
                key = (reason, directory)
                self.dropped[key] = self.dropped.get(key, 0) + 1
                return True
        return False

    def _reason(self, directory: str) -> str | None:
        if directory not in self.reasons:
            as_dir = directory + "/"
            if any((self.top / directory / marker).exists() for marker in ENVIRONMENT_MARKERS):
                reason: str | None = VIRTUAL_ENVIRONMENT
            elif self.installed.match_file(as_dir):
                reason = INSTALLED
            elif self.tools.match_file(as_dir):
                reason = TOOLS
            else:
                reason = None
            self.reasons[directory] = reason
        return self.reasons[directory]


def _shadowed(found: dict[str, SourceFile]) -> list[str]:
    """Modules a same-named package in the same directory hides from every import. Named
    on the command line, a file is scanned anyway (it may be run as a script)."""
    return [rel for rel, source in found.items()
            if rel.endswith(".py") and not source.explicit
            and rel[:-3] + "/__init__.py" in found]


_BUILD_LIB = re.compile(r"(?:^|/)build/lib(?:\.[^/]*)?/([^/]+)/")


def _build_copies(found: dict[str, SourceFile]) -> list[tuple[str, str]]:
    """Files under a `build/lib/` (or `build/lib.<platform>/`) directory of a package that
    the tree also holds elsewhere, with its `__init__.py` (`pkg/__init__.py`,
    `src/pkg/__init__.py`): a setuptools build's copy of the project's own code; with the
    `build/lib` directory. Named on the command line, a file is scanned anyway."""
    packages = {rel.rsplit("/", 2)[-2] for rel in found
                if rel.endswith("/__init__.py") and "/" in rel and not _BUILD_LIB.search(rel)}
    out = []
    for rel, source in found.items():
        match = _BUILD_LIB.search(rel)
        if match and not source.explicit and match.group(1) in packages:
            out.append((rel, rel[:match.start(1) - 1]))
    return out


def _by_reason(dropped: list[tuple[tuple[str, str], int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (reason, _), files in dropped:
        entry = out.setdefault(reason, {"files": 0, "directories": 0})
        entry["files"] += files
        entry["directories"] += 1
    return {reason: out[reason] for reason in EXCLUSION_REASONS if reason in out}


def _pattern_notes(config: Config, dirs: list[str], walked: list[str],
                   counts: dict[str, int]) -> tuple[str, ...]:
    """What to say when the patterns left the directories with nothing (or less than the
    config asks for): each include pattern of the config that matches none of their files
    (a typo'd `src/*.py` used to mean "0 files, exit 0"), and a scan of them that finds
    nothing to read."""
    notes = []
    where = ", ".join(dirs)
    if config.include != _DEFAULT_INCLUDE:
        for pattern in config.include:
            if not pattern.strip() or pattern.startswith(("#", "!")):
                continue
            spec = pathspec.GitIgnoreSpec.from_lines([pattern])
            if not any(map(spec.match_file, walked)):
                notes.append(f"{config.config_file}: include pattern {pattern!r} matches "
                             f"no file under {where}")
    if not counts["scanned"]:
        if not walked:
            why = "no files there"
        elif not counts["included"]:
            why = (f"include ({', '.join(config.include)}) matches none of the "
                   f"{len(walked):,} files there")
        elif counts["excluded"] == counts["included"]:
            why = f"exclude patterns drop all {counts['included']:,} files include matches"
        else:
            why = "none of the files include matches can be read (see the errors)"
        notes.append(f"nothing to scan under {where}: {why}")
    return tuple(notes)


def _pattern_prefix(folder: Path, config: Config, exclude: pathspec.PathSpec) -> str:
    """Where `folder` is in the tree include/exclude patterns are relative to: `""`, or
    its path under the project root plus `/`.

    Patterns in [tool.optadvisor] are written relative to the directory of the config file
    (as in ruff, black, mypy), so `exclude = ["agents/legacy/"]` must hold whether the
    user scans the project root or `agents/`. Matching relative to the scanned directory
    (as before) silently dropped anchored patterns when scanning a subdirectory. But a
    directory named on the command line is always scanned: when the project-root view
    would exclude that directory itself (the repo's own `exclude = ["fixtures"]` while
    scanning `fixtures/agents`), patterns are applied relative to it instead.
    """
    if config.config_file is None:
        return ""
    try:
        inside = folder.resolve().relative_to(config.project_root.resolve()).as_posix()
    except (ValueError, OSError):
        return ""  # scanning outside the project (e.g. --config from elsewhere)
    if inside == "." or exclude.match_file(inside + "/"):
        return ""
    return inside + "/"


_DIRECTORY = ErrorRecord("", "directory", "")
"""_not_scannable's answer for a directory when dirs_too (one stat, not two, per file)."""


def _not_scannable(path: Path, rel: str, dirs_too: bool = False) -> ErrorRecord | None:
    """An error record when `path` is not a regular file we can read, else None; with
    `dirs_too`, _DIRECTORY for a directory (the caller skips it).

    Broken symlinks and symlink loops become records; so do FIFOs, sockets and devices
    (a `x.py -> /dev/zero` symlink or a named pipe would make the scan read forever).
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return ErrorRecord(rel, "symlink-loop", f"symlink loop: {os.readlink(path)} "
                               "leads back to itself")
        if path.is_symlink() and exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return ErrorRecord(rel, "broken-symlink",
                               f"symlink points to a missing file: {os.readlink(path)}")
        return ErrorRecord(rel, "unreadable", exc.strerror or str(exc))
    if dirs_too and stat.S_ISDIR(info.st_mode):
        return _DIRECTORY
    if not stat.S_ISREG(info.st_mode):
        return ErrorRecord(rel, "unreadable",
                           "not a regular file (FIFO, socket or device); not read")
    return None


def _rel(path: Path, root: Path) -> str:
    # String prefix first: Path.relative_to parses both paths again, and a scan of a
    # large tree calls this several times per file.
    text, base = str(path), str(root)
    if text.startswith(base) and text[len(base):len(base) + 1] == os.sep and os.sep == "/":
        return text[len(base) + 1:]
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
    if not out and _ignored_by_git(git, directory):
        # The directory named on the command line is itself ignored by the repository
        # around it (a virtualenv, a vendored tree, ~/.pyenv's versions/): the user asked
        # for it, so walk it, applying only the ignore files inside it.
        return None
    return out


def _ignored_by_git(git: str, directory: Path) -> bool:
    try:
        proc = subprocess.run([git, "check-ignore", "-q", "."], cwd=directory,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def pattern_problem(pattern: str) -> Exception | None:
    """Why pathspec cannot use a gitignore-style pattern (`x\\`, a lone `!`, `[z-a]`), or
    None. The regular expression compiles lazily, so a match is tried too."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern]).match_file("x.py")
    except (ValueError, re.error) as exc:
        return exc
    return None


def gitignore_spec(lines: list[str]) -> pathspec.PathSpec:
    """The patterns of one .gitignore. A line git cannot use is skipped, as git skips it,
    instead of failing the whole scan."""
    return pathspec.GitIgnoreSpec.from_lines(
        [line for line in lines if pattern_problem(line) is None])


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
        self._walk(self.top, [], seen, (), out)
        return out

    def _walk(self, folder: Path, specs: list[tuple[Path, pathspec.PathSpec]],
              seen: set[tuple[int, int]], ancestors: tuple[tuple[int, int], ...],
              out: list[Path]) -> None:
        try:
            info = folder.stat()
        except OSError as exc:
            kind = "symlink-loop" if exc.errno == errno.ELOOP else "unreadable"
            self.errors.append(ErrorRecord(_rel(folder, self.root), kind, str(exc)))
            return
        key = (info.st_dev, info.st_ino)
        # A dir symlink that leads back to one of its own ancestors is a loop: an error
        # record. A directory reached a second time by another route (two symlinks to one
        # shared folder) is not an error: its files are already listed once, under the
        # first path, so it is skipped quietly instead of reported as a "loop".
        if key in ancestors:
            self.errors.append(ErrorRecord(
                _rel(folder, self.root), "symlink-loop",
                "symlink loop: this directory links back to one of its parents; not followed"))
            return
        if key in seen:
            return
        seen.add(key)
        if self.gitignore:
            ignore_file = folder / ".gitignore"
            if ignore_file.is_file():
                try:
                    data = read_regular(ignore_file, IGNORE_FILE_BYTES)
                except (OSError, InputError) as exc:
                    # Unread, its patterns drop nothing: say so, as more files may be scanned
                    # than the user meant.
                    self.errors.append(ErrorRecord(
                        _rel(ignore_file, self.root), "unreadable",
                        f"{getattr(exc, 'detail', None) or exc}; its patterns are not applied"))
                else:
                    lines = data.decode("utf-8", errors="replace").splitlines()
                    specs = [*specs, (folder, gitignore_spec(lines))]
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
                self._walk(path, specs, seen, (*ancestors, key), out)
            else:
                out.append(path)

    @staticmethod
    def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]]) -> bool:
        # As in git, the deepest .gitignore with a matching pattern decides, so a nested
        # `!keep.py` re-includes what a parent's `*.py`-style pattern ignored (checking
        # "does any file match" made a negation in a subdirectory useless).
        for base, spec in reversed(specs):
            rel = path.relative_to(base).as_posix()
            decided = spec.check_file(rel + "/" if is_dir else rel).include
            if decided is not None:
                return decided
        return False


def _match_dir(prefix: str, pattern: str) -> bool:
    """`agents/*` matches `agents/x` but not `agents/x/y`: `*` stays inside one path
    segment (plain fnmatch lets it cross `/`, so with the longest prefix tried first every
    file in `agents/x/sub/` became a component `agents/x/sub`); `**` spans segments."""
    pattern = pattern.strip("/")
    if "**" in pattern:
        return fnmatch.fnmatchcase(prefix, pattern)
    parts, wanted = prefix.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted))


def component_finder(root: Path, patterns: tuple[str, ...]) -> _ComponentFinder:
    """Components of paths under `root` (for files not found by `discover`, e.g. the files
    a profiled script ran)."""
    return _ComponentFinder(root, patterns)


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
                if any(_match_dir(prefix, p) for p in self.patterns):
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
