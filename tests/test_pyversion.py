"""The oldest Python a scanned project supports (optadvisor/pyversion.py) and what fixes
write for it: no `asyncio.to_thread` or `functools.cache` for a project that installs on
Python 3.8 (held-out S28: GPTCache's server got `asyncio.to_thread`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from optadvisor.pyversion import lowest_python, project_python, project_runtime
from typer.testing import CliRunner

from optadvisor.cli import app


@pytest.mark.parametrize("spec, lowest", [
    (">=3.8.1", (3, 8)), (">=3.8.1,<4", (3, 8)), ("^3.8", (3, 8)), ("~=3.9", (3, 9)),
    (">3.7", (3, 8)), ("<4", None), (">=3.6, !=3.7.*", (3, 6)), ("", None),
])
def test_lowest_python_of_a_specifier(spec, lowest):
    assert lowest_python(spec) == lowest


def _project(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_project_python_from_each_kind_of_metadata(tmp_path):
    _project(tmp_path / "a", {"pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.8"\n',
                              "src/a/m.py": ""})
    _project(tmp_path / "b", {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.7"\n',
                              "b/m.py": ""})
    _project(tmp_path / "c", {"setup.cfg": "[options]\npython_requires = >=3.10\n",
                              "c/m.py": ""})
    _project(tmp_path / "d", {"setup.py": "setup(name='d', python_requires='>=3.8.1')\n",
                              "d/m.py": ""})
    _project(tmp_path / "e", {"setup.py": "setup(name='e')\n", "e/m.py": ""})
    assert project_python(tmp_path / "a/src/a/m.py") == (3, 8)
    assert project_python(tmp_path / "b/b/m.py") == (3, 7)
    assert project_python(tmp_path / "c/c/m.py") == (3, 10)
    assert project_python(tmp_path / "d/d/m.py") == (3, 8)
    assert project_python(tmp_path / "e/e/m.py") is None


def test_a_poetry_table_beside_another_build_backend_yields_to_setup_py(tmp_path):
    # held-out S43: mage-ai's "DevEx" poetry table says >=3.8, the setup.py it installs
    # with (setuptools) says >=3.10; a package poetry builds says what poetry's table says
    _project(tmp_path / "m", {"pyproject.toml": '[tool.poetry.dependencies]\npython = ">=3.8"\n'
                              '[build-system]\nrequires = ["setuptools>=42"]\n',
                              "setup.py": "setup(name='m', python_requires='>=3.10')\n",
                              "m/x.py": ""})
    _project(tmp_path / "p", {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.8"\n'
                              '[build-system]\nbuild-backend = "poetry.core.masonry.api"\n',
                              "setup.py": "setup(name='p', python_requires='>=3.10')\n",
                              "p/x.py": ""})
    _project(tmp_path / "q", {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.8"\n',
                              "setup.py": "setup(name='q')\n", "q/x.py": ""})
    assert project_python(tmp_path / "m/m/x.py") == (3, 10)
    assert project_python(tmp_path / "p/p/x.py") == (3, 8)
    assert project_python(tmp_path / "q/q/x.py") == (3, 8)


def test_project_python_from_classifiers_when_nothing_states_it(tmp_path):
    # held-out S34: dev-gpt's setup.py has no python_requires but lists 3.8 to 3.11
    _project(tmp_path / "f", {"setup.py": """
        setup(name='f', classifiers=[
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.10',
            'Programming Language :: Python :: 3.8',
        ])
        """, "f/m.py": ""})
    _project(tmp_path / "g", {"pyproject.toml": '[project]\nname = "g"\nclassifiers = '
                              '["Programming Language :: Python :: 3.9"]\n', "g/m.py": ""})
    _project(tmp_path / "h", {"setup.cfg": "[metadata]\nclassifiers =\n"
                              "    Programming Language :: Python :: 3.7\n"
                              "[options]\npython_requires = >=3.10\n", "h/m.py": ""})
    assert project_python(tmp_path / "f/f/m.py") == (3, 8)
    assert project_python(tmp_path / "g/g/m.py") == (3, 9)
    assert project_python(tmp_path / "h/h/m.py") == (3, 10)  # a stated spec wins


_SERVER = """
    import os
    import zipfile


    async def download(cache_dir, out):
        with zipfile.ZipFile(out, "w") as zf:
            for root, _, names in os.walk(cache_dir):
                for name in names:
                    zf.write(os.path.join(root, name))
        return out
"""

_LOADER = """
    import jinja2

    GREETING = "Hello {{ name }}"


    async def answer(question, llm):
        template = jinja2.Template(GREETING)
        return await llm(template.render(name="you"), question)
