"""`[tool.optadvisor]` in the nearest pyproject.toml, `--config FILE`, and the settings
that change a scan: select/ignore, per-path-ignores, jobs, cache-dir, fail-on."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from optadvisor.api import ScanOptions, scan
from optadvisor.cli import app
from optadvisor.config import ConfigError, load_config

# OPT101 (blocking call in async) on line 6, OPT201 (client per call) and OPT202 (no
# timeout) on line 10.
CODE = '''import httpx
import requests


async def fetch(url):
    return requests.get(url, timeout=5)


def post(url, data):
    return httpx.Client(timeout=None).post(url, json=data)
'''


def rules_found(report) -> list[tuple[str, str, int]]:
    """Every rule that matched, facets of a shared site included."""
    return sorted([(r.rule, r.path, r.line) for r in report.recommendations]
                  + [(f["rule"], r.path, r.line) for r in report.recommendations
                     for f in r.facets])


def run(args: list[str]):
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def flat(text: str) -> str:
    """Error text with rich's line wrapping undone (a long path may be folded)."""
    return "".join(text.split())


def test_code_sample_triggers_the_three_rules(tmp_path: Path):
    write(tmp_path, {"a.py": CODE})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert rules_found(report) == [("OPT101", "a.py", 6), ("OPT201", "a.py", 10),
                                   ("OPT202", "a.py", 10)]


def test_nearest_pyproject_with_our_table_is_used(tmp_path: Path):
    write(tmp_path, {
        "pyproject.toml": '[tool.optadvisor]\nignore = ["OPT1"]\n',
        "pkg/pyproject.toml": "[project]\nname = 'pkg'\n",  # no [tool.optadvisor]: skipped
        "pkg/src/a.py": CODE,
        "other/pyproject.toml": '[tool.optadvisor]\nignore = ["OPT2"]\n',
        "other/a.py": CODE,
    })
    config = load_config([tmp_path / "pkg" / "src"])
    assert config.config_file == tmp_path / "pyproject.toml"
    assert [r[0] for r in rules_found(scan(ScanOptions(
        paths=(tmp_path / "pkg" / "src",), use_cache=False, jobs=1)))] == ["OPT201", "OPT202"]
    assert [r[0] for r in rules_found(scan(ScanOptions(
        paths=(tmp_path / "other",), use_cache=False, jobs=1)))] == ["OPT101"]
    # A file path finds the config of its directory too.
    assert load_config([tmp_path / "other" / "a.py"]).config_file == \
        tmp_path / "other" / "pyproject.toml"


BAD_TABLES = {
    "unknown-key": "colour = true\n",
    "misspelt-key": 'exlude = ["x"]\n',
    "exclude-string": 'exclude = "tests"\n',
    "include-ints": "include = [1, 2]\n",
    "select-string": 'select = "OPT1"\n',
    "jobs-string": 'jobs = "4"\n',
    "jobs-negative": "jobs = -1\n",
    "jobs-huge": "jobs = 100000000000000000000\n",  # 10**20 was taken as is
    "max-seconds-zero": "max-file-seconds = 0\n",
    "max-mib-small": "max-file-mib = 1\n",
    "jobs-bool": "jobs = true\n",
    "max-bytes-float": "max-file-bytes = 1.5\n",
    "cache-dir-int": "cache-dir = 3\n",
    "fail-on-unknown": 'fail-on = "severe"\n',
    "fail-on-int": "fail-on = 1\n",
    "gitignore-string": 'respect-gitignore = "yes"\n',
    "ppi-list": 'per-path-ignores = ["tests/*"]\n',
    "ppi-value-string": '[tool.optadvisor.per-path-ignores]\n"tests/*" = "OPT1"\n',
    "catalogs-string": 'catalogs = "apis.toml"\n',
}


