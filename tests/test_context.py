"""Tests are context: a finding in a test or an example is shown, ranked low, and does not
fail CI by default."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import write

from optadvisor.api import ScanOptions, exit_code, scan
from optadvisor.context import context_of, generated_marker


@pytest.mark.parametrize("rel,expected", [
    ("agents/research/fetch.py", "library"),
    ("tests/test_fetch.py", "test"),
    ("pkg/tests/helpers.py", "test"),
    ("pkg/fetch_test.py", "test"),
    ("conftest.py", "test"),
    # held-out S43b: poe-api-wrapper's root `test.py`, a manual check asking for cookies
    ("test.py", "test"),
    ("pkg/test.py", "test"),
    ("examples/quickstart.py", "example"),
    ("docs/snippets/agent.py", "example"),
    ("scripts/backfill.py", "script"),
    ("fastmcp/cli/install/claude_code.py", "script"),
    ("nemoguardrails/cli.py", "script"),
    ("pkg/__main__.py", "script"),
    ("pkg/client.py", "library"),
    ("app/migrations/0001_init.py", "migration"),
    ("latest/protest.py", "library"),
    # A directory named with one of those words (held-out O: atomic-agents' examples).
    ("atomic-examples/fastapi-memory/client.py", "example"),
    ("mcp-agent/example-client/example_client/main.py", "example"),
    ("pkg/demo_app/server.py", "example"),
    ("tools/dev-scripts/release.py", "script"),
    ("pkg/api_tests/helpers.py", "test"),
    # ... but not a word that also names library code.
    ("pkg/doc_parser/pdf.py", "library"),
    ("pkg/ab_test/assign.py", "library"),
    ("audio/sample_rate/convert.py", "library"),
    ("pkg/examples_loader.py", "library"),
    # Held-out P: a sample app, use cases, a file named as an example.
    ("packages/sample-app/sample_app/chat.py", "example"),
    ("owl/community_usecase/agent.py", "example"),
    ("use_cases/rag/run.py", "example"),
    ("pkg/openai_example.py", "example"),
    ("audio/sample_rate.py", "library"),
    # A file no import can name is run as a script, or not at all (held-out R:
    # AI-Researcher's `benchmark_collection/0_crawl_paper.py`, firecrawl's
    # `firecrawl.backup.py`); a package directory above it may have any name.
    ("benchmark_collection/0_crawl_paper.py", "script"),
    ("sdk/firecrawl/firecrawl.backup.py", "script"),
    ("tools/run-agent.py", "script"),
    ("my-service/app/server.py", "library"),
    ("app/migrations/0002_users.py", "migration"),
    # Test doubles beside the code (held-out S33: KAG's `common/llm/mock_llm.py`).
    ("kag/common/llm/mock_llm.py", "test"),
    ("pkg/clients/openai_fake.py", "test"),
    ("pkg/mocks/llm.py", "test"),
    ("pkg/mockingbird.py", "library"),
    ("pkg/fakeredis_compat.py", "library"),
    # A project generator's template (held-out S50: botbuilder-python's cookiecutter bots).
    ("generators/app/templates/core/{{cookiecutter.bot_name}}/bots/dialog_bot.py", "example"),
    ("template/{{ project_slug }}/app/main.py", "example"),
    ("web/templates/render.py", "library"),
])
def test_context_from_path(rel: str, expected: str):
    assert context_of(rel) == expected


def test_findings_in_tests_are_low_and_do_not_fail_the_gate(tmp_path: Path):
    code = "import requests\n\nasync def f(url):\n    return requests.get(url, timeout=5)\n"
    for rel in ("svc/app.py", "tests/test_app.py"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, include_tests=True))
    by_path = {r.path: r for r in report.recommendations}
    assert by_path["svc/app.py"].priority == "high"
    assert by_path["svc/app.py"].context == "library"
    assert by_path["tests/test_app.py"].priority == "low"
    assert by_path["tests/test_app.py"].context == "test"
    assert report.recommendations[-1].path == "tests/test_app.py"  # ranked last
    only_tests = scan(ScanOptions(paths=(tmp_path / "tests",), use_cache=False, jobs=1,
                                  include_tests=True))
    assert exit_code(only_tests, "high") == 0


def test_rules_do_not_run_in_tests_by_default_but_their_facts_link(tmp_path: Path):
    """A test blocks, builds clients and awaits in order on purpose (on mocks, a watchdog
    test blocking the loop to see it caught), an example shows an API one call at a time:
    by default no rule runs there, the summary says how many files were skipped, and a
    helper a test calls still links. Scripts are reported, ranked low."""
    write(tmp_path, {
        "svc/helpers.py": "import time\n\ndef pause():\n    time.sleep(1)\n",
        "svc/app.py": "from svc.helpers import pause\n\nasync def f():\n    pause()\n",
        "tests/test_app.py": ("import time\nfrom svc.helpers import pause\n\n"
                              "async def test_watchdog():\n    time.sleep(8)\n    pause()\n"),
        "tests/conftest.py": "import requests\n\ndef token():\n    return requests.get('u')\n",
    })
    write(tmp_path, {"examples/demo.py": "import time\n\nasync def main():\n    time.sleep(1)\n",
                     "scripts/backfill.py": "import time\n\nasync def main():\n    time.sleep(1)\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert {(r.rule, r.path, r.priority) for r in report.recommendations} == {
        ("OPT104", "svc/app.py", "high"), ("OPT101", "scripts/backfill.py", "low")}
    assert dict(report.summary.skipped_by_context) == {"example": 1, "test": 2}
    assert report.to_dict()["summary"]["skipped_by_context"] == {"example": 1, "test": 2}
    shown = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, include_tests=True,
                             include_examples=True))
    assert {r.path for r in shown.recommendations} >= {
        "tests/test_app.py", "tests/conftest.py", "examples/demo.py"}
    assert dict(shown.summary.skipped_by_context) == {}
    write(tmp_path, {"pyproject.toml": "[tool.optadvisor]\ninclude-tests = true\n"})
    configured = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert dict(configured.summary.skipped_by_context) == {"example": 1}


def test_summary_counts_by_context_and_low_confidence_never_fails_the_run(tmp_path):
    from optadvisor.api import ScanOptions, exit_code, scan

    (tmp_path / "tests").mkdir()
    code = "import time\n\nasync def f():\n    time.sleep(1)\n"
    (tmp_path / "service.py").write_text(code)
    (tmp_path / "tests" / "test_service.py").write_text(code)
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, include_tests=True))
    assert dict(report.summary.by_context) == {"library": 1, "test": 1}
    by_path = {r.path: r for r in report.recommendations}
    assert by_path["tests/test_service.py"].confidence == "low"
    assert by_path["service.py"].confidence == "high"
    assert exit_code(report, "high") == 1
    only_tests = scan(ScanOptions(paths=(tmp_path / "tests",), use_cache=False,
                                  include_tests=True))
    assert only_tests.recommendations and exit_code(only_tests, "low") == 0


def test_a_helper_that_blocks_on_some_paths_only_is_not_reported():
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import os, time

        def upload(path):
            if os.path.exists(path):
                time.sleep(1)
            return path

        def always(path):
            time.sleep(1)

        async def handler(path):
            upload(path)
            always(path)
    """), select=("OPT104",))
    assert error is None
    # Which branch runs is decided by values a static reading does not see: only the
    # helper that blocks on every path is reported.
    assert [(r.line, r.confidence) for r in recs] == [(14, "medium")]


