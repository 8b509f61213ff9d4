"""The facts behind the caching and retry rules, on the cases that decide them (each rule's
own positives and near misses are its [[examples]], run by test_rule_examples.py)."""

from __future__ import annotations

import textwrap

from optadvisor.analyze import analyze_bytes
from optadvisor.analyze.catalog import load_catalog
from optadvisor.api import scan_source

CATALOG = load_catalog()


def facts(code: str):
    out = analyze_bytes("m.py", textwrap.dedent(code).encode(), CATALOG, 10**6)
    assert not hasattr(out, "kind"), out
    return out


def loaders(code: str) -> dict[int, bool]:
    return {c.line: c.static_input for c in facts(code).calls if c.loader}


def rules(code: str, select: tuple[str, ...]) -> list[tuple[str, int]]:
    recs, error = scan_source(textwrap.dedent(code), select=select)
    assert error is None
    return [(r.rule, r.line) for r in recs]


def test_fixed_inputs_follow_locals_built_from_constants_and_open_files():
    found = loaders("""
        import json, yaml
        from pathlib import Path
        BASE = Path(__file__).parent
        CONFIG = BASE / "config.yaml"

        def read(name):
            path = BASE / "prompts" / "system.md"
            with open(CONFIG) as f:
                cfg = yaml.safe_load(f)
            text = path.read_text()
            other = (BASE / name).read_text()
            parsed = [json.loads(s) for s in name]
            return cfg, text, other, parsed
    """)
    assert found == {10: True, 11: True, 12: False, 13: False}


def test_a_path_the_module_writes_is_not_a_fixed_input():
    found = loaders("""
        import json, os
        STATE = "state.json"
        INDEX = "index.json"

        def load():
            with open(STATE) as f:
                a = json.load(f)
            with open(INDEX) as f:
                b = json.load(f)
            return a, b

        def save(data):
            with open(STATE, "w") as f:
                json.dump(data, f)

        def save_index(tmp):
            os.replace(tmp, INDEX)
    """)
    assert found == {8: False, 10: False}


def test_a_literal_path_the_module_writes_or_a_file_opened_to_write_is_not_fixed():
    # Held-out O: devika's `update_config` re-reads config.toml in a loop, from a handle
    # opened "r+" that it writes back, and `save_config` opens the same literal with "w".
    found = loaders("""
        import toml
        from pathlib import Path

        def save(config):
            with open("config.toml", "w") as f:
                toml.dump(config, f)

        def update(data):
            for key in data:
                with open("config.toml", "r+") as f:
                    config = toml.load(f)
                    f.seek(0)
                    toml.dump(config, f)

        def reload():
            with open("config.toml") as f:
                return toml.load(f)

        def direct():
            return toml.loads(Path("config.toml").read_text())

        def notes():
            with open("notes.toml", "r+") as f:
                return toml.load(f)

        def settings():
            with open("settings.toml") as f:
                return toml.load(f)
    """)
    assert found == {12: False, 18: False, 21: False, 25: False, 29: True}


def test_a_loop_variable_unpacked_in_a_function_is_not_the_module_name():
    # Held-out P: AgentVerse's script parses each line of a file in a function whose loop
    # unpacks `idx, line`, while a module-level loop also binds `line`.
    found = loaders("""
        import json
        from string import Template

        lines = open("results.jsonl").readlines()

        def each(skip):
            for idx, line in enumerate(lines):
                data = json.loads(line)
                text = Template("$x").safe_substitute(x=data)

        for line in lines:
            print(line)
    """)
    assert found == {9: False}


def test_a_global_some_function_rebinds_is_not_fixed():
    found = loaders("""
        import re
        PATTERN = r"\\d+"

        def configure(p):
            global PATTERN
            PATTERN = p

        def find(text):
            return re.compile(PATTERN).findall(text)
    """)
    assert found == {10: False}


def test_a_path_joined_with_a_string_is_a_pathlib_path_in_async_code_too():
    found = rules("""
        from pathlib import Path
        ROOT = Path(__file__).parent

        async def prompts(names):
            return [(ROOT / f"{name}.md").read_text() for name in names]
    """, ("OPT105",))
    assert found == [("OPT105", 6)]


def test_dict_caches_reset_elsewhere_or_keyed_through_a_local():
    found = facts("""
        class Store:
            def __init__(self):
                self._hits = {}
                self._by_key = {}

            def get(self, user_id, doc):
                key = f"{user_id}:{doc}"
                if key not in self._by_key:
                    self._by_key[key] = doc
                if doc not in self._hits:
                    self._hits[doc] = 1
                return self._by_key[key]

            def reset(self):
                self._hits = {}
    """).caches
    assert [(c.name, c.key, c.key_unbounded) for c in found] == [
        ("self._by_key", "key", True)]


