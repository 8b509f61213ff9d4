"""`scan --shard K/N` and `report SHARD...`: the merged report is the report of one scan
(same recommendations, in the same order, cross-file chains that span shards included),
the partition does not depend on the order files are found in, and a set of shards that
is incomplete or inconsistent is refused, naming what is wrong."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from conftest import FIXTURES
from shard_tree import generate
from typer.testing import CliRunner

from optadvisor.api import ScanOptions, load_reports, merge_shards, scan
from optadvisor.cli import app
from optadvisor.config import ConfigError
from optadvisor.models import SourceFile
from optadvisor.render import json as json_renderer
from optadvisor.shard import FILE_WEIGHT, parse_shard, partition


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _document(report) -> dict:
    """A report as `--format json` writes it (and `report` reads it back)."""
    return json.loads(json_renderer.render(report))


def _shards(root: Path, count: int, cache: Path, **options) -> list[dict]:
    return [_document(scan(ScanOptions(paths=(root,), jobs=2, cache_dir=cache,
                                       shard=(k, count), **options)))
            for k in range(1, count + 1)]


def _merged(documents: list[dict]) -> dict:
    named = [(Path(f"shard-{d['shard']['index']}.json"), d) for d in documents]
    return _document(merge_shards(named))


def _keys(document: dict) -> list[tuple[str, str, int, str]]:
    return [(r["rule"], r["path"], r["line"], r["fingerprint"])
            for r in document["recommendations"]]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A tree of ~300 files with cross-file chains, and its unsharded scan."""
    base = tmp_path_factory.mktemp("shard")
    root = generate(base / "tree", files=300)
    # Files that fail (error records) and a test file (linked, no rule runs in it) land in
    # some shard too.
    (root / "pkg" / "broken.py").write_text("def broken(:\n    pass\n", encoding="utf-8")
    (root / "pkg" / "nul.py").write_bytes(b"x = 1\x00\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_h.py").write_text(
        "import time\n\nfrom pkg.helpers.h1 import fetch_1\n\n\n"
        "async def test_fetch():\n    time.sleep(1)\n    return fetch_1('u')\n",
        encoding="utf-8")
    cache = base / "cache"
    whole = _document(scan(ScanOptions(paths=(root,), jobs=2, cache_dir=cache)))
    return root, cache, whole


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_merged_shards_of_the_generated_tree_are_the_whole_scan(generated, count: int):
    root, cache, whole = generated
    documents = _shards(root, count, cache)
    merged = _merged(documents)
    assert _keys(merged) == _keys(whole)
    assert merged["recommendations"] == whole["recommendations"]  # messages, fixes too
    assert merged["targets"] == whole["targets"]
    assert merged["errors"] == whole["errors"]
    assert {e["kind"] for e in whole["errors"]} >= {"parse-error"}
    for key in ("files", "lines", "functions", "recommendations", "by_kind", "suppressed",
                "errors", "skipped_by_context", "candidates"):
        assert merged["summary"][key] == whole["summary"][key]
    assert whole["summary"]["skipped_by_context"] == {"test": 1}
    if count > 1:
        # The test means something only if chains cross shards: some shard alone misses
        # findings (or words them differently) that the merge finds.
        alone = sorted(k for d in documents for k in _keys(d))
        assert alone != sorted(_keys(whole))
        owner = dict(documents[0]["shard"]["partition"]["files"])
        crossing = [r for r in whole["recommendations"] if r["rule"] == "OPT104"
                    and any(owner[hop["path"]] != owner[r["path"]]
                            for hop in r["evidence"].get("via", ()))]
        assert crossing


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_merged_shards_of_the_fixtures_are_the_whole_scan(tmp_path: Path, count: int):
    cache = tmp_path / "cache"
    whole = _document(scan(ScanOptions(paths=(FIXTURES,), jobs=2, cache_dir=cache)))
    merged = _merged(_shards(FIXTURES, count, cache))
    assert whole["recommendations"]
    assert _keys(merged) == _keys(whole)
    assert merged["recommendations"] == whole["recommendations"]
    assert merged["plan"] == whole["plan"]