def test_blocking_work_in_a_startup_hook_stalls_no_request():
    # A startup hook runs before the server accepts a connection: a blocking call there
    # stalls no request (held-out S30c: it was reported at lower confidence before). One
    # that started a task first stalls that task: still reported, at lower confidence.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import asyncio, time
        from fastapi import FastAPI

        app = FastAPI()

        @app.on_event("startup")
        async def warm():
            time.sleep(1)

        @app.get("/")
        async def index():
            time.sleep(1)

        @app.on_event("startup")
        async def poll_and_warm():
            app.state.poller = asyncio.create_task(asyncio.sleep(60))
            time.sleep(1)
    """), select=("OPT101",))
    assert error is None
    assert {r.line: r.confidence for r in recs} == {13: "high", 18: "medium"}


def test_a_pytest_suite_outside_a_tests_directory_is_test_code(tmp_path: Path):
    # Held-out S32b: agent-protocol ships its compliance suite as
    # `agent_protocol/utils/compliance/main.py` (pytest collects `test_*` there): 13
    # findings were ranked high as library code. A module that only imports pytest (a
    # plugin, a fixture helper) is not a suite.
    root = write(tmp_path / "repo", {
        "pkg/__init__.py": "",
        "pkg/compliance/main.py": (
            "import pytest\nimport requests\n\n\nclass TestApi:\n"
            "    def test_list(self, url):\n"
            "        assert requests.get(f'{url}/tasks').status_code == 200\n"),
        "pkg/plugin.py": (
            "import pytest\nimport requests\n\n\ndef fetch(url):\n"
            "    return requests.get(url)\n"),
    })
    result = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT202",),
                              include_tests=True))
    assert {(r.path, r.context) for r in result.recommendations} == {
        ("pkg/compliance/main.py", "test"), ("pkg/plugin.py", "library")}


def test_an_agents_tools_package_is_library_code():
    from optadvisor.context import context_of

    assert context_of("agno/tools/brightdata.py") == "library"
    assert context_of("scripts/release.py") == "script"


def test_a_streamlit_page_is_app_code_and_a_numbered_script_is_not():
    # Held-out S32c: chat-with-your-data's `code/backend/pages/01_Ingest_Data.py`, a page
    # Streamlit reruns on every interaction, was ranked as a script.
    from optadvisor.context import context_of

    assert context_of("code/backend/pages/01_Ingest_Data.py") == "library"
    assert context_of("pipeline/0_crawl_paper.py") == "script"
    assert context_of("pages/run-agent.py") == "script"


def test_a_client_builder_only_setup_code_calls_runs_once_unless_called_per_item():
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import httpx

        def ping():
            client = httpx.Client()
            client.get("https://example.com/ping")

        def price(sku):
            client = httpx.Client()
            return client.get(f"https://example.com/{sku}")

        class Service:
            def __init__(self):
                ping()

        def main(skus):
            ping()
            return [price(sku) for sku in skus]
    """)
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    assert [r.line for r in recs] == [9]


