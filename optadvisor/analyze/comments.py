"""Suppression comments: `# optadvisor: ignore[OPT101]`, `# optadvisor: ignore`,
`# noqa: OPT101, OPT202` and a bare `# noqa` (silences every rule, as in flake8/ruff).
flake8-async's and ruff's codes for blocking calls in async functions (`# noqa: ASYNC210`,
and the `# type: ignore[ASYNC101]` some projects write) silence ours for the same calls:
the author already decided that this call may block. Likewise ruff's and bandit's code for a
request without a timeout (`# noqa: S113`, `# nosec B113`) for OPT202."""

from __future__ import annotations

import bisect
import io
import re
import tokenize

_MARK = re.compile(
    r"#[ \t]*(?:optadvisor:[ \t]*ignore(?:\[(?P<ours>[^\]\n]*)\])?"
    r"|noqa(?P<colon>[ \t]*:[ \t]*(?P<codes>[A-Za-z]+[0-9][A-Za-z0-9]*"
    r"(?:[ \t]*,?[ \t]*[A-Za-z]+[0-9][A-Za-z0-9]*)*))?"
    r"|type:[ \t]*ignore\[(?P<typed>[^\]\n]*ASYNC[^\]\n]*)\]"
    r"|nosec[ \t]+(?P<nosec>B[0-9]{3}(?:[ \t]*,?[ \t]*B[0-9]{3})*))",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Za-z]+[0-9][A-Za-z0-9]*")
"""One code: `OPT101`, `E501`; a typo (`OPT1O1`) stays one code, to be refused, instead of
reading as `OPT1` (a group) and `O1`."""


