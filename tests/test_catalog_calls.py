"""Catalog entries that need name resolution to reach them: sessions from a sessionmaker
(module level or stored on self), scoped sessions, waits on threads, queues and futures,
sync vector-database clients. Each must be blocking inside `async def`."""

from __future__ import annotations

import textwrap

from optadvisor.analyze import analyze_bytes
from optadvisor.analyze.catalog import load_catalog

CODE = textwrap.dedent("""
    import os, queue, shutil, threading
    from pinecone import Pinecone
    from qdrant_client import QdrantClient
    from sqlalchemy import create_engine
    from sqlalchemy.orm import scoped_session, sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    Scoped = scoped_session(SessionLocal)
    index = Pinecone(api_key="k").Index("docs")
    qdrant = QdrantClient(url="http://qdrant")

    class Repo:
        def __init__(self):
            self.session_factory = sessionmaker(bind=engine)

        async def get(self, uid):
            with self.session_factory() as s:
                return s.execute(uid)

    async def handler(uid, vector):
        with SessionLocal() as session:
            session.commit()
        Scoped.query(uid)
        shutil.make_archive("a", "zip")
        worker = threading.Thread(target=print)
        worker.join()
        jobs = queue.Queue()
        jobs.get()
        name = input("name? ")
        index.query(vector=vector, top_k=3)
        qdrant.search(collection_name="c", query_vector=vector)
        os.posix_spawn("/bin/true", ["true"], {})

    async def verify(credential, client_id, sql):
        from google.auth.transport import requests as google_requests
        from google.oauth2 import id_token
        claims = id_token.verify_oauth2_token(credential, google_requests.Request(), client_id)
        import snowflake.connector
        conn = snowflake.connector.connect(user="u", account="a")
        conn.cursor().execute(sql)
        return claims
""")


def test_resolved_through_factories_and_blocking():
    facts = analyze_bytes("m.py", CODE.encode(), load_catalog(), 10**6)
    blocking = {c.line: (c.name, c.blocking) for c in facts.calls if c.blocking}
    assert blocking == {
        20: ("sqlalchemy.orm.sessionmaker().execute", "db"),
        24: ("sqlalchemy.orm.sessionmaker().commit", "db"),
        25: ("sqlalchemy.orm.scoped_session.query", "db"),
        26: ("shutil.make_archive", "file"),
        28: ("threading.Thread.join", "thread"),
        30: ("queue.Queue.get", "thread"),
        31: ("input", "stdin"),
        32: ("pinecone.Pinecone.Index().query", "cloud"),
        33: ("qdrant_client.QdrantClient.search", "cloud"),
        34: ("os.posix_spawn", "subprocess"),
        39: ("google.oauth2.id_token.verify_oauth2_token", "http"),
        41: ("snowflake.connector.connect", "db"),
        42: ("snowflake.connector.connect.cursor().execute", "db"),
    }


def test_closing_an_sdk_client_is_not_blocking_work_but_a_db_connection_is():
    code = textwrap.dedent("""
        import boto3, psycopg2
        from openai import OpenAI

        client = OpenAI()
        dynamo = boto3.client("dynamodb")

        async def done(dsn):
            client.close()
            dynamo.close()
            conn = psycopg2.connect(dsn)
            conn.close()
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.name for c in facts.calls if c.blocking} == {
        11: "psycopg2.connect", 12: "psycopg2.connect.close"}


def test_an_awaiting_comprehension_names_its_for_clause():
    """The await-in-loop message quotes `for TARGET in ITERABLE`; for a comprehension both
    were empty (`for  in`)."""
    code = "async def f(urls):\n    return [await fetch(u) for u in urls if u]\n"
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    [loop] = [lp for lp in facts.loops if lp.kind == "comprehension"]
    assert (loop.target, loop.iterable) == ("u", "urls")


def test_httpx2_is_httpx_and_typed_file_objects_do_file_work():
    """flake8-async's eval files: httpx2 (httpx's continuation) and file objects typed by
    annotation; a file handed to an `async with` wrapper is read by the wrapper."""
    code = textwrap.dedent("""
        import io, os
        from typing import Optional
        import httpx2, trio

        async def f(g: Optional[io.TextIOWrapper], b: io.BufferedReader):
            httpx2.get("u")
            client = httpx2.Client()
            client.post("u")
            g.read()
            b.readline()
            async with trio.wrap_file(open("p")) as h:
                await h.read()
            await trio.wrap_file(os.fdopen(0))
    """)
    catalog = load_catalog()
    facts = analyze_bytes("m.py", code.encode(), catalog, 10**6)
    blocking = {c.line: (c.name, c.blocking, c.handed) for c in facts.calls if c.blocking}
    assert blocking == {
        7: ("httpx2.get", "http", False),
        9: ("httpx2.Client.post", "http", False),
        10: ("io.TextIOWrapper.read", "file", False),
        11: ("io.BufferedReader.readline", "file", False),
        12: ("open", "file", True),
        14: ("os.fdopen", "file", True),
    }
    # The alias copies every table, not only the blocking one.
    assert catalog.clients.get("httpx2.Client") == catalog.clients.get("httpx.Client") == "http"


def test_docker_sdk_calls_are_requests_to_the_daemon_and_milvus_builders_are_local():
    code = textwrap.dedent("""
        import docker
        from pymilvus import MilvusClient

        class Sandbox:
            def __init__(self):
                self.docker = docker.from_env()
                self.milvus = MilvusClient(uri="http://m")

            async def start(self, image):
                container = self.docker.containers.run(image, detach=True)
                container.stop()
                schema = self.milvus.create_schema()
                self.milvus.prepare_index_params()
                self.milvus.search("c", data=[[1.0]])
                self.docker.close()
                return schema
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: (c.name, c.blocking) for c in facts.calls if c.blocking} == {
        11: ("docker.from_env.containers.run", "docker"),
        12: ("docker.from_env.containers.run().stop", "docker"),
        15: ("pymilvus.MilvusClient.search", "cloud"),
    }


