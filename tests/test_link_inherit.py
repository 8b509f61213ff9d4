"""The link stage follows a method to the project base class that defines it, and a name to
the module a package's `__init__.py` re-exports it from (eval F: camel's SambaModel called
`self._call_client(client.post, ...)`, defined on `BaseModelBackend`, imported as
`from camel.models import BaseModelBackend` — the chain was not found)."""

from __future__ import annotations

from pathlib import Path

from conftest import write

from optadvisor.api import ScanOptions, scan

TREE = {
    "camel/__init__.py": "",
    "camel/models/__init__.py": "from .base_model import BaseModelBackend\n",
    "camel/models/base_model.py": (
        "import time\n\n\n"
        "class BaseModelBackend:\n"
        "    def _call_client(self, call, *args, **kwargs):\n"
        "        return call(*args, **kwargs)\n\n"
        "    def _save(self):\n"
        "        time.sleep(1)\n\n"
        "    def _log(self):\n"
        "        time.sleep(1)\n"),
    "camel/models/samba_model.py": (
        "import httpx\n"
        "from camel.models import BaseModelBackend\n\n\n"
        "class SambaModel(BaseModelBackend):\n"
        "    def _log(self):\n"
        "        return None\n\n"
        "    async def run(self, data):\n"
        "        with httpx.Client(timeout=5) as client:\n"
        "            response = self._call_client(client.post, 'https://x', json=data)\n"
        "        self._save()\n"
        "        self._log()\n"
        "        return response\n"),
    # Bases that name each other: the search ends.
    "camel/loop.py": (
        "class A(B):\n    pass\n\n\nclass B(A):\n    pass\n\n\n"
        "class C(A):\n    async def go(self):\n        return self.missing()\n"),
}


def test_inherited_methods_and_reexported_bases_are_followed(tmp_path: Path):
    root = write(tmp_path, TREE)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    found = {(r.path, r.line): r.evidence["via"][0]["name"] for r in report.recommendations}
    # The overriding `_log` of the subclass does nothing: not reported.
    assert found == {
        ("camel/models/samba_model.py", 11): "BaseModelBackend._call_client",
        ("camel/models/samba_model.py", 12): "BaseModelBackend._save",
    }


def test_the_coroutine_making_the_call_is_not_its_own_async_twin(tmp_path: Path):
    # eval G (swarms): `async_run` calling the sync `run` was told to "await the async
    # twin `async_run`" — itself.
    root = write(tmp_path, {"router.py": (
        "import requests\n\n\nclass Router:\n"
        "    def run(self, q):\n        return requests.get(q, timeout=5)\n\n"
        "    async def async_run(self, q):\n        return self.run(q)\n\n"
        "    async def handle(self, q):\n        return self.run(q)\n")})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    fixes = {r.line: r.fix for r in report.recommendations}
    assert fixes[9].applicability == "unsafe"
    assert fixes[12].applicability == "manual" and "`Router.async_run`" in fixes[12].message
