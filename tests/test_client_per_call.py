"""OPT201's ranking of a client per call by what the function uses it for."""

from __future__ import annotations

import textwrap

from optadvisor.api import scan_source


def _opt201(code: str):
    recs, error = scan_source(textwrap.dedent(code), select=("OPT201",))
    assert error is None
    return recs


def test_a_session_for_one_websocket_is_not_reported():
    # held-out S28b: cua's sandbox shell opens one aiohttp session per websocket, which
    # lasts the whole interactive session (ranked low then); held-out S33: lmql's LMTP
    # client, read as wrong: the one connection lives as long as the socket and nothing is
    # pooled for a next call. A session per plain GET is the usual finding.
    assert _opt201("""
        import aiohttp

        async def shell(url):
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(url) as ws:
                    async for message in ws:
                        print(message.data)
    """) == []
    (get,) = _opt201("""
        import aiohttp

        async def status():
            async with aiohttp.ClientSession() as http:
                async with http.get("https://api.example.com/status") as response:
                    return await response.json()
    """)
    # Once per call of its function, not per item of a loop: ranked low (the rule's
    # demote, from the held-out reads it cites).
    assert get.priority == "low"
    assert "calls that take seconds" not in get.message


def test_the_factory_and_its_import_are_one_insertion_whatever_order_a_tool_applies():
    # Held-out S31 (mentat, llama-fs): `import functools` and the `@functools.cache`
    # factory were two insertions at one point; a reader applying the report's edits last
    # first put the factory above its import (NameError on import). One edit per point.
    import ast

    from optadvisor.fix.edits import apply_edits

    code = textwrap.dedent("""
        import os
        from openai import OpenAI


        def summarize(text):
            client = OpenAI()
            return client.chat.completions.create(model="m", messages=[text])
    """)
    (rec,) = scan_source(code, select=("OPT201",))[0]
    assert rec.fix is not None and rec.fix.applicability == "unsafe"
    points = [(e.line, e.column) for e in rec.fix.edits if (e.line, e.column) == (
        e.end_line, e.end_column)]
    assert len(points) == len(set(points))  # no two insertions at one point
    for order in (rec.fix.edits, tuple(reversed(rec.fix.edits))):
        out = apply_edits(code, order)
        body = ast.parse(out).body
        names = [n.names[0].name if isinstance(n, ast.Import) else getattr(n, "name", "")
                 for n in body]
        assert names.index("functools") < names.index("_shared_openai"), out


def test_the_fixes_of_several_clients_in_one_module_hold_when_all_are_applied():
    # Held-out S32c: bedrock-chat builds apigateway, cloudformation and codebuild clients
    # per call in one module; each fix defined a `_shared_client` factory, and applied
    # together the last definition hid the others. Each factory now has a name of its own
    # (the same client twice shares one), and `import functools` is one shared edit.
    import ast

    from optadvisor.fix.edits import apply_edits

    code = textwrap.dedent("""
        import boto3
        from botocore.config import Config


        def find_plan(plan_id):
            return boto3.client("apigateway").get_usage_plan(usagePlanId=plan_id)


        def find_stack(name):
            return boto3.client("cloudformation").describe_stacks(StackName=name)


        def find_keys(plan_id):
            return boto3.client("apigateway").get_usage_plan_keys(usagePlanId=plan_id)


        def presign(key):
            s3 = boto3.client("s3", config=Config(signature_version="v4"))
            return s3.generate_presigned_url("get_object", Params={"Key": key})


        def delete(key):
            return boto3.client("s3").delete_object(Bucket="b", Key=key)
    """)
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None and len(recs) == 5
    edits = [edit for rec in recs for edit in rec.fix.edits]
    out = apply_edits(code, edits)
    body = ast.parse(out).body
    factories = {n.name: ast.unparse(n.body[0]) for n in body if isinstance(n, ast.FunctionDef)
                 and n.name.startswith("_shared_")}
    assert factories == {
        "_shared_apigateway_client": "return boto3.client('apigateway')",
        "_shared_cloudformation_client": "return boto3.client('cloudformation')",
        "_shared_s3_client": "return boto3.client('s3', config=Config(signature_version='v4'))",
        "_shared_s3_client_2": "return boto3.client('s3')"}, out
    assert out.count("import functools") == 1, out
    assert "_shared_apigateway_client().get_usage_plan_keys" in out