def test_chroma_embedded_clients_and_annotated_collections_do_blocking_work():
    # Held-out O miss: parlant keeps `chromadb.Collection`s (annotated) of a
    # PersistentClient and queries them in `async def find`.
    code = textwrap.dedent("""
        import chromadb

        class Store:
            def __init__(self, path):
                self.client = chromadb.PersistentClient(path)
                self.docs: chromadb.Collection = self.client.get_or_create_collection("d")

            async def find(self, text):
                return self.docs.query(query_texts=[text], n_results=5)

            async def names(self):
                return self.client.list_collections()

        async def add(collection: chromadb.Collection, ids, texts):
            collection.upsert(ids=ids, documents=texts)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: (c.name, c.blocking) for c in facts.calls if c.blocking} == {
        7: ("chromadb.PersistentClient.get_or_create_collection", "db"),
        10: ("chromadb.PersistentClient.get_or_create_collection().query", "db"),
        13: ("chromadb.PersistentClient.list_collections", "db"),
        16: ("chromadb.Collection.upsert", "db"),
    }


def test_riva_speech_calls_are_grpc_requests_and_a_brief_sleep_is_marked():
    # pipecat's NVIDIA STT (eval E miss): the Riva client stored on self by a setup
    # method, called inside `async def run_stt`.
    code = textwrap.dedent("""
        import time
        import riva.client

        class STT:
            def _init(self):
                auth = riva.client.Auth(None, False, "host", [])
                self._asr_service = riva.client.ASRService(auth)

            async def run_stt(self, audio, config):
                time.sleep(0.001)
                time.sleep(0.5)
                return self._asr_service.offline_recognize(audio, config, future=False)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: (c.name, c.blocking, c.brief) for c in facts.calls if c.blocking} == {
        11: ("time.sleep", "sleep", True),
        12: ("time.sleep", "sleep", False),
        13: ("riva.client.ASRService.offline_recognize", "grpc", False),
    }


def test_docker_objects_typed_by_annotation_make_requests():
    # eval F miss: OpenHands-style runtimes keep `self.container: Container` and call its
    # methods from coroutines.
    code = textwrap.dedent("""
        from docker.models.containers import Container

        class Runtime:
            container: Container

            async def restart(self, box: Container):
                box.restart()
                self.container.exec_run("ls")
                return box.name
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: (c.name, c.blocking) for c in facts.calls if c.blocking} == {
        8: ("docker.models.containers.Container.restart", "docker"),
        9: ("docker.models.containers.Container.exec_run", "docker"),
    }


def test_search_engine_and_azure_blob_sync_clients_make_requests():
    # eval H miss: gpt-researcher's Azure loader lists and downloads blobs in `async def
    # load`; Elasticsearch's sync client is the usual RAG store.
    code = textwrap.dedent("""
        from azure.storage.blob import BlobServiceClient
        from elasticsearch import Elasticsearch

        class Loader:
            def __init__(self, conn, name):
                self.client = BlobServiceClient.from_connection_string(conn)
                self.container = self.client.get_container_client(name)
                self.es = Elasticsearch("http://es:9200")

            async def load(self):
                for blob in self.container.list_blobs():
                    blob_client = self.container.get_blob_client(blob.name)
                    data = blob_client.download_blob().readall()
                    self.es.index(index="docs", document={"body": data})
                self.es.indices.refresh(index="docs")
                self.es.close()
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.blocking for c in facts.calls if c.blocking} == {
        12: "cloud", 14: "cloud", 15: "cloud", 16: "cloud"}


