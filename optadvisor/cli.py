"""Command line: flags in, api calls out. Exit codes: 0 clean, 1 findings at or above
--fail-on, 2 usage, configuration or internal error. Every error is one plain line on
stderr, `error: ...`, whether typer or optadvisor found it."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

from optadvisor import __version__
from optadvisor.analyze.catalog import CatalogError
from optadvisor.config import ConfigError, RuleError, parse_fail_on, split_codes
from optadvisor.render import FORMATS as RENDER_FORMATS
from optadvisor.render import safe
from optadvisor.models import ErrorRecord

try:  # recent typer vendors click; older ones use the click package
    from typer import _click as click
except ImportError:  # pragma: no cover - depends on the installed typer
    import click  # type: ignore[no-redef]


def _say(label: str, style: str, message: str) -> None:
    """One line on stderr: `error: message`. The message is never read as rich markup
    (`[tool.optadvisor]`, `[[examples]]` and `routes/[id]` were lost, `[/x]` crashed),
    its control characters are escaped, and it is never wrapped (a long path used to be
    split at 80 columns)."""
    from rich.console import Console  # rich is imported when something is printed
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        Text.assemble((label, style), " ", safe(message)))


class _PlainErrors(TyperGroup):
    """typer draws usage errors (a bad option value, a missing argument) as a 5-6 line box
    wrapped at 80 columns; here they are one `error:` line like every other, exit 2."""

    def main(self, args=None, prog_name=None, complete_var=None,  # type: ignore[no-untyped-def]
             standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `optadvisor`: the help
            if exc.format_message().strip():  # rich help is printed when it is made
                exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} -h)" if exc.ctx is not None else ""
            _say("error:", "bold red", exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            _say("error:", "bold red", exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="optadvisor", no_args_is_help=True, add_completion=False, cls=_PlainErrors,
    pretty_exceptions_enable=False,
    help="Find where Python code is slow or wasteful, and what to write instead.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(no_args_is_help=True, help="List, show and check rules.")
app.add_typer(rules_app, name="rules")

FORMATS = list(RENDER_FORMATS)
EXTENSIONS = {".html": "html", ".htm": "html", ".json": "json", ".md": "markdown",
              ".markdown": "markdown", ".sarif": "sarif", ".txt": "full"}
"""-o FILE without --format: the format its extension names."""


def _format(format: str | None, output: Path | None, default: str) -> str:
    """--format as given; else the one -o's extension names; else the default."""
    if format is None:
        found = EXTENSIONS.get(output.suffix.lower()) if output is not None else None
        format = found or default
    if format not in FORMATS:
        raise _fail(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    return format


def _stderr():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _fail(message: str) -> typer.Exit:
    _say("error:", "bold red", message)
    return typer.Exit(2)


def _warn(message: str) -> None:
    """Said even with --quiet: a pattern or a selection that matches nothing is how a
    gate ends up checking nothing."""
    _say("warning:", "bold yellow", message)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"optadvisor {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """optadvisor: a performance advisor for Python monorepos."""


@app.command()
def scan(
    paths: List[Path] = typer.Argument(..., help="Files or directories to scan.",
                                       metavar="PATH"),
    format: Optional[str] = typer.Option(
        None, "--format", "--output-format", "-f", metavar="FORMAT",
        help=f"Output format: {', '.join(FORMATS)} (default: full, or what -o's extension "
        "names)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write the report to FILE instead of stdout."),
    select: List[str] = typer.Option([], "--select", help="Only these rules (ids or prefixes, "
                                     "comma-separated or repeated)."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these rules (ids or prefixes)."),
    fail_on: Optional[str] = typer.Option(
        None, "--fail-on", help="Exit 1 when a recommendation is at or above this priority: "
        "critical, high, medium, low, never (default: high, or fail-on in the config)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1,
                                       help="Worker processes (default: number of cores)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the cache."),
    cache_dir: Optional[Path] = typer.Option(
        None, "--cache-dir", help="Cache directory (default: $OPTADVISOR_CACHE_DIR or "
        "~/.cache/optadvisor)."),
    config: Optional[Path] = typer.Option(None, "--config",
                                          help="Read settings from this TOML file."),
    also: List[str] = typer.Option(
        [], "--also", help="Also write FORMAT:FILE (repeatable), e.g. --also sarif:out.sarif "
        "--also markdown:summary.md: one scan, several reports."),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Report only recommendations not in this baseline file; "
        "--fail-on then counts only those."),
    write_baseline: Optional[Path] = typer.Option(
        None, "--write-baseline", help="Record the fingerprints of every recommendation."),
    profile_run: Optional[Path] = typer.Option(
        None, "--profile", help="A run saved by `optadvisor profile --save-run`: rank the "
        "recommendations by the measured time of their functions."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, no summary on stderr."),
    apply_fixes: bool = typer.Option(False, "--fix", help="Apply the safe fixes in place, "
                                     "then report what remains."),
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes", help="With --fix or --diff: "
                                      "also apply fixes that may change behaviour."),
    diff: bool = typer.Option(False, "--diff", help="Print the fixes as a unified diff and "
                              "write nothing; exit 1 when something would change."),
    statistics: bool = typer.Option(False, "--statistics", help="Print the number of "
                                    "recommendations per rule instead of the findings."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when "
                                   "recommendations fail --fail-on (errors still exit 2)."),
    include_tests: bool = typer.Option(
        False, "--include-tests", help="Also run the rules on test files (tests/, test_*.py, "
        "conftest.py); by default they only serve cross-file links."),
    include_examples: bool = typer.Option(
        False, "--include-examples", help="Also run the rules on examples, docs, notebooks "
        "and playgrounds; by default they only serve cross-file links."),
    shard: Optional[str] = typer.Option(
        None, "--shard", metavar="K/N", help="Analyze only shard K of N (a partition of the "
        "files balanced by size) and write a shard document (JSON) that `optadvisor report "
        "SHARD...` merges into the report of the whole scan."),
) -> None:
    """Scan PATHS statically and report prioritized recommendations."""
    from optadvisor.api import ScanOptions, exit_code, scan as run_scan

    format = _format(format, output, "full")
    extra = _parse_also(also)
    # A path that does not exist is a usage error (exit 2), not a finding: before this
    # check a typo'd path gave an empty report and exit 0, so CI "passed" on nothing.
    # lexists: a broken symlink named explicitly is reported as an error record instead.
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}")
    if shard is not None:
        _check_shard_flags(format, extra, apply_fixes or diff, profile_run, baseline,
                           write_baseline, statistics)
    # What only --profile and --shard need is imported only for them (a warm scan spends
    # more time importing than scanning).
    run_errors: tuple[type[Exception], ...] = ()
    if profile_run is not None:
        from optadvisor.profile import ProfileRunError

        run_errors = (ProfileRunError,)
    shard_of = None
    try:
        if shard is not None:
            from optadvisor.shard import parse_shard

            shard_of = parse_shard(shard)
        options = ScanOptions(
            paths=tuple(paths), config_file=config, select=split_codes(select),
            ignore=split_codes(ignore), jobs=jobs, use_cache=not no_cache, cache_dir=cache_dir,
            profile=profile_run, notify=_warn, include_tests=include_tests,
            include_examples=include_examples,
            shard=shard_of)
        threshold = parse_fail_on(fail_on) if fail_on is not None else None
        from optadvisor import baseline as baselines

        known = baselines.load_baseline(baseline) if baseline is not None else None
        if apply_fixes or diff:
            report = _run_fixes(options, unsafe_fixes, diff, quiet)  # --diff exits there
        else:
            with _progress(quiet) as hook:
                report = run_scan(options, hook)
        if write_baseline is not None:
            baselines.write_baseline(report, write_baseline)
        if known is not None:
            report = baselines.apply_baseline(report, known)
        if threshold is None:
            from optadvisor.config import load_config

            threshold = load_config(list(paths), config).fail_on
    except (ConfigError, RuleError, CatalogError, *run_errors) as exc:
        raise _fail(str(exc)) from None
    report = dataclasses.replace(report, fail_on="never" if exit_zero else threshold)
    if statistics:
        _write(_statistics(report), output)
    else:
        _emit(report, format, output, extra)
    raise typer.Exit(0 if exit_zero else exit_code(report, threshold))


def _check_shard_flags(format: str, extra: list[tuple[str, Path]], fixing: bool,
                       profile_run: Path | None, baseline: Path | None,
                       write_baseline: Path | None, statistics: bool) -> None:
    """A shard sees part of the tree: what needs the whole of it belongs to the merge."""
    if fixing:
        raise _fail("--shard cannot be combined with --fix or --diff (fixes need the whole "
                    "scan: run them without --shard)")
    if profile_run is not None:
        raise _fail("--shard cannot be combined with --profile")
    if baseline is not None or write_baseline is not None:
        raise _fail("--shard: apply --baseline/--write-baseline when merging "
                    "(`optadvisor report shard-*.json --baseline FILE`)")
    if statistics:
        raise _fail("--shard cannot be combined with --statistics (it writes no shard "
                    "document)")
    if format != "json" and not any(fmt == "json" for fmt, _ in extra):
        raise _fail("--shard writes a shard document: add --format json -o shard-K.json "
                    "(or --also json:shard-K.json)")


def _statistics(report) -> str:  # type: ignore[no-untyped-def]
    """ruff's --statistics: a count per rule (a site that several rules flag counts for
    each of them), `[*]` where some of them have a fix that --fix applies."""
    counts: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    for rec in report.recommendations:
        safe = rec.fix is not None and rec.fix.applicability == "safe"
        for rule, kind in [(rec.rule, rec.kind),
                           *((f.get("rule", ""), f.get("kind", "")) for f in rec.facets)]:
            row = counts.setdefault(rule, [0, 0])
            row[0] += 1
            row[1] += safe
            kinds[rule] = kind
    width = max((len(str(n)) for n, _ in counts.values()), default=1)
    return "".join(f"{n:>{width}}\t{rule}\t{'[*]' if safe else '   '} {kinds[rule]}\n"
                   for rule, (n, safe) in sorted(counts.items(),
                                                 key=lambda kv: (-kv[1][0], kv[0])))


def _run_fixes(options, unsafe: bool, diff: bool, quiet: bool):  # type: ignore[no-untyped-def]
    """`--diff`: print what would change and exit (1 when something would). `--fix`: write
    the changes and return the report of what remains (the last pass's scan)."""
    from optadvisor.api import fix
    from optadvisor.fix.edits import unified_diff

    with _progress(quiet) as hook:
        outcome = fix(options, unsafe=unsafe, write=not diff, progress=hook)
    err = _stderr()
    if diff:
        for rel in sorted(outcome.changes):
            before, after = outcome.changes[rel]
            sys.stdout.write(unified_diff(rel, before, after))
        sys.stdout.flush()
        if not quiet:
            more = (f" ({outcome.unsafe_left} more with --unsafe-fixes)"
                    if outcome.unsafe_left else "")
            err.print(f"Would fix {outcome.fixed} recommendation(s) in "
                      f"{len(outcome.changes)} file(s){more}.", markup=False)
        raise typer.Exit(1 if outcome.changes else 0)
    if not quiet:
        remaining = len(outcome.report.recommendations)
        more = f" ({outcome.unsafe_left} more with --unsafe-fixes)" if outcome.unsafe_left else ""
        err.print(f"{outcome.fixed} fixed in {len(outcome.changes)} file(s), {remaining} "
                  f"remaining{more}.", markup=False)
    return outcome.report


def _parse_also(values: List[str]) -> list[tuple[str, Path]]:
    out = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path or fmt not in FORMATS:
            raise _fail(f"--also wants FORMAT:FILE with FORMAT one of {', '.join(FORMATS)}, "
                        f"not {value!r}")
        out.append((fmt, Path(path)))
    return out


def _emit(report, format: str, output: Path | None,  # type: ignore[no-untyped-def]
          extra: list[tuple[str, Path]]) -> None:
    for fmt, path in [(format, output), *extra]:
        _write(_rendered(report, fmt, to_file=path is not None), path)


TERMINAL = ("full", "concise", "grouped", "table")


def _rendered(report, fmt: str, to_file: bool) -> str:  # type: ignore[no-untyped-def]
    """A terminal format written to a file gets no colour codes (and 120 columns)."""
    from optadvisor.render import get_renderer

    render = get_renderer(fmt)
    if to_file and fmt in TERMINAL:
        return render(report, color=False, width=120)  # type: ignore[call-arg]
    return render(report)


@app.command()
def report(
    inputs: List[Path] = typer.Argument(..., help="Saved scan JSON files (--format json), "
                                        "profile runs (--save-run), or every shard document "
                                        "of one scan (scan --shard K/N); several reports "
                                        "are merged, shards joined into the whole scan."),
    format: Optional[str] = typer.Option(
        None, "--format", "--output-format", "-f", metavar="FORMAT",
        help=f"Output format: {', '.join(FORMATS)} (default: full, or what -o's extension "
        "names: report.html, report.md, …)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write the report to FILE instead of stdout."),
    also: List[str] = typer.Option([], "--also", help="Also write FORMAT:FILE (repeatable)."),
    fail_on: str = typer.Option("never", "--fail-on",
                                help="Exit 1 at or above this priority (default: never)."),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Report only recommendations not in this baseline file; "
        "--fail-on then counts only those."),
    write_baseline: Optional[Path] = typer.Option(
        None, "--write-baseline", help="Record the fingerprints of every recommendation."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when "
                                   "recommendations fail --fail-on (errors still exit 2)."),
) -> None:
    """Render saved results again, in any format, without scanning; merge the shard
    documents of one scan (`scan --shard K/N`) into the report of the whole scan."""
    from optadvisor import baseline as baselines
    from optadvisor.api import exit_code, load_reports

    format = _format(format, output, "full")
    extra = _parse_also(also)
    try:
        threshold = parse_fail_on(fail_on)
        known = baselines.load_baseline(baseline) if baseline is not None else None
        merged = load_reports(inputs)
        if write_baseline is not None:
            baselines.write_baseline(merged, write_baseline)
        if known is not None:
            merged = baselines.apply_baseline(merged, known)
    except (ConfigError, RuleError, CatalogError) as exc:
        raise _fail(str(exc)) from None
    merged = dataclasses.replace(merged, fail_on="never" if exit_zero else threshold)
    _emit(merged, format, output, extra)
    raise typer.Exit(0 if exit_zero else exit_code(merged, threshold))


