"""Statements and URLs as the same query for any item: SQL with its literals and
parameters as `?`, URLs with their id segments as `{id}` and their query values dropped."""

import re

_SHAPE_CHARS = 300

_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w.$])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")
_SQL_PARAM = re.compile(r"%\([^)]*\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_]\w*|\?\d*")
_SQL_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_SQL_VALUES = re.compile(r"\bVALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*"
                         r"\s*\))*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|(?=[^/]*\d)[0-9a-fA-F]{8,})$")


def sql_shape(statement):
    """A statement with its literals, numbers and parameters as `?`, `IN (...)` lists and
    VALUES rows as one `?` each, spaces collapsed: the same query for any item."""
    if isinstance(statement, bytes):
        statement = statement.decode("utf-8", "replace")
    text = str(statement)
    text = _SQL_STRING.sub("?", text)
    text = _SQL_PARAM.sub("?", text)
    text = _SQL_NUMBER.sub("?", text)
    text = _SQL_IN_LIST.sub("IN (?)", text)
    text = _SQL_VALUES.sub("VALUES (?)", text)
    text = _SPACE.sub(" ", text).strip().rstrip(";").strip()
    return text[:_SHAPE_CHARS]


def sql_operation(shape):
    word = shape.split(" ", 1)[0].upper() if shape else ""
    return word if word.isalpha() else "SQL"


def url_shape(url):
    """scheme://host[:port]/path with numeric, uuid and hex path segments as `{id}` and the
    query's values dropped (its keys kept, sorted)."""
    from urllib.parse import urlsplit

    if isinstance(url, bytes):
        url = url.decode("utf-8", "replace")
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?", 1)[0][:_SHAPE_CHARS]
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in parts.path.split("/")]
    out = (parts.scheme + "://" if parts.scheme else "") + parts.netloc + "/".join(segments)
    if parts.query:
        keys = sorted({item.split("=", 1)[0] for item in parts.query.split("&") if item})
        out += "?" + "&".join(keys)
    return out[:_SHAPE_CHARS]