def test_a_client_chosen_by_a_conditional_expression_and_returned_wrapped_escapes():
    # eval I FP: instructor's `from_provider` builds `AsyncOpenAI() if async_client else
    # OpenAI()` and returns it wrapped: a factory, not a client per call.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import openai
        from instructor import from_openai

        def from_provider(model, async_client=False):
            client = openai.AsyncOpenAI() if async_client else openai.OpenAI()
            return from_openai(client, model=model)
    """), select=("OPT201",))
    assert error is None and recs == []


def test_work_handed_to_sqlalchemy_run_sync_does_not_block():
    # eval I FP (onyx): `await session.run_sync(lambda s: get_user_by_email(email, s))` runs
    # the sync query through the async driver.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        from sqlalchemy.orm import Session

        def get_user_by_email(email, session: Session):
            return session.execute(select(User).where(User.email == email)).scalar()

        class Plain:
            async def create(self, email):
                return get_user_by_email(email, self.sync_session)

        class UserManager:
            async def create(self, email):
                existing = await self.user_db.session.run_sync(
                    lambda s: get_user_by_email(email, s))
                return existing
    """), select=("OPT101", "OPT104"))
    assert error is None
    assert [(r.rule, r.symbol) for r in recs] == [("OPT104", "Plain.create")]


def test_a_helper_behind_a_memo_hit_blocks_on_a_miss_only():
    # eval I (onyx `get_security_settings`): `cached = _CACHE.get(tenant); if cached is not
    # None: return cached` before the query: the query runs on a miss only.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import requests

        _CACHE = {}

        def settings(tenant):
            cached = _CACHE.get(tenant)
            if cached is not None:
                return cached
            value = requests.get(f"https://cfg/{tenant}", timeout=5).json()
            _CACHE[tenant] = value
            return value

        def fresh(tenant):
            value = requests.get(f"https://cfg/{tenant}", timeout=5).json()
            return value

        async def handler(tenant):
            return settings(tenant), fresh(tenant)
    """), select=("OPT104",))
    assert error is None
    assert [r.message.split(" ")[0] for r in recs] == ["`fresh()`"]


def test_a_client_made_from_a_session_built_from_the_callers_credentials_is_per_caller():
    # eval I FP (onyx): `session = boto3.Session(aws_access_key_id=request.key, ...)` then
    # `session.client("bedrock")`: the credentials come with each request.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import boto3

        def list_models(request):
            session = boto3.Session(aws_access_key_id=request.key, region_name=request.region)
            bedrock = session.client("bedrock")
            return bedrock.list_foundation_models()

        def list_default_models():
            session = boto3.Session(region_name="us-east-1")
            bedrock = session.client("bedrock")
            return bedrock.list_foundation_models()
    """), select=("OPT201",))
    assert error is None
    # The default session is used only to make the client: the client is the one finding
    # (held-out S40c: the session and its client were two findings for one problem).
    assert sorted(r.line for r in recs) == [11]


def test_docker_api_client_config_builders_are_local():
    # eval J FP (OpenManus): `APIClient.create_host_config(...)` builds a dict, no request.
    code = textwrap.dedent("""
        import docker

        class Sandbox:
            async def create(self, image):
                api = docker.APIClient()
                host_config = api.create_host_config(mem_limit="512m")
                return api.create_container(image, host_config=host_config)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.name for c in facts.calls if c.blocking} == {
        8: "docker.APIClient.create_container"}


def test_arrays_tables_and_archives_are_file_work():
    # eval J misses: `np.save` / `np.load` in an async embedding cache, a workspace zipped
    # and a directory tarred inside coroutines.
    code = textwrap.dedent("""
        import tarfile
        import zipfile
        import numpy as np

        async def store(path, vectors):
            np.save(path, vectors)
            return np.load(path)

        async def share(path, files):
            with zipfile.ZipFile(path, "w") as zf:
                for name in files:
                    zf.write(name)
            with tarfile.open(path + ".tar", "w") as tar:
                tar.add("workspace")
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.blocking for c in facts.calls if c.blocking} == {
        7: "file", 8: "file", 11: "file", 13: "file", 14: "file", 15: "file"}


