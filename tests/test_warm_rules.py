"""The warm path without the engine: a scan that finds the warm state's engine key and no
changed file loads no rule (api._Engines); anything the engine is built from changes the
key, and then the rules load and the kept results are evaluated again."""

from __future__ import annotations

import os

import pytest
from conftest import write
from test_warm import (  # noqa: F401  (tree, cache_dir: the same fixtures as test_warm's)
    FILES, RULE, Counts, cache_dir, check_same_as_cold, comparable, run, tree,
)

import optadvisor.api
import optadvisor.rules
from optadvisor.config import ConfigError


class Loads:
    """How many times a scan loaded the rules."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.checked: list[bool] = []
        load = optadvisor.rules.load_rules  # api imports it from there when it builds

        def counted(*args):  # type: ignore[no-untyped-def]
            self.count += 1
            self.checked.append(args[1] if len(args) > 1 else True)
            return load(*args)

        monkeypatch.setattr(optadvisor.rules, "load_rules", counted)


def test_nothing_changed_loads_no_rule(tree, cache_dir, monkeypatch):
    cold = run(tree, cache_dir)
    loads = Loads(monkeypatch)
    assert comparable(run(tree, cache_dir)) == comparable(cold)
    assert loads.count == 0
    # A changed file is evaluated: the rules load (once), and the results agree.
    (tree / "app/api.py").write_text(FILES["app/api.py"] + "# a comment\n")
    check_same_as_cold(tree, cache_dir)
    assert loads.count == 2  # the warm scan and the cold one it is checked against
    # The warm scan's engine key is the state's: the rules were loaded checked under it,
    # and their templates are parsed only when they render.
    assert loads.checked == [False, True]


def test_a_kept_warning_is_said_again_without_the_engine(tree, cache_dir, monkeypatch):
    said: list[str] = []
    notify = said.append
    run(tree, cache_dir, select=("OPT101",), ignore=("OPT101",), notify=notify)
    first = list(said)
    assert first and any("no rule runs" in note for note in first)
    said.clear()
    loads = Loads(monkeypatch)
    run(tree, cache_dir, select=("OPT101",), ignore=("OPT101",), notify=notify)
    assert loads.count == 0 and said == first


def test_an_unknown_code_fails_on_a_warm_tree(tree, cache_dir):
    run(tree, cache_dir)
    with pytest.raises(ConfigError):
        run(tree, cache_dir, select=("OPT999",))


@pytest.mark.parametrize("change", ["jinja2", "version", "rule file"])
def test_what_builds_the_engine_invalidates_the_kept_results(tree, cache_dir, monkeypatch,
                                                              change):
    write(tree, {"pyproject.toml": '[tool.optadvisor]\nrule-dirs = ["my-rules"]\n',
                 "my-rules/OPT901.toml": RULE.format(priority="low", when="call.in_async")})
    run(tree, cache_dir)
    if change == "jinja2":  # it parses and renders every template
        versions = optadvisor.api._version_of
        monkeypatch.setattr(optadvisor.api, "_version_of",
                            lambda name: "0.0" if name == "jinja2" else versions(name))
    elif change == "version":
        monkeypatch.setattr(optadvisor.api, "__version__", "0.0.0+another")
    else:  # its mtime put back: the key reads the bytes, not the stat
        rule = tree / "my-rules/OPT901.toml"
        st = rule.stat()
        rule.write_text(RULE.format(priority="medium", when="call.in_async"))
        os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns))
    loads, counts = Loads(monkeypatch), Counts(monkeypatch)
    warm = check_same_as_cold(tree, cache_dir, counts)
    assert counts.evaluated == ["app/api.py", "app/helpers.py", "app/service.py"]
    assert loads.count == 2 and loads.checked == [True, True]  # another key: checked
    if change == "rule file":
        assert {r.priority for r in warm.recommendations if r.rule == "OPT901"} == {"medium"}


def test_a_layout_change_evaluates_with_rules_loaded_late(tree, cache_dir, monkeypatch):
    """No file changed and the engine key holds, so the scan starts without the rules;
    the components changed, so every file is linked and evaluated: they load then."""
    run(tree, cache_dir)
    write(tree, {"pyproject.toml": '[tool.optadvisor]\ncomponent-roots = ["app"]\n'})
    loads, counts = Loads(monkeypatch), Counts(monkeypatch)
    check_same_as_cold(tree, cache_dir, counts)
    assert loads.count == 2 and counts.evaluated


@pytest.mark.parametrize("package", ["libcst", "jinja2", "pathspec"])
def test_versions_read_from_dist_info_names_agree_with_importlib_metadata(package):
    from importlib import metadata

    assert optadvisor.api._dist_info_version(package) == metadata.version(package)
    assert optadvisor.api._dist_info_version("no-such-package-here") is None
