"""One renderer per output format, each `render(report) -> str`, chosen by name."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import import_module

from optadvisor.models import Report

Renderer = Callable[[Report], str]

FORMATS = ("full", "concise", "grouped", "table", "json", "markdown", "html", "sarif",
           "github", "gitlab")
"""Each name is also its module: optadvisor/render/<name>.py."""


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """User text (a path, a message, a line of code) as text: a terminal control character
    (ESC starting a colour or a title change, BEL, a carriage return) is shown as `\\x1b`,
    never sent to the terminal. Every text format uses it: the terminal ones, GitHub
    annotations, Markdown code and the CLI's own messages."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def get_renderer(name: str) -> Renderer:
    # Imported on demand: a JSON run never pays for rich's tables, jinja or pygments.
    if name not in FORMATS:
        raise KeyError(name)
    render: Renderer = import_module(f"optadvisor.render.{name}").render
    return render