def test_shards_of_several_directories_merge_like_their_scan(tmp_path: Path):
    """Module names start at each directory given (SourceFile.module_root): the merge
    keeps them, so imports resolve as in the scan of the same directories."""
    paths = tuple(FIXTURES / name for name in ("research", "scheduler", "webhooks"))
    cache = tmp_path / "cache"
    whole = _document(scan(ScanOptions(paths=paths, jobs=2, cache_dir=cache)))
    documents = [_document(scan(ScanOptions(paths=paths, jobs=2, cache_dir=cache,
                                            shard=(k, 3)))) for k in (1, 2, 3)]
    merged = _merged(documents)
    assert whole["recommendations"] and merged["recommendations"] == whole["recommendations"]
    assert merged["path_prefix"] == whole["path_prefix"]


def test_more_shards_than_files(tmp_path: Path):
    """A shard may get no file at all: it still writes its document, and the merge needs
    it like any other."""
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "helpers.py").write_text(
        "import requests\n\n\ndef get(url):\n    return requests.get(url, timeout=5)\n",
        encoding="utf-8")
    (root / "app" / "handlers.py").write_text(
        "from app.helpers import get\n\n\nasync def handle(url):\n    return get(url)\n",
        encoding="utf-8")
    cache = tmp_path / "cache"
    whole = _document(scan(ScanOptions(paths=(root,), jobs=1, cache_dir=cache)))
    documents = _shards(root, 3, cache)
    assert [len(d["shard"]["files"]) for d in documents].count(0) == 1
    assert [r["rule"] for r in whole["recommendations"]] == ["OPT104"]
    assert _merged(documents)["recommendations"] == whole["recommendations"]
    with pytest.raises(ConfigError, match="missing shard"):
        merge_shards([(Path(f"s{k}"), d) for k, d in enumerate(documents) if d["shard"]["files"]])


def test_cold_shards_merge_like_warm_ones(tmp_path: Path):
    """No cache at all (each shard analyzes its files, and builds its fixes, itself)."""
    whole = _document(scan(ScanOptions(paths=(FIXTURES,), jobs=2, use_cache=False)))
    documents = [_document(scan(ScanOptions(paths=(FIXTURES,), jobs=2, use_cache=False,
                                            shard=(k, 3)))) for k in (1, 2, 3)]
    assert _keys(_merged(documents)) == _keys(whole)


def _sized_files(root: Path, sizes: list[int]) -> list[SourceFile]:
    files = []
    for n, size in enumerate(sizes):
        path = root / f"d{n % 4}" / f"f{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        files.append(SourceFile(path=path, rel=path.relative_to(root).as_posix(),
                                component="."))
    return files


def _loads(files: list[SourceFile], assignment: dict[str, int]) -> dict[int, int]:
    loads: dict[int, int] = {}
    for file in files:
        shard = assignment[file.rel]
        loads[shard] = loads.get(shard, 0) + file.path.stat().st_size + FILE_WEIGHT
    return loads


def test_partition_does_not_depend_on_the_order_files_are_found_in(tmp_path: Path):
    rng = random.Random(3)
    files = _sized_files(tmp_path, [rng.randrange(0, 5000) for _ in range(60)] + [100] * 10)
    reference = partition(files, 5)
    for seed in range(5):
        shuffled = files[:]
        random.Random(seed).shuffle(shuffled)
        assert partition(shuffled, 5) == reference
    assert sorted(reference) == sorted(f.rel for f in files)
    assert set(reference.values()) == {1, 2, 3, 4, 5}


def test_partition_is_balanced_by_size_not_count(tmp_path: Path):
    # A few big files among many small ones: equal counts would be far from equal work.
    sizes = [60_000 if n % 10 == 0 else 1_000 for n in range(100)]
    files = _sized_files(tmp_path, sizes)
    for count in (2, 3, 7):
        loads = _loads(files, partition(files, count))
        heaviest = max(sizes) + FILE_WEIGHT
        assert max(loads.values()) - min(loads.values()) <= 2 * heaviest
        assert max(loads.values()) <= sum(loads.values()) / count + heaviest


