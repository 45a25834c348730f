"""Each output format, parsed back: json, github annotations, SARIF 2.1.0."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fwcompat.cli._reporters import escape_github_data, escape_github_property

from .conftest import FIXTURES, Run

# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) a log must satisfy,
# as a JSON Schema: required members, 1-based regions, levels, fingerprints.
SARIF_REQUIRED: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": [
                                                                "none",
                                                                "note",
                                                                "warning",
                                                                "error",
                                                            ]
                                                        }
                                                    },
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message", "ruleId", "level", "locations"],
                            "properties": {
                                "message": {
                                    "type": "object",
                                    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                                },
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "minProperties": 1,
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

ANNOTATION = re.compile(
    r"^::(?P<level>error|warning|notice) "
    r"file=(?P<file>[^,:]+),line=(?P<line>[1-9]\d*),col=(?P<col>[1-9]\d*),"
    r"title=(?P<title>[^,:]+)::(?P<message>[^\r\n]*)$"
)


def test_json_format(run: Run) -> None:
    result = run("check", "--format", "json", FIXTURES / "bad", FIXTURES / "good")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert len(data) == 11
    required = {"file", "line", "column", "code", "severity", "pointer", "action", "message", "doc"}
    for item in data:
        assert required <= item.keys()
        assert item["line"] >= 1
        assert item["column"] >= 1
        assert item["severity"] in ("error", "warning", "info")
        assert item["action"] in ("removed", "replaced", "rejected", "noted")
        assert item["doc"]
    clean = run("check", "--format", "json", FIXTURES / "good")
    assert json.loads(clean.stdout) == []
    assert clean.returncode == 0


def test_github_format(run: Run) -> None:
    result = run("check", "--format", "github", FIXTURES / "bad")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    annotations = [ANNOTATION.match(line) for line in lines if line.startswith("::")]
    assert len(annotations) == 11
    assert all(annotations), [line for line in lines if line.startswith("::")]
    levels = {m["level"] for m in annotations if m}
    assert levels == {"error", "warning", "notice"}  # info -> notice
    assert lines[-1].startswith("Found 3 errors")


def test_github_escaping(run: Run, tmp_path: Path) -> None:
    odd = tmp_path / "a,b:c%d.json"
    odd.write_text((FIXTURES / "bad" / "fixable.json").read_text())
    result = run("check", "--format", "github", odd.name, cwd=tmp_path)
    first = result.stdout.splitlines()[0]
    match = ANNOTATION.match(first)
    assert match, first
    assert match["file"] == "a%2Cb%3Ac%25d.json"
    assert escape_github_data("100%\r\nnext: a,b") == "100%25%0D%0Anext: a,b"
    assert escape_github_property("x: 1,\n2%") == "x%3A 1%2C%0A2%25"


def test_sarif_format(run: Run) -> None:
    result = run("check", "--format", "sarif", FIXTURES / "bad", FIXTURES / "malformed")
    assert result.returncode == 2
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_REQUIRED)
    run0 = log["runs"][0]
    rules = run0["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))  # one rule entry per code
    results = run0["results"]
    assert {r["ruleId"] for r in results} == set(ids)
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert run0["invocations"][0]["executionSuccessful"] is False
    # JSONL positions survive into regions
    jsonl = [
        r
        for r in results
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("jsonl")
    ]
    assert sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in jsonl) == [
        1,
        3,
    ]
    # fingerprints are stable from run to run and unique per finding
    again = json.loads(
        run("check", "--format", "sarif", FIXTURES / "bad", FIXTURES / "malformed").stdout
    )
    prints = [r["partialFingerprints"] for r in results]
    assert prints == [r["partialFingerprints"] for r in again["runs"][0]["results"]]
    assert len({json.dumps(p) for p in prints}) == len(prints)


def test_sarif_clean_run(run: Run) -> None:
    log = json.loads(run("check", "--format", "sarif", FIXTURES / "good").stdout)
    jsonschema.validate(log, SARIF_REQUIRED)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_output_file(run: Run, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    result = run("check", "--format", fmt, "-o", out, FIXTURES / "bad")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "FW401" in out.read_text()
