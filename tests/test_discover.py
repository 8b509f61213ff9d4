"""Which files a scan reads: .gitignore inside and outside git, include/exclude, explicit
paths, symlinks, unreadable files, and the component each file belongs to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write

from optadvisor.api import ScanOptions, scan
from optadvisor.config import load_config
from optadvisor.discover import discover

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def found(*paths: Path, config_file: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """({rel: component}, {rel: error kind}) for a discovery over `paths`."""
    config = load_config(list(paths), config_file)
    result = discover(list(paths), config)
    return ({f.rel: f.component for f in result.files},
            {e.path: e.kind for e in result.errors})


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)


IGNORING_TREE = {
    ".gitignore": "build/\n*_gen.py\n/top_only.py\n",
    "app/main.py": "x = 1\n",
    "app/models_gen.py": "x = 1\n",
    "app/top_only.py": "x = 1\n",      # anchored pattern: only the top-level one is ignored
    "top_only.py": "x = 1\n",
    "build/out.py": "x = 1\n",
    "app/.gitignore": "secret.py\n!keep_gen.py\n",
    "app/secret.py": "x = 1\n",
    "app/keep_gen.py": "x = 1\n",       # re-included by the nested negation
    "other/secret.py": "x = 1\n",      # the nested .gitignore does not reach here
    "README.md": "not python\n",
}
EXPECTED_KEPT = {"app/main.py", "app/top_only.py", "app/keep_gen.py", "other/secret.py"}


def test_gitignore_outside_git_with_nested_files(tmp_path: Path):
    root = write(tmp_path / "plain", IGNORING_TREE)
    files, errors = found(root)
    assert set(files) == EXPECTED_KEPT
    assert errors == {}


def test_gitignore_lines_git_cannot_use_are_skipped_not_fatal(tmp_path: Path):
    """`x\\`, `[z-a]` and a lone `!` are dropped by git; they used to end the scan as an
    internal error. The usable lines around them still apply."""
    root = write(tmp_path / "plain", {".gitignore": "x\\\n[z-a]\n!\nskip.py\n",
                                       "skip.py": "x = 1\n", "keep.py": "x = 1\n"})
    files, errors = found(root)
    assert set(files) == {"keep.py"}
    assert errors == {}


def test_oversized_gitignore_is_an_error_record_and_its_patterns_unapplied(tmp_path: Path):
    from optadvisor import discover as discover_module

    root = write(tmp_path / "plain", {"sub/.gitignore": "a.py\n" + "#" * 2000 + "\n",
                                       "sub/a.py": "x = 1\n", "b.py": "x = 1\n"})
    saved = discover_module.IGNORE_FILE_BYTES
    discover_module.IGNORE_FILE_BYTES = 1000
    try:
        result = discover([root], load_config([root], None))
    finally:
        discover_module.IGNORE_FILE_BYTES = saved
    assert {f.rel for f in result.files} == {"sub/a.py", "b.py"}
    [error] = result.errors
    assert (error.path, error.kind) == ("sub/.gitignore", "unreadable")
    assert "limit" in error.message and "not applied" in error.message


@needs_git
def test_gitignore_inside_a_git_work_tree(tmp_path: Path):
    root = write(tmp_path / "repo", IGNORING_TREE)
    git_init(root)
    subprocess.run(["git", "add", "app/main.py"], cwd=root, check=True)  # tracked + untracked
    write(root, {".git/info/exclude": "local_only.py\n", "app/local_only.py": "x = 1\n"})
    files, errors = found(root)
    assert set(files) == EXPECTED_KEPT
    assert errors == {}
    # A subdirectory of the work tree: paths relative to it, git's ignore rules still apply.
    files, _ = found(root / "app")
    assert set(files) == {"main.py", "top_only.py", "keep_gen.py"}


@needs_git
def test_git_tracked_files_deleted_from_disk_are_not_scanned(tmp_path: Path):
    root = write(tmp_path / "repo", {"a.py": "x = 1\n", "b.py": "x = 1\n"})
    git_init(root)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    (root / "b.py").unlink()
    assert found(root) == ({"a.py": "repo"}, {})


def test_respect_gitignore_false_scans_ignored_files(tmp_path: Path):
    root = write(tmp_path / "plain", {
        ".gitignore": "*_gen.py\n", "a_gen.py": "x = 1\n", "b.py": "x = 1\n",
        "pyproject.toml": "[tool.optadvisor]\nrespect-gitignore = false\n",
    })
    files, _ = found(root)
    assert set(files) == {"a_gen.py", "b.py"}


def test_default_excludes_skip_tool_and_venv_folders(tmp_path: Path):
    root = write(tmp_path / "plain", {
        "a.py": "x = 1\n", ".venv/lib/x.py": "x = 1\n", "venv/y.py": "x = 1\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n", "venv/pyvenv.cfg": "home = /usr/bin\n",
        "__pycache__/z.py": "x = 1\n", "node_modules/pkg/w.py": "x = 1\n",
        "pkg.egg-info/v.py": "x = 1\n", ".git/hooks/h.py": "x = 1\n",
    })
    assert set(found(root)[0]) == {"a.py"}


# An interpreter's lib directory and a project with environments of every kind:
# recognised by what they hold, not by name.
ENVIRONMENTS = {
    "app/main.py": "x = 1\n",
    # The standard library's own package named venv (and a project's): code, scanned.
    "lib/python3.11/venv/__init__.py": "x = 1\n",
    "lib/python3.11/venv/__main__.py": "x = 1\n",
    "tools/venv.py": "x = 1\n",
    # Installed packages, excluded by name.
    "lib/python3.11/site-packages/pkg/mod.py": "x = 1\n",
    "lib/python3.11/site-packages/pkg/sub.py": "x = 1\n",
    # A virtualenv under any name: its scripts too, and its site-packages counts as its own.
    "envs/dev/pyvenv.cfg": "home = /usr/bin\n",
    "envs/dev/bin/activate_this.py": "x = 1\n",
    "envs/dev/lib/python3.11/site-packages/dep.py": "x = 1\n",
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    ".venv/lib/python3.11/site-packages/other.py": "x = 1\n",
    # A conda environment.
    "conda/ml/conda-meta/history": "",
    "conda/ml/lib/python3.11/site-packages/numpyish.py": "x = 1\n",
    # A tool's directory.
    ".tox/py311/lib/t.py": "x = 1\n",
}


@pytest.mark.parametrize("in_git", [False, pytest.param(True, marks=needs_git)],
                         ids=["plain", "git"])
def test_environments_are_recognised_by_their_marker_not_their_name(tmp_path: Path,
                                                                    in_git: bool):
    root = write(tmp_path / "tree", ENVIRONMENTS)
    if in_git:
        git_init(root)
    result = discover([root], load_config([root]))
    assert sorted(f.rel for f in result.files) == [
        "app/main.py", "lib/python3.11/venv/__init__.py", "lib/python3.11/venv/__main__.py",
        "tools/venv.py"]
    assert result.excluded == {
        "virtual-environment": {"files": 4, "directories": 3},
        "installed-packages": {"files": 2, "directories": 1},
        "tool-directory": {"files": 1, "directories": 1},
    }


def test_a_directory_named_on_the_command_line_is_scanned_even_as_an_environment(
        tmp_path: Path):
    root = write(tmp_path / "tree", ENVIRONMENTS)
    packages = root / "lib/python3.11/site-packages"
    result = discover([packages], load_config([packages]))
    assert sorted(f.rel for f in result.files) == ["pkg/mod.py", "pkg/sub.py"]
    assert result.excluded == {}
    # The defaults still hold below it: the environment's packages are named to be read.
    env = root / "envs" / "dev"
    result = discover([env], load_config([env]))
    assert [f.rel for f in result.files] == ["bin/activate_this.py"]
    assert result.excluded == {"installed-packages": {"files": 1, "directories": 1}}


def test_a_config_negation_takes_back_a_default_exclude(tmp_path: Path):
    root = write(tmp_path / "tree", {
        **ENVIRONMENTS,
        "pyproject.toml": '[tool.optadvisor]\nexclude = ["!lib/python3.11/site-packages/"]\n'})
    result = discover([root], load_config([root]))
    assert "lib/python3.11/site-packages/pkg/mod.py" in {f.rel for f in result.files}
    assert "installed-packages" not in result.excluded


def test_the_summary_says_what_default_excludes_left_out(tmp_path: Path):
    root = write(tmp_path / "tree", ENVIRONMENTS)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1))
    assert report.summary.files == 4
    document = report.to_dict()
    assert document["summary"]["excluded_by_default"]["virtual-environment"] == {
        "files": 4, "directories": 3}
    jsonschema = pytest.importorskip("jsonschema")
    from optadvisor.render import json as json_renderer

    jsonschema.Draft202012Validator(json_renderer.schema()).validate(document)
    from optadvisor.render.common import excluded_line

    assert excluded_line(report) == (
        "4 files in 3 virtual environments, 2 files in 1 installed-packages directory, "
        "1 file in 1 tool directory not scanned (default excludes; a directory named on "
        "the command line is scanned)")
    from optadvisor.render import full, table

    for render in (full.render, table.render):
        out = " ".join(render(report, width=200, color=False).split())
        assert "4 files in 3 virtual environments, 2 files in 1 installed-packages" in out
    quiet = write(tmp_path / "quiet", {"a.py": "x = 1\n"})
    report = scan(ScanOptions(paths=(quiet,), use_cache=False, jobs=1))
    assert report.to_dict()["summary"]["excluded_by_default"] == {}
    assert excluded_line(report) is None


@pytest.mark.parametrize("in_git", [False, pytest.param(True, marks=needs_git)],
                         ids=["plain", "git"])
def test_explicit_file_paths_are_always_scanned(tmp_path: Path, in_git: bool):
    root = write(tmp_path / "repo", {
        ".gitignore": "ignored.py\n",
        "pyproject.toml": '[tool.optadvisor]\nexclude = ["excluded.py"]\ninclude = ["*.py"]\n',
        "ignored.py": "x = 1\n", "excluded.py": "x = 1\n", "script": "x = 1\n",
        "normal.py": "x = 1\n",
    })
    if in_git:
        git_init(root)
    assert set(found(root)[0]) == {"normal.py"}
    files, errors = found(root / "ignored.py", root / "excluded.py", root / "script")
    assert set(files) == {"ignored.py", "excluded.py", "script"}
    assert errors == {}
    # Also through the whole pipeline.
    report = scan(ScanOptions(paths=(root / "ignored.py", root / "excluded.py"),
                              use_cache=False, jobs=1))
    assert report.summary.files == 2


def test_config_include_and_exclude(tmp_path: Path):
    root = write(tmp_path / "proj", {
        "pyproject.toml": (
            "[tool.optadvisor]\n"
            'include = ["*.py", "*.pyw"]\n'
            'exclude = ["legacy/", "gen_*.py", "agents/b/"]\n'
            'extend-exclude = ["*_test.py"]\n'),
        "agents/a/run.py": "x = 1\n", "agents/a/gui.pyw": "x = 1\n",
        "agents/a/gen_models.py": "x = 1\n", "agents/a/legacy/old.py": "x = 1\n",
        "agents/a/run_test.py": "x = 1\n",
        "agents/b/run.py": "x = 1\n", "agents/c/b/run.py": "x = 1\n",
        "notes.txt": "x = 1\n",
    })
    assert set(found(root)[0]) == {"agents/a/run.py", "agents/a/gui.pyw", "agents/c/b/run.py"}


def test_exclude_patterns_are_relative_to_the_config_file(tmp_path: Path):
    root = write(tmp_path / "proj", {
        "pyproject.toml": '[tool.optadvisor]\nexclude = ["agents/b/", "/agents/a/skip.py"]\n',
        "agents/a/run.py": "x = 1\n", "agents/a/skip.py": "x = 1\n", "agents/b/run.py": "x = 1\n",
    })
    assert set(found(root)[0]) == {"agents/a/run.py"}
    # Scanning a subdirectory: the anchored patterns still mean the same files.
    assert set(found(root / "agents")[0]) == {"a/run.py"}


def test_scanning_an_excluded_directory_by_name_scans_it(tmp_path: Path):
    # The repo's own pyproject excludes "fixtures", yet `optadvisor scan fixtures/agents`
    # must scan them: a directory named on the command line is always scanned.
    root = write(tmp_path / "proj", {
        "pyproject.toml": '[tool.optadvisor]\nexclude = ["fixtures", "tests"]\n',
        "fixtures/agents/a/run.py": "x = 1\n", "fixtures/agents/a/tests/t.py": "x = 1\n",
        "src/main.py": "x = 1\n",
    })
    assert set(found(root)[0]) == {"src/main.py"}
    assert set(found(root / "fixtures" / "agents")[0]) == {"a/run.py"}


def test_dir_symlink_to_its_parent_is_a_loop_record(tmp_path: Path):
    root = write(tmp_path / "plain", {"pkg/mod.py": "x = 1\n", "top.py": "x = 1\n"})
    os.symlink("..", root / "pkg" / "loop")
    files, errors = found(root)
    assert set(files) == {"pkg/mod.py", "top.py"}
    assert errors == {"pkg/loop": "symlink-loop"}
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1))
    assert report.summary.files == 2
    assert [(e.path, e.kind) for e in report.errors] == [("pkg/loop", "symlink-loop")]
    assert "loop" in report.errors[0].message


@needs_git
def test_dir_symlink_loop_inside_git_is_not_followed(tmp_path: Path):
    # git lists a symlink as an entry and never follows it: no loop, each file once.
    root = write(tmp_path / "repo", {"pkg/mod.py": "x = 1\n"})
    git_init(root)
    os.symlink("..", root / "pkg" / "loop")
    os.symlink("..", root / "pkg" / "loop.py")  # even when it looks like a Python file
    files, errors = found(root)
    assert set(files) == {"pkg/mod.py"}
    assert errors == {}


def test_self_referencing_file_symlink_is_a_loop_record(tmp_path: Path):
    root = write(tmp_path / "plain", {"ok.py": "x = 1\n"})
    os.symlink("me.py", root / "me.py")
    files, errors = found(root)
    assert set(files) == {"ok.py"}
    assert errors == {"me.py": "symlink-loop"}


def test_two_symlinks_to_one_folder_are_not_a_loop(tmp_path: Path):
    root = write(tmp_path / "plain", {"shared/util.py": "x = 1\n"})
    os.symlink("shared", root / "alias")
    files, errors = found(root)
    assert len(files) == 1 and set(files) <= {"alias/util.py", "shared/util.py"}
    assert errors == {}


@pytest.mark.parametrize("in_git", [False, pytest.param(True, marks=needs_git)],
                         ids=["plain", "git"])
def test_broken_symlinks_are_records(tmp_path: Path, in_git: bool):
    root = write(tmp_path / "repo", {"ok.py": "x = 1\n"})
    if in_git:
        git_init(root)
    os.symlink("missing.py", root / "dangling.py")
    os.symlink(str(tmp_path / "nowhere" / "x.py"), root / "far.py")
    files, errors = found(root)
    assert set(files) == {"ok.py"}
    assert errors == {"dangling.py": "broken-symlink", "far.py": "broken-symlink"}
    # Named explicitly, too.
    assert found(root / "dangling.py")[1] == {"dangling.py": "broken-symlink"}


def test_fifo_and_device_are_records_and_never_read(tmp_path: Path):
    root = write(tmp_path / "plain", {"ok.py": "x = 1\n"})
    os.mkfifo(root / "pipe.py")  # reading it would block forever
    os.symlink("/dev/zero", root / "zero.py")  # reading it would never end
    files, errors = found(root)
    assert set(files) == {"ok.py"}
    assert errors == {"pipe.py": "unreadable", "zero.py": "unreadable"}
    proc = subprocess.run([sys.executable, "-m", "optadvisor", "scan", str(root), "-q",
                           "--no-cache"], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode; running as root")
def test_unreadable_file_and_directory_are_records(tmp_path: Path):
    root = write(tmp_path / "plain", {"ok.py": "x = 1\n", "secret.py": "x = 1\n",
                                      "locked/inner.py": "x = 1\n"})
    (root / "secret.py").chmod(0)
    (root / "locked").chmod(0)
    try:
        report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1))
    finally:
        (root / "secret.py").chmod(0o644)
        (root / "locked").chmod(0o755)
    assert report.summary.files == 1
    assert {(e.path, e.kind) for e in report.errors} == {("secret.py", "unreadable"),
                                                         ("locked", "unreadable")}


def test_unreadable_file_is_a_record_simulated(tmp_path: Path, monkeypatch):
    """The same as above, but works as root too: reading the file raises EACCES."""
    root = write(tmp_path / "plain", {"ok.py": "x = 1\n", "secret.py": "x = 1\n"})
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1))
    assert report.summary.files == 1
    assert [(e.path, e.kind, e.message) for e in report.errors] == [
        ("secret.py", "unreadable", "Permission denied")]


def test_components_first_directory_under_the_root(tmp_path: Path):
    root = write(tmp_path / "mono", {
        "billing/a.py": "x = 1\n", "billing/sub/deep/b.py": "x = 1\n",
        "support/c.py": "x = 1\n", "top.py": "x = 1\n",
    })
    assert found(root)[0] == {"billing/a.py": "billing", "billing/sub/deep/b.py": "billing",
                              "support/c.py": "support", "top.py": "mono"}


def test_components_nearest_pyproject_wins(tmp_path: Path):
    root = write(tmp_path / "mono", {
        "pyproject.toml": "[project]\nname = 'mono'\n",
        "services/pay/pyproject.toml": "[project]\nname = 'pay'\n",
        "services/pay/src/pay/api.py": "x = 1\n",
        "services/pay/plugins/fx/pyproject.toml": "[project]\nname = 'fx'\n",
        "services/pay/plugins/fx/fx.py": "x = 1\n",
        "services/common.py": "x = 1\n",
    })
    assert found(root)[0] == {
        "services/pay/src/pay/api.py": "services/pay",
        "services/pay/plugins/fx/fx.py": "services/pay/plugins/fx",
        "services/common.py": "services",
    }


def test_components_from_component_roots_patterns(tmp_path: Path):
    root = write(tmp_path / "mono", {
        "pyproject.toml": '[tool.optadvisor]\ncomponent-roots = ["agents/*", "libs/**/core"]\n',
        "agents/alpha/run.py": "x = 1\n",
        "agents/alpha/tools/deep/t.py": "x = 1\n",  # `*` must not cross a `/`
        "agents/beta/pyproject.toml": "[project]\nname = 'beta'\n",
        "agents/beta/sub/pyproject.toml": "[project]\nname = 'sub'\n",
        "agents/beta/sub/b.py": "x = 1\n",          # the pattern beats a pyproject
        "libs/x/y/core/c.py": "x = 1\n",
        "scripts/s.py": "x = 1\n",                  # no pattern: first directory
    })
    assert found(root)[0] == {
        "agents/alpha/run.py": "agents/alpha",
        "agents/alpha/tools/deep/t.py": "agents/alpha",
        "agents/beta/sub/b.py": "agents/beta",
        "libs/x/y/core/c.py": "libs/x/y/core",
        "scripts/s.py": "scripts",
    }


def test_not_found_path_in_api_is_a_record(tmp_path: Path):
    write(tmp_path, {"ok.py": "x = 1\n"})
    report = scan(ScanOptions(paths=(tmp_path / "ok.py", tmp_path / "nope.py"),
                              use_cache=False, jobs=1))
    assert report.summary.files == 1
    assert [e.kind for e in report.errors] == ["not-found"]


def test_a_directory_the_repository_ignores_is_scanned_when_named(tmp_path):
    """`optadvisor scan venv/lib/...` inside a repo that ignores venv/: the user asked for
    that tree, so it is walked (with the ignore files inside it), not emptied by git."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("vendor/\n")
    vendored = tmp_path / "vendor" / "lib"
    vendored.mkdir(parents=True)
    (vendored / "m.py").write_text("x = 1\n")
    (vendored / "skip.py").write_text("y = 2\n")
    (tmp_path / "vendor" / ".gitignore").write_text("skip.py\n")
    (tmp_path / "app.py").write_text("z = 3\n")
    from optadvisor.config import load_config
    from optadvisor.discover import discover

    named = discover([tmp_path / "vendor"], load_config([tmp_path / "vendor"]))
    assert [f.rel for f in named.files] == ["lib/m.py"]
    whole = discover([tmp_path], load_config([tmp_path]))
    assert [f.rel for f in whole.files] == ["app.py"]