def test_an_archive_with_block_is_one_finding():
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import zipfile

        async def share(path, files):
            with zipfile.ZipFile(path, "w") as zf:
                for name in files:
                    zf.write(name)
    """), select=("OPT105",))
    assert error is None and [r.line for r in recs] == [5]


def test_a_client_built_in_a_retry_loop_is_still_one_per_call():
    # eval J miss (lagent): a session per attempt of a retry loop that returns on success is
    # a session per call; one per iteration of a poll that sleeps each round is paced.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import asyncio
        import aiohttp

        async def chat(payload):
            for attempt in range(3):
                try:
                    async with aiohttp.ClientSession() as session:
                        async with session.post("https://api.example.com/chat", json=payload) as r:
                            return await r.json()
                except aiohttp.ClientError:
                    await asyncio.sleep(1)

        async def wait_ready():
            while True:
                async with aiohttp.ClientSession() as session:
                    async with session.get("https://api.example.com/ready") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(5)
    """), select=("OPT201",))
    assert error is None and [r.line for r in recs] == [8]


def test_an_archive_built_in_memory_is_no_file_work_but_adding_a_directory_is():
    # eval J re-scan: `tarfile.open(fileobj=io.BytesIO())` streams for a container's
    # `put_archive` touch no disk; `tf.add(path)` reads the files it adds.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import io
        import tarfile
        import zipfile

        async def pack(name, data):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tf:
                info = tarfile.TarInfo(name=name)
                tf.addfile(info, io.BytesIO(data))
            return buf.getvalue()

        async def unzip(data):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return zf.namelist()

        async def pack_dir(path):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tf:
                tf.add(path)
            return buf.getvalue()

        async def export(html, assets):
            # Held-out Q: screenshot-to-code's export zip, built in a BytesIO.
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
                zip_file.writestr("index.html", html)
                for asset in assets:
                    zip_file.writestr(asset.path, asset.content)
            return buffer.getvalue()

        async def bundle(paths):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zf:
                for path in paths:
                    zf.write(path)
            return buffer.getvalue()
    """), select=("OPT105",))
    assert error is None and [r.line for r in recs] == [20, 36]


def test_yagmail_sends_over_smtp():
    # eval J miss (XAgentServer `register`): `yag.send(...)` talks SMTP in a coroutine.
    code = "import yagmail\n\nasync def register(email):\n    yag = yagmail.SMTP('me', 'pw')\n" \
        "    yag.send(to=email, subject='hi')\n"
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.blocking for c in facts.calls if c.blocking} == {5: "network"}


def test_a_lambda_parameter_shadows_the_functions_file_object():
    # flake8-async eval files: `lambda f: f.read()` inside a coroutine whose `f` is a file is
    # the lambda's own `f` (and the lambda only defined).
    code = textwrap.dedent("""
        import io

        async def read(f: io.TextIOWrapper):
            g = lambda f: f.read()
            return f.read(), g
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.blocking for c in facts.calls if c.blocking} == {6: "file"}


def test_voyage_ai_embeddings_are_requests_and_its_client_is_cheap_to_make():
    # Held-out O took sweep's `voyageai.Client` per batch for a miss; held-out S47 read the
    # package: the client holds settings and a retry policy, and its requests go through a
    # session the package keeps per thread, shared by every client. Making one per batch
    # costs nothing worth a finding; the embedding itself is a blocking request.
    code = textwrap.dedent("""
        import voyageai

        async def embed(batch):
            client = voyageai.Client(api_key="k")
            return client.embed(batch, model="voyage-code-2").embeddings
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.client) for c in facts.calls if c.client] == []
    assert [(c.line, c.blocking) for c in facts.calls if c.blocking] == [(6, "llm")]


def test_wechatpy_clients_call_the_wechat_api_over_sync_http():
    # Held-out S misses: AstrBot's and kirara-ai's WeCom adapters send text and upload
    # media with wechatpy's requests-based client from `async def send`.
    code = textwrap.dedent("""
        from wechatpy.enterprise import WeChatClient

        class WecomEvent:
            def __init__(self, client: WeChatClient):
                self.client = client

            async def send(self, user, text):
                self.client.message.send_text(1, user, text)
                return self.client.media.upload("image", b"")
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.blocking) for c in facts.calls if c.blocking] == [
        (9, "http"), (10, "http")]