def _write(text: str, output: Path | None) -> None:
    # File names that are not valid UTF-8 reach reports as lone surrogates (os.fsdecode);
    # writing those raised UnicodeEncodeError (a traceback, for -o FILE always). Escape
    # them as `\udcff`, which JSON readers decode back to the same name.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc}") from None


class _progress:
    """A progress bar on stderr, only when a person is watching (stderr is a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty() and os.environ.get("CI") is None
        self.bar = None
        self.task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=_stderr(),
                            transient=True)
        self.bar.start()

        def hook(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task("analyzing", total=total)
            self.bar.update(self.task, completed=done, total=total)

        return hook

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def profile(
    ctx: typer.Context,
    script_arg: Optional[str] = typer.Argument(
        None, metavar="SCRIPT", help="The Python script to run and measure (or -m MODULE)."),
    module: Optional[str] = typer.Option(
        None, "-m", "--module", metavar="MODULE",
        help="Run a module as `python -m MODULE` does (arguments for it go after `--`)."),
    pid: Optional[int] = typer.Option(
        None, "--pid", metavar="PID", help="Attach to this running Python process (a service, "
        "a worker) instead of starting one; sampling only."),
    duration: Optional[float] = typer.Option(
        None, "--duration", metavar="SECONDS", min=0.1,
        help="With --pid: how long to sample (default: 10)."),
    format: str = typer.Option("table", "--format", "-f",
                               help=f"Output format: {', '.join(FORMATS)}."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write the report to FILE instead of stdout."),
    also: List[str] = typer.Option([], "--also", help="Also write FORMAT:FILE (repeatable)."),
    save_run: Optional[Path] = typer.Option(
        None, "--save-run", help="Save everything measured (a ProfileRun JSON) for "
        "`optadvisor report`, `compare` and `scan --profile`."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.1,
                                            help="Stop the script (and its children) after "
                                            "SECONDS per pass."),
    repeat: int = typer.Option(
        1, "--repeat", min=1, max=100, help="Run the measuring pass (and the calls pass) N "
        "times and keep every run's figures, so `compare` can tell a real change from noise "
        "(default: 1; 5 is a good choice for a CI gate). --lines and --memory still run "
        "once, for the median run's functions."),
    lines: Optional[bool] = typer.Option(
        None, "--lines/--no-lines", help="Line-profile the hottest user functions in a second "
        "run of the program (default: off; the report says when it ran twice)."),
    calls: Optional[bool] = typer.Option(
        None, "--calls/--no-calls", help="Count calls, latency percentiles and the hit rate a "
        "cache would get for the hottest user functions, and database/HTTP calls per "
        "calling function, in one more run of the program (default: off)."),
    findings: Optional[Path] = typer.Option(
        None, "--findings", help="A scan report (JSON): with --calls, also time every "
        "function it has findings in (coroutines waiting on I/O are rarely hot in samples), "
        "and the awaits of its sequential-awaits / await-in-loop findings (concurrency, "
        "saving if gathered)."),
    memory: bool = typer.Option(False, "--memory/--no-memory",
                                help="Memory pass: tracemalloc peaks and allocation sites."),
    memory_lines: Optional[str] = typer.Option(
        None, "--memory-lines", help="memory-profiler's line-by-line report for one function "
        "(slow: the function runs under a line tracer)."),
    mode: str = typer.Option("sample", "--mode",
                             help="sample (py-spy, near-zero overhead) or trace (cProfile)."),
    rate: int = typer.Option(100, "--rate", min=1, max=1000, help="Samples per second."),
    python: Optional[str] = typer.Option(None, "--python",
                                         help="Interpreter to run the script with."),
    select: List[str] = typer.Option([], "--select", help="Only these rules."),
    ignore: List[str] = typer.Option([], "--ignore", help="Skip these rules."),
    fail_on: str = typer.Option("never", "--fail-on",
                                help="Exit 1 at or above this priority (default: never)."),
    config: Optional[Path] = typer.Option(None, "--config",
                                          help="Read settings from this TOML file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    """Run SCRIPT (or -m MODULE) under the profilers (arguments for it go after `--`), then
    recommend from what was measured and what the scan knows about the code that ran."""
    from optadvisor.api import ScanOptions, exit_code, profile as run_profile
    from optadvisor.profile import ProfileOptions, ProfileRunError, ProfileUsageError

    if format not in FORMATS:
        raise _fail(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if mode not in ("sample", "trace"):
        raise _fail(f"--mode must be sample or trace, not {mode!r}")
    extra = _parse_also(also)
    args = tuple(ctx.args)
    if args and args[0] == "--":
        args = args[1:]
    if module is not None and script_arg is not None:
        # `-m MODULE -- a b`: the first word after the module is the program's, as for
        # `python -m MODULE a b`.
        args, script_arg = (script_arg, *args), None
    if sum(x is not None for x in (script_arg, module, pid)) != 1:
        raise _fail("give one of SCRIPT, -m MODULE or --pid PID (arguments for the program go "
                    "after --)")
    if duration is not None and pid is None:
        raise _fail("--duration goes with --pid (a started program runs to its end, or to "
                    "--timeout)")
    script = Path(script_arg) if script_arg is not None else None
    stderr = _stderr()

    def progress(message: str) -> None:
        if not quiet:  # a message names files: Text, never markup
            from rich.text import Text

            stderr.print(Text.assemble(("optadvisor:", "dim"), " ", safe(message)))

    try:
        threshold = parse_fail_on(fail_on)
        if pid is not None:
            from optadvisor.profile.attach import process_root

            root = process_root(pid)
        else:
            root = _profile_root(script) if script is not None else Path.cwd().resolve()
        # The report goes to stdout unless -o is given: the script's own output must not
        # end up inside it (a JSON report would no longer parse).
        from optadvisor.api import flagged_awaits, flagged_functions

        flagged = flagged_functions(findings) if findings is not None else ()
        awaits = flagged_awaits(findings) if findings is not None else ()
        if flagged and not calls:
            raise _fail("--findings names the functions the calls pass times: add --calls")
        options = ProfileOptions(script=script or Path(), module=module or "", args=args,
                                 pid=pid, duration=duration, timeout=timeout, mode=mode,
                                 repeat=repeat,
                                 lines=lines, calls=calls, flagged=flagged,
                                 flagged_awaits=awaits,
                                 memory=memory, memory_lines=memory_lines,
                                 rate=rate, python=python, root=root,
                                 stdout="stderr" if output is None else "inherit")
        scan_options = ScanOptions(paths=(root,), config_file=config,
                                   select=split_codes(select), ignore=split_codes(ignore),
                                   notify=_warn)
        report = run_profile(options, scan_options, progress,
                             saved_as=str(save_run) if save_run else "")
    except ProfileUsageError as exc:
        raise _fail(str(exc)) from None
    except (ConfigError, RuleError, CatalogError, ProfileRunError) as exc:
        raise _fail(str(exc)) from None
    report = dataclasses.replace(report, fail_on=threshold)
    _emit(report, format, output, extra)
    raise typer.Exit(PROGRAM_FAILED if _program_failed(report)
                     else exit_code(report, threshold))


PROGRAM_FAILED = 3
"""`profile`'s exit code when the profiled program did not end normally (it raised,
exited non-zero, was killed by a signal or stopped at --timeout): the report of what was
measured is written first. Ahead of 1 (findings at --fail-on): a failed run comes first."""


def _program_failed(report) -> bool:  # type: ignore[no-untyped-def]
    outcome = (report.profile or {}).get("outcome") or {}
    return bool(outcome) and outcome.get("status") not in (None, "ok")


@app.command()
def compare(
    before: Path = typer.Argument(..., help="The earlier ProfileRun (--save-run) or scan JSON."),
    after: Path = typer.Argument(..., help="The later one, of the same kind."),
    max_regression: Optional[str] = typer.Option(
        None, "--max-regression", help="Exit 1 when wall/CPU time, peak memory or a "
        "function taking 5% of a run grows by more than this (e.g. 10%) — with runs made by "
        "`profile --repeat 3` or more, only when the growth is statistically significant; "
        "for scans, when recommendations grow by more, or a new one is high or critical."),
    format: str = typer.Option("table", "--format", "-f",
                               help="Output format: table, markdown, html, json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="Write to FILE instead of stdout."),
    findings: Optional[Path] = typer.Option(
        None, "--findings", help="A scan report (--format json) made before `scan --fix`: "
        "marks the profiled functions it had findings in and sums up their delta."),
) -> None:
    """Compare two profile runs (or two scans) side by side: per-function and total deltas."""
    from optadvisor.compare import FORMATS as COMPARE_FORMATS
    from optadvisor.compare import compare_files, parse_regression, render_comparison

    if format not in COMPARE_FORMATS:
        raise _fail(f"unknown format {format!r}; choose one of {', '.join(COMPARE_FORMATS)}")
    try:
        limit = parse_regression(max_regression) if max_regression is not None else None
        comparison = compare_files(before, after, limit, findings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    _write(render_comparison(comparison, format), output)
    raise typer.Exit(comparison.exit_code)


def _profile_root(script: Path) -> Path:
    """What report paths are relative to: the current directory when the script is inside
    it (running from the project root), else the script's own directory."""
    cwd = Path.cwd().resolve()
    try:
        script.resolve().relative_to(cwd)
        return cwd
    except (ValueError, OSError):
        return script.resolve().parent


