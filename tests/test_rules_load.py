"""Rule files: every mistake names its file and line; hostile content is refused."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from optadvisor.analyze.catalog import CatalogError, load_catalog
from optadvisor.cli import app
from optadvisor.inputs import toml_nesting_line
from optadvisor.rules import RuleError, load_rule, load_rules

GOOD = '''id = "OPT901"
kind = "demo"
category = "async"
priority = "low"
subject = "call"
title = "Demo"
when = "call.blocking"
message = "{{ call.name }} in {{ function.name }}"

[fix]
after = "x"

[[examples]]
triggers = 0
code = "x = 1"
'''


def rule_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "OPT901.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        load_rule(rule_file(tmp_path, text))
    return info.value


def test_good_rule_loads(tmp_path):
    compiled = load_rule(rule_file(tmp_path, GOOD))
    assert compiled.rule.id == "OPT901"
    assert compiled.rule.examples[0].line == 13


@pytest.mark.parametrize("old,new,line,fragment", [
    ('when = "call.blocking"', 'when = "call.blocking and"', 7, "syntax error"),
    ('when = "call.blocking"', 'when = "call.nope"', 7, "has no field `nope`"),
    ('when = "call.blocking"', 'when = "__import__(\'os\')"', 7, "calls are limited"),
    ('when = "call.blocking"', 'when = "call.__class__"', 7, "starting with _"),
    ('when = "call.blocking"', 'when = "call.line == \'x\'"', 7, "cannot compare"),
    ('priority = "low"', 'priority = "urgent"', 4, "`priority` must be one of"),
    ('subject = "call"', 'subject = "galaxy"', 5, "`subject` must be one of"),
    ('id = "OPT901"', 'id = "nope"', 1, "must look like OPT101"),
    ('title = "Demo"', 'title = "Demo"\nspeed = 3', 7, "unknown key `speed`"),
    ('message = "{{ call.name }} in {{ function.name }}"', 'message = "{{ call.name "', 8,
     "template error"),
    ('message = "{{ call.name }} in {{ function.name }}"', 'message = "{{ os.system }}"', 8,
     "unknown name(s) os"),
    ('message = "{{ call.name }} in {{ function.name }}"',
     'message = "{{ call.__class__.__mro__ }}"', 8, "names starting with _"),
    ('after = "x"', 'after = "{{ call[\'__init__\'] }}"', 11, "names starting with _"),
    # attr-style access: the sandbox blocks it when rendering; the author hears it here.
    ('after = "x"', """after = "{{ ''|attr('__class__') }}\"""", 11, "reaches for `__class__`"),
    ('after = "x"', """after = '{{ call|attr("_y") }}'""", 11, "reaches for `_y`"),
    ('after = "x"', """after = '{{ [call]|map(attribute="fact._x")|list }}'""", 11,
     "reaches for `fact._x`"),
    ('after = "x"', """after = '{{ [call]|selectattr("__class__")|list }}'""", 11,
     "names starting with _"),
    ('after = "x"', """after = '''\nok\n{{ call|attr("_y") }}'''""", 13, "reaches for `_y`"),
    ('after = "x"', """after = '{% include "x" %}'""", 11, "uses {% include %}"),
    ('after = "x"', """after = '{% import "x" as y %}'""", 11, "uses {% import %}"),
    ('after = "x"', """after = '{% from "x" import y %}'""", 11, "uses {% from ... import %}"),
    ('after = "x"', 'after = "{{ ' + "(" * 100 + "1" + ")" * 100 + ' }}"', 11,
     "nests brackets more than"),
    ('after = "x"', 'after = "{{ call.name' + " ~ call.name + 1" * 40 + ' }}"', 11,
     "nests more than 30 levels"),
    ('after = "x"', 'after = "' + "x" * 20_001 + '"', 11, "characters long (limit 20,000)"),
    ('triggers = 0', 'triggers = -1', 13, "`triggers` must be a count"),
    ('title = "Demo"', 'title = "Demo"\ndemote = "call.nope"', 7, "bad `demote` expression"),
    ('title = "Demo"', 'title = "Demo"\ndemote = 3', 7, "`demote` must be"),
])
def test_errors_name_file_and_line(tmp_path, old, new, line, fragment):
    assert old in GOOD
    err = error_for(tmp_path, GOOD.replace(old, new))
    assert err.path.name == "OPT901.toml"
    assert err.line == line, str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"{err.path}:{line}: ")


def test_invalid_toml_names_line(tmp_path):
    err = error_for(tmp_path, GOOD.replace('kind = "demo"', 'kind = "demo'))
    assert err.line == 2 and "invalid TOML" in str(err)


def test_missing_key(tmp_path):
    err = error_for(tmp_path, GOOD.replace('kind = "demo"\n', ""))
    assert "missing required key `kind`" in str(err)