def test_a_call_whose_result_is_kept_on_self_the_first_time_runs_once_per_object():
    # Held-out S32: cheshire-cat's providers fetch their model list once per instance
    # (`if getattr(self, "_models", None) is None: self._models = await
    # self.fetch_models()`); the client that fetch builds is not built per call.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import httpx

        class Provider:
            async def list_models(self):
                if getattr(self, "_models", None) is None:
                    self._models = await self.fetch_models()
                return self._models

            async def fetch_models(self):
                async with httpx.AsyncClient(timeout=10) as client:
                    return (await client.get("https://example.com/models")).json()

        class Plain:
            async def list_models(self):
                if self._models is None:
                    print("refreshing")
                self._models = await self.fetch_models()
                return self._models

            async def fetch_models(self):
                async with httpx.AsyncClient(timeout=10) as client:
                    return (await client.get("https://example.com/models")).json()
    """)
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    assert [r.symbol for r in recs] == ["Plain.fetch_models"]


def test_a_token_check_runs_per_request_and_an_api_key_check_once():
    # Held-out S32c: bedrock-chat's `verify_token` fetches the signing keys on every
    # request; it was ranked as sign-in code (one level down). `check_api_key` still is.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import requests

        def verify_token(token, url):
            return token in requests.get(url).json()["keys"]

        def check_api_key(key, url):
            return requests.get(url, headers={"x-api-key": key}).ok
    """), select=("OPT202",))
    assert error is None
    assert {r.symbol: r.priority for r in recs} == {"verify_token": "high",
                                                    "check_api_key": "medium"}


def test_a_retry_loop_in_a_test_file_is_not_reported():
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import time, requests

        def wait_for_server(url):
            for _ in range(80):
                try:
                    return requests.get(url, timeout=1)
                except requests.ConnectionError:
                    time.sleep(0.25)

        def fetch_report(url):
            for _ in range(5):
                try:
                    return requests.get(url, timeout=5)
                except requests.ConnectionError:
                    time.sleep(1)
    """)
    found, _ = scan_source(code, rel="app/client.py", select=("OPT207",))
    assert [r.line for r in found] == [12]
    in_test, _ = scan_source(code, rel="tests/test_client.py", select=("OPT207",))
    assert in_test == []


def test_file_work_in_async_scripts_and_examples_is_not_reported():
    # An evaluation harness or a demo reads its small files on a loop that serves no one
    # else (eval D/E: every such OPT105 was judged not worth changing); a library is.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import json

        async def run_scenarios(paths):
            results = []
            for path in paths:
                with open(path) as f:
                    results.append(json.load(f))
            return results
    """)
    where = {rel: [r.rule for r in scan_source(code, rel=rel, select=("OPT105",))[0]]
             for rel in ("agent/loader.py", "evals/run.py", "examples/demo.py",
                         "tests/test_loader.py")}
    assert where == {"agent/loader.py": ["OPT105"], "evals/run.py": [],
                     "examples/demo.py": [], "tests/test_loader.py": []}


