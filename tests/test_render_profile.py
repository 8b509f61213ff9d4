"""Profile reports in every human format: the folded stacks a run keeps (and saves), the
HTML profile section (outcome, cards, timeline SVG, flamegraph data, hot functions and
lines, memory, passes), the Markdown section and the terminal "Profile" block.

One real `optadvisor profile` run of fixtures/scripts/cpu_bound.py (py-spy when it can
attach here, the in-process sampler otherwise) serves the whole module; the browser test
(test_render_profile_browser.py) reuses it. Its root is inside this repository, so the
repository's path appearing anywhere in the HTML would be a leak.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import sys
import tempfile
from functools import lru_cache
from html import unescape
from pathlib import Path

import pytest
from conftest import ROOT
from profile_support import SCRIPTS

from optadvisor.api import ScanOptions, profile
from optadvisor.models import ProfileRun, Report, StackSample
from optadvisor.profile import ProfileOptions, load_run, save_run
from optadvisor.profile.aggregate import MAX_STACKS, fold_stacks, short_path
from optadvisor.profile.summary import STACKS, profile_summary
from optadvisor.render import html, markdown, table

HOSTILE_NAME = "<script>window.__pwned=1</script>"
HOSTILE_FRAME = f"{HOSTILE_NAME} (evil.py:3)"
HOSTILE_CODE = "x = '</script><img src=x onerror=\"window.__pwned=2\">'"

_WORK = tempfile.TemporaryDirectory(prefix="optadvisor-render-profile-")
SAVED = Path(_WORK.name) / "run.json"


@lru_cache(maxsize=1)
def profile_report() -> Report:
    """cpu_bound.py profiled once (about a second), its run saved to SAVED."""
    root = SCRIPTS
    return profile(
        ProfileOptions(script=root / "cpu_bound.py", args=("--n", "6000"), root=root, cwd=root,
                       lines=False, stdout="null", stdin="null", timeout=120),
        ScanOptions(paths=(root,), use_cache=False, jobs=1), saved_as=str(SAVED))


@lru_cache(maxsize=1)
def profile_html() -> str:
    return html.render(profile_report())


def hostile_report() -> Report:
    """The real report with hostile text wherever a profile carries names, code or text."""
    report = profile_report()
    data = json.loads(json.dumps(report.profile))
    stacks = data["stacks"]
    # Wide enough to be drawn whatever the run sampled: a flame graph leaves out frames too
    # narrow to see, and a slow CI machine's run gave 5 samples no element (2026-12-05).
    wide = max(5, sum(st["samples"] for st in stacks) // 10)
    stacks.append({"frames": [stacks[0]["frames"][0], HOSTILE_FRAME], "samples": wide,
                   "idle": 5})
    data["functions"][0] = {**data["functions"][0], "name": HOSTILE_NAME}
    data["user_functions"][0] = {**data["user_functions"][0], "name": HOSTILE_NAME}
    data["lines"][0] = {**data["lines"][0], "code": HOSTILE_CODE, "function": HOSTILE_NAME}
    data["notes"].append(f"note {HOSTILE_NAME}")
    data["memory"] = {**(data["memory"] or {}), "sites": [
        {"path": "evil.py", "line": 3, "size_bytes": 4096, "count": 2, "code": HOSTILE_CODE}]}
    data["outcome"] = {**data["outcome"], "status": "exception", "returncode": 1,
                       "message": f"raised ValueError: {HOSTILE_NAME}",
                       "exception": f"ValueError: {HOSTILE_NAME}"}
    return dataclasses.replace(report, profile=data)


def machine_paths() -> list[str]:
    """Absolute directories of this machine that must never reach a page."""
    return [str(ROOT), str(SCRIPTS), sys.base_prefix, sys.prefix, str(Path(sys.executable))]


def lineless(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


IMPORTING = re.compile(r" \(<frozen importlib\._bootstrap(?:_external)?>(?::\d+)?\)$")


def flame_frames(frames: list[str], by_line: bool) -> list[str]:
    """A stack as the flamegraph draws it: by function unless by_line, each run of the
    import machinery's frames as one frame."""
    if by_line:
        return list(frames)
    out: list[str] = []
    for frame in frames:
        if IMPORTING.search(frame):
            if out and out[-1] == "importing":
                continue
            frame = "importing"
        out.append(lineless(frame))
    return out


