"""Any input yields facts or an error record — never an exception, never a hang — and the
same outcome analyzed alone or in a batch, inline or in worker processes, cold or from the
cache.

Inputs: programs generated from Python's grammar (hypothesmith) and mutations of the
fixture files (bytes cut, repeated, swapped, control characters and brackets inserted).
Bounded for CI; a longer run:

    OPTADVISOR_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import hypothesmith
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optadvisor.analyze import analyze_bytes, run_with_deep_stack
from optadvisor.analyze.catalog import load_catalog
from optadvisor.cache import decode_facts, encode_facts
from optadvisor.models import ErrorRecord, FileFacts
from optadvisor.workers import analyze_all

EXAMPLES = int(os.environ.get("OPTADVISOR_FUZZ_EXAMPLES", "40"))
CATALOG = load_catalog([])
SEEDS = sorted(p.read_bytes() for p in Path(FIXTURES).rglob("*.py"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def analyze(data: bytes, rel: str = "f.py") -> FileFacts | ErrorRecord:
    return run_with_deep_stack(lambda: analyze_bytes(rel, data, CATALOG, 5 << 20))


def key(outcome: FileFacts | ErrorRecord) -> object:
    """What must be equal between two analyses of the same bytes."""
    if isinstance(outcome, ErrorRecord):
        return ("error", outcome.kind, outcome.line)
    encoded = encode_facts(outcome)
    encoded.pop("path")  # the one field that is the name, not the content
    return ("facts", json.dumps(encoded, sort_keys=True))


# The analysis raises the recursion limit once (deep files need it); do it before
# hypothesis records the limit, or it warns that it cannot restore it.
analyze(b"")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        size = draw(st.integers(1, 40))
        edit = draw(st.sampled_from(["cut", "repeat", "insert", "swap"]))
        if edit == "cut":
            del data[at:at + size]
        elif edit == "repeat":
            data[at:at] = data[at:at + size] * draw(st.integers(2, 50))
        elif edit == "insert":
            data[at:at] = draw(st.sampled_from(
                [b"\x0c", b"\r", b"\\\n", b"(" * 300, b"\x00", b"\xff\xfe", b"\t",
                 b"async ", b"await ", b"lambda: ", b"\x1b[2J", b"'''", b"#"]))
        else:
            other = draw(st.integers(0, len(data) - 1))
            data[at:at + size], data[other:other + size] = \
                data[other:other + size], data[at:at + size]
    return bytes(data)


SOURCES = st.one_of(
    hypothesmith.from_grammar().map(lambda text: text.encode("utf-8", "surrogatepass")),
    mutated(),
)


@FUZZ
@given(SOURCES)
def test_any_input_is_facts_or_a_record(data: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the analysis prints nothing of the code's own
        outcome = analyze(data)
    assert isinstance(outcome, (FileFacts, ErrorRecord))
    if isinstance(outcome, ErrorRecord):
        assert outcome.kind != "internal-error", outcome.message
        assert outcome.message.strip()
    else:
        # Warm equals cold: what the cache stores decodes to the same facts.
        assert key(decode_facts(json.loads(json.dumps(encode_facts(outcome))))) == key(outcome)
    # The same bytes give the same outcome again, under another name too.
    again = analyze(data, "pkg/other.py")
    assert key(again) == key(outcome)


@settings(FUZZ, max_examples=max(5, EXAMPLES // 8))
@given(st.lists(SOURCES, min_size=2, max_size=6))
def test_workers_and_inline_agree_alone_or_together(batch: list[bytes]):
    jobs = [(f"m{i}.py", data) for i, data in enumerate(batch)]
    inline = {rel: key(analyze(data, rel)) for rel, data in jobs}
    together = analyze_all(jobs, CATALOG, 5 << 20, processes=2)
    assert {rel: key(outcome) for rel, outcome in together.items()} == inline
    alone = analyze_all(jobs[:1], CATALOG, 5 << 20, processes=1)
    assert key(alone[jobs[0][0]]) == inline[jobs[0][0]]