def test_start_up_and_login_code_is_ranked_below_per_request_code():
    """Held-out eval H: blocking calls in OAuth routes (R2R, khoj) and in `initialize`, and
    timeouts missing in CLI start-up checks (open-interpreter's `check_for_update`), are real
    but run once per sign-in or process: one level below the same call in a request path."""
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import requests
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/auth/redirect")
        async def auth(code: str):
            return requests.post("https://oauth2.example.com/token", data={"code": code})

        @app.get("/search")
        async def search(q: str):
            return requests.get("https://api.example.com/search", params={"q": q})

        class Store:
            async def initialize(self):
                requests.head("https://bucket.example.com")

        def check_for_update():
            return requests.get("https://pypi.org/pypi/x/json").json()

        def fetch_page(url):
            return requests.get(url).text
    """), select=("OPT101", "OPT202"))
    assert error is None
    by_line = {r.line: (r.rule, r.priority) for r in recs}
    assert by_line == {9: ("OPT101", "medium"), 13: ("OPT101", "high"),
                       17: ("OPT101", "medium"), 20: ("OPT202", "medium"),
                       23: ("OPT202", "high")}
    login = next(r for r in recs if r.line == 9)
    assert "login path" in login.message


def test_a_client_for_urls_the_caller_passes_is_ranked_lower():
    """Held-out eval H (khoj `read_webpage_at_url`, gpt-researcher's downloads): a session
    per call whose requests go to whatever URL the caller passes gains little from reuse
    (pooled connections are per host); the same session for one API host does."""
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import aiohttp

        async def read_page(url):
            async with aiohttp.ClientSession() as session:
                async with session.get(url) as response:
                    return await response.text()

        async def search(query):
            async with aiohttp.ClientSession() as session:
                async with session.get("https://api.exa.ai/search", params={"q": query}) as r:
                    return await r.json()

        async def read_with_service(web_url, api_url):
            async with aiohttp.ClientSession() as session:
                async with session.get(api_url, params={"url": web_url}) as r:
                    return await r.json()
    """), select=("OPT201",))
    assert error is None
    # Each is once per call of its function: all rank low; the words tell them apart.
    assert {r.line: (r.priority, "URL the caller passes" in r.message) for r in recs} == {
        5: ("low", True), 10: ("low", False), 15: ("low", False)}


def test_a_function_memoized_per_argument_is_not_start_up_code_but_one_without_is():
    """Eval I: instructor's `@lru_cache` `Image.from_url(cls, url)` fetches once per URL (a
    request per input, high); onyx's `@lru_cache` `_fetch_public_key_payload()` fetches once
    per process (ranked like start-up code)."""
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        from functools import lru_cache
        import requests

        class Image:
            @classmethod
            @lru_cache
            def from_url(cls, url):
                return requests.get(url).content

        @lru_cache
        def url_to_bytes(url):
            return requests.get(url).content

        @lru_cache()
        def fetch_public_key():
            return requests.get("https://idp.example.com/jwks").json()
    """), select=("OPT202",))
    assert error is None
    assert {r.line: r.priority for r in recs} == {9: "high", 13: "high", 17: "medium"}


def test_admin_actions_and_login_modules_are_ranked_below_per_request_code(tmp_path):
    """Eval I (onyx): `@admin_router.post` endpoints run when an operator changes a setting,
    and the functions of an `oauth.py` module serve a login flow: one level down, saying so."""
    write(tmp_path, {
        "svc/mcp/oauth.py": ("import requests\n\n\nclass TokenStorage:\n"
                             "    async def get_client_info(self, url):\n"
                             "        return requests.get(url, timeout=5).json()\n"),
        "svc/manage/api.py": ("import requests\nfrom fastapi import APIRouter\n\n"
                              "admin_router = APIRouter(prefix='/admin')\n\n\n"
                              "@admin_router.post('/providers')\n"
                              "async def upsert_provider(url: str):\n"
                              "    return requests.post(url, timeout=5).json()\n"),
        "svc/search.py": ("import requests\n\n\n"
                          "async def search(url: str):\n"
                          "    return requests.get(url, timeout=5).json()\n"),
        "svc/models.py": ("import requests\n\n\n"
                          "async def deploy_finetuned_model(url: str):\n"
                          "    return requests.put(url, timeout=5).json()\n"),
    })
    report = scan(ScanOptions(paths=(tmp_path,), select=("OPT101",), use_cache=False, jobs=1))
    by_path = {r.path: r for r in report.recommendations}
    assert {path: r.priority for path, r in by_path.items()} == {
        "svc/mcp/oauth.py": "medium", "svc/manage/api.py": "medium", "svc/search.py": "high",
        "svc/models.py": "medium"}
    assert "admin action" in by_path["svc/manage/api.py"].message
    assert "login path" in by_path["svc/mcp/oauth.py"].message


def test_a_route_guarded_by_an_admin_dependency_is_an_admin_action(tmp_path):
    """Held-out S31 (onyx): admin routes on the common router, guarded by a request
    dependency (`Depends(current_admin_user)`, a permission check naming the admin panel,
    `dependencies=[Depends(...)]` on the decorator), not by their name or router."""
    write(tmp_path, {
        "svc/api.py": ("import requests\nfrom fastapi import APIRouter, Depends\n"
                       "from svc.auth import Permission, current_admin_user, current_user, "
                       "require_permission\n\n"
                       "router = APIRouter()\n\n\n"
                       "@router.post('/providers')\n"
                       "async def upsert_provider(url: str, _=Depends(current_admin_user)):\n"
                       "    return requests.post(url, timeout=5).json()\n\n\n"
                       "@router.put('/seats')\n"
                       "async def set_seats(url: str, _=Depends(require_permission("
                       "Permission.FULL_ADMIN_PANEL_ACCESS))):\n"
                       "    return requests.put(url, timeout=5).json()\n\n\n"
                       "@router.delete('/users', dependencies=[Depends(current_admin_user)])\n"
                       "async def delete_users(url: str):\n"
                       "    return requests.delete(url, timeout=5).json()\n\n\n"
                       "@router.get('/search')\n"
                       "async def search(url: str, user=Depends(current_user)):\n"
                       "    return requests.get(url, timeout=5).json()\n"),
    })
    report = scan(ScanOptions(paths=(tmp_path,), select=("OPT101",), use_cache=False, jobs=1))
    by_symbol = {r.symbol: r for r in report.recommendations}
    assert {symbol: r.priority for symbol, r in by_symbol.items()} == {
        "upsert_provider": "medium", "set_seats": "medium", "delete_users": "medium",
        "search": "high"}
    assert "admin action" in by_symbol["set_seats"].message


def test_an_asyncio_client_in_a_coroutine_run_alone_by_asyncio_run_is_not_per_call():
    """Eval I FP (agentops): the coroutine runs on a new loop each time (`asyncio.run` in a
    sync wrapper), so its aiohttp session cannot be shared across calls; a sync client in
    the same position can."""
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import asyncio
        import aiohttp
        import requests

        async def get_token(key):
            async with aiohttp.ClientSession() as session:
                async with session.post("https://api.example.com/token", json={"k": key}) as r:
                    return await r.json()

        def get_token_sync(key):
            return asyncio.run(get_token(key))

        async def fetch_status(key):
            session = requests.Session()
            return session.get("https://api.example.com/ping", timeout=5).ok

        def fetch_status_sync(key):
            return asyncio.run(fetch_status(key))
    """), select=("OPT201",))
    assert error is None
    assert [r.line for r in recs] == [15]


