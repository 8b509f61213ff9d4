"""One renderer per output format, each `render(report) -> str`, chosen by name."""

from __future__ import annotations

from typing import Callable

from optadvisor.models import Report

Renderer = Callable[[Report], str]


def get_renderer(name: str) -> Renderer:
    # Imported on demand: a JSON run never pays for rich's table machinery.
    if name == "json":
        from optadvisor.render.json import render
    elif name == "table":
        from optadvisor.render.table import render
    else:
        raise KeyError(name)
    return render


FORMATS = ("table", "json")
