"""The console entry point. A `scan` starts one analysis worker before anything else loads
(spawn.prespawn): the command line's imports, discovery and the warm state take about as
long as the worker's import of libcst, so a scan where a file changed finds a worker ready
for it instead of starting one then."""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["scan"] and not {"-h", "--help"} & set(args):
        from optadvisor.spawn import prespawn

        prespawn()
    from optadvisor.cli import main as cli_main

    cli_main()
