"""One renderer per output format, each `render(report) -> str`, chosen by name."""

from __future__ import annotations

# As _json: importing the submodule optadvisor.render.json rebinds the name `json` here.
import json as _json
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


# What JSON may carry raw but a reader would act on: DEL and the C1 controls (U+009B is a
# CSI, as ESC [ is, for terminals that `cat` the file), the line separators that end a
# string for older JavaScript parsers, and lone surrogates (a file name that is not UTF-8)
# that no UTF-8 writer can encode. json.dumps escapes U+0000-U+001F itself.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def json_text(value: object, indent: int | None = None) -> str:
    """`value` as JSON with text readable as it is (é, 中文 stay themselves: ensure_ascii
    would write every non-ASCII letter as \\uXXXX) and every control character escaped.
    Outside its strings JSON is ASCII, so each escape lands inside a string and stands for
    the very same character: the document reads back unchanged. Every JSON format uses it
    (json, shard documents, sarif, gitlab, compare json, the HTML report's data)."""
    separators = (",", ":") if indent is None else None
    text = _json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    if _JSON_RAW.search(text) is None:
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def get_renderer(name: str) -> Renderer:
    # Imported on demand: a JSON run never pays for rich's tables, jinja or pygments.
    if name not in FORMATS:
        raise KeyError(name)
    render: Renderer = import_module(f"optadvisor.render.{name}").render
    return render