@pytest.mark.parametrize("body", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_config_is_exit_2_naming_the_file(tmp_path: Path, body: str):
    header = "" if body.startswith("[tool.optadvisor.") else "[tool.optadvisor]\n"
    write(tmp_path, {"pyproject.toml": header + body, "a.py": CODE})
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert str(tmp_path / "pyproject.toml") in flat(result.stderr)
    assert "Traceback" not in result.output


def test_invalid_toml_in_our_pyproject_is_exit_2_not_ignored(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": "[tool.optadvisor]\nignore = [OPT1\n", "a.py": CODE})
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert "invalidTOML" in flat(result.stderr)
    assert str(tmp_path / "pyproject.toml") in flat(result.stderr)


CONFIG_FILE_ERRORS = {
    # Bad globs were internal errors (GitIgnorePatternError, re.error) mid-discovery.
    "exclude-glob": (b'[tool.optadvisor]\nexclude = ["vendor/", "x\\\\"]\n',
                     ":2 [tool.optadvisor]: exclude pattern 'x\\\\' is not a valid"),
    "include-glob": (b'[tool.optadvisor]\ninclude = [\n  "*.py",\n  "!",\n]\n',
                     ":4 [tool.optadvisor]: include pattern '!' is not a valid"),
    "per-path-glob": (b'[tool.optadvisor.per-path-ignores]\n"[z-a]" = ["OPT1"]\n',
                      ":2 [tool.optadvisor]: per-path-ignores pattern '[z-a]'"),
    # RecursionError, naming no file.
    "deep": (b"[tool.optadvisor]\nx = " + b"[" * 5000 + b"]" * 5000 + b"\n",
             ":2: nests deeper than 100 levels"),
}


@pytest.mark.parametrize("body, fragment", CONFIG_FILE_ERRORS.values(),
                         ids=CONFIG_FILE_ERRORS.keys())
def test_config_file_errors_are_exit_2_naming_the_file_and_line(tmp_path: Path, body: bytes,
                                                                 fragment: str):
    write(tmp_path, {"pyproject.toml": body, "a.py": CODE})
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {tmp_path / 'pyproject.toml'}")
    assert fragment in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_pyproject_that_is_not_utf8_is_an_error_when_it_holds_our_table(tmp_path: Path):
    """It was skipped in silence, and the scan ran with the defaults (or a parent's
    config), exit 0. One that does not mention optadvisor is another tool's problem."""
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\nignore = ["OPT2"]\n',
                     "ours/pyproject.toml": b'# caf\xe9\n[tool.optadvisor]\nselect = ["OPT1"]\n',
                     "ours/a.py": CODE,
                     "theirs/pyproject.toml": b"[project]\nname = 'caf\xe9'\n"})
    result = run(["scan", str(tmp_path / "ours"), "--no-cache", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"error: {tmp_path / 'ours' / 'pyproject.toml'}:1: not UTF-8 "
                             "(byte 0xe9); TOML files must be UTF-8\n")
    assert load_config([tmp_path / "theirs"]).config_file == tmp_path / "pyproject.toml"


def test_an_include_pattern_that_matches_nothing_says_so(tmp_path: Path):
    config = tmp_path / "pyproject.toml"
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\ninclude = ["src/*.py", "*.py"]\n',
                     "a.py": CODE})
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1", "--format", "concise"])
    assert result.exit_code == 1  # a.py is scanned; the typo'd pattern is pointed out
    assert result.stderr == (f"warning: {config}: include pattern 'src/*.py' matches no file "
                             f"under {tmp_path}\n")
    config.write_text('[tool.optadvisor]\ninclude = ["src/*.py"]\n')
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1", "--format", "concise"])
    assert result.exit_code == 0
    assert (f"warning: nothing to scan under {tmp_path}: include (src/*.py) matches none "
            "of the 2 files there") in result.stderr