def test_what_only_start_up_or_teardown_code_calls_ranks_one_level_down(tmp_path: Path):
    # Held-out J: a docker session made in a terminal's `init`, a listing only `__aenter__`
    # runs. Callers in tests are no evidence either way; one per-request caller is enough
    # to keep the finding high.
    write(tmp_path, {"svc/sandbox.py": textwrap.dedent("""
        import requests

        class Terminal:
            async def init(self):
                await self._open_session()

            async def _open_session(self):
                requests.get("http://docker/containers/1", timeout=5)

            async def _exec(self, cmd):
                requests.post("http://docker/exec", json={"cmd": cmd}, timeout=5)

            async def run(self, cmd):
                await self._exec(cmd)

            async def close(self):
                await self._exec("exit")

        def load_settings():
            return requests.get("http://config/settings").json()

        def load_prices():
            return requests.get("http://config/prices").json()

        class App:
            def __init__(self):
                self.settings = load_settings()

            def refresh(self):
                return load_prices()
    """), "tests/test_sandbox.py": textwrap.dedent("""
        from svc.sandbox import Terminal, load_settings

        async def test_session():
            await Terminal()._open_session()
            load_settings()
    """)})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1,
                              select=("OPT101", "OPT202")))
    got = {(r.rule, r.symbol): r for r in report.recommendations if r.context == "library"}
    assert {key: r.priority for key, r in got.items()} == {
        ("OPT101", "Terminal._open_session"): "medium",   # only `init` calls it
        ("OPT101", "Terminal._exec"): "high",             # `run` calls it too
        ("OPT202", "load_settings"): "medium",            # only `App.__init__` calls it
        ("OPT202", "load_prices"): "high",                # `refresh` runs whenever asked
    }
    assert "only start-up or teardown code calls it" in \
        got[("OPT101", "Terminal._open_session")].message
    assert "only start-up or teardown code calls it" in got[("OPT202", "load_settings")].message


def test_work_under_a_debug_flag_ranks_one_level_down():
    # Held-out H: khoj writes prompt traces only under its PROMPTRACE setting. A negated
    # flag, an `or` with something else, or a flag handed to a call that does work is the
    # normal path.
    from optadvisor.api import scan_source

    code = textwrap.dedent('''
        import os, logging, requests, shutil
        logger = logging.getLogger(__name__)

        async def answer(prompt, settings, debug=False):
            if settings.DEBUG:
                shutil.copytree(settings.WORKDIR, "/tmp/trace")
                print(prompt)
            if os.getenv("APP_DEBUG") == "1":
                requests.post("http://trace/x", json={}, timeout=3)
            if logger.isEnabledFor(logging.DEBUG) and prompt:
                requests.post("http://trace/y", json={}, timeout=3)
            if is_promptrace_enabled():
                requests.post("http://trace/z", json={}, timeout=3)
            if not settings.DEBUG:
                requests.post("http://svc/a", json={}, timeout=3)
            if process(prompt, debug):
                requests.post("http://svc/b", json={}, timeout=3)
            if debug or prompt:
                requests.post("http://svc/c", json={}, timeout=3)
            if settings.verbose is False:
                requests.post("http://svc/d", json={}, timeout=3)
    ''')
    recs, error = scan_source(code, select=("OPT101", "OPT105"))
    assert error is None
    assert {r.line: r.priority for r in recs} == {
        7: "low", 10: "medium", 12: "medium", 14: "medium",
        16: "high", 18: "high", 20: "high", 22: "high"}
    assert all("debug or verbose flag" in r.message for r in recs if r.line in (7, 10, 12, 14))


