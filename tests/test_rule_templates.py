"""Rule templates render under limits (time, steps, output, sizes, recursion), and a
template that fails costs its finding's message, never the scan: the finding shows the
rule's title and a rule-error record names the rule file, its line and the rule."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from optadvisor.api import scan_source
from optadvisor.cli import app
from optadvisor.rules import load_rule
from optadvisor.sandbox import LimitExceeded, Limits, TemplateSandbox

RULE = '''id = "{rid}"
kind = "demo"
category = "async"
priority = "low"
subject = "call"
title = "Demo title"
when = "call.blocking"
message = {message}

[[examples]]
triggers = 1
code = """
import time
async def tick():
    time.sleep(1)
"""
'''

BLOCKING = "import time\n\nasync def tick():\n    time.sleep(1)\n"


def rule_text(message: str, rid: str = "OPT901") -> str:
    return RULE.format(rid=rid, message=json.dumps(message))


def render(source: str, limits: Limits = Limits(), **context: object) -> str:
    env = TemplateSandbox(limits)
    return env.render_bounded(env.compile_bounded(env.parse_checked(source)), context)


# What the torture run found, and their siblings: each is refused before it builds
# anything big, or stopped by its step or time budget.
HOSTILE = [
    ("{{ 9**(9**9) }}", "a power"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "range() of more than"),
    ('{% for i in "x" * 90000 %}{% for j in "x" * 90000 %}{% endfor %}{% endfor %}',
     "steps"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "calls nest"),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "calls nest"),
    ("{{ name * 300000000 }}", "a repetition"),
    ("{{ [name] * 300000000 }}", "a repetition"),
    ("{{ 10**4000 * 10**4000 }}", "bits"),
    ('{% set s = "x" * 60000 %}{{ s ~ s }}', "concatenation"),
    ('{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f("ab") }}', "concatenation"),
    ('{% set s = "x" * 50000 %}{{ s.join(s) }}', "a join"),
    ('{% set s = "x" * 60000 %}{{ [s, s]|join }}', "the value of |join"),
    ('{% set s = "x" * 60000 %}{{ range(3)|map("string")|join(s) }}', "a join"),
    ('{% set s = "x" * 50000 %}{{ s.replace("", s) }}', "a replace"),
    ('{% set s = "x" * 50000 %}{{ s|replace("x", s) }}', "a replace"),
    ('{{ "x"|center(10**9) }}', "width"),
    ('{{ "x".ljust(10**9) }}', "padded"),
    ('{{ "ab"|indent(10**9) }}', "indent"),
    ('{{ (1).to_bytes(10**9, "big") }}', "padded"),
    ('{{ "{:>999999999}".format(1) }}', "format width"),
    ('{{ "%999999999d" % 1 }}', "%-format width"),
    ('{{ "%*d" % (10**9, 1) }}', "`*` widths"),
    ('{{ "%s"|format(1)|center(10**9) }}', "width"),
    ('{{ range(5)|batch(10**9, "x")|list }}', "linecount"),
    ('{% set s = "x" * 60000 %}{{ [s, s] }}', "output value"),
    ('{% set s = "x" * 60000 %}{{ [s, s]|string }}', "the value of |string"),
    ("{% for i in range(10000) %}{% for j in range(10) %}xxxxxxxxxx{% endfor %}{% endfor %}",
     "output over"),
]


@pytest.mark.parametrize("source,fragment", HOSTILE)
def test_hostile_template_hits_a_limit(source, fragment):
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=re.escape(fragment)):
        render(source, name="time.sleep")
    assert time.monotonic() - started < 5


def test_time_limit():
    # 30,000 scans of 90,000 characters: within the step budget, far past 20 ms.
    slow = ('{% set s = "x" * 90000 %}{% for i in range(100) %}{% for j in range(300) %}'
            '{{ s.count("y") }}{% endfor %}{% endfor %}')
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="took more than 0.02 s"):
        render(slow, Limits(seconds=0.02))
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("source,expected", [
    ("{{ name }} in {{ fn }}", "time.sleep in tick"),
    ("{{ name ~ '/' ~ fn }}", "time.sleep/tick"),
    ("{% for p in parts %}{{ loop.index }}:{{ p }}{% if not loop.last %}, {% endif %}"
     "{% endfor %} of {{ parts|length }}", "1:a, 2:b of 2"),
    ("{% for p in parts %}{{ loop.length }}{% endfor %}", "22"),
    ("{% for x in tree recursive %}{{ x.n }}{% if x.kids %}({{ loop(x.kids) }}){% endif %}"
     "{% endfor %}", "1(2(3))"),
    ("{% macro f(n) %}{% if n %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}",
     "54321"),
    ("{{ parts|join(', ') }}; {{ tree|join('-', attribute='n') }}", "a, b; 1"),
    ("{{ '%.1f'|format(1.25) }} {{ '{:>4}'.format(7) }} {{ '%03d' % 7 }}", "1.2    7 007"),
    ("{{ 2 ** 10 }} {{ 7 // 2 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ -3 }}",
     "1024 3 abab [1, 2] -3"),
    ("{{ 'x'|center(5) }}|{{ 'a b'|replace(' ', '_') }}|{{ range(3)|sum }}", "x  |a_b|3"),
    ("{{ name.upper()|truncate(7, true, '', 0) }}", "TIME.SL"),
])
def test_ordinary_templates_render_as_before(source, expected):
    tree = [{"n": 1, "kids": [{"n": 2, "kids": [{"n": 3, "kids": []}]}]}]
    assert render(source, name="time.sleep", fn="tick", parts=["a", "b"],
                  tree=tree).strip() == expected


def test_lipsum_is_not_available():
    with pytest.raises(Exception, match="lipsum"):
        render("{{ lipsum(1000000) }}")


def compiled_rule(tmp_path: Path, message: str, **extra: str):
    text = rule_text(message)
    for key, value in extra.items():
        text = text.replace('title = "Demo title"\n',
                            f'title = "Demo title"\n{key} = {json.dumps(value)}\n')
    path = tmp_path / "OPT901.toml"
    path.write_text(text, encoding="utf-8")
    return load_rule(path)


@pytest.mark.parametrize("message,reason", [
    ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ("{{ 1.5 ** 100000 }}", "OverflowError"),
    ("{{ call.nope }}", "UndefinedError"),
    ("{{ call.name * 300000000 }}", "LimitExceeded"),
])
def test_failing_template_falls_back_to_the_title(tmp_path, message, reason):
    compiled = compiled_rule(tmp_path, message)
    errors: list = []
    recs, error = scan_source(BLOCKING, rules=[compiled], rule_errors=errors)
    assert error is None
    assert [(r.rule, r.message, r.title) for r in recs] == [
        ("OPT901", "Demo title", "Demo title")]
    assert len(errors) == 1
    record = errors[0]
    assert (record.path, record.kind, record.line) == (
        str(tmp_path / "OPT901.toml"), "rule-error", 8)
    assert record.message.startswith("OPT901: the `message` template (line 8) failed on "
                                     "example.py:4 (" + reason)
    assert "1 finding(s) show the rule's title instead" in record.message


def test_one_record_per_template_and_limits_stop_rendering(tmp_path):
    code = "import time\n\nasync def tick():\n    time.sleep(1)\n    time.sleep(2)\n"
    # Fails only on line 4: the finding on line 5 keeps its message.
    compiled = compiled_rule(tmp_path, "{{ 1 // (call.line - 4) }} at {{ call.line }}",
                             impact="{{ call.name * 300000000 }}")
    errors: list = []
    recs, _ = scan_source(code, rules=[compiled], rule_errors=errors)
    assert [(r.line, r.message, r.impact) for r in recs] == [
        (4, "Demo title", ""), (5, "1 at 5", "")]
    by_key = {e.message.split("`")[1]: e.message for e in errors}
    assert set(by_key) == {"message", "impact"}
    assert "1 finding(s) show the rule's title" in by_key["message"]
    assert "not rendered again in this run; 2 finding(s) show no `impact` text" in \
        by_key["impact"]


def test_scan_names_the_rule_file_and_keeps_going(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[tool.optadvisor]\nrule-dirs = ["rules"]\n',
        "rules/OPT901.toml": rule_text("{{ 1 / 0 }}"),
        "app.py": BLOCKING,
    })
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--no-cache", "--format",
                                      "json", "--select", "OPT901"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["message"] for r in report["recommendations"]] == ["Demo title"]
    assert [(e["path"], e["kind"], e["line"]) for e in report["errors"]] == [
        ("rules/OPT901.toml", "rule-error", 8)]
    assert "ZeroDivisionError" in report["errors"][0]["message"]
    terminal = CliRunner().invoke(app, ["scan", str(tmp_path), "--no-cache", "--select",
                                        "OPT901"])
    assert "1 rule template(s) failed to render" in terminal.output


def _limited_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_hostile_rule_dir_scan_ends_with_a_report(tmp_path):
    """The torture run's reproducers, end to end: before the limits, the first hung the
    scan, the recursive macro and the deep list crashed it, the repetition took 10 GiB."""
    hostile = ["{{ 9**(9**9) }}",
               "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
               "{% endfor %}",
               "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
               "{{ call.name * 300000000 }}",
               "{{ 1 / 0 }}",
               # a list nested 90,000 deep: its repr recursed in C past the stack
               "{% set ns = namespace(x=[]) %}{% for i in range(100) %}"
               "{% for j in range(900) %}{% set ns.x = [ns.x] %}{% endfor %}{% endfor %}"
               "{{ ns.x }}"]
    files = {"pyproject.toml": '[tool.optadvisor]\nrule-dirs = ["rules"]\n',
             "app.py": BLOCKING}
    for n, message in enumerate(hostile):
        files[f"rules/OPT9{n:02d}.toml"] = rule_text(message, f"OPT9{n:02d}")
    write(tmp_path, files)
    # A deep recursion limit, as analysis in the scanning process leaves it: the
    # recursive macro segfaulted there.
    code = ("import sys; sys.setrecursionlimit(60000); from optadvisor.cli import main; "
            "sys.argv = ['optadvisor', 'scan', '.', '--no-cache', '--format', 'json', "
            "'--select', 'OPT9']; main()")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limited_memory,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    report = json.loads(done.stdout)
    [site] = report["recommendations"]  # one call: one recommendation, the others facets
    shown = {site["rule"]: site["message"], **{f["rule"]: f["message"] for f in site["facets"]}}
    assert shown == {f"OPT9{n:02d}": "Demo title" for n in range(len(hostile))}
    assert sorted((e["path"], e["kind"]) for e in report["errors"]) == [
        (f"rules/OPT9{n:02d}.toml", "rule-error") for n in range(len(hostile))]


# ----------------------------------------------------------------------- rules check


def test_rules_check_renders_templates_and_fails_on_errors(tmp_path):
    path = tmp_path / "OPT901.toml"
    path.write_text(rule_text("{{ call.name * 300000000 }}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"error {path}:8: OPT901: the `message` template (line 8) failed on " \
        "example.py:3 (LimitExceeded: a repetition" in result.output
    path.write_text(rule_text("{{ call.name }} blocks"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_rules_check_says_when_no_example_renders_the_templates(tmp_path):
    path = tmp_path / "OPT901.toml"
    path.write_text(rule_text("{{ 1 / 0 }}").replace("triggers = 1", "triggers = 0")
                    .replace("time.sleep(1)", "print(1)"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0
    assert "no example triggers OPT901, so its templates were not rendered" in result.output


def test_rules_check_of_an_empty_directory_fails(tmp_path):
    (tmp_path / "README.md").write_text("no rules here\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert "no rule files (*.toml) in" in result.output