def flame_nodes(stacks: list[dict], by_line: bool = False) -> int:
    """How many frames the flamegraph draws: distinct stack prefixes, plus its root."""
    prefixes = set()
    for stack in stacks:
        frames = flame_frames(stack["frames"], by_line)
        prefixes.update(tuple(frames[:i]) for i in range(1, len(frames) + 1))
    return 1 + len(prefixes)


# --------------------------------------------------------------------------- stacks


def test_run_keeps_folded_stacks_with_relative_frames():
    report = profile_report()
    run = load_run(SAVED)
    assert run.stacks, "the run kept no stacks"
    assert len(run.stacks) <= MAX_STACKS
    samples = [s.samples for s in run.stacks]
    assert samples == sorted(samples, reverse=True)
    assert sum(samples) == run.samples.total
    for stack in run.stacks:
        assert 0 <= stack.idle <= stack.samples
        for frame in stack.frames:
            assert re.fullmatch(r".+ \((?!/)[^()]*\)", frame), frame
            assert not any(path in frame for path in machine_paths()), frame
    assert any(f.startswith("score (cpu_bound.py:") for s in run.stacks for f in s.frames)
    # The report's copy is trimmed but still adds up to the samples it kept.
    summary = report.profile["stacks"]
    assert 0 < len(summary) <= STACKS
    assert sum(s["samples"] for s in summary) >= 0.95 * report.profile["samples"]["total"]
    assert summary[0]["frames"][0].startswith("<module> (cpu_bound.py:")


def test_saved_run_round_trips_stacks():
    run = load_run(SAVED)
    assert "stacks" in json.loads(SAVED.read_text(encoding="utf-8"))
    again = Path(_WORK.name) / "again.json"
    save_run(run, again)
    assert load_run(again) == run
    assert all(isinstance(s, StackSample) and isinstance(s.frames, tuple)
               for s in load_run(again).stacks)


