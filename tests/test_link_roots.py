"""Cross-file results do not depend on which directories are scanned together: each gives
the blocking chains (OPT104) it gives alone, plus only the links that really exist between
them. (Module names used to start at the common parent of all of them, so `from app.helpers
import fetch` stopped resolving as soon as a second directory was scanned beside `a/`.)"""

from __future__ import annotations

from pathlib import Path

from conftest import write

from optadvisor.api import ScanOptions, scan

BLOCKING = "import requests\n\n\ndef fetch(url):\n    return requests.get(url, timeout=5)\n"
NOT_A_FUNCTION = "from functools import partial\n\nfetch = partial(str)\n"

TREES = {
    # a/: a package at its top, imported by its absolute name.
    "a/app/__init__.py": "",
    "a/app/helpers.py": BLOCKING,
    "a/app/handler.py": ("from app.helpers import fetch\n\n\n"
                         "async def handle(url):\n    return fetch(url)\n"),
    "a/utils.py": BLOCKING,
    "a/tasks.py": "from utils import fetch\n\n\nasync def task(url):\n    return fetch(url)\n",
    # b/: a module named like a/'s (its own: its fetch is no project function, and a/'s
    # must not stand in for it) and an import of a/'s package.
    "b/utils.py": NOT_A_FUNCTION,
    "b/jobs.py": "from utils import fetch\n\n\nasync def job(url):\n    return fetch(url)\n",
    "b/svc/__init__.py": "",
    "b/svc/view.py": ("from app.helpers import fetch\n\n\n"
                      "async def proxy(url):\n    return fetch(url)\n"),
    # x/: one package holding two directories that are scanned; a relative import between.
    "x/__init__.py": "",
    "x/common/__init__.py": BLOCKING,
    "x/agent/__init__.py": "",
    "x/agent/run.py": ("from ..common import fetch\n\n\n"
                       "async def run(url):\n    return fetch(url)\n"),
    # pkg/: a package given by its own directory; c/ imports it by its full name.
    "lib/pkg/__init__.py": "",
    "lib/pkg/net.py": BLOCKING,
    "c/main.py": "from pkg.net import fetch\n\n\nasync def main(url):\n    return fetch(url)\n",
}


def chains(*paths: Path) -> set[tuple[str, int]]:
    report = scan(ScanOptions(paths=paths, use_cache=False, jobs=1))
    root = Path(report.root)
    return {((root / r.path).resolve().as_posix(), r.line) for r in report.recommendations
            if r.rule == "OPT104"}


def at(tmp: Path, rel: str, line: int) -> tuple[str, int]:
    return ((tmp / rel).resolve().as_posix(), line)


def test_two_directories_together_find_what_each_finds_alone_plus_real_links(tmp_path: Path):
    write(tmp_path, TREES)
    a, b = tmp_path / "a", tmp_path / "b"
    alone_a, alone_b = chains(a), chains(b)
    assert alone_a == {at(tmp_path, "a/app/handler.py", 5), at(tmp_path, "a/tasks.py", 5)}
    assert alone_b == set()
    # b's own `utils` stays b's: its job is not linked to a's blocking utils.fetch; its
    # view imports a's `app` package, which the scan now has: a real link.
    assert chains(a, b) == alone_a | {at(tmp_path, "b/svc/view.py", 5)}
    assert chains(b, a) == chains(a, b)


def test_a_relative_import_reaches_a_sibling_directory_through_their_package(tmp_path: Path):
    write(tmp_path, TREES)
    agent, common = tmp_path / "x" / "agent", tmp_path / "x" / "common"
    assert chains(agent) == set()
    assert chains(agent, common) == {at(tmp_path, "x/agent/run.py", 5)}


def test_a_package_given_by_its_own_directory_answers_imports_of_its_full_name(
        tmp_path: Path):
    write(tmp_path, TREES)
    pkg, c = tmp_path / "lib" / "pkg", tmp_path / "c"
    assert chains(c) == set()
    assert chains(pkg) == set()
    assert chains(pkg, c) == {at(tmp_path, "c/main.py", 5)}


def test_a_src_layout_package_links_by_its_import_name(tmp_path: Path):
    """`src/pkg/...` scanned from the repository root: `from pkg.utils import f` names the
    module the package's `__init__.py` files make, not the path under the root (khoj and
    mem0's command line keep their code so; their cross-file chains were lost). A file
    outside any package is not given a bare name that would catch unrelated imports."""
    write(tmp_path, {
        "pyproject.toml": "[project]\nname = 'pkg'\n",
        "src/pkg/__init__.py": "",
        "src/pkg/utils/__init__.py": "",
        "src/pkg/utils/net.py": ("import requests\n\ndef online():\n"
                                 "    return requests.head('https://example.com', timeout=5).ok\n"),
        "src/pkg/search.py": ("from pkg.utils.net import online\n\nasync def search(q):\n"
                              "    if not online():\n        return None\n    return q\n"),
        "scripts/net.py": "import time\n\ndef online():\n    time.sleep(1)\n",
        "scripts/run.py": "from net import online\n\nasync def go():\n    online()\n",
    })
    found = {(r.rule, r.path) for r in scan(ScanOptions(paths=(tmp_path,), use_cache=False,
                                                        jobs=1)).recommendations}
    assert ("OPT104", "src/pkg/search.py") in found


def test_apps_of_a_monorepo_import_their_own_modules(tmp_path: Path):
    """Held-out X (awesome-llm-apps: dozens of apps in one repository, each run from its own
    directory): `from services.store import fetch` in `apps/one/api.py` is
    `apps/one/services/store.py`, resolved against a directory above the importing file,
    the nearest first — and never another app's module of the same name, packaged or not."""
    write(tmp_path, {
        "apps/one/__init__.py": "",
        "apps/one/services/__init__.py": "",
        "apps/one/services/store.py": BLOCKING,
        "apps/one/api.py": ("from services.store import fetch\n\n\n"
                            "async def handle(url):\n    return fetch(url)\n"),
        "apps/two/services/__init__.py": "",
        "apps/two/services/store.py": NOT_A_FUNCTION,
        "apps/two/api.py": ("from services.store import fetch\n\n\n"
                            "async def handle(url):\n    return fetch(url)\n"),
        "apps/three/services/__init__.py": "",
        "apps/three/services/store.py": BLOCKING,
        "apps/three/web/api.py": ("from services.store import fetch\n\n\n"
                                  "async def handle(url):\n    return fetch(url)\n"),
    })
    assert chains(tmp_path) == {at(tmp_path, "apps/one/api.py", 5),
                                at(tmp_path, "apps/three/web/api.py", 5)}