def test_boto3_resource_objects_are_made_locally_and_their_methods_are_requests():
    # Held-out S miss: agent-squad's DynamoDB chat storage, `self.table.put_item` from async
    # methods; `dynamodb.Table(name)` itself makes no request.
    code = textwrap.dedent("""
        import boto3

        class Storage:
            def __init__(self, name):
                self.table = boto3.resource("dynamodb").Table(name)

            async def save(self, item, name):
                bucket = boto3.resource("s3").Bucket(name)
                self.table.put_item(Item=item)
                return bucket.objects.all()
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.blocking) for c in facts.calls if c.blocking] == [
        (10, "cloud"), (11, "cloud")]


def test_sync_messaging_and_telephony_clients_make_requests():
    # Held-out S misses: bolna's Twilio and Plivo calls from `async def make_call`.
    code = textwrap.dedent("""
        import plivo
        from slack_sdk import WebClient
        from twilio.rest import Client

        async def make_call(to, text):
            Client("sid", "token").calls.create(to=to, from_="x", url="u")
            plivo.RestClient("id", "token").calls.create(from_="x", to_=to, answer_url="u")
            WebClient(token="t").chat_postMessage(channel="c", text=text)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.blocking) for c in facts.calls if c.blocking] == [
        (7, "http"), (8, "http"), (9, "http")]


def test_a_plain_factory_returns_what_it_builds():
    # Held-out P miss: `client = initialize_openai()` then a sync completion inside async
    # code. Not a factory that may return something else (None on a path, a decorator that
    # wraps it), nor a coroutine.
    code = textwrap.dedent("""
        from functools import lru_cache
        from openai import OpenAI

        def make():
            return OpenAI(api_key="k")

        @lru_cache
        def shared():
            return OpenAI()

        def maybe(flag):
            if flag:
                return OpenAI()
            return None

        @tool
        def wrapped():
            return OpenAI()

        class Agent:
            def _client(self):
                return OpenAI()

            async def step(self, m):
                client = make()
                client.chat.completions.create(model="x", messages=m)
                shared().chat.completions.create(model="x", messages=m)
                maybe(True).chat.completions.create(model="x", messages=m)
                wrapped().chat.completions.create(model="x", messages=m)
                return self._client().chat.completions.create(model="x", messages=m)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert {c.line: c.blocking for c in facts.calls if c.blocking} == {
        27: "llm", 28: "llm", 31: "llm"}


def test_fastapi_sqlalchemy_db_session_is_a_sync_session():
    # Held-out V miss: SuperAGI's routes query `db.session` (fastapi_sqlalchemy's
    # request-scoped sync Session) from `async def` handlers.
    code = textwrap.dedent("""
        from fastapi_sqlalchemy import db

        async def root(email):
            user = db.session.query(User).filter(User.email == email).first()
            db.session.add(user)
            db.session.commit()
            return user
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.blocking) for c in facts.calls if c.blocking] == [
        (5, "db"), (7, "db")]


def test_a_fastapi_route_that_awaits_nothing_is_told_it_could_be_a_plain_def():
    # Held-out V (SuperAGI): async routes that only query a sync session. FastAPI runs a
    # plain `def` route in its thread pool: the simplest fix. Not for a route that awaits
    # (`async with` and `async for` count), nor for aiohttp, whose handlers are coroutines.
    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import httpx
        import requests
        from aiohttp import web
        from fastapi import APIRouter

        router = APIRouter()
        routes = web.RouteTableDef()

        @router.get("/a")
        async def plain():
            return requests.get("https://example.com", timeout=5).json()

        @router.get("/b")
        async def streams():
            async with httpx.AsyncClient() as client:
                pass
            return requests.get("https://example.com", timeout=5).json()

        @routes.get("/c")
        async def handler(request):
            return requests.get("https://example.com", timeout=5).json()
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    hint = "declared with a plain `def`"
    assert [(r.line, hint in r.message) for r in recs] == [
        (12, True), (18, False), (22, False)]