def test_a_module_hidden_by_a_package_of_the_same_name_is_not_scanned(tmp_path: Path):
    """`app/providers.py` beside `app/providers/__init__.py`: `import app.providers` finds the
    package, so the module never runs (letta kept one after a refactor: 9 false findings).
    It is counted as a default exclusion; named on the command line it is scanned."""
    root = write(tmp_path / "plain", {
        "app/__init__.py": "", "app/providers/__init__.py": "", "app/providers/ollama.py": "",
        "app/providers.py": "import requests\n", "app/other.py": ""})
    result = discover([root], load_config([root], None))
    assert "app/providers.py" not in {f.rel for f in result.files}
    assert "app/other.py" in {f.rel for f in result.files}
    assert result.excluded == {"shadowed-module": {"files": 1, "directories": 1}}
    named = discover([root / "app" / "providers.py"], load_config([root], None))
    assert [f.rel for f in named.files] == ["providers.py"]


def test_a_build_copy_of_the_project_s_own_package_is_not_scanned(tmp_path: Path):
    """Held-out S46: reliableGPT commits `build/lib/reliablegpt/`, setuptools' copy of its
    `reliablegpt/` package: its findings repeated the source's. A `build/` package the tree
    holds nowhere else (PyPA's `build` is a package of that name) is scanned."""
    root = write(tmp_path / "plain", {
        "reliablegpt/__init__.py": "", "reliablegpt/main.py": "import requests\n",
        "build/lib/reliablegpt/__init__.py": "", "build/lib/reliablegpt/main.py": "x = 1\n",
        "build/lib/other/__init__.py": "", "src/build/__init__.py": "",
        "src/build/env.py": ""})
    result = discover([root], load_config([root], None))
    assert {f.rel for f in result.files} == {
        "reliablegpt/__init__.py", "reliablegpt/main.py", "build/lib/other/__init__.py",
        "src/build/__init__.py", "src/build/env.py"}
    assert result.excluded == {"build-copy": {"files": 2, "directories": 1}}