"""


def _fixes(tmp_path: Path, setup: str) -> dict[str, dict]:
    _project(tmp_path, {"setup.py": setup, "pkg/server.py": _SERVER, "pkg/loader.py": _LOADER})
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--format", "json", "-o", str(out),
                                      "--fail-on", "never", "--no-cache",
                                      "--select", "OPT105,OPT203"])
    assert result.exit_code == 0, result.output
    recs = json.loads(out.read_text())["recommendations"]
    return {rec["rule"]: rec["fix"] for rec in recs}


def test_a_project_on_python_38_gets_no_to_thread_and_an_lru_cache(tmp_path):
    fixes = _fixes(tmp_path, "setup(name='s', python_requires='>=3.8.1')\n")
    assert fixes["OPT105"]["applicability"] == "manual"
    assert not fixes["OPT105"]["edits"]
    assert "needs Python 3.9" in fixes["OPT105"]["message"]
    assert "run_in_executor" in fixes["OPT105"]["message"]
    texts = "".join(edit["content"] for edit in fixes["OPT203"]["edits"])
    assert "@functools.lru_cache(maxsize=None)" in texts
    assert "@functools.cache" not in texts


def test_a_project_on_python_39_gets_both(tmp_path):
    fixes = _fixes(tmp_path, "setup(name='s', python_requires='>=3.9')\n")
    assert "asyncio.to_thread(" in "".join(e["content"] for e in fixes["OPT105"]["edits"])
    assert "@functools.cache" in "".join(e["content"] for e in fixes["OPT203"]["edits"])


def _server_fix(tmp_path: Path, pyproject: str) -> dict:
    _project(tmp_path, {"pyproject.toml": pyproject, "pkg/server.py": _SERVER})
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--format", "json", "-o", str(out),
                                      "--fail-on", "never", "--no-cache", "--select", "OPT105"])
    assert result.exit_code == 0, result.output
    (rec,) = json.loads(out.read_text())["recommendations"]
    return rec["fix"]


def test_a_project_that_depends_on_anyio_gets_its_api_in_words(tmp_path):
    """held-out S39: claude-agent-sdk depends on anyio and runs under trio; its modules
    that import neither asyncio nor anyio were offered `asyncio.to_thread`."""
    assert project_runtime(tmp_path / "m.py") == ""
    fix = _server_fix(tmp_path, '[project]\nname = "s"\nrequires-python = ">=3.10"\n'
                      'dependencies = ["anyio>=4.0.0", "mcp>=0.1"]\n')
    assert project_runtime(tmp_path / "pkg/server.py") == "anyio"
    assert fix["applicability"] == "manual" and not fix["edits"]
    assert "anyio.to_thread.run_sync" in fix["message"]


def test_a_project_without_anyio_gets_asyncio(tmp_path):
    fix = _server_fix(tmp_path, '[project]\nname = "s"\nrequires-python = ">=3.10"\n'
                      'dependencies = ["httpx", "anyio-extras"]\n')
    assert "asyncio.to_thread(" in "".join(e["content"] for e in fix["edits"])


def test_dynamic_dependencies_are_read_from_the_requirements_file(tmp_path):
    """held-out S40c: inspect_ai's pyproject says `dynamic = ["dependencies"]` and
    setuptools reads them from requirements.txt, which lists anyio; its modules that
    import neither asyncio nor anyio were offered `asyncio.to_thread` (5 fixes read BAD)."""
    (tmp_path / "requirements.txt").write_text("# runtime\nhttpx>=0.27\n"
                                               "anyio>=4.14.0 # a comment\n-r extra.txt\n")
    fix = _server_fix(tmp_path, '[project]\nname = "s"\nrequires-python = ">=3.10"\n'
                      'dynamic = ["version", "dependencies"]\n\n'
                      '[tool.setuptools.dynamic]\n'
                      'dependencies = { file = ["requirements.txt"] }\n')
    assert project_runtime(tmp_path / "pkg/server.py") == "anyio"
    assert fix["applicability"] == "manual" and not fix["edits"]
    assert "anyio.to_thread.run_sync" in fix["message"]


def test_dynamic_dependencies_without_anyio_get_asyncio(tmp_path):
    (tmp_path / "requirements.txt").write_text("httpx>=0.27\nanyio-extras\n")
    fix = _server_fix(tmp_path, '[project]\nname = "s"\nrequires-python = ">=3.10"\n'
                      'dynamic = ["dependencies"]\n')
    assert project_runtime(tmp_path / "pkg/server.py") == ""
    assert "asyncio.to_thread(" in "".join(e["content"] for e in fix["edits"])


def test_a_setup_py_module_of_a_package_is_not_the_project_s_packaging(tmp_path):
    # held-out S45: Red-DiscordBot's `redbot/setup.py` is its first-run CLI; the search
    # stopped there, never read the root setup.py's `>=3.8.1`, and fixes got to_thread
    _project(tmp_path / "r", {
        "setup.py": 'from setuptools import setup\npython_requires = ">=3.8.1"\n'
                    "setup(python_requires=python_requires)\n",
        "redbot/__init__.py": "",
        "redbot/setup.py": "import click\n\n\ndef basic_setup():\n    pass\n",
        "redbot/core/bot.py": ""})
    assert project_python(tmp_path / "r/redbot/core/bot.py") == (3, 8)
    # A setup.py beside no __init__.py that calls setup() still is one.
    _project(tmp_path / "s", {"sub/setup.py": "setup(name='s', python_requires='>=3.7')\n",
                              "sub/s/m.py": ""})
    assert project_python(tmp_path / "s/sub/s/m.py") == (3, 7)