def test_a_cache_keyed_by_a_directory_or_a_time_zone_is_bounded():
    # Held-out K: deer-flow keys prompt templates by `(name, agent_name, prompts_dir)`:
    # a configured directory, not one entry per prompt text. Held-out L: agixt caches
    # pytz zones by `user_timezone`, one of some 600 names.
    found = facts("""
        _CACHE = {}
        _BY_PROMPT = {}

        def load(name, agent_name=None, prompts_dir=None):
            key = (name, agent_name, prompts_dir)
            if key in _CACHE:
                return _CACHE[key]
            _CACHE[key] = render(name)
            return _CACHE[key]

        _TZ = {}

        def zone(user_timezone):
            if user_timezone not in _TZ:
                _TZ[user_timezone] = make_zone(user_timezone)
            return _TZ[user_timezone]

        def answer(prompt_text):
            if prompt_text in _BY_PROMPT:
                return _BY_PROMPT[prompt_text]
            _BY_PROMPT[prompt_text] = ask(prompt_text)
            return _BY_PROMPT[prompt_text]
    """).caches
    assert {c.name: c.key_unbounded for c in found} == {
        "_CACHE": False, "_TZ": False, "_BY_PROMPT": True}


def test_retry_loops_counted_attempts_and_computed_delays():
    loops = {lp.line: (lp.retry, lp.fixed_delay, lp.forever) for lp in facts("""
        import time
        DELAY = 2

        def a(get):
            attempt = 0
            while True:
                try:
                    return get()
                except OSError:
                    attempt += 1
                    if attempt > 3:
                        raise
                    time.sleep(DELAY)

        def b(get):
            while True:
                try:
                    return get()
                except OSError:
                    time.sleep(DELAY * 2)

        def c(get):
            for i in range(3):
                try:
                    value = get()
                except OSError:
                    time.sleep(i)
                    continue
                else:
                    return value
    """).loops}
    assert loops == {7: (True, True, False), 17: (True, False, True), 24: (True, False, False)}


def test_a_sync_sleep_paces_an_async_loop():
    assert rules("""
        import time

        async def notify_all(client, ids):
            for i in ids:
                await client.notify(i)
                time.sleep(1)
    """, ("OPT103",)) == []


def test_calling_what_a_loader_made_is_not_loading():
    found = facts("""
        from transformers import AutoTokenizer

        class Reranker:
            def __init__(self, name):
                self.tokenizer = AutoTokenizer.from_pretrained(name)

            def score(self, batches):
                return [self.tokenizer(batch) for batch in batches]
    """).calls
    assert [(c.line, c.loader) for c in found if c.loader] == [(6, "model")]