def test_one_changed_file_moves_few_files(tmp_path: Path):
    """Each shard's cache stays warm across commits: a file that grows moves at most one
    file per cut."""
    rng = random.Random(5)
    files = _sized_files(tmp_path, [rng.randrange(100, 4000) for _ in range(200)])
    before = partition(files, 4)
    files[50].path.write_bytes(b"x" * (files[50].path.stat().st_size + 900))
    after = partition(files, 4)
    assert sum(before[rel] != after[rel] for rel in before) <= 3


def test_parse_shard():
    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0"):
        with pytest.raises(ConfigError):
            parse_shard(bad)


def test_shard_documents_validate_against_the_schema(generated):
    jsonschema = pytest.importorskip("jsonschema")
    root, cache, _ = generated
    validator = jsonschema.Draft202012Validator(json_renderer.schema())
    for document in _shards(root, 2, cache):
        assert not list(validator.iter_errors(document))
        broken = copy.deepcopy(document)
        broken["shard"]["index"] = 0
        assert list(validator.iter_errors(broken))


@pytest.fixture()
def shard_files(tmp_path: Path) -> list[Path]:
    paths = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard-{k}.json"
        result = invoke("scan", str(FIXTURES), "--shard", f"{k}/3", "--format", "json",
                        "-o", str(out), "-q", "--exit-zero")
        assert result.exit_code == 0, result.output
        paths.append(out)
    return paths


def _error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _edited(path: Path, tmp_path: Path, name: str, edit) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    out = tmp_path / name
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_report_merges_shards_in_any_format_and_gates(shard_files, tmp_path: Path):
    whole = tmp_path / "whole.sarif"
    assert invoke("scan", str(FIXTURES), "-o", str(whole), "-q").exit_code == 1
    merged = tmp_path / "merged.sarif"
    summary = tmp_path / "summary.md"
    result = invoke("report", *map(str, reversed(shard_files)), "-o", str(merged),
                    "--also", f"markdown:{summary}", "--fail-on", "high")
    assert result.exit_code == 1, result.output
    runs = [json.loads(p.read_text())["runs"][0]["results"] for p in (whole, merged)]
    assert [(r["ruleId"], r["partialFingerprints"], r["locations"]) for r in runs[0]] == \
        [(r["ruleId"], r["partialFingerprints"], r["locations"]) for r in runs[1]]
    assert "OPT101" in summary.read_text()
    baseline = tmp_path / "baseline.json"
    assert invoke("report", *map(str, shard_files), "--write-baseline", str(baseline),
                  "--exit-zero").exit_code == 0
    gated = invoke("report", *map(str, shard_files), "--baseline", str(baseline),
                   "--fail-on", "low", "--format", "json")
    assert gated.exit_code == 0, gated.output
    assert json.loads(gated.output)["summary"]["recommendations"] == 0


def test_a_missing_shard_is_named(shard_files):
    line = _error_line(invoke("report", str(shard_files[0]), str(shard_files[2])))
    assert "missing shard 2/3" in line


def test_a_duplicated_shard_is_named(shard_files, tmp_path: Path):
    copy_of_two = tmp_path / "again.json"
    copy_of_two.write_bytes(shard_files[1].read_bytes())
    line = _error_line(invoke("report", *map(str, shard_files), str(copy_of_two)))
    assert "shard 2/3 given twice" in line and "again.json" in line


def test_shards_of_another_count_are_refused(shard_files, tmp_path: Path):
    other = tmp_path / "other-1-of-2.json"
    assert invoke("scan", str(FIXTURES), "--shard", "1/2", "-o", str(other), "-q",
                  "--exit-zero").exit_code == 0
    line = _error_line(invoke("report", *map(str, shard_files[1:]), str(other)))
    assert "N (shard count)" in line and "other-1-of-2.json" in line


def test_shards_of_another_version_or_settings_are_refused(shard_files, tmp_path: Path):
    def version(data):
        data["tool"]["version"] = "0.0.0"

    def settings(data):
        data["shard"]["settings_digest"] = "0" * 32

    older = _edited(shard_files[2], tmp_path, "older.json", version)
    line = _error_line(invoke("report", *map(str, shard_files[:2]), str(older)))
    assert "optadvisor version" in line
    changed = _edited(shard_files[2], tmp_path, "changed.json", settings)
    line = _error_line(invoke("report", *map(str, shard_files[:2]), str(changed)))
    assert "rules and config digest" in line


