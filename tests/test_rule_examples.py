"""Every [[examples]] block of every rule file is a test: the code must produce exactly
`triggers` recommendations of that rule (0 for a near miss)."""

from __future__ import annotations

import pytest

from optadvisor.api import scan_source
from optadvisor.rules import load_rules

RULES = load_rules()
CASES = [
    pytest.param(c.rule, example, id=f"{c.rule.id}-line{example.line}")
    for c in RULES for example in c.rule.examples if not example.profile
]
PROFILE_CASES = [
    pytest.param(c, example, id=f"{c.rule.id}-line{example.line}")
    for c in RULES for example in c.rule.examples if example.profile
]


def test_every_rule_has_positive_and_negative_examples():
    for compiled in RULES:
        counts = [e.triggers for e in compiled.rule.examples]
        assert any(counts), f"{compiled.rule.id} has no example that triggers it"
        assert 0 in counts, f"{compiled.rule.id} has no near-miss example"


@pytest.mark.parametrize("rule,example", CASES)
def test_rule_example(rule, example):
    rule_errors: list = []
    recs, error = scan_source(example.code, select=(rule.id,), rule_errors=rule_errors)
    assert error is None, error
    assert not rule_errors, rule_errors  # every template renders, within its limits
    found = [r for r in recs if r.rule == rule.id]
    assert len(found) == example.triggers, (
        f"{rule.source_file.name}:{example.line} ({example.note}): expected "
        f"{example.triggers}, got {len(found)}: "
        + "; ".join(f"line {r.line}: {r.message}" for r in found))
    for rec in found:
        assert rec.snippet.before.strip(), "every recommendation shows the user's code"
        assert rec.message


@pytest.mark.parametrize("compiled,example", PROFILE_CASES)
def test_profile_rule_example(compiled, example):
    """Profile rules' examples are run for real under py-spy and measured."""
    from optadvisor.api import profile_source

    rule_errors: list = []
    recs, run = profile_source(example.code, [compiled], example.args, rule_errors)
    assert run.outcome.status == "ok", run.outcome
    assert not rule_errors, rule_errors
    found = [r for r in recs if r.rule == compiled.rule.id]
    rule = compiled.rule
    assert len(found) == example.triggers, (
        f"{rule.source_file.name}:{example.line} ({example.note}): expected "
        f"{example.triggers}, got {len(found)}: "
        + "; ".join(f"{r.path}:{r.line}: {r.message}" for r in found)
        + f" | top: {[(f.name, f.user_self_pct, f.total_pct, f.idle_pct) for f in run.ranked_user_functions()[:3]]}")
    for rec in found:
        assert rec.message
        assert rec.snippet.before.strip()


FIX_CASES = [
    pytest.param(c.rule, example, id=f"{c.rule.id}-line{example.line}")
    for c in RULES for example in c.rule.examples if not example.profile and example.triggers
    and c.fix_cases
]


@pytest.mark.parametrize("rule,example", FIX_CASES)
def test_rule_example_fix(rule, example):
    """Every triggering example carries the exact code `--fix --unsafe-fixes` makes of it
    with this rule alone: the result compiles, the fixed findings are gone on a re-scan
    (only those advised in words stay), and fixing again changes nothing."""
    from optadvisor.fix.apply import fix_source

    where = f"{rule.source_file.name}:{example.line} ({example.note})"
    assert example.fixed is not None, f"{where}: add fixed = '''...''' to the example"
    before, _ = scan_source(example.code, select=(rule.id,))
    fixed, applied = fix_source(example.code, select=(rule.id,))
    assert fixed == example.fixed, f"{where}: --fix produced\n{fixed}"
    compile(fixed, "example.py", "exec", dont_inherit=True)
    manual = [r for r in before if r.rule == rule.id and r.fix.applicability == "manual"]
    after, error = scan_source(fixed, select=(rule.id,))
    assert error is None
    left = [r for r in after if r.rule == rule.id]
    assert len(left) == len(manual), (
        f"{where}: after fixing, still {[(r.line, r.message) for r in left]}")
    assert fix_source(fixed, select=(rule.id,))[0] == fixed, f"{where}: not idempotent"
    for rec in before:
        if rec.fix.applicability == "manual":
            assert rec.fix.message and not rec.fix.edits
        else:
            assert rec.snippet.after.strip(), "a change is shown as the code to write"
