"""Plain `def` handler methods a web framework runs on its event loop's thread (Tornado's
`get`, `post`, `on_message`, and Jupyter's handlers built on it): blocking work there
stalls every request as in an `async def` (held-out S43: mage-ai's Tornado API, whose
handlers derive from a `BaseHandler` in another module; S42: code-act's execution
server). Advice in words: `await` cannot be written in a plain `def`."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree, write


BASE = '''import tornado.web


class BaseHandler(tornado.web.RequestHandler):
    def write_json(self, data):
        self.write(data)
'''

RUNS = '''import subprocess

import requests

from app.api.base import BaseHandler
from app.services import fetch_status


class RunHandler(BaseHandler):
    def post(self, name):
        subprocess.run(["git", "fetch", name], check=True)
        self.write_json({"ok": True})

    def get(self):
        self.write_json(fetch_status())

    def describe(self):
        return requests.get("https://api.example.com/describe", timeout=5).json()


class Registry:
    def get(self, key):
        return requests.get(f"https://api.example.com/{key}", timeout=5).json()
'''

SERVICES = '''import requests


def fetch_status():
    return requests.get("https://status.example.com/v1", timeout=5).json()
'''


def _tree(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", {"app/__init__.py": "", "app/api/__init__.py": "",
                                     "app/api/base.py": BASE, "app/api/runs.py": RUNS,
                                     "app/services.py": SERVICES})


def _found(root: Path, **options) -> list[tuple[str, str, int, str]]:
    return [(r.rule, r.symbol, r.line, r.fix.applicability if r.fix else "")
            for r in scan_tree(root, "OPT101", "OPT104", **options)]


def test_a_handler_method_of_a_project_base_of_tornados_runs_on_the_loop(tmp_path: Path):
    root = _tree(tmp_path)
    found = _found(root, use_cache=False)
    # `post` runs git on the loop, `get` reaches a request through a helper in another
    # module; `describe` is no handler method and Registry no handler: not reported.
    assert sorted(found) == [("OPT101", "RunHandler.post", 11, "manual"),
                             ("OPT104", "RunHandler.get", 15, "manual")]
    report = scan_tree(root, "OPT101")
    (post,) = report
    assert "a plain `def` its framework runs on the event loop" in post.message
    assert "async" not in post.message.split("inside", 1)[1].split(":", 1)[0]


def test_a_warm_scan_keeps_what_link_found_of_handler_methods(tmp_path: Path):
    root = _tree(tmp_path)
    cache = tmp_path / "cache"
    cold = _found(root, use_cache=True, cache_dir=cache)
    warm = _found(root, use_cache=True, cache_dir=cache)
    # The handler's own file changes (a comment), its base does not: the state's links
    # for it are used again.
    runs = root / "app/api/runs.py"
    runs.write_text(runs.read_text() + "# edited\n")
    changed = _found(root, use_cache=True, cache_dir=cache)
    assert cold == warm == changed and len(cold) == 2


def test_a_handler_class_named_for_a_sign_in_is_a_login_path(tmp_path: Path):
    # held-out S43b: notebook-intelligence's `PostGitHubLoginHandler.post` starts
    # Copilot's device sign-in; its verb method is named for the verb, its class for what
    # it serves.
    code = '''import requests
from jupyter_server.base.handlers import APIHandler


class PostGitHubLoginHandler(APIHandler):
    def post(self):
        self.finish(requests.post("https://github.com/login/device/code", timeout=5).json())


class UpdateModelsHandler(APIHandler):
    def post(self):
        self.finish(requests.get("https://api.example.com/models", timeout=5).json())
'''
    root = write(tmp_path / "repo", {"ext/__init__.py": "", "ext/handlers.py": code})
    report = scan_tree(root, "OPT101")
    found = {r.symbol: (r.priority, "login path" in r.message) for r in report}
    assert found == {"PostGitHubLoginHandler.post": ("medium", True),
                     "UpdateModelsHandler.post": ("high", False)}


def test_a_sync_tool_of_the_mcp_sdks_fastmcp_runs_on_the_loop(tmp_path: Path):
    # held-out S43e: mem0-mcp's nine sync tools call Mem0's hosted API; the MCP SDK's
    # FastMCP (1.x) calls a sync tool inline on its event loop (python-sdk#1646). The
    # separate `fastmcp` package runs sync tools in a worker thread: not reported.
    server = '''import requests
from fastmcp import FastMCP as ThreadedMCP
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("search")
threaded = ThreadedMCP("other")


@mcp.tool()
def search(query: str) -> str:
    return requests.get("https://api.example.com/search", params={"q": query}, timeout=10).text


@threaded.tool()
def search_threaded(query: str) -> str:
    return requests.get("https://api.example.com/search", params={"q": query}, timeout=10).text


def build():
    server = FastMCP("nested")

    @server.resource("config://app")
    def config() -> str:
        return requests.get("https://api.example.com/config", timeout=10).text

    return server
'''
    tools = '''import subprocess

from srv.server import mcp


@mcp.tool()
def run_git(args: list[str]) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, timeout=30).stdout
'''
    root = write(tmp_path / "repo", {"srv/__init__.py": "", "srv/server.py": server,
                                     "srv/tools.py": tools})
    found = _found(root, use_cache=False)
    assert sorted(found) == [("OPT101", "build.<locals>.config", 24, "manual"),
                             ("OPT101", "run_git", 8, "manual"),
                             ("OPT101", "search", 11, "manual")]


def test_a_route_its_own_module_awaits_is_not_told_to_become_a_plain_def(tmp_path: Path):
    # held-out S43c: cohere-toolkit's `update_agent_tool_metadata` route awaits nothing,
    # but another route of its module awaits it: "declare it a plain `def`" would break
    # that `await`.
    code = '''import requests
from fastapi import APIRouter

router = APIRouter()


@router.put("/tools/{tool_id}")
async def update_tool(tool_id: str):
    return requests.get(f"https://api.example.com/tools/{tool_id}", timeout=5).json()


@router.put("/agents/{agent_id}")
async def update_agent(agent_id: str):
    return await update_tool(agent_id)


@router.get("/status")
async def status():
    return requests.get("https://api.example.com/status", timeout=5).json()
'''
    root = write(tmp_path / "repo", {"app/__init__.py": "", "app/routes.py": code})
    report = scan_tree(root, "OPT101")
    hint = {r.symbol: "declared with a plain `def`" in r.message for r in report}
    assert hint == {"update_tool": False, "status": True}
