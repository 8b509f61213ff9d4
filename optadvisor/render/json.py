"""`--format json`: the schema_version 1 document of DESIGN.md, described by the JSON
Schema shipped next to the package code (`optadvisor/report.schema.json`)."""

from __future__ import annotations

import json
from pathlib import Path

from optadvisor.models import Report
from optadvisor.render import json_text

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "report.schema.json"


def render(report: Report) -> str:
    if report.shard is not None:
        # A shard document carries every file's facts and text: json's C encoder writes
        # it many times faster than the indenting one, and nobody reads it by eye.
        return json_text(report.to_dict()) + "\n"
    return json_text(report.to_dict(), indent=2) + "\n"


def schema() -> dict:
    """The JSON Schema (draft 2020-12) every `--format json` document validates against."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
