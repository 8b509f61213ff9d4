"""Which package each directory given to a scan is: what the link stage reads of the
files' places besides their facts, and what the warm path keys its state on (here, not in
link.py, so that a warm scan that links nothing does not load the link stage)."""

from __future__ import annotations

from typing import Iterable

from optadvisor.models import SourceFile


def under(rel: str, root: str) -> str:
    """`rel` relative to the scanned directory `root` ("" for one root: unchanged)."""
    return rel[len(root) + 1:] if root and rel.startswith(root + "/") else rel


def package_of(source: SourceFile, root: str) -> str:
    """The dotted package the directory `root` is, from the `__init__.py` files in it and
    above it ("" when it is no package)."""
    depth = under(source.rel, root).count("/") + 1
    if depth > len(source.path.parents):
        return ""
    directory = source.path.parents[depth - 1]
    names: list[str] = []
    while (directory / "__init__.py").is_file() and directory.name and len(names) < 32:
        names.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(names))


def package_prefixes(sources: Iterable[SourceFile]) -> dict[str, str]:
    """The package each directory given to the scan is (see link's ProjectIndex), when
    there are several ({} for one: the prefix is then never read). With the files' paths,
    module roots and facts, this is all `link` reads."""
    first: dict[str, SourceFile] = {}
    for source in sources:
        first.setdefault(source.module_root, source)
    if len(first) < 2:
        return {}
    return {root: package_of(source, root) for root, source in first.items()}