@rules_app.command("list")
def rules_list() -> None:
    """List the rules with their id, kind, priority and title."""
    from rich.table import Table

    from optadvisor.rules import load_rules

    try:
        rules = load_rules()
    except RuleError as exc:
        raise _fail(str(exc)) from None
    table = Table(header_style="bold")
    for column in ("id", "kind", "category", "priority", "title"):
        table.add_column(column)
    for compiled in rules:
        r = compiled.rule
        table.add_row(r.id, r.kind, r.category, r.priority, r.title)
    from rich.console import Console

    Console(highlight=False).print(table)


@rules_app.command("show")
def rules_show(rule_id: str = typer.Argument(..., help="A rule id, e.g. OPT101.")) -> None:
    """Show a rule's documentation: what, why, example, use instead, impact, fix safety."""
    from optadvisor.rules import load_rules

    try:
        rules = {c.rule.id: c.rule for c in load_rules()}
    except RuleError as exc:
        raise _fail(str(exc)) from None
    rule = rules.get(rule_id.upper())
    if rule is None:
        raise _fail(f"no rule {rule_id!r}; known: {', '.join(sorted(rules))}")
    out = [f"{rule.id} {rule.kind} ({rule.category}, {rule.priority})", rule.title, "",
           f"when: {rule.when}"]
    labels = (("what", "What it does"), ("why", "Why is this slow?"), ("example", "Example"),
              ("instead", "Use instead"), ("impact", "Expected impact"),
              ("safety", "Fix safety"), ("references", "References"))
    for key, label in labels:
        if rule.docs.get(key):
            out += ["", f"## {label}", rule.docs[key].strip()]
    typer.echo("\n".join(out))