def test_run_saved_before_stacks_still_loads(tmp_path: Path):
    data = json.loads(SAVED.read_text(encoding="utf-8"))
    del data["stacks"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    run = load_run(old)
    assert run.stacks == ()
    assert run.functions == load_run(SAVED).functions
    summary = profile_summary(run)
    assert summary["stacks"] == []
    page = html.render(dataclasses.replace(profile_report(), profile=summary))
    assert "No call stacks in this profile" in page and 'id="flame"' not in page


def test_sampled_stacks_fold_without_the_launcher(tmp_path: Path):
    from test_profile_aggregate import speedscope, write_app

    from optadvisor.profile.aggregate import aggregate
    from optadvisor.profile.sampling import parse_speedscope
    from optadvisor.profile.sources import SourceIndex

    app = write_app(tmp_path)
    stdlib = str(Path(json.__file__).parent.parent)
    raw = parse_speedscope(speedscope(app, stdlib + "/json/__init__.py"), 100, main_pid=10)
    found = aggregate(raw, SourceIndex(stdlib=stdlib), str(tmp_path),
                      launcher="/opt/optadvisor/_bootstrap.py", script=app)
    assert found.stacks == (
        StackSample(("<module> (app.py:20)", "main (app.py:17)", "wait (app.py:12)"), 70, 70),
        StackSample(("wait (app.py:12)",), 50, 50),
        StackSample(("<module> (app.py:20)", "main (app.py:16)", "Loader.read (app.py:8)",
                     "loads (<stdlib>/json/__init__.py:346)"), 30, 0),
    )
    assert sum(s.samples for s in found.stacks) == found.summary.total


def test_fold_stacks_caps_and_keeps_totals():
    weights = {("main", f"leaf{i}"): (1 + i % 7, i % 2) for i in range(5000)}
    weights[("main",)] = (10, 0)
    total = sum(n for n, _ in weights.values())
    kept = fold_stacks(weights, limit=100)
    assert len(kept) <= 100
    assert sum(s.samples for s in kept) == total
    assert sum(s.idle for s in kept) == sum(i for _, i in weights.values())
    # The merged remainder is charged to the caller: `main` itself.
    assert any(s.frames == ("main",) and s.samples > 10 for s in kept)
    everything = fold_stacks(weights, limit=10_000)
    assert len(everything) == 5001
    deep = fold_stacks({tuple(f"f{i}" for i in range(3000)): (4, 1)})
    assert deep == (StackSample(tuple(f"f{i}" for i in range(3000)), 4, 1),)


def test_short_path_strips_the_machine(tmp_path: Path):
    root = str(tmp_path)
    assert short_path(f"{root}/pkg/app.py", root) == "pkg/app.py"
    assert short_path("/venv/lib/python3.12/site-packages/httpx/_client.py", root) == \
        "<site-packages>/httpx/_client.py"
    assert short_path("/opt/py/lib/python3.12/json/decoder.py", root) == "<stdlib>/json/decoder.py"
    assert short_path("/x/std/json/decoder.py", root, stdlib="/x/std") == \
        "<stdlib>/json/decoder.py"
    assert short_path("/home/someone/elsewhere/tool.py", root) == "…/elsewhere/tool.py"
    assert short_path("<frozen importlib._bootstrap>", root) == "<frozen importlib._bootstrap>"


# --------------------------------------------------------------------------- HTML


def test_html_profile_section():
    page = profile_html()
    for anchor in ("profile", "profile-outcome", "profile-timeline", "profile-memory",
                   "profile-flame", "profile-functions", "profile-lines", "profile-passes",
                   "profile-notes", "flame"):
        assert f'id="{anchor}"' in page, anchor
    assert "outcome-ok" in page and "exited normally" in page
    for label in ("Wall time", "CPU time", "CPU use", "Samples", "Procs / threads", "Peak RSS"):
        assert f'<div class="label">{label}</div>' in page, label
    # The timeline: inline SVG with both lines, axes and labels.
    svg = re.search(r'<svg class="timeline".*?</svg>', page, re.DOTALL)
    assert svg, "no timeline"
    for part in ('class="tl-cpu"', 'class="tl-rss"', 'class="tl-grid"', "100%", " MiB<",
                 " s</text>", "<title"):
        assert part in svg.group(0), part
    # Hot functions and lines: `score` with its location, its code highlighted.
    functions = page[page.index('id="profile-functions"'):page.index('id="profile-lines"')]
    assert "<code>score</code>" in functions and "cpu_bound.py:15" in functions
    lines = page[page.index('id="profile-lines"'):page.index('id="profile-passes"')]
    assert 'class="hl inline-code"' in lines and "ord" in lines
    # The stacks reach the flamegraph script as inert JSON.
    data = re.search(r'<script type="application/json" id="optadvisor-profile">(.*?)</script>',
                     page, re.DOTALL)
    stacks = json.loads(data.group(1))["stacks"]
    assert stacks == profile_report().profile["stacks"]


def test_html_has_no_path_of_this_machine():
    page = profile_html()
    for path in machine_paths():
        assert path not in page, path
    assert "/site-packages/" not in page
    assert "<stdlib>/" not in page  # escaped, as any text
    assert "&lt;stdlib&gt;/" in page or "&lt;frozen" in page or "cpu_bound.py" in page


def test_html_scripts_are_the_ones_the_csp_allows():
    page = profile_html()
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"',
                             page).group(1))
    allowed = set(re.findall(r"'sha256-([^']+)'", csp))
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(inline) == 2
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        assert digest in allowed
    # Nothing to load: no src attributes, the only <link> is the empty data: icon.
    assert not re.search(r"\ssrc=", page)
    assert re.findall(r"<link[^>]*>", page) == ['<link rel="icon" href="data:,">']


def test_html_without_profile_is_the_scan_page():
    report = dataclasses.replace(profile_report(), profile=None)
    page = html.render(report)
    assert 'id="profile"' not in page and "optadvisor-profile" not in page
    assert "timeline" not in page and "flame" not in page
    assert len(re.findall(r"'sha256-", unescape(page))) == 1
    assert page.count("<script>") == 1


@pytest.mark.parametrize("data", [
    {"script": "x.py"},
    {"outcome": {"status": "timeout", "message": "stopped after the 1 s timeout (SIGKILL)",
                 "timed_out": True, "signal": "SIGKILL", "returncode": None},
     "timeline": [[0, 1, 2]], "functions": [{"name": "f"}], "lines": [{"path": "a.py"}],
     "memory": {}, "stacks": [{"frames": [], "samples": 0}], "samples": None},
], ids=["minimal", "odd"])
def test_sparse_profiles_still_render(data):
    """Reports written by older versions (or by hand) lack keys: every format copes."""
    report = dataclasses.replace(profile_report(), profile=data)
    page = html.render(report)
    assert 'id="profile"' in page and "No call stacks in this profile" in page
    assert "### Profile" in markdown.render(report)
    assert "Profile  " in table.render(report, width=120, color=False)