def test_mail_and_oauth_sessions_wait_forever_without_a_timeout():
    # Held-out V misses: SalesGPT's `smtplib.SMTP_SSL("smtp.gmail.com", 465)` (the global
    # socket default: no timeout) and SuperAGI's `OAuth1Session.post` (a requests.Session).
    code = textwrap.dedent("""
        import ftplib, imaplib, poplib, smtplib
        from requests_oauthlib import OAuth1Session

        def send(msg, key):
            with smtplib.SMTP_SSL("smtp.gmail.com", 465) as server:
                server.send_message(msg)
            smtplib.SMTP("smtp.example.com", 25, None, 10)
            smtplib.SMTP("smtp.example.com", 25, timeout=10)
            ftplib.FTP("ftp.example.com")
            imaplib.IMAP4("imap.example.com", 143, 10)
            poplib.POP3("pop.example.com")
            OAuth1Session(key).post("https://api.example.com/2/tweets", json={})
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    assert [(c.line, c.timeout) for c in facts.calls if c.timeout] == [
        (6, "missing"), (8, "set"), (9, "set"), (10, "missing"), (11, "set"), (12, "missing"),
        (13, "missing")]
    assert [(c.line, c.blocking) for c in facts.calls if c.line == 13 and c.blocking] == [
        (13, "http")]


def test_a_functions_database_calls_on_one_session_made_elsewhere_are_one_finding():
    # Held-out V: SuperAGI's upload route queries, commits and flushes `db.session` (made
    # by fastapi-sqlalchemy's middleware): one finding for the session, not three.
    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        from fastapi import APIRouter, UploadFile
        from fastapi_sqlalchemy import db

        router = APIRouter()

        @router.post("/upload")
        async def upload(name: str, file: UploadFile):
            agent = db.session.query(Agent).filter(Agent.name == name).first()
            data = await file.read()
            db.session.add(Resource(agent=agent, size=len(data)))
            db.session.commit()
            db.session.flush()
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [(r.line, "2 more call(s) on the same session" in r.message) for r in recs] == [
        (9, True)]


def test_a_call_inside_the_block_another_findings_fix_moves_is_folded_into_it():
    # Held-out S30b: chatgpt-retrieval-plugin's psycopg2 store executes in a `with cursor`
    # block and commits on its last line; the execute's fix moves the whole block into one
    # worker thread, commit included: one finding (the commit a facet of it), not two.
    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import psycopg2

        class Store:
            def __init__(self, dsn):
                self.client = psycopg2.connect(dsn)

            async def delete_like(self, table, pattern):
                with self.client.cursor() as cur:
                    cur.execute(f"DELETE FROM {table} WHERE c LIKE %s", (pattern,))
                    self.client.commit()
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [10]
    (rec,) = recs
    assert rec.fix is not None and rec.fix.applicability != "manual"
    assert [e.line for e in rec.fix.edits if e.end_line > e.line] == [9]
    assert [f["message"].split(":")[0] for f in rec.facets] == ["line 11"]


def test_a_call_with_a_facet_of_its_own_is_not_folded_into_the_block_that_moves_it():
    # The block move does not add a timeout: the request inside the connection block keeps
    # its own finding (blocking, and the missing timeout as its facet) and its own fix.
    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import sqlite3, requests

        async def store(db, url):
            with sqlite3.connect(db) as conn:
                body = requests.get(url).text
                conn.execute("insert into t values (?)", (body,))
    """)
    recs, error = scan_source(code, select=("OPT101", "OPT202"))
    assert error is None
    assert [(r.line, [f["rule"] for f in r.facets]) for r in recs] == [(5, []), (6, ["OPT202"])]
    # Nor one with a safe fix of its own: `--fix` makes the sleep async without the
    # block's unsafe move.
    recs, error = scan_source(code.replace("body = requests.get(url).text",
                                           "time.sleep(1)\n        body = url")
                              .replace("import sqlite3, requests", "import sqlite3, time"),
                              select=("OPT101",))
    assert error is None
    assert [(r.line, r.fix.applicability, r.facets) for r in recs] == [
        (5, "unsafe", ()), (6, "safe", ())]


