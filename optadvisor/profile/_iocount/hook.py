"""Which import sets off which library's patch, and the meta path hook that patches a
library right after the program imports it: a library the program does not use is never
imported."""

import sys

from . import databases, http_clients

PATCHES = {
    "sqlite3": databases.patch_sqlite3,
    "psycopg2": databases.patch_psycopg2,
    "asyncpg.connection": databases.patch_asyncpg,
    "urllib.request": http_clients.patch_urllib,
    "requests.sessions": http_clients.patch_requests,
    "httpx._client": http_clients.patch_httpx,
    "aiohttp.client": http_clients.patch_aiohttp,
}
"""The module whose import sets off each patch (where the patched class is defined)."""


def install(counter):
    """Patch the libraries already imported; hook the import of the others."""
    waiting = {}
    for name, patch in PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            apply(counter, patch, module)
        else:
            waiting[name] = patch
    if waiting:
        sys.meta_path.insert(0, ImportHook(counter, waiting))


def apply(counter, patch, module):
    """Run one patch; a failure leaves that library uncounted, never the program broken."""
    try:
        library = patch(counter, module)
    except Exception:
        return
    if library and library not in counter.patched:
        counter.patched.append(library)


class ImportHook:
    """A meta path entry that patches each watched module right after the program imports
    it, and steps aside once all are patched."""

    def __init__(self, counter, waiting):
        self.counter = counter
        self.waiting = dict(waiting)

    def find_spec(self, name, path, target=None):
        patch = self.waiting.get(name)
        if patch is None:
            return None
        del self.waiting[name]
        if not self.waiting:
            try:
                sys.meta_path.remove(self)
            except ValueError:
                pass
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            loader = spec.loader if spec is not None else None
            execute = getattr(loader, "exec_module", None)
            if execute is None:
                return spec
            counter = self.counter

            def exec_module(module):
                execute(module)
                apply(counter, patch, module)

            loader.exec_module = exec_module
            return spec
        except Exception:
            return None