def test_a_migration_is_not_the_service(tmp_path: Path):
    # Held-out K: deer-flow's alembic `env.py` builds one engine per migration run.
    code = textwrap.dedent("""
        import requests
        from sqlalchemy import create_engine

        def run_migrations_online():
            engine = create_engine("postgresql://db/app")
            with engine.connect() as conn:
                conn.execute("select 1")
            requests.get("http://hooks.local/migrated")
    """)
    write(tmp_path, {"app/migrations/env.py": code, "app/service.py": code})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1,
                              select=("OPT201", "OPT202")))
    got = {(r.path, r.rule): (r.priority, r.context) for r in report.recommendations}
    assert got[("app/service.py", "OPT201")] == ("low", "library")  # per call: low
    assert ("app/migrations/env.py", "OPT201") not in got
    assert got[("app/migrations/env.py", "OPT202")] == ("low", "migration")


def test_a_migration_runs_its_statements_in_order(tmp_path: Path):
    # Held-out L: cognee's migration gathered two `ALTER TABLE`s on an embedded Kuzu
    # database, which allows one writer at a time.
    code = textwrap.dedent("""
        async def upgrade(graph_engine, tables):
            for table in tables:
                await graph_engine.query(f"ALTER TABLE {table} ADD created_at STRING")
    """)
    write(tmp_path, {"app/migrations/versions/0002_columns.py": code,
                     "app/graph.py": code})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1,
                              select=("OPT102", "OPT103")))
    assert [(r.path, r.rule) for r in report.recommendations] == [("app/graph.py", "OPT103")]


def test_an_override_is_called_by_the_callers_of_the_method_it_overrides(tmp_path: Path):
    # Held-out M (fastmcp): `UVEnvironment.prepare` runs `uv sync`; the project calls it as
    # `self.environment.prepare()` on the base type, from `prepare_environment` (set-up
    # code). The override has no caller of its own, yet only set-up code reaches it.
    write(tmp_path, {
        "svc/env/base.py": textwrap.dedent("""
            class Environment:
                async def prepare(self):
                    pass

                async def execute(self, cmd):
                    pass
        """),
        "svc/env/uv.py": textwrap.dedent("""
            import subprocess
            from svc.env.base import Environment

            class UVEnvironment(Environment):
                async def prepare(self):
                    subprocess.run(["uv", "sync"], check=True)

                async def execute(self, cmd):
                    subprocess.run(cmd, check=True)
        """),
        "svc/config.py": textwrap.dedent("""
            from svc.env.base import Environment

            class Config:
                def __init__(self, environment: Environment):
                    self.environment = environment

                async def prepare_environment(self):
                    await self.environment.prepare()

                async def handle(self, cmd):
                    await self.environment.execute(cmd)
        """),
    })
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, select=("OPT101",)))
    got = {r.symbol: r.priority for r in report.recommendations}
    assert got == {"UVEnvironment.prepare": "medium", "UVEnvironment.execute": "high"}


def test_findings_in_a_legacy_directory_rank_one_level_down_and_say_so():
    # Held-out Q and S: crawl4ai's `legacy/` (its only user cannot even import) and
    # OpenAdapt's previous generation under `legacy/`: code its authors replaced.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import requests

        def fetch(url):
            return requests.get(url)
    """)
    current, _ = scan_source(code, rel="pkg/client.py", select=("OPT202",))
    legacy, _ = scan_source(code, rel="pkg/legacy/client.py", select=("OPT202",))
    assert [r.priority for r in current] == ["high"]
    assert [r.priority for r in legacy] == ["medium"]
    assert "legacy or deprecated directory" in legacy[0].message
    assert scan_source(code, rel="pkg/legacy_support.py", select=("OPT202",))[0][0].priority \
        == "high"


def test_an_invoke_task_is_a_command_run_once_per_invocation():
    # Held-out U: WikiChat's `tasks/preprocessing.py` downloads dumps from `@task`
    # functions of invoke (a tasks file, run as `invoke download-index`).
    from optadvisor.api import scan_source

    code = """import requests
from invoke import task


def latest_dump_date():
    return requests.get("https://dumps.example.org/runs/").text