def test_a_client_whose_settings_vary_per_call_or_that_a_stack_closes_is_moved_in_words():
    # Held-out S31: MiniRAG sets `os.environ["OPENAI_API_KEY"]` from its argument and then
    # builds `AsyncOpenAI()`, or picks one of two constructors per call; DeepResearch
    # spreads calls with `base_url=random.choice(URLS)`; onyx hands the client to an
    # ExitStack that closes it after the stream. A shared client keeps the first call's
    # settings, or is closed for every later call: words, not the factory.
    code = textwrap.dedent('''import os, random
from contextlib import ExitStack
import httpx
from openai import AsyncOpenAI, OpenAI

URLS = ["http://a", "http://b"]

async def embed(texts, api_key=None, base_url=None):
    if api_key:
        os.environ["OPENAI_API_KEY"] = api_key
    client = AsyncOpenAI()
    return await client.embeddings.create(model="m", input=texts)

async def embed2(texts, base_url=None):
    client = AsyncOpenAI() if base_url is None else AsyncOpenAI(base_url=base_url)
    return await client.embeddings.create(model="m", input=texts)

def pick(q):
    client = OpenAI(base_url=random.choice(URLS))
    return client.chat.completions.create(model="m", messages=[q])

def stream(url, state):
    stack = ExitStack()
    state.upstream = stack
    client = stack.enter_context(httpx.Client(timeout=5))
    return client.get(url)

def stream2(url, state):
    stack = ExitStack()
    client = httpx.Client(timeout=5)
    stack.enter_context(client)
    state.upstream = stack
    return client.get(url)

def plain(q):
    client = OpenAI()
    return client.chat.completions.create(model="m", messages=[q])
''')
    recs = {r.symbol: r for r in scan_source(code, select=("OPT201",))[0]}
    words = {
        "embed": "sets the environment (`os.environ['OPENAI_API_KEY']`)",
        "embed2": "chosen per call",
        "pick": "`random.choice(URLS)`",
        "stream": "`enter_context` closes the client",
        "stream2": "closes `client`",
    }
    for symbol, said in words.items():
        fix = recs[symbol].fix
        assert fix is not None and fix.applicability == "manual" and said in fix.message, (
            symbol, fix)
    assert recs["plain"].fix is not None and recs["plain"].fix.applicability == "unsafe"
    # Set only when unset (`os.environ[K] = os.environ.get(K, key)`): the first value
    # stays for the process anyway, so the factory changes nothing (MiniRAG's Bedrock).
    sticky = textwrap.dedent('''
        import os
        from openai import AsyncOpenAI

        async def embed(texts, api_key=None):
            os.environ["OPENAI_API_KEY"] = os.environ.get("OPENAI_API_KEY", api_key)
            client = AsyncOpenAI()
            return await client.embeddings.create(model="m", input=texts)
    ''')
    (rec,) = scan_source(sticky, select=("OPT201",))[0]
    assert rec.fix is not None and rec.fix.applicability == "unsafe"


def test_a_token_check_in_a_login_module_runs_per_request():
    # Held-out S33b (mindsdb): `verify_token` in `mcp/oauth.py` introspects the token of
    # every authenticated request; it was ranked low as a sign-in step. The code exchange
    # of the same module runs once per sign-in.
    recs, error = scan_source(textwrap.dedent("""
        import httpx

        async def verify_token(token):
            async with httpx.AsyncClient(timeout=10) as client:
                return (await client.post("https://idp.example.com/introspect",
                                          data={"token": token})).json()

        async def exchange_code(code):
            async with httpx.AsyncClient(timeout=10) as client:
                return (await client.post("https://idp.example.com/token",
                                          data={"code": code})).json()
    """), rel="mcp/oauth.py", select=("OPT201",))
    assert error is None
    by_symbol = {r.symbol: (r.priority, "sign-in" in r.message) for r in recs}
    assert by_symbol == {"verify_token": ("low", False), "exchange_code": ("low", True)}


def test_a_request_retried_after_renewing_its_auth_is_not_a_sign_in():
    # Held-out S36 (potpie): every API call of the client goes through
    # `_get_with_auth_retry`; the word `auth` ranked it low as a login step. A function
    # named for a sign-in (`oauth_callback`) still is one.
    recs, error = scan_source(textwrap.dedent("""
        import httpx

        class Api:
            def _get_with_auth_retry(self, path):
                with httpx.Client(timeout=10) as client:
                    return client.get("https://api.example.com" + path)

            def user(self, name):
                return self._get_with_auth_retry("/users/" + name)

            def oauth_callback(self, code):
                with httpx.Client(timeout=10) as client:
                    return client.post("https://idp.example.com/token", data={"c": code})
    """), select=("OPT201",))
    assert error is None
    by_symbol = {r.symbol: (r.priority, "login" in r.message) for r in recs}
    assert by_symbol == {"Api._get_with_auth_retry": ("low", False),
                         "Api.oauth_callback": ("low", True)}