@pytest.mark.parametrize("args, warning", [
    (["--select", "OPT1", "--ignore", "OPT1"],
     "warning: no rule runs: nothing is left after --select OPT1 and --ignore OPT1"),
    (["--select", "OPT101,OPT2", "--ignore", "OPT101"],
     "warning: --select OPT101 selects no rule that runs: --ignore OPT101 drops every rule"),
    (["--select", "OPT5"], ("warning: the selected rules (OPT501, OPT502, OPT503, OPT504, "
                            "OPT505, OPT506, OPT507, OPT508, OPT509, OPT510) read profile runs: "
                            "a scan runs none of them")),
])
def test_a_select_that_matches_nothing_says_so(tmp_path: Path, args: list[str], warning: str):
    write(tmp_path, {"a.py": CODE})
    result = run(["scan", str(tmp_path), "--no-cache", "-j", "1", "--format", "json", *args])
    assert warning in result.stderr


def test_rule_codes_are_case_insensitive(tmp_path: Path):
    """`opt101` passed the check of codes but then selected (or ignored) nothing."""
    write(tmp_path, {"a.py": CODE})
    selected = run(["scan", str(tmp_path), "--no-cache", "-j", "1", "--format", "json",
                    "--select", "opt101"])
    assert '"OPT101"' in selected.stdout and '"OPT201"' not in selected.stdout
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\nignore = ["opt1"]\n'})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [r[0] for r in rules_found(report)] == ["OPT201", "OPT202"]


def test_unrelated_broken_pyproject_is_skipped(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\nignore = ["OPT2"]\n',
                     "pkg/pyproject.toml": "[project\nname = 'x'\n", "pkg/a.py": CODE})
    assert load_config([tmp_path / "pkg"]).config_file == tmp_path / "pyproject.toml"


def test_config_file_option(tmp_path: Path):
    write(tmp_path, {
        "repo/pyproject.toml": '[tool.optadvisor]\nignore = ["OPT2"]\n',
        "repo/a.py": CODE,
        "flat.toml": 'select = ["OPT201"]\nfail-on = "never"\n',
        "tabled.toml": '[tool.optadvisor]\nselect = ["OPT202"]\n',
        "empty-table.toml": "[tool.optadvisor]\n",
        "odd.toml": "tool = 1\n",
    })
    repo = tmp_path / "repo"
    config = load_config([repo], tmp_path / "flat.toml")
    assert config.select == ("OPT201",) and config.fail_on == "never"
    assert load_config([repo], tmp_path / "tabled.toml").select == ("OPT202",)
    assert load_config([repo], tmp_path / "empty-table.toml").select == ()
    with pytest.raises(ConfigError, match="odd.toml"):
        load_config([repo], tmp_path / "odd.toml")
    result = run(["scan", str(repo), "--config", str(tmp_path / "flat.toml"), "--no-cache",
                  "--format", "json", "-j", "1"])
    assert result.exit_code == 0  # fail-on = never from the --config file
    assert '"OPT201"' in result.stdout and '"OPT101"' not in result.stdout
    missing = run(["scan", str(repo), "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2
    assert "nope.toml" in flat(missing.stderr)


@pytest.mark.parametrize("select, ignore, expected", [
    ((), (), ["OPT101", "OPT201", "OPT202"]),
    (("OPT2",), (), ["OPT201", "OPT202"]),
    (("OPT1", "OPT202"), (), ["OPT101", "OPT202"]),
    ((), ("OPT2",), ["OPT101"]),
    ((), ("OPT101", "OPT202"), ["OPT201"]),
    (("OPT2",), ("OPT202",), ["OPT201"]),
    (("OPT",), ("OPT2",), ["OPT101"]),
])
def test_select_and_ignore_prefixes(tmp_path: Path, select, ignore, expected):
    write(tmp_path, {"a.py": CODE})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1,
                              select=select, ignore=ignore))
    assert [r[0] for r in rules_found(report)] == expected


def test_select_and_ignore_flags_comma_separated_and_repeated(tmp_path: Path):
    write(tmp_path, {"a.py": CODE})
    result = run(["scan", str(tmp_path), "--format", "json", "--no-cache", "-j", "1",
                  "--select", "OPT1,OPT2", "--ignore", "OPT201", "--ignore", "OPT202"])
    assert '"OPT101"' in result.stdout
    assert '"OPT201"' not in result.stdout and '"OPT202"' not in result.stdout