@task
def download_index(c, date=None):
    date = date or latest_dump_date()
    return requests.get(f"https://dumps.example.org/{date}/index.json")


def refresh(url):
    return requests.get(url)
"""
    recs, error = scan_source(code, select=("OPT202",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(6, "medium"), (12, "medium"), (16, "high")]



def test_a_scripts_own_main_and_module_level_run_say_a_function_runs_once(tmp_path: Path):
    """Held-out V FPs (pydantic-ai's scripts): a client "built on every call" of a function
    the script runs once, from its `main` or from `asyncio.run(...)` under its `__main__`
    guard. A function the script calls per item still builds one client per item, and a
    test calling the script's function in a loop says nothing of how the script runs it."""
    from optadvisor.api import ScanOptions, scan

    from conftest import write

    root = write(tmp_path / "repo", {"tool/__init__.py": "", "tool/cli.py": '''import asyncio
import anthropic
import httpx


async def verify():
    client = anthropic.Anthropic()
    return client.models.list()


def build():
    return httpx.Client().get("https://example.com/ping")


def fetch(url):
    return httpx.Client().get(url)


def main():
    build()
    return [fetch(url) for url in ["https://example.com/a", "https://example.com/b"]]


if __name__ == "__main__":
    asyncio.run(verify())
    main()
''', "tests/test_cli.py": '''from tool.cli import build


def test_build():
    for _ in range(3):
        build()
'''})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT201",)))
    assert [(r.path, r.symbol) for r in report.recommendations] == [
        ("tool/cli.py", "fetch")]


def test_a_streamlit_script_runs_its_module_level_per_interaction():
    """Held-out X (awesome-llm-apps): Streamlit runs the script top to bottom on every
    click, so a request at its module level is per request, not start-up (three findings
    were ranked one level down as "runs once per process")."""
    from optadvisor.api import scan_source

    code = textwrap.dedent('''
        import requests
        {imp}

        topic = input()
        response = requests.get("https://api.example.com/search", params={{"q": topic}})
    ''')
    app, _ = scan_source(code.format(imp="import streamlit as st"), select=("OPT202",))
    script, _ = scan_source(code.format(imp="import json"), select=("OPT202",))
    assert [(r.priority, "runs once" in r.message) for r in app] == [("high", False)]
    assert [(r.priority, "runs once" in r.message) for r in script] == [("medium", True)]


def test_a_callback_lambda_made_in_set_up_code_runs_per_event():
    """Held-out X (DeepCode): `progress=lambda ...: self._progress(...)` handed to a runner
    from set-up code runs on every progress event; `_progress` was ranked down as "only
    start-up code calls it". A lambda handed to a thread to run once still counts once."""
    from optadvisor.api import scan_source

    code = textwrap.dedent('''
        import asyncio
        import requests

        class WorkflowService:
            def __init__(self, runner):
                self.runner = runner
                self.runner.on_progress(lambda stage: self._progress(stage))

            def _progress(self, stage):
                requests.post("https://hooks.example.com/progress", json={"stage": stage})

        class Loader:
            async def start(self):
                await asyncio.to_thread(lambda: self._load())

            def _load(self):
                requests.get("https://config.example.com/settings")
    ''')
    recs, _ = scan_source(code, select=("OPT202",))
    assert [(r.symbol, r.priority) for r in recs] == [
        ("WorkflowService._progress", "high"), ("Loader._load", "medium")]


def test_a_tool_or_a_unit_of_work_started_is_no_start_up_code():
    """Held-out Y (awslabs/mcp's security agent): `start_security_scan` and the other MCP
    tools start one scan per call; what they call was ranked down as "only start-up code
    calls it". `start` counts as start-up alone or before what lives as long as the process
    (`start_worker`), and never for a tool or a route."""
    from optadvisor.api import scan_source

    code = textwrap.dedent('''
        import requests
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("scanner")

        def fetch_report(url):
            return requests.get(url).json()

        def upload_findings(url, findings):
            return requests.post(url, json=findings).json()

        def download_rules(url):
            return requests.get(url).json()

        @mcp.tool()
        def start(url: str):
            return fetch_report(url)

        def start_security_scan(url, findings):
            return upload_findings(url, findings)

        def start_worker(url):
            return download_rules(url)
    ''')
    recs, _ = scan_source(code, select=("OPT202",))
    assert [(r.symbol, r.priority) for r in recs] == [
        ("fetch_report", "high"), ("upload_findings", "high"), ("download_rules", "medium")]


def test_file_reads_handed_to_a_thread_are_local_disk_work():
    """Held-out Y (crawlee's file-system storage): `await asyncio.to_thread(path.read_text)`
    per stored item, in the loop or in a project coroutine the loop awaits, is I/O of a local
    disk — await-in-loop ranks it one level down, as for aiofiles."""
    from optadvisor.api import scan_source

    recs, _ = scan_source(textwrap.dedent('''
        import asyncio
        import json

        class Queue:
            async def _parse(self, path):
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
                return json.loads(text)

            async def load_all(self, paths):
                requests = []
                for path in paths:
                    requests.append(await self._parse(path))
                return requests

            async def read_all(self, paths):
                texts = []
                for path in paths:
                    texts.append(await asyncio.to_thread(path.read_text, encoding="utf-8"))
                return texts
    '''), select=("OPT103",))
    assert [(r.line, r.priority, "local file" in r.message) for r in recs] == [
        (12, "medium", True), (18, "medium", True)]


def test_a_script_that_starts_a_web_server_is_a_service(tmp_path: Path):
    # Held-out S37 (GenerativeAIExamples' `trigger-mode.py`): a file only runnable as a
    # script, whose `__main__` block starts an aiohttp server: its handler serves requests
    # concurrently, so a 30-minute subprocess on the loop is no script's step.
    handler = textwrap.dedent("""
        import subprocess
        from aiohttp import web


        async def handle(request):
            subprocess.run(["spark-submit", "job.py"], timeout=1800, check=True)
            return web.json_response({"ok": True})
    """)
    write(tmp_path, {
        "jobs/trigger-mode.py": handler + textwrap.dedent("""

            app = web.Application()
            app.add_routes([web.get("/", handle)])

            if __name__ == "__main__":
                web.run_app(app, port=8888)
        """),
        "jobs/run-once.py": handler,
    })
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, select=("OPT101",)))
    found = {r.path: (r.priority, r.context) for r in report.recommendations}
    assert found == {"jobs/trigger-mode.py": ("high", "library"),
                     "jobs/run-once.py": ("low", "script")}