def test_shards_with_other_rules_selected_are_refused(shard_files, tmp_path: Path):
    other = tmp_path / "select.json"
    assert invoke("scan", str(FIXTURES), "--shard", "3/3", "--select", "OPT1", "-o",
                  str(other), "-q", "--exit-zero").exit_code == 0
    line = _error_line(invoke("report", *map(str, shard_files[:2]), str(other)))
    assert "rules and config digest" in line


def test_shards_whose_rules_differ_from_the_merge_are_refused(shard_files, tmp_path: Path):
    """Every shard agrees, but the rules where `report` runs are not theirs."""
    def settings(data):
        data["shard"]["settings_digest"] = "f" * 32

    edited = [_edited(p, tmp_path, f"e{n}.json", settings) for n, p in enumerate(shard_files)]
    line = _error_line(invoke("report", *map(str, edited)))
    assert "rules or config where `report` runs differ" in line


def test_shards_of_another_optadvisor_than_the_merge_are_refused(shard_files, tmp_path: Path):
    def version(data):
        data["tool"]["version"] = "0.0.0"

    edited = [_edited(p, tmp_path, f"v{n}.json", version) for n, p in enumerate(shard_files)]
    line = _error_line(invoke("report", *map(str, edited)))
    assert "written by optadvisor 0.0.0" in line


def test_shards_and_plain_reports_do_not_mix(shard_files, tmp_path: Path):
    plain = tmp_path / "plain.json"
    invoke("scan", str(FIXTURES), "-o", str(plain), "-q")
    line = _error_line(invoke("report", *map(str, shard_files), str(plain)))
    assert "plain.json: not a shard document" in line


@pytest.mark.parametrize("flags, words", [
    (["--shard", "1/2"], "--format json"),
    (["--shard", "3/2", "--format", "json"], "between 1 and N"),
    (["--shard", "1/2", "--format", "json", "--fix"], "--fix"),
    (["--shard", "1/2", "--format", "json", "--baseline", "b.json"], "when merging"),
    (["--shard", "1/2", "--format", "json", "--statistics"], "--statistics"),
])
def test_scan_shard_usage_errors(flags: list[str], words: str):
    line = _error_line(invoke("scan", str(FIXTURES), "-q", *flags))
    assert words in line


def test_load_reports_of_a_single_shard_is_the_whole_scan_of_one(tmp_path: Path):
    out = tmp_path / "only.json"
    assert invoke("scan", str(FIXTURES), "--shard", "1/1", "-o", str(out), "-q",
                  "--exit-zero").exit_code == 0
    whole = _document(scan(ScanOptions(paths=(FIXTURES,), jobs=2)))
    assert _keys(_document(load_reports([out]))) == _keys(whole)


def test_each_shard_uses_the_content_hash_cache(tmp_path: Path):
    """A shard whose cache was restored (here: a second run with the same cache dir) is
    warm: every one of its files comes from the cache."""
    cache = tmp_path / "cache"
    cold = scan(ScanOptions(paths=(FIXTURES,), jobs=1, cache_dir=cache, shard=(2, 3)))
    warm = scan(ScanOptions(paths=(FIXTURES,), jobs=1, cache_dir=cache, shard=(2, 3)))
    assert cold.summary.cached_files == 0
    assert warm.summary.files == cold.summary.files > 0
    assert warm.summary.cached_files == warm.summary.files
    assert _document(warm)["shard"]["files"] == _document(cold)["shard"]["files"]


def test_a_malformed_shard_document_is_an_error_not_a_traceback(shard_files, tmp_path: Path):
    def drop_files(data):
        del data["shard"]["files"]

    def bad_index(data):
        data["shard"]["index"] = {"k": 1}

    for name, edit in (("nofiles.json", drop_files), ("badindex.json", bad_index)):
        broken = _edited(shard_files[2], tmp_path, name, edit)
        line = _error_line(invoke("report", *map(str, shard_files[:2]), str(broken)))
        assert "shard" in line