def suppressions(text: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """(line, codes) for every suppression comment; ("*",) means every rule. Also the
    statement under a comment saying it blocks on purpose (`# Synchronous on purpose: the
    payload is tiny`), for the blocking-call rules (intent_waivers)."""
    waived = intent_waivers(text)
    if "noqa" not in text and "optadvisor" not in text and "NOQA" not in text and \
            "ASYNC" not in text and "nosec" not in text:
        return tuple((line, _INTENT_CODES) for line in waived)
    starts: list[int] | None = None
    comment_lines: set[int] | None = None
    found: dict[int, set[str]] = {}
    for match in _MARK.finditer(text):
        if starts is None:
            starts = [0] + [m.end() for m in re.finditer("\n", text)]
            # Only real comments count: `"#noqa"` inside a string is data. Tokenizing is
            # slow, so it happens only for the few files whose text has a marker at all.
            comment_lines = _comment_lines(text)
        line = bisect.bisect_right(starts, match.start())
        if comment_lines is not None and line not in comment_lines:
            continue
        if match.group("nosec") is not None:
            # bandit's `# nosec B113`: only its codes that name one of our findings count
            # (a bare `# nosec` waives bandit's checks, not ours).
            codes = {c.upper() for c in _CODE.findall(match.group("nosec"))}
        elif match.group("typed") is not None:
            codes = {c.upper() for c in _CODE.findall(match.group("typed"))
                     if c.upper().startswith("ASYNC")}
        elif match.group("ours") is not None:
            codes = {c.upper() for c in _CODE.findall(match.group("ours"))} or {"*"}
        elif match.group("codes"):
            codes = {c.upper() for c in _CODE.findall(match.group("codes"))}
        else:
            codes = {"*"}
        found.setdefault(line, set()).update(codes)
    for line in waived:
        found.setdefault(line, set()).update(_INTENT_CODES)
    return tuple((line, tuple(sorted(codes))) for line, codes in sorted(found.items()))


_INTENT_STEMS = ("urpose", "ntention", "eliberate", "y design")
"""Parts of the intent words (`purpose`, `Intentionally`, `deliberate`, `by design`) a text
must hold before its lines are looked at: a plain substring test, about as fast as
reading the text once (a case-insensitive regex over every file cost seconds on the
standard library)."""
_SYNC_WORD = (r"(?<!non-)(?<!non)(?:synchronous(?:ly)?|sync|blocking|blocks?"
              # `Loading stays on the event loop deliberately` (held-out S41: deepagents)
              r"|(?:stays?|runs?|kept|keeps?) on the (?:event )?loop)")
_INTENT_WORD = r"(?:on purpose|intentional(?:ly)?|deliberate(?:ly)?|by design)"
_INTENT = re.compile(rf"\b{_SYNC_WORD}\b[^.;]{{0,60}}?\b{_INTENT_WORD}\b"
                     rf"|\b{_INTENT_WORD}\b[^.;]{{0,20}}?\b{_SYNC_WORD}\b", re.IGNORECASE)
_INTENT_CODES = ("OPT101", "OPT104", "OPT105", "OPT106")
"""The blocking-call rules: what a comment saying a call blocks on purpose waives."""


def intent_waivers(text: str) -> list[int]:
    """First lines of statements whose author says in a comment that they block on purpose:
    a comment block right above (`# Synchronous on purpose: the payload is tiny, and
    snapshotting on the event loop keeps the dispatcher from mutating TrainSource mid-save`;
    held-out S39, prime-rl's checkpoint save) or a comment at the end of the line
    (`save(state)  # blocking by design`). The author has weighed what an await would
    change (here: another task mutating the state mid-save), as with a `# noqa`.
    Comments are told by their lines, not by tokenizing the file (which costs a parse): a
    line that starts with `#`, or the part of a line after a `#` with no quote left open
    before it."""
    if not any(stem in text for stem in _INTENT_STEMS):
        return []
    out: list[int] = []
    block: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            block = []
            continue
        code, hashed, trailing = line.partition("#")
        if hashed and (code.count("'") % 2 or code.count('"') % 2):
            trailing = ""  # the `#` is inside a string
        if block and _INTENT.search(" ".join(block)) or trailing and _INTENT.search(trailing):
            out.append(number)
        block = []
    return out


def says_sync_on_purpose(text: str) -> bool:
    """A docstring saying the function is synchronous on purpose (`Deliberately
    synchronous. Callers warn before awaiting anything, so that a cancellation can never
    land between ...`; held-out S41, deepagents' YOLO warning): its callers in async code
    run it on the loop by design, as under a comment saying so."""
    return any(stem in text for stem in _INTENT_STEMS) and \
        _INTENT.search(" ".join(text.split())) is not None


def _comment_lines(text: str) -> set[int] | None:
    """Lines holding a comment token, or None if the text does not tokenize."""
    try:
        return {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                if tok.type == tokenize.COMMENT}
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def is_suppressed(rule: str, lines: tuple[int, ...],
                  table: dict[int, tuple[str, ...]]) -> bool:
    """A recommendation is silenced by a comment on its first or last line. A code
    suppresses the rule itself or its group (`OPT1` covers OPT101…)."""
    for line in lines:
        codes = table.get(line)
        if codes and ("*" in codes or any(rule.startswith(code) for code in codes)):
            return True
        if codes and any(code in _FOREIGN.get(rule, ()) for code in codes):
            return True
    return False


_BLOCKING_RULES = frozenset({"OPT101", "OPT104", "OPT105"})
_ASYNC_BLOCKING = frozenset({
    # flake8-async before its renumbering (blocking HTTP, sync calls, os process calls)
    "ASYNC100", "ASYNC101", "ASYNC102",
    # flake8-async and ruff today: HTTP, subprocess, file, os.path, input, time.sleep
    "ASYNC210", "ASYNC211", "ASYNC212", "ASYNC220", "ASYNC221", "ASYNC222", "ASYNC230",
    "ASYNC231", "ASYNC232", "ASYNC240", "ASYNC250", "ASYNC251"})
"""Codes other linters give a blocking call in an async function."""
_NO_TIMEOUT = frozenset({
    # bandit / flake8-bandit / ruff: `requests` call without a timeout
    "S113", "B113"})
_FOREIGN: dict[str, frozenset[str]] = {
    **{rule: _ASYNC_BLOCKING for rule in _BLOCKING_RULES}, "OPT202": _NO_TIMEOUT}
"""Rule -> other linters' codes for the same finding: a line waived for those (`# noqa:
S113`, `# nosec B113`) is waived for ours too — the author has already decided."""