def test_google_cloud_sync_clients_block_and_their_local_builders_do_not():
    # Held-out S42 miss: generative-ai's live-audio server reads its API keys from Secret
    # Manager in async code, a client per read. `bucket(...)`, `blob(...)` and the path
    # builders make local objects; the upload, the query's result, the secret read send.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        from google.cloud import bigquery, secretmanager, storage

        async def secret(name):
            client = secretmanager.SecretManagerServiceClient()
            path = client.secret_version_path("p", name, "latest")
            return client.access_secret_version(request={"name": path}).payload.data

        async def upload(name, data):
            gcs = storage.Client()
            blob = gcs.bucket("b").blob(name)
            blob.upload_from_string(data)
            return gcs.bucket("b").blob(name).public_url

        async def rows(sql):
            bq = bigquery.Client()
            return list(bq.query(sql).result())
    """), rel="pkg/cloud.py", select=("OPT101", "OPT201"))
    assert error is None
    assert sorted((r.line, r.rule) for r in recs) == [
        (5, "OPT201"), (7, "OPT101"), (10, "OPT201"), (12, "OPT101"), (16, "OPT201"),
        (17, "OPT101")]


def test_the_mistral_client_imported_from_its_module_blocks():
    # Held-out S42f miss: mistral's cookbook agents import `from mistralai.client import
    # Mistral` and call it from async code.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        from mistralai.client import Mistral

        client = Mistral(api_key="k")

        async def analyse(prompt):
            return client.chat.complete(model="m", messages=[prompt])
    """), rel="pkg/agent.py", select=("OPT101",))
    assert error is None
    assert [(r.line, r.rule) for r in recs] == [(7, "OPT101")]


def test_a_method_picked_by_getattr_on_a_client_is_its_request():
    """Held-out S43: mage-ai's Spark client sends `getattr(session, http_method)(url, ...)`
    on a requests Session: a request, whichever verb. A literal name is that method; a
    name picked on `self` dispatches to the object's own methods and stays unknown."""
    code = textwrap.dedent("""
        import requests

        class Api:
            async def send(self, verb, url):
                session = requests.Session()
                getattr(session, verb)(url, timeout=12)
                getattr(requests, verb)(url)
                getattr(requests, "post")(url, timeout=5)
                getattr(self, f"on_{verb}")(url)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    calls = {c.line: (c.name, c.blocking, c.timeout) for c in facts.calls if c.blocking}
    assert calls == {
        7: ("requests.Session.request", "http", "set"),
        8: ("requests.request", "http", "missing"),
        9: ("requests.post", "http", "set"),
    }


def test_a_writer_taking_the_file_second_into_a_buffer_is_no_file_work():
    """Held-out S43c: Kokoro-FastAPI serialises a voice tensor with `torch.save(tensor,
    buffer)` into a BytesIO, then writes it with aiofiles; `torch.save(tensor, path)` and
    `json.dump(data, f)` on an opened file are file work."""
    code = textwrap.dedent("""
        import io, json
        import torch

        async def save(tensor, data, path):
            buffer = io.BytesIO()
            torch.save(tensor, buffer)
            json.dump(data, io.StringIO())
            torch.save(tensor, path)
            with open(path) as f:
                json.dump(data, f)
    """)
    facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
    blocking = sorted((c.line, c.name) for c in facts.calls if c.blocking)
    assert blocking == [(9, "torch.save"), (10, "open")]


def test_a_builder_chain_pattern_matches_any_middle_but_only_its_head_and_last():
    from optadvisor.analyze.catalog import NameTable

    table: NameTable[str] = NameTable()
    table.add("supabase.Client.table().**.execute", "sent")
    assert table.get("supabase.Client.table().select().eq().order().execute") == "sent"
    assert table.get("supabase.Client.table().insert().execute") == "sent"
    assert table.may_end("execute") and not table.may_end("select")
    # The head must be the whole prefix, and only the last method sends.
    assert table.get("supabase.Client.table().select().eq") is None
    assert table.get("supabase.Client.tables().select().execute") is None
    assert table.get("other.Client.table().select().execute") is None
    assert table.get("supabase.Client.table().execute") is None  # nothing between: exact names


def test_a_wait_that_may_time_out_does_not_end_the_child():
    # `wait(timeout=5)` may raise with the child still running: what it has not written to
    # its pipe yet is still to come, so the read after it waits (a plain `wait()` first
    # would have let the read return at once).
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import subprocess

        async def bounded(cmd):
            process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            return process.stderr.read()

        async def waited(cmd):
            process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
            process.wait()
            return process.stderr.read()
    """), select=("OPT101",))
    assert error is None
    assert sorted((r.symbol, r.line) for r in recs) == [
        ("bounded", 7), ("bounded", 10), ("waited", 14)]


