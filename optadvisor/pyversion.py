"""The oldest Python a project says it supports, read from its packaging metadata (never
run): what the code a fix writes may use. `asyncio.to_thread` and `functools.cache` came in
Python 3.9; a project that still installs on 3.8 (held-out S28: GPTCache's
`python_requires='>=3.8.1'`) must not get them. Also the async library a project declares it depends on (anyio, trio):
a module of it that imports neither asyncio nor anyio may still run under trio."""

from __future__ import annotations

import configparser
import re
from functools import lru_cache
from pathlib import Path

from optadvisor.inputs import tomllib

Version = tuple[int, int]

_SEARCH_UP = 8
"""Directories walked up from a file for its project's metadata."""
_LOWER = re.compile(r"(>=|~=|==|\^|~|>)\s*(\d+)\.(\d+)")
_SETUP_PY = re.compile(r"""python_requires\s*=\s*(['"])([^'"]+)\1""")
_CLASSIFIER = re.compile(r"Programming Language :: Python :: (\d+)\.(\d+)\b")


def _classified(text: str) -> str:
    """`>=3.8` for the oldest `Programming Language :: Python :: 3.8` classifier in `text`
    ("" when none): a project with no `python_requires` that lists 3.8 says it runs there
    (held-out S34: dev-gpt's setup.py; `asyncio.to_thread` broke its 3.8 gateway)."""
    versions = [(int(major), int(minor)) for major, minor in _CLASSIFIER.findall(text)]
    if not versions:
        return ""
    major, minor = min(versions)
    return f">={major}.{minor}"


def lowest_python(spec: str) -> Version | None:
    """The lowest Python `spec` admits (`>=3.8.1, <4` → (3, 8); poetry's `^3.8` → (3, 8));
    None when it gives no lower bound."""
    bounds = []
    for op, major, minor in _LOWER.findall(spec):
        version = (int(major), int(minor))
        if op == ">":
            version = (version[0], version[1] + 1)
        bounds.append(version)
    return max(bounds) if bounds else None


def project_python(path: Path) -> Version | None:
    """The oldest Python the project holding `path` supports: from the nearest
    pyproject.toml (`[project] requires-python`, poetry's `python` dependency), setup.cfg
    (`python_requires`) or setup.py (a literal `python_requires=`), walking up. None when
    none says."""
    return _of_folder(path.parent)


@lru_cache(maxsize=1024)
def _of_folder(folder: Path) -> Version | None:
    for _ in range(_SEARCH_UP):
        spec, root = _declared(folder)
        if spec or root:
            return lowest_python(spec)
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def _declared(folder: Path) -> tuple[str, bool]:
    """What this folder's packaging metadata says of Python ("" when nothing), and whether
    the folder is a project's root (the search stops there, said or not)."""
    root = False
    listed = ""  # from classifiers: used only when no file of the folder states a spec
    data = _pyproject(folder)
    if data is not None:
        project = data.get("project")
        tool = data.get("tool")
        poetry = tool.get("poetry", {}).get("dependencies", {}) \
            if isinstance(tool, dict) and isinstance(tool.get("poetry"), dict) else {}
        spec = project.get("requires-python") if isinstance(project, dict) else None
        if isinstance(spec, str) and lowest_python(spec) is not None:
            return spec, True
        spec = poetry.get("python") if isinstance(poetry, dict) else None
        if isinstance(spec, str) and lowest_python(spec) is not None:
            # Poetry's `python` says what the package installs on when poetry builds it;
            # beside another build backend it is a developer environment's, and the
            # setup.py or setup.cfg the backend reads says the truth (held-out S43:
            # mage-ai's "DevEx" poetry table says 3.8, its setup.py 3.10).
            system = data.get("build-system")
            backend = system.get("build-backend") if isinstance(system, dict) else None
            if isinstance(backend, str) and "poetry" in backend or \
                    not _declared_setup(folder)[0]:
                return spec, True
        root = isinstance(project, dict)
        classifiers = project.get("classifiers") if isinstance(project, dict) else None
        if isinstance(classifiers, list):
            listed = _classified("\n".join(str(c) for c in classifiers))
    spec, setup_listed, setup_root = _declared_setup(folder)
    if spec:
        return spec, True
    listed = listed or setup_listed
    return listed, root or setup_root or bool(listed)