@rules_app.command("check")
def rules_check(
    paths: List[Path] = typer.Argument(..., help="Rule files or directories."),
    run_profiles: bool = typer.Option(
        True, "--profile/--no-profile", help="Run profile rules' examples under the profiler "
        "(about a second each)."),
) -> None:
    """Validate rule files: TOML, fields, `when` expressions, templates, examples."""
    from optadvisor.rules import load_rule

    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    if not files:
        # An empty directory (or a typo'd one) must not pass a CI step that checks rules.
        raise _fail(f"no rule files (*.toml) in {', '.join(str(p) for p in paths)}")
    from optadvisor.api import profile_source, scan_source

    failed = 0
    for file in files:
        try:
            compiled = load_rule(file)
        except RuleError as exc:
            failed += 1
            typer.echo(f"error {exc}", err=True)
            continue
        # A rule's examples are its tests: run them here too, so a rule author sees a
        # wrong `when` before shipping it, and every template renders (within its
        # limits) for every finding of every example.
        wrong = skipped = rendered = 0
        failures: list[ErrorRecord] = []
        for example in compiled.rule.examples:
            if example.profile:
                if not run_profiles:
                    skipped += 1
                    continue
                recs, run = profile_source(example.code, [compiled], example.args, failures)
                error = None
                if run.outcome.status != "ok":
                    typer.echo(f"warning {file}:{example.line}: example run ended "
                               f"{run.outcome.status}: {run.outcome.message}", err=True)
            else:
                recs, error = scan_source(example.code, select=(compiled.rule.id,),
                                          rules=[compiled], rule_errors=failures)
            got = len([r for r in recs if r.rule == compiled.rule.id])
            rendered += got
            if error is not None or got != example.triggers:
                wrong += 1
                why = error.message if error else f"expected {example.triggers}, got {got}"
                typer.echo(f"error {file}:{example.line}: example does not hold: {why}", err=True)
        for failure in failures:
            wrong += 1
            where = f"{file}:{failure.line}" if failure.line else str(file)
            typer.echo(f"error {where}: {failure.message}", err=True)
        if not rendered and compiled.rule.examples and not skipped:
            typer.echo(f"warning {file}: no example triggers {compiled.rule.id}, so its "
                       "templates were not rendered", err=True)
        if wrong:
            failed += 1
        else:
            note = f", {skipped} profile examples not run" if skipped else ""
            typer.echo(f"ok    {file} ({len(compiled.rule.examples)} examples{note})")
    raise typer.Exit(2 if failed else 0)


