"""Rule files (rules/*.toml) loaded, validated and compiled once per run.

Every problem in a rule file is a RuleError that names the file and the line of the key
at fault, so a user who extends the rules can fix them without reading our code.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from optadvisor.config import RuleError
from optadvisor.inputs import InputError, load_data_toml
from optadvisor.expr import Compiled, ExprError, compile_expr
from optadvisor.models import EFFORTS, LEVELS, PRIORITIES, ErrorRecord, Rule, RuleExample
from optadvisor.resources import rule_files, rules_dir  # noqa: F401 (rule_files: API)
from optadvisor.subjects import SCHEMAS

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

    from optadvisor.sandbox import TemplateSandbox


REQUIRED = ("id", "kind", "category", "priority", "subject", "when", "title", "message")
OPTIONAL = ("impact", "confidence", "effort", "tags", "precision", "fix", "docs", "examples",
            "description", "at", "measured", "demote", "opt_in")
AT = {"hotspot": ("function", "hottest-line", "waiting-line"),
      "io": ("call-line", "first-call", "function"),
      "run": ("allocation", "hottest-function", "script", "gc-function",
              "lag-function")}
TEMPLATE_KEYS = ("message", "impact", "title")
MEASURED_SUBJECTS = ("await-group", "loop")
"""Subjects whose rules may have a `measured` template: appended to the message of a
finding whose awaits `profile --calls --findings` timed (its root: `awaits`)."""
FIX_KEYS = ("after", "preamble", "scope", "shapes", "params", "manual")
DOC_KEYS = ("what", "why", "example", "instead", "impact", "safety", "references")
ID_PATTERN = re.compile(r"^[A-Z]{2,10}[0-9]{3,4}$")


@lru_cache(maxsize=1)
def _sandbox() -> "TemplateSandbox":
    """Rule templates are sandboxed: a rule file cannot reach Python internals through them,
    nor take more time, memory or stack than sandbox.Limits allow. Built (and jinja2
    imported) when a rule is first loaded: a warm scan that evaluates no file loads none."""
    from optadvisor.sandbox import TemplateSandbox

    return TemplateSandbox()


class LazyTemplate:
    """A template checked when its rule loads, compiled on its first render: most rules
    match nothing in a scan, and compiling every template cost most of loading rules.
    From a rule file checked before (load_rule's `checked`), it is also parsed then."""

    def __init__(self, parsed: nodes.Template | None, source: str = "") -> None:
        self._parsed = parsed
        self._source = source
        self._template: jinja2.Template | None = None

    def render(self, **context: Any) -> str:
        """The text, or an exception: any render error, LimitExceeded included."""
        if self._template is None:
            parsed = self._parsed if self._parsed is not None else \
                _sandbox().parse_checked(self._source)
            self._template = _sandbox().compile_bounded(parsed)
        return _sandbox().render_bounded(self._template, context)


@dataclass
class _Failure:
    rule: Rule
    key: str
    where: str
    reason: str
    count: int = 1
    stopped: bool = False


class TemplateRenderer:
    """Renders a rule's templates for its findings and never raises: a template that fails
    (any exception, a sandbox limit included) gives that finding the rule's plain title
    (message, title, manual) or nothing (impact, after, preamble), and one rule-error
    record per rule and template names the rule file, the template's line and the first
    finding it failed on. A template that ran past its limits is not rendered again in the
    run: it would spend its time budget on every finding."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], _Failure] = {}

    def render_all(self, compiled: CompiledRule, env: dict[str, Any], where: str
                   ) -> dict[str, str]:
        return {key: self.render(compiled, key, env, where) for key in compiled.templates
                # with fix shapes, `manual` is rendered only when no shape applies;
                # `measured` only when a profile measured the finding (fusion)
                if not (key == "manual" and compiled.fix_cases) and key != "measured"}

    def render(self, compiled: CompiledRule, key: str, env: dict[str, Any], where: str) -> str:
        template = compiled.templates.get(key)
        if template is None:
            return ""
        failure = self._failures.get((compiled.rule.id, key))
        if failure is not None and failure.stopped:
            failure.count += 1
            return _fallback(compiled.rule, key)
        try:
            return template.render(**env).strip()
        except Exception as exc:  # noqa: BLE001 - a rule file's template, not our code
            from optadvisor.sandbox import LimitExceeded

            if failure is None:
                reason = f"{type(exc).__name__}: {exc}"
                if len(reason) > 300:
                    reason = reason[:297] + "..."
                failure = self._failures[(compiled.rule.id, key)] = _Failure(
                    compiled.rule, key, where, reason, 0)
            failure.count += 1
            failure.stopped = isinstance(exc, (LimitExceeded, RecursionError, MemoryError))
            return _fallback(compiled.rule, key)

    def records(self) -> list[ErrorRecord]:
        out = []
        for failure in self._failures.values():
            rule, key = failure.rule, failure.key
            shown = "the rule's title" if key in TITLE_FALLBACK else f"no `{key}` text"
            stopped = "; not rendered again in this run" if failure.stopped else ""
            line = rule.lines.get(f"fix.{key}" if key in FIX_KEYS else key) or None
            at = f" (line {line})" if line else ""
            out.append(ErrorRecord(
                str(rule.source_file), "rule-error",
                f"{rule.id}: the `{key}` template{at} failed on {failure.where} "
                f"({failure.reason}){stopped}; {failure.count} finding(s) show {shown} "
                "instead", line))
        return out


TITLE_FALLBACK = ("message", "title", "manual")
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def plain_title(rule: Rule) -> str:
    """The rule's title without template tags (a title may be a template too)."""
    return " ".join(_TAGS.sub("", rule.title).split()) or rule.kind


def _fallback(rule: Rule, key: str) -> str:
    return plain_title(rule) if key in TITLE_FALLBACK else ""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    when: Compiled
    templates: dict[str, LazyTemplate]
    fix_cases: tuple[tuple[Compiled | None, str, dict[str, str]], ...] = ()
    """(compiled `when` or None for "always", shape name, its params), first match wins."""
    demote: Compiled | None = None
    """`demote`: true for a finding that is real but worth less than the rule's usual one
    (its priority goes one level down)."""


def _key_lines(text: str) -> dict[str, int]:
    """Line of the first `key =` of each key (top-level and in tables, dotted for tables)."""
    lines: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = re.match(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?", stripped)
        if header:
            table = header.group(1)
            lines.setdefault(table, number)
            continue
        key = re.match(r"^([A-Za-z0-9_-]+)\s*=", stripped)
        if key:
            lines.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return lines


def _example_lines(text: str) -> list[int]:
    return [n for n, raw in enumerate(text.splitlines(), start=1)
            if raw.strip().startswith("[[examples]]")]


def load_rule(path: Path, checked: bool = True) -> CompiledRule:
    """`checked=False` leaves the templates unparsed until they render, unchecked: only for
    rule files a scan with the same warm engine key loaded checked (api._Engines), which
    covers their bytes, optadvisor's code and jinja2's version (parsing and checking
    them was 60% of loading the rules)."""
    try:
        raw, data = load_data_toml(path)
    except InputError as exc:
        raise RuleError(path, exc.line, f"cannot read rule file: {exc.detail}") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RuleError(path, int(match.group(1)) if match else None,
                        f"invalid TOML: {exc}") from None
    text = raw.decode("utf-8")
    lines = _key_lines(text)

    def fail(key: str, message: str, offset: int = 0) -> RuleError:
        return RuleError(path, (lines.get(key) or 0) + offset or None, message)

    unknown = set(data) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        key = sorted(unknown)[0]
        raise fail(key, f"unknown key `{key}`; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    for key in REQUIRED:
        if key not in data:
            raise RuleError(path, None, f"missing required key `{key}`")
        if not isinstance(data[key], str) or not data[key].strip():
            raise fail(key, f"`{key}` must be a non-empty string")
    if not ID_PATTERN.match(data["id"]):
        raise fail("id", f"id {data['id']!r} must look like OPT101")
    choices = {"priority": PRIORITIES, "confidence": LEVELS, "effort": EFFORTS,
               "precision": ("very-high", "high", "medium", "low"),
               "subject": tuple(SCHEMAS)}
    for key, allowed in choices.items():
        if key in data and data[key] not in allowed:
            raise fail(key, f"`{key}` must be one of {', '.join(allowed)}, not {data[key]!r}")
    schema = SCHEMAS[data["subject"]]
    allowed_at = AT.get(data["subject"], ())
    if "at" in data and data["at"] not in allowed_at:
        raise fail("at", f"`at` for subject {data['subject']} must be one of "
                   f"{', '.join(allowed_at) or '(nothing: only profile subjects take it)'}")
    try:
        when = compile_expr(data["when"], schema)
    except ExprError as exc:
        raise fail("when", f"bad `when` expression (column {exc.column}): {exc.message}") \
            from None
    demote = None
    if "demote" in data:
        if not isinstance(data["demote"], str) or not data["demote"].strip():
            raise fail("demote", "`demote` must be a non-empty expression string")
        try:
            demote = compile_expr(data["demote"], schema)
        except ExprError as exc:
            raise fail("demote", f"bad `demote` expression (column {exc.column}): "
                       f"{exc.message}") from None
    fix = data.get("fix", {})
    docs = data.get("docs", {})
    for table, allowed_keys in (("fix", FIX_KEYS), ("docs", DOC_KEYS)):
        value = data.get(table, {})
        if not isinstance(value, dict):
            raise fail(table, f"`{table}` must be a table")
        extra = set(value) - set(allowed_keys)
        if extra:
            raise fail(table, f"unknown key(s) in [{table}]: {', '.join(sorted(extra))}")
        for key, item in value.items():
            if table == "fix" and key in ("shapes", "params"):
                continue
            if not isinstance(item, str):
                raise fail(f"{table}.{key}", f"`{table}.{key}` must be a string")
    fix_cases = _fix_cases(fix, schema, fail)
    if fix.get("scope", "call") not in ("call", "block"):
        raise fail("fix.scope", "`fix.scope` must be \"call\" (replace the call) or \"block\"")

    sources = {key: data.get(key, "") for key in TEMPLATE_KEYS}
    sources["after"] = fix.get("after", "")
    sources["preamble"] = fix.get("preamble", "")
    sources["manual"] = fix.get("manual", "")
    if "measured" in data:
        if data["subject"] not in MEASURED_SUBJECTS:
            raise fail("measured", "`measured` is for await findings (subjects "
                       f"{', '.join(MEASURED_SUBJECTS)}): the calls pass times their awaits")
        if not isinstance(data["measured"], str):
            raise fail("measured", "`measured` must be a string")
        sources["measured"] = data["measured"]
    if checked:
        templates = _checked_templates(sources, set(schema) | {"rec"}, text, lines, fail)
    else:
        templates = {key: LazyTemplate(None, source) for key, source in sources.items()}

    examples = _examples(data.get("examples", []), path, text)
    if data["subject"] in AT:
        for example in examples:
            if not example.profile:
                raise RuleError(path, example.line or None, "examples of a profile rule "
                                "need `profile = true`: their code is run and measured")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise fail("tags", "`tags` must be a list of strings")
    if not isinstance(data.get("opt_in", False), bool):
        raise fail("opt_in", "`opt_in` must be true or false")
    rule = Rule(
        id=data["id"], kind=data["kind"], category=data["category"],
        priority=data["priority"], subject=data["subject"], when=data["when"],
        title=data["title"], message=data["message"], impact=data.get("impact", ""),
        fix_after=fix.get("after", ""), confidence=data.get("confidence", "high"),
        effort=data.get("effort", "small"), source_file=path, docs=dict(docs),
        examples=examples, tags=tuple(tags), precision=data.get("precision", "high"),
        opt_in=data.get("opt_in", False),
        lines=lines, fix_scope=fix.get("scope", "call"),
        at=data.get("at", allowed_at[0] if allowed_at else ""),
    )
    return CompiledRule(rule=rule, when=when, templates=templates, fix_cases=fix_cases,
                        demote=demote)



def _checked_templates(sources: dict[str, str], roots: set[str], text: str,
                       lines: dict[str, int], fail: Any) -> dict[str, LazyTemplate]:
    """Each template parsed and checked: jinja2's syntax, the sandbox's refusals, and no
    name but the subject's schema (`measured`: only `awaits`)."""
    import jinja2
    from jinja2 import meta

    from optadvisor.sandbox import TemplateRefused

    templates: dict[str, LazyTemplate] = {}
    text_lines = text.splitlines()
    for key, source in sources.items():
        line_key = f"fix.{key}" if key in ("after", "preamble", "manual") else key
        first = _first_line_offset(text_lines, lines.get(line_key))
        try:
            parsed = _sandbox().parse_checked(source)
        except jinja2.TemplateSyntaxError as exc:
            raise fail(line_key, f"template error in `{key}`: {exc.message}",
                       offset=first + max(0, (exc.lineno or 1) - 1)) from None
        except TemplateRefused as exc:
            raise fail(line_key, f"template `{key}` {exc.message}",
                       offset=first + max(0, exc.lineno - 1)) from None
        known = {"awaits"} if key == "measured" else roots
        unknown_vars = meta.find_undeclared_variables(parsed) - known
        if unknown_vars:
            raise fail(line_key, f"template `{key}` uses unknown name(s) "
                       f"{', '.join(sorted(unknown_vars))}; known: {', '.join(sorted(known))}")
        templates[key] = LazyTemplate(parsed)
    return templates

def _first_line_offset(text_lines: list[str], line: int | None) -> int:
    """1 when `key = '''` ends its line: TOML drops that newline, so the template's
    first line is the next one."""
    if not line or line > len(text_lines):
        return 0
    value = text_lines[line - 1].split("=", 1)[-1].strip()
    return 1 if value in ("'''", '"""') else 0


def _fix_cases(fix: dict[str, Any], schema: Any, fail: Any
               ) -> tuple[tuple[Compiled | None, str, dict[str, str]], ...]:
    """`[fix] shapes = [{when = "...", shape = "..."}, {shape = "..."}]`: checked against
    the shapes optadvisor/fix/ has and the subject's fields."""
    from optadvisor.fix import SHAPES  # names only: no shape module (nor libcst) loads

    raw = fix.get("shapes", [])
    if not isinstance(raw, list):
        raise fail("fix.shapes", "`fix.shapes` must be a list of {when = ..., shape = ...}")
    cases: list[tuple[Compiled | None, str, dict[str, str]]] = []
    common = _params(fix.get("params", {}), "fix.params", fail)
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"when", "shape", "params"} or \
                not isinstance(item.get("shape"), str):
            raise fail("fix.shapes", "each fix shape is {shape = \"name\"} with an optional "
                       "`when` expression")
        if item["shape"] not in SHAPES:
            raise fail("fix.shapes", f"unknown fix shape {item['shape']!r}; known: "
                       f"{', '.join(sorted(SHAPES))}")
        condition = item.get("when", "")
        if not isinstance(condition, str):
            raise fail("fix.shapes", "a fix shape's `when` must be a string")
        compiled = None
        if condition.strip():
            try:
                compiled = compile_expr(condition, schema)
            except ExprError as exc:
                raise fail("fix.shapes", f"bad `when` in fix.shapes (column {exc.column}): "
                           f"{exc.message}") from None
        params = _params(item.get("params", {}), "fix.shapes", fail)
        cases.append((compiled, item["shape"], {**common, **params}))
    return tuple(cases)


def _params(value: Any, key: str, fail: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value.values()):
        raise fail(key, f"`{key}` params must be a table of strings or numbers")
    return {k: str(v) for k, v in value.items()}


def _examples(raw: Any, path: Path, text: str) -> tuple[RuleExample, ...]:
    if not isinstance(raw, list):
        raise RuleError(path, None, "`examples` must be an array of tables [[examples]]")
    lines = _example_lines(text)
    out = []
    for i, item in enumerate(raw):
        line = lines[i] if i < len(lines) else 0
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise RuleError(path, line or None, "every [[examples]] needs code = '''...'''")
        triggers = item.get("triggers", 1)
        if not isinstance(triggers, int) or isinstance(triggers, bool) or triggers < 0:
            raise RuleError(path, line or None, "`triggers` must be a count (0 for a near miss)")
        args = item.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise RuleError(path, line or None, "`args` must be a list of strings")
        profile = item.get("profile", False)
        if not isinstance(profile, bool):
            raise RuleError(path, line or None, "`profile` must be true or false")
        fixed = item.get("fixed")
        if fixed is not None and not isinstance(fixed, str):
            raise RuleError(path, line or None, "`fixed` must be the code after --fix --unsafe-fixes")
        unknown = set(item) - {"code", "triggers", "note", "profile", "args", "fixed"}
        if unknown:
            raise RuleError(path, line or None,
                            f"unknown key(s) in [[examples]]: {', '.join(sorted(unknown))}")
        out.append(RuleExample(code=item["code"], triggers=triggers, line=line,
                               note=str(item.get("note", "")), profile=profile,
                               args=tuple(args), fixed=fixed))
    return tuple(out)


def load_rules(extra_dirs: tuple[Path, ...] = (), checked: bool = True) -> list[CompiledRule]:
    """`checked`: see load_rule."""
    rules: list[CompiledRule] = []
    seen: dict[str, Path] = {}
    for path in rule_files(extra_dirs):
        compiled = load_rule(path, checked)
        rid = compiled.rule.id
        if rid in seen:
            raise RuleError(path, compiled.rule.lines.get("id"),
                            f"rule id {rid} is already defined in {seen[rid]}")
        seen[rid] = path
        rules.append(compiled)
    return rules


def selected(rule_id: str, select: tuple[str, ...], ignore: tuple[str, ...],
             opt_in: bool = False, extend: tuple[str, ...] = ()) -> bool:
    """`--select OPT1` picks OPT1xx; ignore wins over select when both match; the longer
    (more specific) code wins when both lists name a prefix of the rule. An opt-in rule is
    picked only by its full id or ALL, in the selection or in `extend` (extend-select)."""
    def best(codes: tuple[str, ...], whole: bool = False) -> int:
        return max((len(c) for c in codes if c == "ALL" or c == rule_id or (
            not whole and rule_id.startswith(c))), default=-1)

    chosen = best(select, opt_in) if select else (-1 if opt_in else 0)
    chosen = max(chosen, best(extend, opt_in))
    if chosen < 0:
        return False
    dropped = best(ignore)
    return dropped < 0 or dropped < chosen