def test_a_function_returning_a_handle_that_keeps_the_client_hands_the_client_out():
    # Held-out S36b (langchain-google): `client = self.get_gcs_client(); return
    # client.get_bucket(name)`: the bucket keeps its client, and the vector store gets it
    # once. Reading through the client and returning the bytes builds one per call.
    recs, error = scan_source(textwrap.dedent("""
        from google.cloud import storage

        class M:
            def get_gcs_client(self) -> storage.Client:
                return storage.Client(project=self._p)

            def get_gcs_bucket(self, name):
                client = self.get_gcs_client()
                return client.get_bucket(name)

            def read_blob(self, name):
                client = self.get_gcs_client()
                return client.get_bucket("b").blob(name).download_as_bytes()

        def direct(name):
            client = storage.Client()
            return client.bucket(name)
    """), select=("OPT201",))
    assert error is None
    assert [r.symbol for r in recs] == ["M.read_blob"]


def test_a_token_refresh_is_a_login_path():
    # Held-out S37b (SurfSense): `refresh_*_token` runs once per token lifetime, not per
    # request: its client per call is ranked as a sign-in's. A refresh of anything else
    # (`refresh_index`) is not.
    recs, error = scan_source(textwrap.dedent("""
        import httpx

        async def refresh_dropbox_token(connector):
            async with httpx.AsyncClient(timeout=30) as client:
                return await client.post("https://api.dropbox.com/oauth2/token",
                                         data={"refresh_token": connector.refresh_token})

        async def refresh_index(name):
            async with httpx.AsyncClient(timeout=30) as client:
                return await client.post("https://search.example.com/refresh/" + name)
    """), select=("OPT201",))
    assert error is None
    by_symbol = {r.symbol: (r.priority, "token renewal" in r.message) for r in recs}
    assert by_symbol == {"refresh_dropbox_token": ("low", True),
                         "refresh_index": ("low", False)}


def test_an_oauth_callback_is_a_sign_in():
    # Held-out S37b (SurfSense): 16 `*_callback` routes (`/auth/notion/connector/callback`)
    # trade the code they are sent for tokens, once per connected account; their clients
    # were ranked as every request's. A function naming the authorization-code grant does
    # it too; a route named `*_callback` without a `code` (a webhook) runs per event.
    recs, error = scan_source(textwrap.dedent("""
        import httpx
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/auth/notion/connector/callback")
        async def notion_callback(request, code: str | None = None, state: str | None = None):
            async with httpx.AsyncClient(timeout=30) as client:
                return (await client.get("https://api.notion.com/v1/users/me")).json()

        async def trade(code):
            async with httpx.AsyncClient(timeout=30) as client:
                data = {"grant_type": "authorization_code", "code": code}
                return (await client.post("https://idp.example.com/token", data=data)).json()

        @router.post("/hooks/stripe/callback")
        async def stripe_callback(request, event: dict):
            async with httpx.AsyncClient(timeout=30) as client:
                return (await client.post("https://api.example.com/events", json=event)).json()
    """), select=("OPT201",))
    assert error is None
    by_symbol = {r.symbol: (r.priority, "login" in r.message) for r in recs}
    assert by_symbol == {"notion_callback": ("low", True), "trade": ("low", True),
                         "stripe_callback": ("low", False)}


def test_a_factory_under_a_project_memoizing_decorator_hands_out_one_client():
    # Held-out S38 (prefect-redis): `get_async_redis_client` is wrapped by the package's own
    # `cached`, one client per arguments and event loop; its callers were told they built a
    # client per call. The same factory undecorated still builds one per call.
    recs, error = scan_source(textwrap.dedent("""
        import functools
        import redis.asyncio as redis

        _clients = {}

        def cached(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                if args not in _clients:
                    _clients[args] = fn(*args)
                return _clients[args]
            return wrapper

        @cached
        def get_async_redis_client():
            return redis.Redis(host="cache", port=6379)

        def make_client():
            return redis.Redis(host="cache", port=6379)

        async def send_to_dlq(message):
            client = get_async_redis_client()
            await client.xadd("dlq", message)

        async def trim(stream):
            client = make_client()
            await client.xtrim(stream, maxlen=100)
    """), select=("OPT201",))
    assert error is None
    assert [r.symbol for r in recs] == ["trim"]