def test_select_and_ignore_from_config_and_flags_override(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\nselect = ["OPT2"]\n', "a.py": CODE})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [r[0] for r in rules_found(report)] == ["OPT201", "OPT202"]
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, select=("OPT1",)))
    assert [r[0] for r in rules_found(report)] == ["OPT101"]


def test_per_path_ignores(tmp_path: Path):
    write(tmp_path, {
        "pyproject.toml": ('[tool.optadvisor.per-path-ignores]\n'
                           '"legacy/**" = ["OPT1"]\n"*_script.py" = ["OPT201", "OPT202"]\n'),
        "legacy/old/a.py": CODE, "new/a.py": CODE, "new/run_script.py": CODE,
    })
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert rules_found(report) == [
        ("OPT101", "new/a.py", 6), ("OPT101", "new/run_script.py", 6),
        ("OPT201", "legacy/old/a.py", 10), ("OPT201", "new/a.py", 10),
        ("OPT202", "legacy/old/a.py", 10), ("OPT202", "new/a.py", 10),
    ]
    assert report.summary.suppressed == 3


def test_jobs_from_config_and_flag(tmp_path: Path, monkeypatch):
    seen: list[int] = []
    import optadvisor.workers  # api imports analyze_all from it when it analyzes

    real = optadvisor.workers.analyze_all

    def spy(*args, **kwargs):
        seen.append(args[3])  # analyze_all(jobs, catalog, max_bytes, processes, ...)
        return real(*args[:3], 1, *args[4:], **kwargs)

    monkeypatch.setattr(optadvisor.workers, "analyze_all", spy)
    write(tmp_path, {"pyproject.toml": "[tool.optadvisor]\njobs = 3\n", "a.py": CODE})
    scan(ScanOptions(paths=(tmp_path,), use_cache=False))
    scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=2))
    assert seen == [3, 2]
    result = run(["scan", str(tmp_path), "--no-cache", "--jobs", "0"])
    assert result.exit_code == 2  # --jobs must be at least 1


def test_cache_dir_from_config_flag_and_environment(tmp_path: Path, monkeypatch):
    write(tmp_path, {"proj/pyproject.toml": '[tool.optadvisor]\ncache-dir = ".oa-cache"\n',
                     "proj/a.py": CODE})
    proj = tmp_path / "proj"

    def entries(folder: Path) -> list[Path]:
        return [p for p in folder.rglob("facts-v*/**/*.json")] if folder.exists() else []

    scan(ScanOptions(paths=(proj,), jobs=1))
    assert len(entries(proj / ".oa-cache")) == 1  # relative to the config file
    assert scan(ScanOptions(paths=(proj,), jobs=1)).summary.cached_files == 1
    run(["scan", str(proj), "--cache-dir", str(tmp_path / "flag-cache"), "-j", "1", "-q"])
    assert len(entries(tmp_path / "flag-cache")) == 1  # the flag beats the config
    (proj / "pyproject.toml").write_text("[tool.optadvisor]\n")
    monkeypatch.setenv("OPTADVISOR_CACHE_DIR", str(tmp_path / "env-cache"))
    scan(ScanOptions(paths=(proj,), jobs=1))
    assert len(entries(tmp_path / "env-cache")) == 1  # no config: the environment


def test_fail_on_from_config_and_flag_override(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": '[tool.optadvisor]\nfail-on = "critical"\n',
                     "a.py": CODE})
    assert run(["scan", str(tmp_path), "--no-cache", "-q", "-j", "1"]).exit_code == 0
    assert run(["scan", str(tmp_path), "--no-cache", "-q", "-j", "1",
                "--fail-on", "high"]).exit_code == 1


def test_max_file_bytes_from_config(tmp_path: Path):
    write(tmp_path, {"pyproject.toml": "[tool.optadvisor]\nmax-file-bytes = 100\n",
                     "a.py": CODE, "small.py": "x = 1\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [(e.path, e.kind) for e in report.errors] == [("a.py", "too-large")]
    assert report.summary.files == 1
