"""`--format json` against the JSON Schema shipped in the package."""

from __future__ import annotations

import json

import pytest
from test_render_common import evil_report, fixtures_report

from optadvisor.render import json as json_renderer

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")


def validator():
    schema = json_renderer.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors_of(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator().iter_errors(document)]


def test_schema_ships_inside_the_package():
    import optadvisor

    assert json_renderer.SCHEMA_PATH.parent.samefile(optadvisor.__path__[0])


def test_real_fixtures_output_validates():
    document = json.loads(json_renderer.render(fixtures_report()))
    assert errors_of(document) == []
    assert document["recommendations"] and document["targets"]
    for phase in document.get("plan", []):
        assert all(0 <= i < len(document["recommendations"]) for i in phase["recommendations"])


def test_hostile_content_round_trips():
    report = evil_report()
    document = json.loads(json_renderer.render(report))
    assert errors_of(document) == []
    assert document["recommendations"][0]["path"] == report.recommendations[0].path


def test_schema_rejects_what_the_contract_forbids():
    document = json.loads(json_renderer.render(fixtures_report()))
    rec = document["recommendations"][0]
    for key, bad in (("priority", "urgent"), ("line", 0), ("score", 101),
                     ("path", "agents\\x.py")):
        broken = json.loads(json.dumps(document))
        broken["recommendations"][0] = {**rec, key: bad}
        assert errors_of(broken), key
    broken = json.loads(json.dumps(document))
    del broken["summary"]["candidates"]["async"]
    assert errors_of(broken)