def test_a_client_built_on_a_cache_miss_only_is_not_built_per_call():
    # Held-out S38 (prefect): `try: return VIEWS[view]` / `except KeyError: pass` before
    # the client: a request per ten minutes through a TTLCache, not one per call. The same
    # function without the lookup builds one per call.
    recs, error = scan_source(textwrap.dedent("""
        import httpx
        from cachetools import TTLCache

        VIEWS: TTLCache = TTLCache(maxsize=200, ttl=600)

        async def get_view(view):
            try:
                return VIEWS[view]
            except KeyError:
                pass
            async with httpx.AsyncClient(timeout=10) as client:
                data = (await client.get("https://views.example.com/" + view)).json()
            VIEWS[view] = data
            return data

        async def get_fresh(view):
            async with httpx.AsyncClient(timeout=10) as client:
                return (await client.get("https://views.example.com/" + view)).json()
    """), select=("OPT201",))
    assert error is None
    assert [r.symbol for r in recs] == ["get_fresh"]


def test_a_client_kept_by_what_the_function_keeps_is_not_built_per_call():
    # Held-out S38b: verifiers' `load_environment` hands its judge (which builds an
    # AsyncOpenAI) to the environment it returns inside a list; its evaluation thread makes
    # an event loop of its own per call and one client for it; ART's sandbox hook keeps its
    # session in a closure it stores on the runtime. All three were read as wrong. A client
    # used by a nested def that runs once, and one built for `asyncio.run` per call, stay.
    recs, error = scan_source(textwrap.dedent("""
        import asyncio
        import requests
        from openai import AsyncOpenAI

        class JudgeRubric:
            def __init__(self):
                self.judge_client = AsyncOpenAI()

        class RubricGroup:
            def __init__(self, rubrics):
                self.rubrics = rubrics

        def load_environment(env):
            judge = JudgeRubric()
            env.rubric = RubricGroup([judge, env.rubric])
            return env

        def evaluate(inputs):
            loop = asyncio.new_event_loop()
            client = AsyncOpenAI()
            try:
                return loop.run_until_complete(client.chat.completions.create(
                    model="m", messages=inputs))
            finally:
                loop.close()

        def patch_runtime(runtime):
            session = requests.Session()

            def _request(endpoint, payload):
                return session.post(runtime.url + endpoint, json=payload, timeout=60).json()

            runtime._request = _request

        def fetch_once(url):
            session = requests.Session()

            def call():
                return session.get(url, timeout=10).json()

            return call()

        def summarize(text):
            client = AsyncOpenAI()
            return asyncio.run(client.chat.completions.create(model="m", messages=[text]))
    """), select=("OPT201",))
    assert error is None
    assert sorted(r.symbol for r in recs) == ["fetch_once", "summarize"]