def _declared_setup(folder: Path) -> tuple[str, str, bool]:
    """What the folder's setup.cfg or setup.py says: the `python_requires` with a lower
    bound ("" when none), the spec its classifiers give, and whether either file is there."""
    listed = ""
    root = False
    setup_cfg = folder / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(setup_cfg.read_text(encoding="utf-8"))
            spec = parser.get("options", "python_requires", fallback="")
            listed = _classified(parser.get("metadata", "classifiers", fallback=""))
        except (OSError, UnicodeDecodeError, configparser.Error):
            spec = ""
        if lowest_python(spec) is not None:
            return spec, listed, True
    setup_py = folder / "setup.py"
    if setup_py.is_file():
        try:
            text = setup_py.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if _packaging_script(folder, text):
            match = _SETUP_PY.search(text)
            if match and lowest_python(match.group(2)) is not None:
                return match.group(2), listed, True
            listed = listed or _classified(text)
            root = True
    return "", listed, root


_SETUPTOOLS = re.compile(r"\b(?:setuptools|distutils)\b")
_SETUP_CALL = re.compile(r"(?<![\w.])setup\s*\(")


def _packaging_script(folder: Path, text: str) -> bool:
    """A `setup.py` that packages its folder, not a module of a package named so (held-out
    S45: Red-DiscordBot's `redbot/setup.py`, its first-run CLI, stopped the search before the
    project's own setup.py said `>=3.8.1`, and fixes got `asyncio.to_thread`): it names
    setuptools or distutils, or calls `setup(...)` outside a package folder."""
    if _SETUPTOOLS.search(text):
        return True
    return _SETUP_CALL.search(text) is not None and not (folder / "__init__.py").is_file()


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def project_runtime(path: Path) -> str:
    """"trio" or "anyio" when the nearest pyproject.toml with a `[project]` table lists it
    among its dependencies (held-out S39: claude-agent-sdk depends on anyio and supports
    trio; its session import module, which imports neither, was offered
    `asyncio.to_thread`), else ""."""
    return _runtime_of(path.parent)


@lru_cache(maxsize=1024)
def _runtime_of(folder: Path) -> str:
    for _ in range(_SEARCH_UP):
        data = _pyproject(folder) or {}
        project = data.get("project")
        if isinstance(project, dict):
            listed = project.get("dependencies")
            listed = list(listed) if isinstance(listed, list) else []
            dynamic = project.get("dynamic")
            if isinstance(dynamic, list) and "dependencies" in dynamic:
                listed += _dynamic_requirements(folder, data)
            names = set()
            for requirement in listed:
                match = _REQUIREMENT_NAME.match(str(requirement))
                if match:
                    names.add(match.group(1).lower())
            return next((lib for lib in ("trio", "anyio") if lib in names), "")
        if folder.parent == folder:
            break
        folder = folder.parent
    return ""


def _dynamic_requirements(folder: Path, data: dict) -> list[str]:
    """The requirement lines of the files setuptools reads a dynamic `dependencies` from
    (`[tool.setuptools.dynamic] dependencies = { file = ["requirements.txt"] }`; held-out
    S40c: inspect_ai lists anyio there), or of requirements.txt when no such table says."""
    tool = data.get("tool")
    setuptools = tool.get("setuptools") if isinstance(tool, dict) else None
    dynamic = setuptools.get("dynamic") if isinstance(setuptools, dict) else None
    entry = dynamic.get("dependencies") if isinstance(dynamic, dict) else None
    files = entry.get("file") if isinstance(entry, dict) else None
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list):
        files = ["requirements.txt"]
    lines: list[str] = []
    for name in files:
        if not isinstance(name, str):
            continue
        try:
            text = (folder / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        lines += [line.split("#", 1)[0].strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith(("#", "-"))]
    return lines


def _pyproject(folder: Path) -> dict | None:
    """The folder's pyproject.toml, parsed (None: no such file; {} when it cannot be read).
    Not cached itself: its callers cache their answers per folder."""
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
