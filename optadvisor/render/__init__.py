"""One renderer per output format, each `render(report) -> str`, chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from optadvisor.models import Report

Renderer = Callable[[Report], str]

FORMATS = ("full", "concise", "grouped", "table", "json", "markdown", "html", "sarif",
           "github", "gitlab")
"""Each name is also its module: optadvisor/render/<name>.py."""


def get_renderer(name: str) -> Renderer:
    # Imported on demand: a JSON run never pays for rich's tables, jinja or pygments.
    if name not in FORMATS:
        raise KeyError(name)
    render: Renderer = import_module(f"optadvisor.render.{name}").render
    return render
