"""Client-per-call through the project's own classes (link._client_wrappers): an object
whose `__init__` builds a client — itself, or through a factory function of the project that
returns one — builds a client each time it is made. Held-out V: SuperAGI's `S3Helper()`,
made in every file tool, builds a boto3 client each time."""

from __future__ import annotations

from pathlib import Path

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "app/__init__.py": "",
    "app/clients.py": '''import boto3


def make_s3():
    return boto3.client("s3")
''',
    "app/storage.py": '''from app.clients import make_s3


class Storage:
    def __init__(self, bucket="files"):
        self.s3 = make_s3()
        self.bucket = bucket

    def read(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


class Plain:
    def __init__(self, bucket):
        self.bucket = bucket
''',
    "app/tools.py": '''from app.storage import Plain, Storage


def read_tool(key):
    return Storage().read(key)


def size_tool(key):
    store = Storage()
    return len(store.read(key))


def batch_tool(keys):
    store = Storage()
    return [store.read(k) for k in keys]


def plain_tool(bucket):
    return Plain(bucket).bucket


class Service:
    def __init__(self):
        self.storage = Storage()
        self.files = load_index()


def load_index():
    return Storage().read("index.json")
''',
}


def _found(root: Path, cache: Path | None = None) -> list[tuple[str, str, str]]:
    options = ScanOptions(paths=(root,), use_cache=cache is not None, cache_dir=cache,
                          jobs=1, select=("OPT201",))
    return [(r.path, r.symbol, r.message) for r in scan(options).recommendations]


def test_an_object_whose_init_builds_a_client_is_a_client_made_per_call(tmp_path: Path):
    root = write(tmp_path / "repo", FILES)
    found = _found(root)
    # Not `Plain` (no client), not `batch_tool` (one object serves the batch), not
    # `Service.__init__` (set-up), not `load_index` (only set-up code calls it: once).
    assert [(path, symbol) for path, symbol, _ in found] == [
        ("app/tools.py", "read_tool"), ("app/tools.py", "size_tool")]
    assert "Storage.__init__ → make_s3 → boto3.client" in found[0][2]


def test_the_warm_path_keeps_and_drops_wrapped_clients_as_a_cold_scan_does(tmp_path: Path):
    root = write(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    cold = _found(root)
    assert _found(root, cache) == cold
    assert _found(root, cache) == cold  # warm: nothing changed
    # The factory stops building a client: the objects no longer do.
    (root / "app/clients.py").write_text(
        "def make_s3():\n    return {'bucket': 'files'}\n", encoding="utf-8")
    assert _found(root, cache) == [] == _found(root)


def test_an_object_whose_init_takes_the_client_from_a_memoized_factory_is_not(tmp_path: Path):
    """Held-out S32: agent-service-toolkit's `Safeguard()`, made per request, takes its model
    from `@functools.cache def get_model(name)`: every instance shares one client."""
    files = dict(FILES)
    files["app/clients.py"] = '''import functools

import boto3


@functools.cache
def make_s3():
    return boto3.client("s3")
'''
    assert _found(write(tmp_path / "repo", files)) == []


def test_a_singleton_class_that_builds_a_client_makes_it_once(tmp_path: Path):
    """Held-out S32c: vocode's `AsyncRequestor(Singleton)` (its metaclass's `__call__` hands
    back the first instance) is made per request but holds one aiohttp session."""
    files = {
        "app/__init__.py": "",
        "app/single.py": '''import aiohttp


class SingletonMeta(type):
    _instances = {}

    def __call__(cls, *args, **kwargs):
        if cls not in cls._instances:
            cls._instances[cls] = super().__call__(*args, **kwargs)
        return cls._instances[cls]


class Singleton(metaclass=SingletonMeta):
    pass


class Requestor(Singleton):
    def __init__(self):
        self.session = aiohttp.ClientSession()

    def get_session(self):
        return self.session


class Plain:
    def __init__(self):
        self.session = aiohttp.ClientSession()

    def get_session(self):
        return self.session
''',
        "app/calls.py": '''from app.single import Plain, Requestor


async def send_digits(url):
    async with Requestor().get_session().post(url) as response:
        return response.status


async def send_digits_plain(url):
    async with Plain().get_session().post(url) as response:
        return response.status
''',
    }
    found = _found(write(tmp_path / "repo", files))
    assert [(path, symbol) for path, symbol, _ in found] == [("app/calls.py", "send_digits_plain")]