@pytest.mark.parametrize("header,expected", [
    ("# Generated by the protocol buffer compiler.  DO NOT EDIT!\n# source: a.proto\n", True),
    ("# generated by datamodel-codegen:\n#   filename:  openapi.json\n", True),
    ('"""\n    Generated by OpenAPI Generator (https://openapi-generator.tech)\n\n'
     '    Do not edit the class manually.\n"""\n', True),
    ('"""Arcade Starter Tools for Stripe\n\nDO NOT EDIT THIS MODULE DIRECTLY.\n\nTHIS MODULE WAS '
     'AUTO-GENERATED BY TRANSPILING THE API WRAPPER TOOL JSON DEFINITIONS\n"""\n', True),
    ("#\n# Autogenerated by Thrift Compiler (0.9.3)\n#\n", True),
    ("# This file is autogenerated. Do not edit it manually.\n", True),
    ('"""\n@generated by codegen\n"""\n', True),
    # Held-out S41/S41b: a docstring about another file, a prompt string, a marker under
    # the imports, an id the server makes: no statement about this file.
    ('"""Submission models. The JSON schema is auto-generated from these models."""\n', False),
    ('import os\n\n#### DO NOT EDIT ######\n', False),
    ('"""Tools. Connection ids are generated by the server."""\n', False),
    ('"""Generate the commands catalog."""\n', False),
    ('PROMPT = "Do not edit `/log.md`; the runner appends to it."\n', False),
])
def test_a_file_says_it_is_generated_in_its_header(header: str, expected: bool):
    assert bool(generated_marker(header + "import httpx\n")) is expected


def test_findings_in_a_generated_file_are_one_per_rule_in_words(tmp_path: Path):
    # Held-out S42: arcade-ai's transpiled toolkits, 481 tools each building an
    # `httpx.AsyncClient` per call, were 481 findings whose fix belongs in the transpiler.
    tools = "".join(textwrap.dedent(f"""

        async def tool_{n}(key: str) -> dict:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.get("https://api.example.com/{n}")
                return response.json()


        def sync_tool_{n}(key: str) -> dict:
            return requests.get("https://api.example.com/{n}").json()
    """) for n in range(3))
    imports = "import httpx\nimport requests\n"
    write(tmp_path, {
        "toolkit/generated.py": '"""Tools.\n\nDO NOT EDIT: generated by the transpiler."""\n\n'
                                + imports + tools,
        "toolkit/written.py": imports + tools,
    })
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1,
                              select=("OPT201", "OPT202")))
    written = [r for r in report.recommendations if r.path == "toolkit/written.py"]
    generated = [r for r in report.recommendations if r.path == "toolkit/generated.py"]
    assert sorted(r.rule for r in written) == ["OPT201"] * 3 + ["OPT202"] * 3
    assert any(r.fix is not None and r.fix.applicability == "safe" for r in written)
    assert sorted(r.rule for r in generated) == ["OPT201", "OPT202"]
    for rec in generated:
        assert "this file says it is generated" in rec.message
        assert "2 more like it in this file" in rec.message
        assert rec.fix is None or rec.fix.applicability == "manual" and not rec.fix.edits
