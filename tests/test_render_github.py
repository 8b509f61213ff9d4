"""`--format github`: workflow commands, golden on the fixtures, escaping, the caps."""

from __future__ import annotations

import dataclasses
import re

from test_render_common import check_golden, stable_report, with_recommendations

from optadvisor.render import github
from optadvisor.render.github import command, escape_data, escape_property

LINE = re.compile(r"^::(error|warning|notice)( [^:]*)?::(.*)$")


def test_fixtures_golden():
    check_golden("fixtures.github.txt", github.render(stable_report()))


def test_every_line_is_a_well_formed_command():
    for line in github.render(stable_report()).splitlines():
        assert LINE.match(line), line


def test_escaping_follows_the_workflow_command_spec():
    assert escape_data("100% a\r\nb:c,d") == "100%25 a%0D%0Ab:c,d"
    assert escape_property("100% a\r\nb:c,d") == "100%25 a%0D%0Ab%3Ac%2Cd"
    line = command("error", "x\ny", file="a,b:c.py", line=3, title="T: 1,2")
    assert line == "::error file=a%2Cb%3Ac.py,line=3,title=T%3A 1%2C2::x%0Ay"


def test_hostile_path_and_message_stay_on_one_line():
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0], path="a,b::c\n::error::x.py",
                              message="50% done\n::warning::injected")
    out = github.render(with_recommendations(report, [rec]))
    lines = out.splitlines()
    assert len(lines) == 2
    # Paths are repo-relative: the fixtures sit under fixtures/agents in this repository.
    assert "file=fixtures/agents/a%2Cb%3A%3Ac%0A%3A%3Aerror%3A%3Ax.py," in lines[1]
    assert lines[1].endswith("::50%25 done%0A::warning::injected%0AInstead: "
                             + escape_data(rec.snippet.after))


def test_at_most_ten_per_level_and_the_totals_in_the_summary():
    report = stable_report()
    base = report.recommendations[0]
    recs = ([dataclasses.replace(base, priority="high", line=i + 1) for i in range(25)]
            + [dataclasses.replace(base, priority="medium", line=i + 1) for i in range(3)]
            + [dataclasses.replace(base, priority="low", line=i + 1) for i in range(12)])
    out = github.render(with_recommendations(report, recs)).splitlines()
    counts = {name: sum(line.startswith(f"::{name} ") for line in out)
              for name in ("error", "warning", "notice")}
    # 9 low-priority notices plus the summary notice: GitHub's cap of 10 per level.
    assert counts == {"error": 10, "warning": 3, "notice": 10}
    summary = out[0]
    assert summary.startswith("::notice title=optadvisor::40 recommendations")
    assert "25 error, 3 warning, 12 notice" in summary
    assert "not annotated: 15 error, 3 notice" in summary


def test_columns_only_for_single_line_spans():
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0], line=3, end_line=5)
    out = github.render(with_recommendations(report, [rec])).splitlines()[1]
    assert ",line=3,endLine=5," in out and "col=" not in out
