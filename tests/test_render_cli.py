"""Every format is reachable from `optadvisor scan --format`."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from optadvisor.cli import app
from optadvisor.render import FORMATS


@pytest.mark.parametrize("name", FORMATS)
def test_scan_writes_each_format(name, tmp_path):
    out = tmp_path / f"report.{name}"
    result = CliRunner().invoke(app, ["scan", str(FIXTURES), "--format", name, "-o", str(out),
                                      "--no-cache", "--jobs", "1", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.strip()
    if name in ("json", "sarif", "gitlab"):
        json.loads(text)
    if name == "html":
        assert text.startswith("<!DOCTYPE html>")


def test_unknown_format_is_a_usage_error():
    result = CliRunner().invoke(app, ["scan", str(FIXTURES), "--format", "pdf"])
    assert result.exit_code == 2