def test_shipped_rules_load_and_are_documented():
    rules = load_rules()
    assert {c.rule.id for c in rules} >= {"OPT101", "OPT201", "OPT202"}
    for compiled in rules:
        docs = compiled.rule.docs
        for key in ("what", "why", "example", "instead", "impact", "safety"):
            assert docs.get(key, "").strip(), f"{compiled.rule.id} lacks docs.{key}"


def test_duplicate_ids_across_rule_dirs(tmp_path):
    (tmp_path / "dup.toml").write_text(GOOD.replace("OPT901", "OPT101"), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_rules((tmp_path,))
    assert "already defined" in str(info.value) and info.value.line == 1


def test_rules_check_cli(tmp_path):
    runner = CliRunner()
    good = rule_file(tmp_path, GOOD)
    result = runner.invoke(app, ["rules", "check", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('when = "call.blocking"', 'when = "call.nope"'), encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{bad}:7:" in result.output


def test_rules_show_and_list():
    runner = CliRunner()
    shown = runner.invoke(app, ["rules", "show", "opt101"])
    assert shown.exit_code == 0
    for heading in ("What it does", "Why is this slow?", "Use instead", "Expected impact",
                    "Fix safety"):
        assert heading in shown.output
    listed = runner.invoke(app, ["rules", "list"])
    assert listed.exit_code == 0 and "OPT202" in listed.output
    assert runner.invoke(app, ["rules", "show", "OPT999"]).exit_code == 2


def test_rules_check_runs_examples(tmp_path):
    wrong = GOOD.replace("triggers = 0\ncode = \"x = 1\"",
                         "triggers = 1\ncode = \"x = 1\"")
    path = rule_file(tmp_path, wrong)
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:13: example does not hold: expected 1, got 0" in result.output


def test_rules_check_shipped_rules():
    from optadvisor.resources import rules_dir

    # Profile examples run in test_rule_examples.py; here only their loading is checked.
    result = CliRunner().invoke(app, ["rules", "check", "--no-profile", str(rules_dir())])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------- rule files as data


def _limited_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def optadvisor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """In a child with a timeout and 2 GiB of address space: before the checks, a FIFO
    hung the read and /dev/zero filled memory."""
    return subprocess.run([sys.executable, "-m", "optadvisor", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited_memory,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def special_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "OPT950-fifo.toml")
    (folder / "OPT951-zero.toml").symlink_to("/dev/zero")
    return {"a FIFO": folder / "OPT950-fifo.toml",
            "a character device": folder / "OPT951-zero.toml"}


def test_rules_check_refuses_special_files(tmp_path):
    for kind, path in special_files(tmp_path / "rules").items():
        done = optadvisor("rules", "check", str(path), cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert f"error {path}: cannot read rule file: is {kind}, not a regular file" in \
            done.stderr


def test_scan_refuses_special_rule_files_and_catalogs(tmp_path):
    special = special_files(tmp_path / "rules")
    write(tmp_path, {"app.py": "import time\n"})
    for setting, target, message in (
            ("rule-dirs", '"rules"', "cannot read rule file: is a FIFO, not a regular file"),
            ("catalogs", '"rules/OPT950-fifo.toml"', "cannot read catalog: is a FIFO, not "
             "a regular file"),
            ("catalogs", '"rules/OPT951-zero.toml"', "/dev/zero: cannot read catalog: is a "
             "character device, not a regular file")):
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.optadvisor]\n{setting} = [{target}]\n", encoding="utf-8")
        done = optadvisor("scan", ".", "--no-cache", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
    assert special  # both were made


def test_deeply_nested_rule_file_names_file_and_line(tmp_path):
    # tomllib recursed once per level: RecursionError, no file named.
    err = error_for(tmp_path, GOOD + "\nnote = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert err.line == 17 and "nests deeper than 64 levels" in str(err), str(err)
    err = error_for(tmp_path, GOOD.replace(
        'kind = "demo"', 'kind = "demo"\nx = ' + "{a = " * 100_000 + "1" + "}" * 100_000))
    assert err.line == 3 and "nests deeper than 64 levels" in str(err), str(err)


def test_oversized_rule_file_is_refused(tmp_path):
    err = error_for(tmp_path, GOOD + "# " + "x" * (1 << 20) + "\n")
    assert err.line is None and "over the 1,048,576-byte limit" in str(err)


def test_deeply_nested_catalog_names_file_and_line(tmp_path):
    path = tmp_path / "apis.toml"
    path.write_text("[[blocking]]\nnames = " + "[" * 100_000 + "]" * 100_000 + "\n",
                    encoding="utf-8")
    with pytest.raises(CatalogError, match=f"^{re.escape(str(path))}:2: cannot read "
                       "catalog: nests deeper than 64 levels"):
        load_catalog([path])


def test_nesting_scan_skips_strings_and_comments():
    text = ('a = "[[[[{{{{"\nb = \'\'\'\n[[[[[[\n\'\'\'\n# [[[[[[[[\n'
            'c = """ \\" [[[[ """\nd = [[1], {x = [2]}]\n')
    assert toml_nesting_line(text * 20, limit=3) is None
    assert toml_nesting_line(text + "e = [[[[1]]]]\n", limit=3) == 8


def test_demote_ranks_a_finding_one_level_down_and_nothing_else():
    # OPT103's `demote = "loop.local"`: a loop of local file reads is reported one level
    # down; the same loop over requests keeps the rule's priority.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import aiofiles, httpx

        CLIENT = httpx.AsyncClient(timeout=5)

        async def read_source(path):
            async with aiofiles.open(path) as f:
                return await f.read()

        async def fetch(url):
            return (await CLIENT.get(url)).text

        async def load_all(paths):
            return [await read_source(p) for p in paths]

        async def fetch_all(urls):
            return [await fetch(u) for u in urls]
    """)
    recs, error = scan_source(code, select=("OPT103",))
    assert error is None
    assert sorted((r.line, r.priority, "local file" in r.message) for r in recs) == [
        (14, "medium", True), (17, "high", False)]


def test_a_docker_lookup_ranks_below_a_pull():
    # eval F: a container lookup over the local socket (ms) was ranked with an image pull.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import docker

        class Sandbox:
            def __init__(self):
                self.docker = docker.from_env()

            async def start(self, image):
                self.docker.images.pull(image)
                return self.docker.containers.get("c")
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(9, "high"), (10, "medium")]
    # The same through helpers (OPT104): the lookup at the chain's end decides.
    helpers = textwrap.dedent("""
        import docker

        class Sandbox:
            def __init__(self):
                self.docker = docker.from_env()

            def image_exists(self, image):
                return self.docker.images.get(image)

            def pull(self, image):
                return self.docker.images.pull(image)

            async def start(self, image):
                self.pull(image)
                return self.image_exists(image)
    """)
    recs, error = scan_source(helpers, select=("OPT104",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(15, "high"), (16, "medium")]


def test_work_on_a_failure_or_a_first_run_ranks_one_level_down():
    # eval F: a cleanup after a failed create, `npm install` only when node_modules is
    # missing, an embedding fallback after a batch call failed: real, but rare.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import os, subprocess, time
        import httpx

        CLIENT = httpx.AsyncClient(timeout=5)

        def cleanup(name):
            subprocess.run(["docker", "stop", name])

        async def create(name, items):
            subprocess.run(["docker", "create", name])
            if not os.path.exists("node_modules"):
                subprocess.run(["npm", "install"])
            try:
                await CLIENT.post("/batch", json=items)
            except httpx.HTTPError:
                cleanup(name)
                for item in items:
                    await CLIENT.post("/one", json=item)
            cleanup(name)
    """)
    recs, error = scan_source(code, select=("OPT101", "OPT103", "OPT104"))
    assert error is None
    assert sorted((r.line, r.rule, r.priority) for r in recs) == [
        (11, "OPT101", "high"), (13, "OPT101", "medium"), (17, "OPT104", "medium"),
        (18, "OPT103", "medium"), (20, "OPT104", "high")]
    assert "exception handler" in next(r.message for r in recs if r.line == 17)
    assert "first run" in next(r.message for r in recs if r.line == 13)


def test_a_coroutine_alone_on_a_loop_of_its_own_is_not_reported():
    # eval D (OpenHands EventStream) and F (camel): a coroutine run only by
    # run_until_complete on a private loop in a thread, or by asyncio.run, with nothing
    # else on that loop; a coroutine that gathers others is not alone.
    from pathlib import Path

    from optadvisor.api import scan_source

    code = Path(__file__).with_name("alone_on_loop.py").read_text()
    recs, error = scan_source(code, select=("OPT101", "OPT104"))
    assert error is None
    assert sorted((r.line, r.priority) for r in recs) == [(26, "high")]


def test_a_test_that_drives_a_coroutine_its_own_way_does_not_make_it_shared(tmp_path):
    # Held-out Q: gptme's ACP step runs under asyncio.run in a thread of its own; its
    # tests run it on their loop, which said nothing of the service (8 findings).
    from optadvisor.api import ScanOptions, scan

    root = write(tmp_path / "repo", {
        "pkg/__init__.py": "",
        "pkg/step.py": (
            "import asyncio, threading, requests\n\n\n"
            "async def _step(url):\n"
            "    return requests.get(url, timeout=5).json()\n\n\n"
            "def start(url):\n"
            "    def _run():\n"
            "        asyncio.run(_step(url))\n"
            "    threading.Thread(target=_run, daemon=True).start()\n"),
        "tests/test_step.py": (
            "import asyncio\nfrom pkg import step\n\n\n"
            "def _run(coro):\n"
            "    return asyncio.get_event_loop().run_until_complete(coro)\n\n\n"
            "def test_step():\n"
            "    _run(step._step('http://x'))\n"),
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    assert [(r.path, r.line) for r in report.recommendations] == []


def test_a_script_main_run_by_module_level_asyncio_run_is_alone(tmp_path):
    # Held-out R: AI-Researcher's paper-writing scripts run `asyncio.run(writing(...))`
    # under a `__main__` guard; `writing` awaits the composing steps one by one: nothing
    # else is on that loop (29 findings, all of no value). A main that gathers
    # is not alone, nor are the coroutines it gathers.
    from optadvisor.api import ScanOptions, scan

    root = write(tmp_path / "repo", {
        "paper/compose.py": (
            "import asyncio, time\n\n\n"
            "async def compose(field):\n"
            "    time.sleep(1)\n"
            "    return field\n\n\n"
            "if __name__ == '__main__':\n"
            "    asyncio.run(compose('vq'))\n"),
        "paper/writing.py": (
            "import asyncio\nfrom compose import compose\n\n\n"
            "async def writing(field):\n"
            "    await compose(field)\n\n\n"
            "if __name__ == '__main__':\n"
            "    asyncio.run(writing('vq'))\n"),
        "crawl/run.py": (
            "import asyncio, time\n\n\n"
            "async def fetch(name):\n"
            "    time.sleep(1)\n"
            "    return name\n\n\n"
            "async def main(names):\n"
            "    return await asyncio.gather(*(fetch(n) for n in names))\n\n\n"
            "if __name__ == '__main__':\n"
            "    asyncio.run(main(['a', 'b']))\n"),
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    assert [(r.path, r.line) for r in report.recommendations] == [("crawl/run.py", 5)]


def test_a_coroutine_run_alone_that_gathers_is_alone_outside_its_gather(tmp_path):
    # Held-out R: modelscope's `get_perception_infos`, run by `asyncio.run` in a sync
    # `observe`, takes a screenshot before its `await asyncio.gather(...)` and removes a
    # folder after it: no other task is on that loop then. The gathered tasks run beside
    # each other; one that creates a task keeps it running past the statement.
    from optadvisor.api import ScanOptions, scan

    root = write(tmp_path / "repo", {"env/adb.py": (
        "import asyncio, subprocess, time\n\n\n"
        "class Env:\n"
        "    def observe(self):\n"
        "        return asyncio.run(self.perceive())\n\n"
        "    def watch(self):\n"
        "        return asyncio.run(self.background())\n\n"
        "    async def perceive(self):\n"
        "        subprocess.run(['adb', 'shot'])\n"
        "        found = await asyncio.gather(self.caption('a'), self.caption('b'))\n"
        "        time.sleep(0.5)\n"
        "        return found\n\n"
        "    async def caption(self, name):\n"
        "        time.sleep(1)\n"
        "        return name\n\n"
        "    async def background(self):\n"
        "        task = asyncio.create_task(self.caption('c'))\n"
        "        time.sleep(2)\n"
        "        return await task\n")})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    assert [(r.symbol, r.line) for r in report.recommendations] == [
        ("Env.caption", 18), ("Env.background", 23)]


def test_a_scripts_own_coroutines_run_alone_under_its_asyncio_run(tmp_path):
    # Held-out R: AI-Researcher's `benchmark_collection/0_crawl_paper.py` (a script: no
    # import can name it) runs `main` under `asyncio.run`; `main` awaits `download_papers`,
    # which calls a sync helper that downloads. The script's own calls decide that its
    # coroutines are alone, as a library module's do.
    from optadvisor.api import ScanOptions, scan

    root = write(tmp_path / "repo", {"collect/0_crawl.py": (
        "import asyncio, requests\n\n\n"
        "def download(url):\n    return requests.get(url, timeout=5).content\n\n\n"
        "async def download_all(urls):\n    return [download(u) for u in urls]\n\n\n"
        "async def main():\n    await download_all(['a', 'b'])\n\n\n"
        "if __name__ == '__main__':\n    asyncio.run(main())\n")})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                              select=("OPT101", "OPT104")))
    assert [(r.rule, r.line) for r in report.recommendations] == []


def test_another_files_main_handed_over_leaves_a_scripts_main_alone(tmp_path):
    # Held-out S30 (MobileAgent): absl's `app.run(main)` in one module of the project did
    # not hand over the coroutine `main` a script runs under `asyncio.run` (it names that
    # module's own `main`); a plain name counts only where it resolves to the coroutine.
    from optadvisor.api import ScanOptions, scan

    script = (
        "import asyncio, requests\n\n\n"
        "def download(url):\n    return requests.get(url, timeout=5).content\n\n\n"
        "async def main(args):\n    download(args)\n    await asyncio.sleep(0)\n\n\n"
        "if __name__ == '__main__':\n    asyncio.run(main('u'))\n")
    absl = ("from absl import app\n\n\n"
            "def main(argv):\n    print(argv)\n\n\n"
            "def start():\n    app.run(main)\n")
    handing = ("import asyncio\nfrom web.run import main\n\n\n"
               "def start(loop_runner):\n    loop_runner(main)\n")
    root = write(tmp_path / "repo", {"web/run.py": script, "env/launch.py": absl})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    assert [(r.rule, r.line) for r in report.recommendations] == []
    # The script's own `main`, handed over by name where it is imported: not alone.
    root = write(tmp_path / "repo2", {"web/run.py": script, "env/launch.py": handing})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    assert [(r.rule, r.line) for r in report.recommendations] == [("OPT104", 9)]


def test_a_coroutine_also_handed_over_uncalled_is_not_alone_on_its_loop():
    # Held-out P: openllmetry's uploader runs `aupload` under asyncio.run in a sync
    # wrapper, and also hands it to its instrumentations, which await it on the user's
    # loop: the blocking request in it stalls that loop.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import asyncio
        import requests

        class Uploader:
            def upload(self, name):
                asyncio.run(self.aupload(name))

            async def aupload(self, name):
                return requests.post("http://x/images", json={"n": name}, timeout=5)

        class Quiet:
            def run(self):
                asyncio.run(self.work())

            async def work(self):
                return requests.get("http://x/ping", timeout=5)

        def configure(uploader, register):
            register(on_image=uploader.aupload)
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert sorted((r.line, r.priority) for r in recs) == [(10, "high")]


def test_only_a_check_of_a_credential_or_an_endpoint_is_setup_code():
    # Held-out P: babyagi's `check_report_status` polls a report on every run, and was
    # ranked as a one-off check like `check_api_key`.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import requests

        def check_api_key(key):
            return requests.get("https://api.example.com/me", headers={"k": key})

        def check_for_update():
            return requests.get("https://pypi.org/pypi/tool/json").json()

        def check_report_status(token, report_id):
            return requests.get(f"https://api.example.com/tasks/{report_id}")

        def validate_license(key):
            return requests.post("https://api.example.com/license", json={"k": key})
    """), select=("OPT202",))
    assert error is None
    assert sorted((r.line, r.priority) for r in recs) == [
        (5, "medium"), (8, "medium"), (11, "high"), (14, "high")]


def test_a_client_built_for_one_long_call_ranks_one_level_down_outside_routes():
    # eval D/E/F: an OpenAI client per image generation or chat completion, a Bedrock
    # client per agent run: the handshake is a few percent of the call. A moderation answers
    # fast (the handshake is much of it), and a route pays it on every request.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        from fastapi import FastAPI
        from openai import OpenAI, AsyncOpenAI

        app = FastAPI()

        def draw(prompt):
            client = OpenAI()
            return client.images.generate(model="m", prompt=prompt)

        def moderate(text):
            client = OpenAI()
            return client.moderations.create(input=text)

        @app.post("/chat")
        async def chat(q: str):
            client = AsyncOpenAI()
            return await client.chat.completions.create(model="m", messages=[q])
    """)
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    # Once per call of its function, every one ranks low; the words say which client only
    # serves calls that take seconds.
    assert sorted((r.line, r.priority, "take seconds" in r.message) for r in recs) == [
        (8, "low", True), (12, "low", False), (17, "low", False)]


def test_waiting_for_a_person_at_the_terminal_is_not_reported():
    # eval E/F, held-out M and O: input() and console prompts in async console tools (a
    # REPL, a human player, a review step): waiting for the person is the point; every such
    # finding was judged not worth it. A helper that also makes a request is still reported,
    # one level down, in words (a prompt in a worker thread ignores Ctrl+C).
    from optadvisor.api import scan_source

    code = ("import requests\nfrom rich.prompt import Prompt\n\n\n"
            "def ask():\n    return input('> ')\n\n\n"
            "def pick():\n    items = requests.get('http://x/items', timeout=5).json()\n"
            "    return Prompt.ask('item', choices=items)\n\n\n"
            "async def repl():\n    line = input('> ')\n    name = Prompt.ask('name')\n"
            "    items = requests.get('http://x/items', timeout=5)\n"
            "    return ask(), line, name, pick(), items\n\n\n"
            "async def choose():\n    return pick()\n")
    recs, error = scan_source(code, select=("OPT101", "OPT104"))
    assert error is None
    # repl prompts itself: its loop serves the console user, so its request (17) and the
    # helper (18) are not reported either.
    assert [(r.line, r.rule, r.priority) for r in recs] == [(22, "OPT104", "medium")]
    assert "also waits for a person at the terminal" in recs[0].message
    assert recs[0].fix is not None and recs[0].fix.applicability == "manual"


def test_code_marked_deprecated_ranks_one_level_down_and_says_so():
    # eval G: semantic-kernel's @deprecated memory stores held 31 findings whose
    # replacements already use async clients.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import time
        from typing_extensions import deprecated

        @deprecated("use AsyncStore")
        class Store:
            async def get(self):
                time.sleep(1)

        class New:
            @deprecated("use fine")
            async def old(self):
                time.sleep(1)

            async def fine(self):
                time.sleep(1)
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(8, "medium"), (13, "medium"), (16, "high")]
    assert ["@deprecated" in r.message for r in recs] == [True, True, False]


def test_a_client_built_in_a_pydantic_validator_is_built_once_per_object():
    # eval G (langchain-community AzureOpenAIEmbeddings.post_init_validator): 2 wrong OPT201.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import openai
        from pydantic import BaseModel, model_validator

        class Embeddings(BaseModel):
            @model_validator(mode="after")
            def post_init_validator(self):
                client = openai.AzureOpenAI()
                self.client = client.embeddings
                return self

            def embed(self, text):
                client = openai.AzureOpenAI()
                return client.embeddings.create(input=[text])
    """)
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    assert [r.line for r in recs] == [13]


def test_an_exception_handler_inside_a_retry_loop_is_not_a_rare_path():
    # eval E (MetaGPT stanford_town): `time.sleep(5)` between attempts of an async retry
    # loop stalls every role on every failure — a TP that ranking it as "rare" demoted.
    from optadvisor.api import scan_source

    code = ("import time, httpx\n\n\n"
            "async def ask(client, q):\n    for attempt in range(3):\n        try:\n"
            "            return await client.post('/x', json=q)\n"
            "        except httpx.HTTPError:\n            time.sleep(5)\n\n\n"
            "async def once(client, q):\n    try:\n"
            "        return await client.post('/x', json=q)\n"
            "    except httpx.HTTPError:\n        time.sleep(5)\n")
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(9, "high"), (16, "medium")]


def test_an_opt_in_rule_runs_only_when_named(tmp_path):
    # OPT106 (one small file read in a coroutine) is opt-in: not in the default selection,
    # nor picked by a prefix (`OPT1`); picked by its id, by ALL, or by extend-select.
    from optadvisor.api import ScanOptions, scan

    code = "import json\n\n\nasync def settings(path):\n    return json.load(open(path))\n"
    root = write(tmp_path / "repo", {"svc/app.py": code})

    def rules(select=(), config=""):
        options = {"paths": (root,), "use_cache": False, "jobs": 1, "select": select}
        if config:
            (root / "pyproject.toml").write_text(config)
        return sorted({r.rule for r in scan(ScanOptions(**options)).recommendations})

    assert rules() == []
    assert rules(("OPT1",)) == []
    assert rules(("OPT106",)) == ["OPT106"]
    assert rules(("ALL",)) == ["OPT106"]
    assert rules(config='[tool.optadvisor]\nextend-select = ["OPT106"]\n') == ["OPT106"]
    assert rules(config='[tool.optadvisor]\nextend-select = ["OPT106"]\nignore = ["OPT1"]\n'
                 ) == ["OPT106"]


def test_an_await_for_items_of_one_kind_ranks_one_level_down():
    # Held-out S: LangBot's and AstrBot's adapters await a download or an upload only for
    # the images among a message's parts (`if isinstance(comp, Image):`), usually one.
    from optadvisor.api import scan_source

    code = ("import httpx\n\n\n"
            "async def convert(client: httpx.AsyncClient, chain, Image):\n"
            "    parts = []\n"
            "    for comp in chain:\n"
            "        if isinstance(comp, Image):\n"
            "            parts.append(await client.get(comp.url))\n"
            "    return parts\n\n\n"
            "async def fetch_all(client: httpx.AsyncClient, urls):\n"
            "    return [await client.get(u) for u in urls]\n")
    recs, error = scan_source(code, select=("OPT103",))
    assert error is None
    assert [(r.symbol, r.priority) for r in recs] == [("convert", "medium"), ("fetch_all", "high")]


def test_code_switched_off_under_if_false_is_not_reported():
    # Held-out T: 01's server keeps a `time.sleep(10)` under `if False:`.
    from optadvisor.api import scan_source

    code = ("import time\n\n\nasync def serve():\n    if False:\n        time.sleep(10)\n"
            "    if 0:\n        time.sleep(1)\n    else:\n        time.sleep(2)\n")
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [10]


def test_code_for_type_checkers_only_is_not_reported():
    # Held-out S29: phoenix's client keeps a usage sample (a client per call) under
    # `if TYPE_CHECKING:`, a block that never runs.
    from optadvisor.api import scan_source

    code = ("import typing\nfrom typing import TYPE_CHECKING\nimport httpx\n\n"
            "if TYPE_CHECKING:\n    def _(url):\n        with httpx.Client() as c:\n"
            "            return c.get(url, timeout=5)\n\n"
            "if typing.TYPE_CHECKING:\n    def _(url):\n        with httpx.Client() as c:\n"
            "            return c.get(url, timeout=5)\n"
            "else:\n    def fetch(url):\n        with httpx.Client() as c:\n"
            "            return c.get(url, timeout=5)\n")
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    assert [r.symbol for r in recs] == ["fetch"]


def test_a_missing_timeout_in_an_exception_handler_ranks_as_its_blocking_call_does():
    # Held-out U: AIOS relaunches Chrome with `requests.post` in an `except` fallback;
    # OPT101 ranked the call one level down, the site's timeout facet kept it high.
    from optadvisor.api import scan_source

    code = ("import requests\n\n\n"
            "def relaunch(url, payload):\n    try:\n        return connect(url)\n"
            "    except ConnectionError:\n        return requests.post(url, data=payload)\n\n\n"
            "def fetch(url):\n    return requests.get(url)\n")
    recs, error = scan_source(code, select=("OPT202",))
    assert error is None
    assert [(r.line, r.priority) for r in recs] == [(8, "medium"), (12, "high")]
    assert "in an exception handler" in recs[0].message



def test_a_fallback_chain_builds_its_client_once_per_call_not_per_item():
    # Held-out S30 (gpt4free's Antigravity): each host in turn until one answers. The
    # normal call runs one iteration: the client is one per call, not one per item.
    import tomllib

    from optadvisor.api import scan_source

    rules = tomllib.loads((Path(__file__).parent.parent / "rules"
                           / "OPT201-client-per-call.toml").read_text())
    code = next(e["code"] for e in rules["examples"] if "fallback chain" in e["note"])
    recs, error = scan_source(code, select=("OPT201",))
    assert error is None
    said = {r.line: r.message for r in recs}
    assert "on every call of `call_endpoint`" in said[7]
    assert "every loop iteration of `post_all`" in said[20]


def test_a_helper_whose_file_work_grows_is_named_by_the_path_to_that_work():
    # Held-out S30 (Agent-E): the agent's constructor reads a small preferences file once
    # and lists skill directories per path; the finding named the path to the single read.
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import os


        def get_prefs():
            with open("prefs.txt") as f:
                return f.read()


        class Agent:
            def __init__(self, paths):
                self.prefs = self._prefs()
                self.skills = self._skills(paths)

            def _prefs(self):
                return get_prefs()

            def _skills(self, paths):
                found = []
                for path in paths:
                    found.extend(os.listdir(path))
                return found


        async def build(paths):
            return Agent(paths)
    """), select=("OPT105",))
    assert error is None
    assert [r.line for r in recs] == [26]
    assert "Agent.__init__ → Agent._skills → os.listdir" in recs[0].message


def test_a_chat_apps_message_handler_named_main_runs_per_message():
    # Held-out S30b (ai-engineering-hub's local ChatGPT apps): `@cl.on_message async def
    # main` runs per message; the blocking call in the coroutine it awaits was ranked as
    # start-up code ("only start-up or teardown code calls it").
    import textwrap

    from optadvisor.api import scan_source

    recs, error = scan_source(textwrap.dedent("""
        import chainlit as cl
        import ollama


        async def tool(text):
            reply = ollama.chat(model="llama3", messages=[{"role": "user", "content": text}])
            return reply["message"]["content"]


        @cl.on_message
        async def main(message: cl.Message):
            answer = await tool(message.content)
            await cl.Message(content=answer).send()


        async def main_loop():
            return ollama.chat(model="llama3", messages=[])
    """), select=("OPT101",))
    assert error is None
    said = {r.line: (r.priority, r.message) for r in recs}
    assert said[7][0] == "high" and "start-up" not in said[7][1]


def test_a_function_only_module_level_code_calls_runs_once(tmp_path):
    # Held-out S30b (openui): `config = generate_config()` under the `__main__` guard of
    # the package's `__main__.py` is its only caller: a client built there is built once.
    from optadvisor.api import ScanOptions, scan

    root = write(tmp_path / "repo", {
        "openui/__init__.py": "",
        "openui/litellm.py": (
            "import openai\n\n\n"
            "def generate_config():\n    client = openai.OpenAI()\n"
            "    return [m.id for m in client.models.list()]\n\n\n"
            "def per_request(prompt):\n    client = openai.OpenAI()\n"
            "    return client.chat.completions.create(model='m', messages=[prompt])\n"),
        "openui/__main__.py": (
            "from .litellm import generate_config\nfrom .server import serve\n\n"
            "if __name__ == '__main__':\n    serve(generate_config())\n"),
        "openui/server.py": (
            "from .litellm import per_request\n\n\n"
            "def serve(config):\n    return config\n\n\n"
            "def handle(prompt):\n    return per_request(prompt)\n"),
        # A library module's own smoke test under its `__main__` guard says nothing of
        # how the service calls it (S29b: GPTSwarm's search tool).
        "openui/search.py": (
            "import openai\n\n\n"
            "def search(q):\n    client = openai.OpenAI()\n"
            "    return client.responses.create(model='m', input=q)\n\n\n"
            "if __name__ == '__main__':\n    print(search('x'))\n")})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT201",)))
    found = {(r.path, r.line): r.priority for r in report.recommendations}
    assert sorted(found) == [("openui/litellm.py", 10), ("openui/search.py", 5)]
    assert found["openui/search.py", 5] == found["openui/litellm.py", 10]


def test_a_download_under_a_missing_file_check_ranks_one_level_down():
    # Held-out S34b, S34c, S35b: dataset, font and model downloads cached on disk
    # (`if not os.path.exists(path):` before the request) run on a first run only.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import os
        import requests

        def font_path(settings):
            if not os.path.exists(settings.FONT_PATH):
                r = requests.get(settings.FONT_URL)
                with open(settings.FONT_PATH, "wb") as f:
                    f.write(r.content)
            return settings.FONT_PATH

        def fetch(url):
            return requests.get(url)
    """)
    recs, error = scan_source(code, select=("OPT202",))
    assert error is None
    assert sorted((r.line, r.priority, "first run" in r.message) for r in recs) == [
        (7, "medium", True), (13, "high", False)]


def test_a_download_below_a_return_on_a_present_file_ranks_one_level_down():
    # Held-out S35b: deepchecks returns its demo asset when it is on disk
    # (`if (assets / name).exists(): return ...`, `if images.exists() and labels.exists():
    # return`) and downloads below. Not when the return is also skipped on a flag
    # (`and not force`): then the download runs whenever forced.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import requests

        def asset(assets, name, url):
            if (assets / name).exists():
                return (assets / name).read_bytes()
            data = requests.get(url).content
            return data

        def coco(images, labels, url):
            if images.exists() and labels.exists():
                return
            requests.get(url)

        def forced(path, url, force):
            if path.exists() and not force:
                return
            requests.get(url)

        def both(path, url):
            if not path.exists() and not url:
                requests.get(url)
            if not path.exists() or url:
                requests.get(url)

        def either(path, url):
            if path.exists():
                return path.read_bytes()
            else:
                return requests.get(url).content
    """)
    recs, error = scan_source(code, select=("OPT202",))
    assert error is None
    assert sorted((r.line, r.priority, "first run" in r.message) for r in recs) == [
        (7, "medium", True), (13, "medium", True), (18, "high", False),
        (22, "medium", True), (24, "high", False), (30, "medium", True)]


def test_a_path_test_that_tells_a_local_file_from_a_url_is_no_first_run():
    # Held-out S42: AIlice's PDF browser and proxy test `os.path.exists(url)` to serve a
    # local file, and request the same name otherwise: every remote input requests. A
    # download to the tested path (the name is the destination) stays a first run.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import os
        import shutil
        import requests

        def browse(url, out):
            if os.path.exists(url):
                shutil.copy(url, out)
            else:
                open(out, "wb").write(requests.get(url).content)

        def proxy(href, method):
            if not os.path.exists(href):
                return requests.request(method=method, url=href, stream=True)
            return open(href, "rb")

        def load(source):
            if os.path.isfile(source):
                return open(source).read()
            return requests.get(source).text

        def model(path, url):
            if not os.path.exists(path):
                data = requests.get(url).content
                with open(path, "wb") as f:
                    f.write(data)
            return path
    """)
    recs, error = scan_source(code, select=("OPT202",))
    assert error is None
    assert sorted((r.line, r.priority, "first run" in r.message) for r in recs) == [
        (10, "high", False), (14, "high", False), (20, "high", False), (24, "medium", True)]


def test_blocking_work_in_teardown_ranks_one_level_down_and_says_so():
    # Held-out S36: llama-stack's vector stores close their clients in `async def
    # shutdown`, ranked as high as a per-request query. A route named `close` is per
    # request still.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        import psycopg2
        from fastapi import FastAPI
        app = FastAPI()

        class Store:
            def __init__(self):
                self.conn = psycopg2.connect("dbname=x")

            async def shutdown(self):
                self.conn.close()

            async def query(self, q):
                return self.conn.cursor().execute(q)

        @app.post("/close")
        async def close(conn: psycopg2.extensions.connection):
            psycopg2.connect("dbname=y").close()
    """)
    recs, error = scan_source(code, select=("OPT101",))
    assert error is None
    found = {r.symbol: (r.priority, "teardown" in r.message) for r in recs}
    assert found == {"Store.shutdown": ("medium", True), "Store.query": ("high", False),
                     "close": ("high", False)}


def test_a_loop_over_batches_of_one_input_ranks_one_level_down():
    # Held-out S36b: redis-vl's vectorizers send `self.batchify(texts, n)` one batch per
    # await; each is already one request for many texts, and batches at once meet the
    # API's rate limit sooner. A loop over separate requests stays high, and so does one
    # over chunks of a text, each summarized by a request of its own.
    import textwrap

    from optadvisor.api import scan_source

    code = textwrap.dedent("""
        class V:
            async def aembed_many(self, texts, batch_size=10):
                out = []
                for batch in self.batchify(texts, batch_size):
                    r = await self._client.embeddings.create(input=batch, model="m")
                    out.extend(r.data)
                return out

            async def fetch_all(self, urls):
                out = []
                for url in urls:
                    out.append(await self._client.get(url))
                return out

            async def summarize(self, text):
                parts = []
                for chunk in split_text(text):
                    parts.append(await self._client.summarize(chunk))
                return parts
    """)
    recs, error = scan_source(code, select=("OPT103",))
    assert error is None
    assert sorted((r.line, r.priority, "batch of one input" in r.message) for r in recs) == [
        (5, "medium", True), (12, "high", False), (18, "high", False)]