def test_a_multi_line_chain_is_quoted_on_one_line_and_fixed_as_written():
    # Held-out S44: ottomator's agents spread a Supabase query over five lines with
    # backslashes, and an insert's dict over four: the message quoted all of it.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        from supabase import create_client

        supabase = create_client("https://x.supabase.co", "key")

        async def history(session_id, text):
            supabase.table("messages").insert({
                "session_id": session_id,
                "text": text,
            }).execute()
            return supabase.table("messages") \\
                .select("*") \\
                .eq("session_id", session_id) \\
                .execute()
    """), select=("OPT101",))
    assert error is None
    first, second = sorted(recs, key=lambda r: r.line)
    assert first.message.startswith(
        '`supabase.table("messages").insert(...).execute` (supabase.create_client.')
    assert second.message.startswith(
        '`supabase.table("messages").select("*").eq("session_id", session_id).execute`')
    # The fix still rewrites the code as written, line breaks and all.
    assert second.fix is not None
    (moved,) = [e for e in second.fix.edits if "to_thread" in e.content]
    assert moved.content.endswith(".execute)") and "\\\n" in moved.content


def test_awaits_spread_over_lines_are_quoted_on_one_line():
    # Held-out S45: Red-DiscordBot's await-in-loop and sequential-awaits messages quoted
    # `self.ban_user(` and its keywords over four lines.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import httpx

        client = httpx.AsyncClient(timeout=10)

        async def profiles(members, days):
            found = []
            for member in members:
                found.append(await client.get(
                    f"https://example.com/users/{member}",
                    params={"days": days, "fields": "name,email,avatar"},
                ))
            return found

        async def three(a, b, c):
            x = await client.get(
                f"https://example.com/{a}", params={"verbose": True, "limit": 100},
            )
            y = await client.get(f"https://example.com/{b}")
            z = await client.get(f"https://example.com/{c}")
            return x, y, z
    """), select=("OPT102", "OPT103"))
    assert error is None
    loop, group = sorted(recs, key=lambda r: r.line)
    assert "awaits `client.get(...)` once per item" in loop.message
    assert "\n" not in loop.message and "\n" not in group.message
    assert '`client.get(...), client.get(f"https://example.com/{b}"), ' in group.message
    # The fix still writes the calls as they are.
    assert "params={" in group.snippet.after


def test_an_executor_block_that_never_waits_blocks_at_its_exit():
    # Held-out S45: Red-DiscordBot's audio cog submits each SQLite write to a one-thread
    # pool in a plain `with` of a coroutine; leaving the block waits for it on the loop.
    # A block that waits itself (`as_completed`) is reported there, once; a pool the block
    # awaits through `run_in_executor`, or one in a plain def, is not reported.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import asyncio
        import concurrent.futures
        from concurrent.futures import ThreadPoolExecutor

        async def played(db, row):
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(db.execute, "INSERT INTO played VALUES (?)", row)

        async def fetched(db):
            with ThreadPoolExecutor(max_workers=1) as pool:
                for future in concurrent.futures.as_completed([pool.submit(db.execute, "SELECT 1")]):
                    return future.result()

        async def awaited(db):
            with ThreadPoolExecutor(max_workers=1) as pool:
                return await asyncio.get_running_loop().run_in_executor(pool, db.execute, "SELECT 1")

        def plain(db, row):
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(db.execute, "INSERT INTO played VALUES (?)", row)
    """), select=("OPT101",))
    assert error is None
    assert sorted((r.symbol, r.line) for r in recs) == [("fetched", 12), ("played", 7)]
    played = next(r for r in recs if r.symbol == "played")
    assert "leaving its `with` block waits for the work submitted to the pool" in played.message


def test_redis_and_mongo_are_told_of_their_own_async_clients():
    # Held-out GRP2: AWorld's Redis store was told of aiosqlite, asyncpg and sqlite3's
    # thread rule, and `ft` (a local RediSearch handle) was blamed for its `search`.
    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import redis
        from pymongo import MongoClient


        class Store:
            def __init__(self):
                self._redis = redis.Redis()
                self._mongo = MongoClient()

            async def find(self, q):
                return self._redis.ft("idx").search(q).docs

            async def users(self):
                return list(self._mongo.app.users.find({}))
    """), select=("OPT101",))
    assert error is None
    found = {r.line: r for r in recs}
    assert sorted(found) == [12, 15]
    assert "redis.Redis.ft().search" in found[12].message
    for rec, client in ((found[12], "redis.asyncio.Redis"), (found[15], "AsyncMongoClient")):
        assert rec.fix is not None and client in rec.fix.message
        assert "sqlite3" not in rec.fix.message and "asyncpg" not in rec.fix.message
