"""`[tool.optadvisor]` in the nearest pyproject.toml, validated into a frozen Config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from optadvisor.discover import pattern_problem
from optadvisor.inputs import CONFIG_BYTES, InputError, parse_toml, read_regular
from optadvisor.models import PRIORITIES, Config, PathIgnore


class ConfigError(Exception):
    """A configuration problem the user must fix; the CLI exits 2 with this message."""


class RuleError(Exception):
    """A rule file that cannot be used; names the file and the line. Here, not in rules.py,
    so that the CLI can catch it without importing the rule engine (a warm scan that
    evaluates nothing never does)."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


_LIST_KEYS = {
    "include", "exclude", "extend-exclude", "select", "ignore", "component-roots",
    "catalogs", "rule-dirs", "extend-select",
}
_KNOWN = _LIST_KEYS | {
    "per-path-ignores", "cache-dir", "jobs", "max-file-bytes", "max-file-seconds",
    "max-file-mib", "fail-on", "respect-gitignore", "include-tests", "include-examples",
}

# Integer settings and the values they accept (`jobs = 10**20` used to be taken as is).
_RANGES = (
    ("jobs", 0, 4096),
    ("max-file-bytes", 0, 1 << 40),
    ("max-file-seconds", 1, 86_400),
    ("max-file-mib", 64, 1 << 20),
)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.optadvisor] table, walking up from start."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():  # also a FIFO or a device: not read
            continue
        try:
            raw = read_regular(candidate, CONFIG_BYTES)
        except InputError as exc:  # too large to be a config, or swapped for a FIFO
            raise ConfigError(str(exc)) from None
        except OSError:
            continue  # unreadable (a parent directory of another user): not ours to judge
        try:
            data = parse_toml(raw, candidate)
        except InputError as exc:
            # A broken pyproject.toml that holds our table (invalid TOML, not UTF-8, too
            # deep) must not be skipped in silence: the scan would run with defaults or
            # a parent's config. A latin-1 one was, before.
            if b"optadvisor" in raw:
                raise ConfigError(str(exc)) from None
            continue
        if isinstance(data.get("tool"), dict) and "optadvisor" in data["tool"]:
            return candidate
    return None


def load_config(paths: list[Path], config_file: Path | None = None) -> Config:
    """Read the config that governs a scan of `paths` (the first path decides)."""
    start = paths[0].resolve() if paths else Path.cwd()
    if config_file is None:
        config_file = find_config(start)
        if config_file is None:
            root = start if start.is_dir() else start.parent
            return Config(project_root=root)
    elif not os.path.exists(config_file):
        raise ConfigError(f"{config_file}: config file not found")
    try:
        raw = read_regular(config_file, CONFIG_BYTES)
        data = parse_toml(raw, config_file)
    except InputError as exc:  # not a regular file, too large, not UTF-8, invalid, too deep
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{config_file}: cannot read: {exc.strerror or exc}") from None
    tool = data.get("tool")
    if isinstance(tool, dict) and "optadvisor" in tool:
        table = tool["optadvisor"]
    elif config_file.name != "pyproject.toml":
        # A dedicated optadvisor.toml may hold the keys at the top level. (Checked by
        # presence, not truthiness: an empty [tool.optadvisor] is not "keys at the top",
        # and a non-table `tool = 1` used to crash with AttributeError.)
        table = data
    else:
        table = {}
    return config_from_table(table, config_file, raw.decode("utf-8"))


def config_from_table(table: dict[str, Any], config_file: Path, text: str = "") -> Config:
    """`text`, the file's content, lets an error about a value name its line."""
    where = f"{config_file} [tool.optadvisor]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"known keys: {', '.join(sorted(_KNOWN))}")
    for key in _LIST_KEYS & set(table):
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of strings")
    for key in ("include", "exclude", "extend-exclude"):
        for pattern in table.get(key, ()):
            _check_pattern(pattern, f"{key} pattern", config_file, text)
    root = config_file.parent
    kwargs: dict[str, Any] = {"project_root": root, "config_file": config_file}
    if "include" in table:
        kwargs["include"] = tuple(table["include"])
    kwargs["exclude"] = tuple(table.get("exclude", ())) + tuple(table.get("extend-exclude", ()))
    kwargs["select"] = tuple(c.upper() for c in table.get("select", ()))
    kwargs["ignore"] = tuple(c.upper() for c in table.get("ignore", ()))
    kwargs["extend_select"] = tuple(c.upper() for c in table.get("extend-select", ()))
    kwargs["component_roots"] = tuple(table.get("component-roots", ()))
    kwargs["catalogs"] = tuple((root / p).resolve() for p in table.get("catalogs", ()))
    kwargs["rule_dirs"] = tuple((root / p).resolve() for p in table.get("rule-dirs", ()))
    ppi = table.get("per-path-ignores", {})
    if not isinstance(ppi, dict):
        raise ConfigError(f"{where}: per-path-ignores must be a table of pattern = [rules]")
    ignores = []
    for pattern, rules in ppi.items():
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ConfigError(f"{where}: per-path-ignores.{pattern!r} must be a list of rule ids")
        _check_pattern(pattern, "per-path-ignores pattern", config_file, text)
        ignores.append(PathIgnore(pattern, tuple(r.upper() for r in rules)))
    kwargs["per_path_ignores"] = tuple(ignores)
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str):
            raise ConfigError(f"{where}: cache-dir must be a string")
        kwargs["cache_dir"] = (root / table["cache-dir"]).resolve()
    for key, low, high in _RANGES:
        if key in table:
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"{where}: {key} must be an integer from {low} to {high:,}")
            kwargs[key.replace("-", "_")] = value
    if "fail-on" in table:
        kwargs["fail_on"] = parse_fail_on(table["fail-on"], where)
    for key in ("respect-gitignore", "include-tests", "include-examples"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{where}: {key} must be true or false")
            kwargs[key.replace("-", "_")] = table[key]
    return Config(**kwargs)


def _check_pattern(pattern: str, what: str, config_file: Path, text: str) -> None:
    """A gitignore-style pattern pathspec cannot compile (`x\\`, `!`, `[z-a]`) is a
    config error naming the file and line; it used to surface as an internal error
    (GitIgnorePatternError, re.error) in the middle of discovery."""
    exc = pattern_problem(pattern)
    if exc is not None:
        raise ConfigError(f"{config_file}{_line_of(text, pattern)} [tool.optadvisor]: "
                          f"{what} {pattern!r} is not a valid gitignore pattern ({exc})"
                          ) from None


def _line_of(text: str, value: str) -> str:
    """`:N`, the first line that holds `value` as a TOML string; "" when not found."""
    for written in (f"'{value}'", json.dumps(value, ensure_ascii=False)):
        at = text.find(written)
        if at >= 0:
            return f":{text.count(chr(10), 0, at) + 1}"
    return ""


def parse_fail_on(value: object, where: str = "--fail-on") -> str:
    if not isinstance(value, str) or value not in (*PRIORITIES, "never"):
        raise ConfigError(f"{where}: fail-on must be one of {', '.join(PRIORITIES)}, never")
    return value


def split_codes(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`--select OPT101,OPT2` and repeated flags both work. Codes are upper-cased: the
    check of codes accepted `opt101`, but it then selected (or ignored) nothing."""
    out: list[str] = []
    for value in values:
        out.extend(v.strip().upper() for v in value.split(",") if v.strip())
    return tuple(out)
