"""Where the shipped rules/ and templates/ are: inside the wheel, or at the repo top."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """`rules` or `templates`: the wheel copy (optadvisor/_data/NAME) when installed,
    the top-level folder of the source tree when running from a checkout."""
    shipped = _PACKAGE / "_data" / name
    if shipped.is_dir():
        return shipped
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"optadvisor cannot find its {name}/ folder (looked in {shipped} and {checkout}); "
        "the installation is incomplete")


def rules_dir() -> Path:
    return data_dir("rules")


def templates_dir() -> Path:
    return data_dir("templates")


def rule_files(extra_dirs: tuple[Path, ...] = ()) -> list[Path]:
    """The shipped rule files, then those of each extra directory, each set sorted. Here,
    not in rules.py: the warm path keys its state on them without loading the engine."""
    from optadvisor.config import RuleError

    files = sorted(rules_dir().glob("*.toml"))
    for folder in extra_dirs:
        if not folder.is_dir():
            raise RuleError(folder, None, "rule directory not found" if not folder.exists()
                            else "rule directory is not a directory")
        files.extend(sorted(folder.glob("*.toml")))
    return files