_METAVARS = {"select": "RULES", "ignore": "RULES", "fail_on": "LEVEL", "jobs": "N",
             "also": "FORMAT:FILE", "timeout": "SECONDS", "rate": "HZ", "repeat": "N",
             "python": "EXE", "mode": "MODE", "memory_lines": "FUNCTION",
             "max_regression": "PERCENT", "cache_dir": "DIR"}
"""Plain metavars for help texts (`--select RULES`, not `<list[str]>`); paths are FILE."""


def command():  # type: ignore[no-untyped-def]
    """The click command behind `app`, with help texts a ruff or py-spy user reads at a
    glance: plain metavars (FILE, N, RULES), none for flags, and each default said once
    (in the help text itself)."""
    root = typer.main.get_command(app)
    todo = [root]
    while todo:
        current = todo.pop()
        todo.extend(getattr(current, "commands", {}).values())
        made = current.get_help_option

        def help_option(ctx, made=made):  # type: ignore[no-untyped-def]
            option = made(ctx)  # made per call by click: a flag, no metavar either
            if option is not None:
                option.metavar = ""
                _plain_coercion(option)
            return option

        current.get_help_option = help_option
        for param in current.params:
            # By the kind click names (typer vendors click in recent versions).
            if param.param_type_name == "option":
                param.show_default = False
                if param.metavar is None:
                    kind = param.bare_type() if hasattr(param, "bare_type") else \
                        repr(getattr(param, "type", ""))
                    param.metavar = "" if param.is_flag else _METAVARS.get(
                        param.name or "", "FILE" if "Path" in kind
                        else (param.name or "value").upper())
            elif param.param_type_name == "argument":
                name = param.metavar or (param.name or "arg").upper()
                usage = name + ("..." if param.nargs != 1 else "")
                param.metavar = usage
                # Recent typer writes required arguments as `{PATH}...` and their type as
                # `<list[Path]>`: plain `PATH...` instead (where that typer is the one here).
                if hasattr(param, "_usage_display_name"):
                    param._usage_display_name = lambda usage=usage: usage
                if hasattr(param, "display_type_rich"):
                    param.display_type_rich = lambda ctx: None
            _plain_coercion(param)
    return root