def test_a_client_handed_to_three_helpers_serves_a_workflow():
    # Held-out S39: airweave's Pipedrive test harness opens one client per phase and hands
    # it to every helper of the phase (read as wrong: the client is already reused). Two
    # helpers are not yet a workflow.
    from optadvisor.analyze import analyze_bytes
    from optadvisor.analyze.catalog import load_catalog

    code = textwrap.dedent("""
        import httpx

        async def load_entities(api):
            async with httpx.AsyncClient(timeout=30) as client:
                await api.pipeline(client)
                orgs = await api.orgs(client)
                people = await api.people(client)
            return orgs + people

        async def load_two(api):
            async with httpx.AsyncClient(timeout=30) as client:
                await api.pipeline(client)
                orgs = await api.orgs(client)
            return orgs
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 0)
    shared = {facts.functions[c.function].name: c.shared for c in facts.calls if c.client}
    assert shared == {"load_entities": True, "load_two": False}


def test_a_client_installed_as_a_librarys_default_is_built_once():
    # Held-out S39b: kagent builds an AsyncOpenAI and installs it with the OpenAI Agents
    # SDK's `set_default_openai_client` (catalog `[handles] keepers`); a client handed to
    # any other function is still reported.
    assert _opt201("""
        import os

        from agents import set_default_openai_client
        from openai import AsyncOpenAI

        def configure():
            client = AsyncOpenAI(base_url=os.getenv("OPENAI_API_BASE"))
            set_default_openai_client(client)

        def configure_inline():
            set_default_openai_client(AsyncOpenAI(base_url=os.getenv("OPENAI_API_BASE")))
    """) == []
    (rec,) = _opt201("""
        from openai import AsyncOpenAI

        async def ask(base, key, prompt, log):
            client = AsyncOpenAI(base_url="https://llm.example.com", api_key="k")
            log(client)
            return await client.chat.completions.create(model="m", messages=[prompt])
    """)
    assert rec.rule == "OPT201"


def test_an_early_return_on_the_argument_is_no_guard_that_makes_the_rest_rare():
    # Held-out S42: opsdroid's GitHub connector skips the bot's own messages (`if
    # message.user == self.github_username: return True`) and opens a session for every
    # other one; the early return was taken for one on remembered state (a made-once
    # client). A return on remembered state alone (`if self._token:`) still is one.
    recs = _opt201("""
        import aiohttp

        class GitHub:
            async def send_message(self, message):
                if message.user == self.github_username:
                    return True
                async with aiohttp.ClientSession(trust_env=True) as session:
                    resp = await session.post(self.url, json={"body": message.text})
                    return resp.status == 201

            async def token(self):
                if self._token:
                    return self._token
                async with aiohttp.ClientSession() as session:
                    resp = await session.post(self.url)
                    self._token = await resp.json()
                    return self._token
    """)
    assert [r.symbol for r in recs] == ["GitHub.send_message"]


def test_a_client_per_live_session_ranks_low():
    # Held-out S42c: a voice server builds a google-genai client per websocket connection
    # for one Live API session (`client.aio.live.connect` opens a socket of its own that
    # lasts the conversation): one handshake next to minutes of use.
    recs = _opt201("""
        from google import genai

        async def session(config):
            client = genai.Client()
            async with client.aio.live.connect(model="m", config=config) as live:
                await live.send(input="hi")
    """)
    assert [(r.line, r.priority) for r in recs] == [(5, "low")]


def test_a_connection_the_function_closes_itself_is_said_to_be_closed():
    # held-out S43: mage-ai's Postgres source opens a replication connection per stream
    # and closes it (`postgres_connection.close_connection(connection)`); "build it once
    # and reuse it" alone read as advice that hands the next stream a closed connection.
    recs = _opt201("""
        import redis

        def lookup(key):
            connection = redis.Redis(host="cache")
            value = connection.get(key)
            close_connection(connection)
            return value

        def close_connection(connection):
            connection.close()

        def lookup_closed_by_method(key):
            connection = redis.Redis(host="cache")
            try:
                return connection.get(key)
            finally:
                connection.close()

        def lookup_left_open(key):
            connection = redis.Redis(host="cache")
            return connection.get(key)
    """)
    closed = {r.symbol: "it closes the client itself" in r.message for r in recs}
    assert closed == {"lookup": True, "lookup_closed_by_method": True,
                      "lookup_left_open": False}


def test_an_asyncio_client_is_kept_per_event_loop_and_a_key_put_in_its_headers_is_the_callers():
    # held-out S43b: gpt4free's providers build an aiohttp session per streamed answer; the
    # sync API runs each on a loop of its own, so "build it once" read as advice that breaks
    # the second call. A session whose headers carry the caller's key is the caller's.
    recs = _opt201("""
        from aiohttp import ClientSession

        class Provider:
            @classmethod
            async def answer(cls, prompt):
                async with ClientSession(headers={"accept": "application/json"}) as session:
                    async with session.post("https://api.example.com/chat", json={"q": prompt}) as r:
                        return await r.json()

            @classmethod
            async def answer_for(cls, prompt, api_key=None):
                headers = {"accept": "application/json"}
                if api_key is not None:
                    headers["Authorization"] = f"Bearer {api_key}"
                async with ClientSession(headers=headers) as session:
                    async with session.post("https://api.example.com/chat", json={"q": prompt}) as r:
                        return await r.json()
    """)
    assert [r.symbol for r in recs] == ["Provider.answer"]
    assert "reuse one per event loop" in recs[0].message
    assert "build it once and reuse it" not in recs[0].message


def test_a_client_built_under_a_class_flag_not_yet_set_is_built_once():
    # held-out S43b: gpt4free's LMArena loads its model list once per process behind
    # `if not cls._models_loaded:`.
    assert _opt201("""
        import httpx

        class Models:
            _loaded = False
            models = []

            @classmethod
            def load(cls):
                if not cls._loaded:
                    with httpx.Client(timeout=10) as client:
                        cls.models = client.get("https://api.example.com/models").json()
                    cls._loaded = True
                return cls.models
    """) == []


def test_a_project_wrapper_of_an_asyncio_client_is_kept_per_event_loop(tmp_path):
    # held-out S43b: gpt4free's `StreamSession` wraps an aiohttp session; built per quota
    # check, it got "build it once", which breaks callers that run each call on a new loop.
    from conftest import scan_tree, write

    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/session.py": "from aiohttp import ClientSession\n\n\nclass StreamSession:\n"
                          "    def __init__(self, headers=None):\n"
                          "        self.inner = ClientSession(headers=headers)\n\n"
                          "    async def get(self, url):\n"
                          "        return await self.inner.get(url)\n",
        "app/quota.py": "from app.session import StreamSession\n\n\n"
                        "async def get_quota(url):\n"
                        "    session = StreamSession()\n"
                        "    return await session.get(url)\n",
    })
    (quota,) = [r for r in scan_tree(root, "OPT201") if r.symbol == "get_quota"]
    assert "reuse one per event loop" in quota.message


def test_a_client_handed_to_an_object_that_ends_up_in_what_is_returned_is_kept():
    # held-out S45: any-agent's A2A app factory builds its push sender around an
    # httpx.AsyncClient (`serving_config.push_notifier_sender_type(httpx_client=...)`: a
    # class held in a setting), the sender goes into the request handler and that into the
    # returned app: the client lives as long as the app, it is not dropped per call.
    assert _opt201("""
        import httpx

        async def get_app(agent, serving_config):
            store = serving_config.store_type()
            sender = serving_config.push_notifier_sender_type(
                httpx_client=httpx.AsyncClient(), config_store=store)
            handler = DefaultRequestHandler(agent_executor=agent, push_sender=sender)
            return Application(http_handler=handler)
    """) == []
    # A helper function handed the client is not a holder: its result is what it fetched.
    (found,) = _opt201("""
        import httpx

        async def get_status(url):
            result = fetch_status(url, client=httpx.AsyncClient())
            summary = summarize(result)
            return Report(summary)
    """)
    assert found.line == 5


def test_a_loop_that_times_its_samples_keeps_its_cold_connections():
    # held-out S45: kirara-ai's npm mirror speed test opens a session per sample inside
    # the timed region: a shared session would time warm connections and could pick the
    # wrong mirror. A loop that only stamps its records with the time is no probe.
    assert _opt201("""
        import time
        import aiohttp

        async def registry_speed(registry, samples):
            total = 0.0
            for _ in range(samples):
                start = time.perf_counter()
                async with aiohttp.ClientSession() as session:
                    await session.get(registry)
                total += time.perf_counter() - start
            return total
    """) == []
    (found,) = _opt201("""
        import time
        import aiohttp

        async def fetch_all(urls):
            rows = []
            for url in urls:
                async with aiohttp.ClientSession() as session:
                    rows.append({"at": time.time(), "body": await (await session.get(url)).text()})
            return rows
    """)
    assert found.line == 8


def test_a_chat_bot_command_runs_per_message_not_once_per_process():
    # Held-out S48: Openaibot's Discord commands (`@crescent.command`) were taken for
    # command-line commands, run once per process, and their blocking calls went unreported.
    # A chat framework's `@bot.command()` runs per chat command on the bot's loop; a typer
    # command in a file that also imports a chat framework is still a command-line one.
    bot = _opt201("""
        import httpx
        from discord.ext import commands

        bot = commands.Bot(command_prefix="!")

        @bot.command()
        async def ask(ctx, q):
            client = httpx.AsyncClient(timeout=10)
            r = await client.get("https://example.com", params={"q": q})
            await ctx.send(r.text)
        """)
    assert [r.line for r in bot] == [9]
    cli = _opt201("""
        import httpx
        import telegram
        import typer

        app = typer.Typer()

        @app.command()
        def run(q: str):
            client = httpx.Client(timeout=10)
            print(client.get("https://example.com", params={"q": q}).text)
        """)
    assert cli == []
    crescent = scan_source(textwrap.dedent("""
        import crescent
        import requests

        @crescent.command(name="login")
        async def login(ctx, url: str):
            return requests.post(url, json={}, timeout=10).json()
        """), select=("OPT101",))[0]
    assert [r.line for r in crescent] == [7]
