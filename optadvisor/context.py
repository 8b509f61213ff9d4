"""Where a file sits decides how much a finding in it matters: a client built per test or
a sleep in an example script is normal; the same line in a service is not."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optadvisor.models import FileFacts

_TEST_DIRS = {"tests", "test", "testing", "e2e", "integration_tests", "unit_tests"}
_EXAMPLE_DIRS = {"examples", "example", "samples", "sample", "cookbook", "cookbooks",
                 "use_cases", "use-cases",
                 "notebooks", "docs", "doc", "demo", "demos", "tutorials", "tutorial",
                 "playground", "playgrounds"}
# Evaluation harnesses run one scenario at a time, for the developers: tooling, not service.
# A package's command-line interface runs one command per process for the person who typed
# it: its event loop serves that command alone (held-out M: 40 of 121 findings on fastmcp,
# mcp-agent and NeMo were in `cli/` packages, all of low value).
_SCRIPT_DIRS = {"scripts", "script", "bin", "benchmarks", "benchmark", "evals", "eval",
                "evaluation", "evaluations", "eval_framework", ".github", "cli"}
_SCRIPT_NAMES = ("benchmark_", "bench_")
_SCRIPT_FILES = ("cli.py", "__main__.py")
_SCRIPT_SUFFIXES = ("_benchmark.py", "_bench.py")
# A directory whose name has one of these as a word (`atomic-examples`, `example-client`,
# `demo_app`, `dev-scripts`) is one too: held-out O, 11 findings in atomic-agents'
# `atomic-examples/` were taken for library code. Only words that name nothing else: not
# `doc` (`doc_parser`), `test` (`ab_test`), `sample` (`sample_rate`) or `cli`.
_EXAMPLE_WORDS = {"examples", "example", "demos", "demo", "samples", "tutorials",
                  "cookbook", "cookbooks", "usecase", "usecases"}
# `sample` alone names data (`sample_rate`); next to one of these it is a sample app
# (held-out P: openllmetry's `packages/sample-app/`, 39 of its 55 findings).
_SAMPLE_OF = {"app", "apps", "project", "projects", "code"}
_SCRIPT_WORDS = {"scripts", "benchmarks"}
_TEST_WORDS = {"tests"}
# Test doubles kept beside the code they stand in for (held-out S33: KAG's
# `common/llm/mock_llm.py`, a client that sleeps to imitate a model, used by its unit tests).
_TEST_FILES = ("conftest.py", "tests.py", "test.py")
"""`test.py`: a manual check script (held-out S43b: poe-api-wrapper's, asking for cookies)."""
_DOUBLE_NAMES = ("mock_", "fake_")
_DOUBLE_SUFFIXES = ("_mock.py", "_mocks.py", "_fake.py", "_fakes.py")
_DOUBLE_FILES = ("mock.py", "mocks.py", "fakes.py")
_DOUBLE_DIRS = {"mocks", "fakes"}
# Not `tools`: in agent code that is the package of the agent's tools (library code).
_MIGRATION_DIRS = {"migrations", "alembic"}

DEMOTED = ("test", "example", "script", "migration")
"""Contexts that are not the service: findings in them rank low and never fail CI, and
their calls are no evidence of how often the service runs a function (link.py). A
migration runs once per deploy (held-out K: deer-flow's alembic `env.py` engine)."""


@lru_cache(maxsize=4096)
def context_of(rel: str) -> str:
    """The context of a file from its path relative to the scan root (POSIX)."""
    parts = rel.lower().split("/")
    name = parts[-1]
    dirs = set(parts[:-1])
    splits = [set(re.split(r"[-_.]", part)) for part in dirs]
    words: set[str] = set().union(*splits)
    sample_app = any("sample" in split and split & _SAMPLE_OF for split in splits)
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or \
            name in _TEST_FILES or dirs & _TEST_DIRS or words & _TEST_WORDS \
            or name.startswith(_DOUBLE_NAMES) or name.endswith(_DOUBLE_SUFFIXES) or \
            name in _DOUBLE_FILES or dirs & _DOUBLE_DIRS:
        return "test"
    if dirs & _MIGRATION_DIRS:
        return "migration"
    # A project template's files (`{{cookiecutter.bot_name}}/bots/bot.py`, copier's
    # `{{ project }}/`): code a generator copies into a new project, not code that runs
    # here, and under the generated project's settings, not this one's (held-out S50:
    # botbuilder-python's bot templates, fixed for a Python the template does not pin).
    template = any("{{" in part for part in parts)
    if dirs & _EXAMPLE_DIRS or words & _EXAMPLE_WORDS or sample_app or template or \
            name.startswith(("example_", "demo_")) or name.endswith(("_example.py", "_demo.py")):
        return "example"
    if dirs & _SCRIPT_DIRS or words & _SCRIPT_WORDS or name.startswith(_SCRIPT_NAMES) or \
            name.endswith(_SCRIPT_SUFFIXES) or name in _SCRIPT_FILES or \
            not (_importable(name) or _app_page(parts)):
        return "script"
    return "library"


def _app_page(parts: list[str]) -> bool:
    """A page of a Streamlit multipage app (`pages/01_Ingest_Data.py`): not importable, but
    the app runs it again on every interaction of every user (held-out S32c: chat-with-your-
    data's admin pages were taken for scripts)."""
    return len(parts) >= 2 and parts[-2] == "pages" and bool(re.match(r"\d+_\w+\.py$", parts[-1]))


def _importable(name: str) -> bool:
    """An import can name the file: its stem is an identifier. `0_crawl_paper.py`,
    `run-agent.py` and `client.backup.py` can only be run as a script, or not at all
    (held-out R: AI-Researcher's dataset builders, firecrawl's backup of its SDK)."""
    stem = name.rsplit(".", 1)[0] if name.endswith((".py", ".pyi")) else name
    return stem.isidentifier()


def file_context(rel: str, facts: "FileFacts | None") -> str:
    """context_of, and a pytest suite wherever it sits: a module that imports pytest and
    defines `test_*` functions is collected and run by pytest, not served (held-out S32b:
    agent-protocol's compliance suite, `utils/compliance/main.py`, run by its `test`
    command: 13 findings ranked high). The rules' view only: link.py keeps context_of (its
    warm-path digest leaves imports out, so an added `import pytest` must not change links)."""
    context = context_of(rel)
    if context in ("library", "script") and facts is not None and pytest_suite(facts):
        return "test"
    if context == "script" and facts is not None and starts_server(facts):
        return "library"
    return context


_SERVER_STARTS = frozenset({"aiohttp.web.run_app", "uvicorn.run", "flask.Flask.run",
                            "hypercorn.asyncio.serve", "waitress.serve"})
"""Calls that start a server the module serves requests with."""


def starts_server(facts: "FileFacts") -> bool:
    """Module-level code starts a web server (`web.run_app(app)`, `uvicorn.run(app)` under
    `if __name__ == "__main__":`): the file is a service, run as a script, whose handlers
    serve requests concurrently (held-out S37: GenerativeAIExamples' `trigger-mode.py`, an
    aiohttp server whose handler runs a 30-minute `spark-submit` on its loop, was ranked
    low as a script)."""
    return any(name in _SERVER_STARTS for name in facts.module_callees)


def pytest_suite(facts: "FileFacts") -> bool:
    return any(name == "pytest" or name.startswith("pytest.") for name in facts.imports) \
        and any(fn.name.startswith("test_") for fn in facts.functions)


_LEGACY_DIRS = {"legacy", "deprecated", "_legacy", "_deprecated", "archived", "_archive"}


@lru_cache(maxsize=4096)
def legacy_path(rel: str) -> bool:
    """A directory named `legacy`, `deprecated` or `archived`: code its authors replaced
    and keep for old users (held-out Q: crawl4ai's `legacy/`, its only user broken; S:
    OpenAdapt's whole previous generation under `legacy/`). Findings there rank lower."""
    return bool(set(rel.lower().split("/")[:-1]) & _LEGACY_DIRS)


# The leading comment lines and the module docstring: where a generator says what it made.
# Not the first 2 KB whatever they hold: a prompt string ("Do not edit `/log.md`"), a
# docstring about another file ("the JSON schema is auto-generated from these models") or a
# benchmark's `#### DO NOT EDIT ####` under its imports are no such statement (probed on
# 8,590 files of held-out S41-S42: 30 matched anywhere in the first 2 KB, 12 of them wrongly;
# this header rule keeps the 18 right ones, arcade-ai's transpiled toolkits, and drops those).
_HEADER = re.compile(r'\A(?:[ \t]*(?:#[^\n]*)?\r?\n)*'
                     r'(?:[ \t]*[rRuU]?(?P<q>"""|\'\'\').*?(?P=q))?', re.S)
# Line starts take `[# \t]*`, not `\s*`: a newline there let every blank line's match run
# to the end of the header (8,000 blank lines took 0.6 s).
_GENERATED = re.compile(
    r"@generated\b|\bdo not (?:edit|modify)\b|\bcode generated by\b"
    r"|\b(?:auto-?|automatically[ -])generated (?:file|module|code)\b"
    r"|\bthis (?:file|module|code) (?:is|was|has been) (?:auto-?|automatically[ -])?generated\b"
    r"|(?:^[# \t]*|[.!][ \t]+)(?:this (?:file|module|code) (?:is|was|has been) )?"
    r"(?:auto-?|automatically[ -])?generated (?:by|from|with|using)\b", re.I | re.M)


def generated_marker(text: str) -> str:
    """The words by which the file says, in its header comment or module docstring, that a
    tool wrote it (`@generated`, `DO NOT EDIT`, `# Generated by the protocol buffer
    compiler`, `THIS MODULE WAS AUTO-GENERATED BY TRANSPILING ...`). What is slow in it is
    written by its generator: the change goes there, and an edit of the file is lost when
    it is generated again (held-out S34d: qdrant-client's async local client; S42: arcade-ai's three
    transpiled API toolkits, 481 functions each building an `httpx.AsyncClient` per call,
    were 481 findings). "" when it says no such thing."""
    header = _HEADER.match(text[:8192])
    found = _GENERATED.search(header.group(0)[:4096]) if header else None
    return found.group(0).strip("#. \t") if found else ""