_PLAIN_KINDS = (str, Path, int, float, bool)
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain_coercion(param) -> None:  # type: ignore[no-untyped-def]
    """Recent typer converts every parameter's value through a pydantic TypeAdapter it
    builds on first use: importing pydantic and building ~20 adapters cost each run
    ~0.15 s (a warm scan takes ~1 s). The plain kinds this CLI declares (str, Path, int,
    float, bool, lists of them, with min/max bounds) are converted here to what typer gives;
    any other value, or one that does not convert cleanly (typer writes the error), goes
    to typer's own conversion. tests/test_cli_coercion.py compares the two. A typer
    without that machinery (older ones convert through click types) is left as it is."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return
    info = descriptor.parameter_info
    annotation, many = descriptor.annotation, False
    if getattr(annotation, "__origin__", None) is list:
        (annotation,), many = annotation.__args__, True
    plain = annotation in _PLAIN_KINDS and descriptor.file_annotation is None and not any(
        getattr(info, name, None) for name in (
            "parser", "click_type", "exists", "writable", "resolve_path", "allow_dash",
            "path_type", "clamp", "formats"))
    if plain:
        param._runtime_param = _PlainCoercion(descriptor, annotation, many)


class _PlainCoercion:
    """typer's RuntimeParam.coerce for a plain kind (see _plain_coercion)."""

    def __init__(self, descriptor, kind: type, many: bool) -> None:  # type: ignore[no-untyped-def]
        self.descriptor = descriptor
        self.kind = kind
        self.many = many
        self.low = descriptor.parameter_info.min
        self.high = descriptor.parameter_info.max

    def coerce(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        try:
            if self.many and isinstance(value, (list, tuple)):
                return [self._one(item) for item in value]
            if not self.many and not isinstance(value, (list, tuple)):
                return self._one(value)
        except ValueError:
            pass
        from typer._coercion import build_runtime_param

        return build_runtime_param(self.descriptor).coerce(value, param=param, ctx=ctx)

    def _one(self, value):  # type: ignore[no-untyped-def]
        kind = self.kind
        if kind is bool and isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
        if kind is Path and isinstance(value, (str, Path)) and str(value):
            return Path(value)
        if kind in (int, float) and not isinstance(value, bool):
            if isinstance(value, str):
                if not (_INT if kind is int else _FLOAT).fullmatch(value):
                    raise ValueError(value)
                number = kind(value)
            elif isinstance(value, int) or (kind is float and isinstance(value, float)):
                number = kind(value)
            else:
                raise ValueError(value)
            if (self.low is not None and number < self.low) or \
                    (self.high is not None and number > self.high):
                raise ValueError(value)  # typer says what the bounds are
            return number
        raise ValueError(value)


_RECEIVED: list[int] = []


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP, raised where the program is as Ctrl-C is, so every `finally` runs
    (workers, the profiled program and py-spy stopped, temp dirs removed)."""
    # Once is enough: a second SIGTERM must not cut the cleanup of the first short.
    signal.signal(signum, signal.SIG_IGN)
    _RECEIVED.append(signum)
    raise KeyboardInterrupt


def main() -> None:
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _terminate)
    try:
        command()(prog_name="optadvisor")
    except SystemExit as exc:
        # typer turns the interrupt into exit 130; a termination exits as killed by it.
        if _RECEIVED and exc.code == 130:
            sys.stderr.write(f"terminated ({signal.Signals(_RECEIVED[0]).name})\n")
            sys.exit(128 + _RECEIVED[0])
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - exit 2 with a message, not a traceback
        if os.environ.get("OPTADVISOR_DEBUG"):
            raise
        sys.stderr.write(f"optadvisor: internal error: {type(exc).__name__}: {exc}\n"
                         "(set OPTADVISOR_DEBUG=1 to see the traceback; please report it)\n")
        sys.exit(2)
