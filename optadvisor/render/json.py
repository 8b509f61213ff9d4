"""`--format json`: the schema_version 1 document of DESIGN.md."""

from __future__ import annotations

import json

from optadvisor.models import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