def test_the_test_of_a_conditional_key_is_not_part_of_the_key():
    # eval G (langroid): `mdl = self.config.chat_model if chat else self.config.completion_model`
    # keys a cost ledger by model name; the flag `chat` only picks one.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        class LanguageModel:
            usage_cost_dict = {}

            def update_usage_cost(self, chat, cost):
                mdl = self.config.chat_model if chat else self.config.completion_model
                if mdl not in self.usage_cost_dict:
                    self.usage_cost_dict[mdl] = 0.0
                self.usage_cost_dict[mdl] += cost
                return self.usage_cost_dict[mdl]

        class Sessions:
            by_user = {}

            def get(self, user_id, fresh):
                key = user_id if fresh else f"cached:{user_id}"
                if key not in self.by_user:
                    self.by_user[key] = object()
                return self.by_user[key]
    """)
    recs, error = scan_source(code, select=("OPT206",))
    assert error is None
    assert [r.line for r in recs] == [13]  # by_user only


def test_two_repeats_of_one_call_on_one_line_are_one_finding():
    # Held-out K: ragflow's `json.loads(key).get("ep_id") + json.loads(key).get("endpoint_id")`
    # was reported twice at the same line, with the same words.
    recs, error = scan_source(textwrap.dedent("""
        import json

        class Chat:
            def configure(self, key):
                api_key = json.loads(key).get("ark_api_key", "")
                model = json.loads(key).get("ep_id", "") + json.loads(key).get("endpoint_id")
                return api_key, model
    """), select=("OPT210",))
    assert error is None
    assert [(r.line, r.column) for r in recs] == [(7, 17)]


def test_a_reread_in_an_assert_message_or_a_raise_is_an_error_path():
    # Held-out S41: mle-bench's prepare scripts check a CSV in an assert's test and read it
    # again in the f-string message, which runs only when the check fails; a re-read in the
    # test of the next assert is still a repeat.
    assert rules("""
        from pathlib import Path
        from pandas import read_csv

        def prepare(private: Path) -> None:
            assert len(read_csv(private / "answers.csv")) > 0, (
                f"got {len(read_csv(private / 'answers.csv'))} rows"
            )
            assert "id" in read_csv(private / "answers.csv").columns, (
                f"columns: {read_csv(private / 'answers.csv').columns}"
            )
            raise ValueError(
                f"not ready: {read_csv(private / 'answers.csv')}")
    """, ("OPT210",)) == [("OPT210", 9)]


def test_a_path_picked_per_iteration_is_not_one_input_parsed_again():
    # Held-out S41: evalchemy's token counter picks a data file per split inside the loop
    # (`if split == ...: path = "...json"`), then parses it: a file per iteration, each a
    # constant. A path bound once in the loop is the same input every time.
    code = textwrap.dedent("""
        import json

        def count_tokens(args):
            total = 0
            splits = ["free", "choice"] if args.split == "all" else [args.split]
            for split in splits:
                if split == "free":
                    path = "data/free.json"
                elif split == "choice":
                    path = "data/choice.json"
                with open(path) as f:
                    data = json.load(f)
                    total += len(data)
            for split in splits:
                path = "data/all.json"
                with open(path) as f:
                    data = json.load(f)
                    total += len(data[split])
            return total
    """)
    recs, error = scan_source(code, rel="pkg/utils/count.py", select=("OPT203",))
    assert error is None
    assert [r.line for r in recs] == [18]


def test_a_session_from_a_private_factory_is_shared_by_the_iterations():
    """Held-out N (private-gpt): `async with self._session_factory() as session:` then one
    awaited query per row on that session. One AsyncSession runs one operation at a time:
    the iterations depend on it (not run at once). So does any object a `with` binds to a
    name that says it is a session (held-out S29: phoenix's `async with self._db.read() as
    session`), but for a client the catalog knows serves requests at once. Another private
    factory's object, by another name, does not."""
    for factory, name, dependent in (
            ("self._session_factory()", "session", True), ("self._make()", "session", True),
            ("self._make()", "client", False), ("aiohttp.ClientSession()", "session", False)):
        code = textwrap.dedent(f"""
            import aiohttp

            class Skills(Base):
                async def latest(self, rows):
                    async with {factory} as {name}:
                        items = []
                        for row in rows:
                            items.append(await _latest({name}, row.id))
                        return items
        """)
        facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
        assert [loop.dependent for loop in facts.loops] == [dependent], (factory, name)


def test_a_counter_every_iteration_draws_from_makes_them_dependent():
    """Held-out N (Upsonic's Bedrock mapping): `count(1)` made before the loop and handed
    to each awaited call, which takes the next number: run at once, the numbers would go
    to the items in another order."""
    for made, dependent in (("count(1)", True), ("list(range(3))", False)):
        code = textwrap.dedent(f"""
            from itertools import count

            async def map_all(self, parts):
                numbers = {made}
                out = []
                for part in parts:
                    out.append(await self._map(part, numbers))
                return out
        """)
        facts = analyze_bytes("m.py", code.encode(), load_catalog(), 10**6)
        assert [loop.dependent for loop in facts.loops] == [dependent], made


def test_a_retry_count_from_a_constant_counts_as_its_literal():
    # Held-out S31 (DeepResearch): `for attempt in range(max_retries)` with `max_retries = 3`
    # a line above, or a module constant, was an unknown count: ranked as a long retry.
    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import time
        import requests

        RETRIES = 3
        MANY = 10

        def read_local(url):
            max_retries = 3
            for attempt in range(max_retries):
                try:
                    return requests.get(url, timeout=5).text
                except requests.RequestException:
                    time.sleep(0.5)

        def read_module(url):
            for attempt in range(RETRIES):
                try:
                    return requests.get(url, timeout=5).text
                except requests.RequestException:
                    time.sleep(0.5)

        def read_many(url):
            for attempt in range(MANY):
                try:
                    return requests.get(url, timeout=5).text
                except requests.RequestException:
                    time.sleep(0.5)

        def read_changed(url, n):
            tries = 3
            tries = n
            for attempt in range(tries):
                try:
                    return requests.get(url, timeout=5).text
                except requests.RequestException:
                    time.sleep(0.5)
    """)
    recs, error = scan_source(code, select=("OPT207",))
    assert error is None
    few = {r.symbol: "at most 3 attempts" in r.message for r in recs}
    assert few == {"read_local": True, "read_module": True, "read_many": False,
                   "read_changed": False}


def test_a_module_level_loop_reading_files_is_analyzed():
    # Held-out S42: sql-eval's `upload_wandb.py`, code-act's and ADAS' data scripts (loops
    # of `pd.read_csv`/`json.load` at module level, no function in the file) were
    # internal-error records: the per-iteration check looked up function -1.
    from optadvisor.api import scan_source

    code = (
        "import json\nimport os\nimport pandas as pd\n\n"
        "frames = []\n"
        "for name in os.listdir('results'):\n"
        "    frames.append(pd.read_csv(os.path.join('results', name)))\n"
        "for split in ['a', 'b']:\n"
        "    data = json.load(open('config.json'))\n")
    recs, error = scan_source(code, rel="pkg/upload.py")
    assert error is None


def test_a_comprehension_target_is_per_item_whatever_a_module_name_of_its_spelling_holds():
    # Held-out S42g: garak's report digest parses `[json.loads(line.strip()) for line in
    # reportfile]`; a module-level `for line in f:` above made `line` look like a constant
    # and the parse a re-read of one fixed input (OPT203).
    code = (
        "import json\n\n"
        "tags = {}\n"
        "with open('tags.tsv') as f:\n"
        "    for line in f:\n"
        "        key, title = line.strip().split('\\t')\n"
        "        tags[key] = title\n\n\n"
        "def parse(reportfile):\n"
        "    evals = []\n"
        "    for record in [json.loads(line.strip()) for line in reportfile]:\n"
        "        evals.append(record)\n"
        "    return evals\n")
    recs, error = scan_source(code, rel="pkg/digest.py", select=("OPT203",))
    assert error is None and recs == []


def test_a_cache_on_a_method_of_a_private_singleton_keeps_nothing_alive():
    # Held-out S45c: infinity's telemetry makes `_PostHogCapture` once, at module level;
    # `@property @cache def anonymous_user_id(self)` holds that one instance, which lives
    # as long as the module anyway. A public class (others may make more), one made again
    # inside a function, or one a subclass derives from is still reported.
    singleton = textwrap.dedent("""
        from functools import cache

        class _Capture:
            @property
            @cache
            def anonymous_user_id(self):
                return "x"

        PostHog = _Capture()
    """)
    recs, _ = scan_source(singleton, select=("OPT205",))
    assert recs == []
    for changed in (singleton.replace("_Capture", "Capture"),
                    singleton + "\ndef fresh():\n    return _Capture()\n",
                    singleton + "\nclass _Other(_Capture):\n    pass\n"):
        recs, _ = scan_source(changed, select=("OPT205",))
        assert [r.rule for r in recs] == ["OPT205"], changed


def test_a_dict_listed_whole_by_code_that_does_not_fill_it_is_a_registry():
    # Held-out S47: nonebot_plugin_naturel_gpt's ChatManager keeps every chat, and the admin
    # commands list them all; a bound would drop live chats from that list.
    registry = """
        class ChatManager:
            _chats = {}

            def get_or_create(self, chat_key):
                if chat_key not in self._chats:
                    self._chats[chat_key] = object()
                return self._chats[chat_key]

            def all_chats(self):
                return list(self._chats.values())
        """
    assert rules(registry, ("OPT206",)) == []
    # Closing every entry at shutdown lists nothing: the cache still grows per user.
    cache = registry.replace("def all_chats(self):\n                return list("
                             "self._chats.values())",
                             "def close(self):\n                for c in self._chats.values():"
                             "\n                    c.close()")
    assert "def close" in cache
    assert rules(cache, ("OPT206",)) == [("OPT206", 3)]


def test_urlopen_of_a_data_uri_opens_no_socket():
    # Held-out S47: hikari's data URI parser refuses any other URL before urlopen decodes it.
    found = rules("""
        import urllib.request

        def from_data_uri(data_uri):
            if not data_uri.startswith("data:"):
                raise ValueError("Invalid data URI passed")
            with urllib.request.urlopen(data_uri) as response:
                return response.read()

        def literal():
            return urllib.request.urlopen("data:text/plain;base64,SGk=").read()

        def fetch(url):
            if not url.startswith(("http:", "https:")):
                raise ValueError(url)
            return urllib.request.urlopen(url).read()

        async def guarded_later(uri):
            body = urllib.request.urlopen(uri).read()
            if not uri.startswith("data:"):
                return None
            return body
        """, ("OPT202", "OPT101"))
    assert found == [("OPT202", 16), ("OPT101", 19)]