def test_html_escapes_hostile_profile_content():
    page = html.render(hostile_report())
    assert "<script>window.__pwned" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e (evil.py:3)" in page
    assert "outcome-bad" in page and "exit code 1" in page
    assert 'id="profile-memory"' in page and "evil.py:3" in page
    assert page.count("<script>") == 2


# --------------------------------------------------------------------------- markdown


def test_markdown_profile_section():
    text = markdown.render(profile_report())
    assert "### Profile of `cpu_bound.py`" in text
    assert "✅ **ok**: the script exited normally" in text
    assert re.search(r"wall \d+\.\d+ s · CPU \d+\.\d+ s", text)
    assert "| Your function | Location |" in text and "| `score` | `cpu_bound.py:15` |" in text
    assert "| Hot line | Function |" in text and "`cpu_bound.py:20`" in text
    for path in machine_paths():
        assert path not in text, path
    # Still under the size limit, profile section first to stay.
    small = markdown.render(profile_report(), limit=3000)
    assert len(small.encode("utf-8")) < 3000 and "### Profile" in small


def test_markdown_escapes_hostile_profile_content():
    text = markdown.render(hostile_report())
    assert "❌ **exception**" in text and "(exit code 1)" in text
    assert "<script>" not in text.replace(f"`{HOSTILE_NAME}`", "")


def test_markdown_of_a_scan_has_no_profile_section():
    text = markdown.render(dataclasses.replace(profile_report(), profile=None))
    assert "### Profile" not in text


# --------------------------------------------------------------------------- table


def test_table_profile_block_comes_before_the_recommendations():
    report = profile_report()
    text = table.render(report, width=140, color=False)
    block = text[text.index("Profile  cpu_bound.py"):]
    assert block.index("outcome  ok: the script exited normally") < block.index("time     wall")
    assert re.search(r"wall \d+\.\d+ s · CPU \d+\.\d+ s \(\d+ % of one core\) · [\d,]+ samples",
                     block)
    rows = [line for line in block.splitlines()[3:9] if "cpu_bound.py:" in line]
    assert rows and rows[0].split()[0] == "score" and len(rows) <= table.PROFILE_TOP
    assert re.search(r"score\s+cpu_bound\.py:15(\s+\d+\.\d){4}", block)
    if report.recommendations:
        assert text.index("Profile  cpu_bound.py") < text.index("priority")
    assert "Profile  " not in table.render(dataclasses.replace(report, profile=None),
                                           width=140, color=False)


def test_table_says_what_happened_when_the_run_failed():
    text = table.render(hostile_report(), width=160, color=False)
    assert "outcome  exception: the script raised ValueError:" in text
    assert "(exit code 1)" in text
    assert HOSTILE_NAME in text  # plain text in a terminal, never markup
    data = dict(profile_report().profile)
    data["outcome"] = {"status": "signal", "returncode": None, "signal": "SIGKILL",
                       "message": "killed by SIGKILL", "timed_out": False}
    text = table.render(dataclasses.replace(profile_report(), profile=data), width=140,
                        color=False)
    assert "outcome  signal: the script killed by SIGKILL" in text
    data["outcome"] = {"status": "timeout", "returncode": None, "signal": "SIGTERM",
                       "message": "stopped after the 2 s timeout (SIGTERM)", "timed_out": True}
    text = table.render(dataclasses.replace(profile_report(), profile=data), width=140,
                        color=False)
    assert "outcome  timeout: the script stopped after the 2 s timeout (SIGTERM)" in text


# --------------------------------------------------------------------------- JSON


def test_profile_report_json_validates():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    from optadvisor.render import json as json_renderer

    document = json.loads(json_renderer.render(profile_report()))
    validator = jsonschema.Draft202012Validator(json_renderer.schema())
    assert [e.message for e in validator.iter_errors(document)] == []
    broken = json.loads(json.dumps(document))
    broken["profile"]["stacks"][0]["samples"] = 0
    assert list(validator.iter_errors(broken))


def test_profile_run_type_is_unchanged_for_positional_callers():
    # New fields go after the old ones, so a positional call of the old shape still works.
    fields = [f.name for f in dataclasses.fields(ProfileRun)]
    start = fields.index("tool_version")
    assert fields[start:start + 5] == ["tool_version", "stacks", "calls", "gc", "loop_lag"]
    assert fields[start + 5:start + 9] == ["repeats", "await_sites", "await_groups", "io_calls"]
