"""The results artifact in process (bot/github/artifact.py): what is written reads back as the
same records and the same gate decision, and what is not ours is refused with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bot.annotations import Annotations, Suppression
from bot.config import AllowEntry, Budget, Glob
from bot.diff import DiffResult
from bot.errors import UsageError
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Cause, Escape, Flow, Kind, Position, Snapshot, Step, Toolchain
from bot.github import artifact, artifact_format
from bot.github.artifact import write_artifact
from bot.github.artifact_format import ArtifactError, parse_artifact, read_artifact
from bot.github.context import parse_workflow_run
from bot.report.render import explanation_lines

BASE, HEAD, MERGE = "1" * 40, "2" * 40, "3" * 40
TC = Toolchain("go1.27.3", "linux", "amd64", ("netgo",))


def _escape(line: int, **kw: Any) -> Escape:
    fields: dict[str, Any] = {
        "package": "example.com/m/hot",
        "file": "hot/h.go",
        "line": line,
        "column": 2,
        "function": f"F{line}",
        "kind": Kind.MOVED_TO_HEAP,
        "expression": "t",
        "message": "moved to heap: t",
        "cause": Cause.RETURNED,
        "explanation": (
            Flow(
                "~r0",
                "&t",
                (Step("spill", "address-of", Position("hot/h.go", line, 9)), Step("x", "y", None)),
            ),
            Flow("t", "{heap}", (Step("w", "z", Position("we:ird.go", 3)),)),
        ),
    }
    fields.update(kw)
    return Escape(**fields)


POLICY = GatePolicy(
    fail_on_new=True,
    kinds=frozenset({Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP}),
    budget=1,
    budgets=(
        Budget(Glob("example.com/m/cold/**", key="gate.budget[0].package"), None, 5, "gate.budget[0]"),
        Budget(None, Cause.GLOBAL, None, "gate.budget[1]"),
    ),
    allow=(
        AllowEntry(
            Glob("example.com/m/*", key="allow[0].package"),
            Glob("F1?", key="allow[0].function"),
            "a pool",
            expression="t",
            cause=Cause.RETURNED,
            key="allow[0]",
        ),
    ),
)
ANNOTATIONS = {
    "hot/h.go": Annotations(
        suppressions=(Suppression(19, "measured: not hot"),),
        noescape_lines=frozenset({30}),
        noescape_functions=frozenset({"F40"}),
    )
}
# the head's hot/h.go as the analyze job read it: the suppression on line 19 covers line 20
HEAD_SOURCE = "\n".join(
    [f"// line {n}" for n in range(1, 19)]
    + ["\t// escape-bot:allow measured: not hot", "\tt := T{}"]
    + [f"// line {n}" for n in range(21, 80)]
)
RESULT = DiffResult(
    new=(
        _escape(10),  # allowed by allow[0] (F10)
        _escape(20),  # allowed inline (the comment on line 19)
        _escape(30),  # gcassert:noescape line
        _escape(40, count=2),  # gcassert:noescape function
        _escape(50, cause=Cause.GLOBAL),  # budget "never"
        _escape(60, kind=Kind.LEAKING_PARAM, message="leaking param: p"),
        _escape(70, package="example.com/m/cold", file="cold/c.go"),
    ),
    fixed=(_escape(5, file="hot/old.go", explanation=()),),
    unchanged=(_escape(1, count=4), _escape(2, kind=Kind.LEAKING_PARAM)),
)


def _write(tmp_path: Path, **kw: Any) -> Path:
    args: dict[str, Any] = {
        "name": "linux",
        "repository": "octo/demo",
        "number": 7,
        "head_sha": HEAD,
        "base": Snapshot("abc", BASE, TC, ()),
        "head": Snapshot("def", MERGE, TC, ()),
        "result": RESULT,
        "annotations": ANNOTATIONS,
        "source": {"hot/h.go": HEAD_SOURCE}.get,
        "head_source": "store",
    }
    args.update(kw)
    return write_artifact(tmp_path / "artifact", **args)


def _document(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_write(tmp_path) / artifact_format.ARTIFACT_FILE).read_text())
    return data


def _parse(document: object) -> artifact.Results:
    return parse_artifact(json.dumps(document).encode())


def test_round_trip_gives_the_same_records_and_the_same_decision(tmp_path: Path) -> None:
    results = read_artifact(_write(tmp_path))
    assert (results.name, results.repository, results.number) == ("linux", "octo/demo", 7)
    assert (results.head_sha, results.base_sha, results.head.commit) == (HEAD, BASE, MERGE)
    assert results.base.toolchain == TC and (results.base_source, results.head_source) == ("built", "store")
    # explanations included (Escape equality ignores line_text); leaks travel in their own list
    assert sorted(results.result.new, key=repr) == sorted(RESULT.new, key=repr)
    assert sorted(results.result.fixed, key=repr) == sorted(RESULT.fixed, key=repr)
    assert results.result.counts([Kind.MOVED_TO_HEAP]) == RESULT.counts([Kind.MOVED_TO_HEAP])
    assert dict(results.annotations) == ANNOTATIONS
    assert results.suppressed_lines == {
        "hot/h.go": {19: ("\t// escape-bot:allow measured: not hot", "\tt := T{}")}
    }
    original = evaluate(RESULT, POLICY, ANNOTATIONS)
    again = evaluate(results.result, POLICY, results.annotations)
    assert again == original
    assert original.verdict.value == "fail" and len(original.waived) == 2 and len(original.broken) == 2


def test_failed_modules_and_skipped_counts_travel_as_data(tmp_path: Path) -> None:
    """A module broken at head must fail the gate in publish too, and the skipped counts stay said."""
    from dataclasses import replace

    from bot.diff import Skipped
    from bot.gc.model import FailedModule

    broken = FailedModule("example.com/m/bench", "bench", "head", ("bench/b.go:3:2: undefined: x",))
    result = replace(RESULT, failed_modules=(broken,), skipped=(Skipped("generated", 4, 1, 0),))
    results = read_artifact(_write(tmp_path, result=result))
    assert results.result.failed_modules == (broken,)
    assert results.result.skipped == (Skipped("generated", 4, 1, 0),)
    decision = evaluate(results.result, POLICY, results.annotations)
    assert decision.verdict.value == "fail" and "bench" in decision.reason


def test_ambiguous_explanations_read_back_as_the_same_text(tmp_path: Path) -> None:
    # the JSON keeps a flow as `DST ← SRC` and a position as `FILE:LINE:COL`: text that may
    # split differently, and is shown the same
    odd = _escape(10, explanation=(Flow("a ← b", "c", (Step("w", "z", Position("x.go:5", 6)),)),))
    results = read_artifact(_write(tmp_path, result=DiffResult(new=(odd,), fixed=(), unchanged=())))
    (back,) = results.result.new
    assert back != odd
    assert explanation_lines(back) == explanation_lines(odd) == ("a ← b ← c", "    w (z) at x.go:5:6")


def test_the_writer_keeps_to_the_limits_the_reader_checks(tmp_path: Path) -> None:
    """A leaking parameter of go/types explains itself in 7,227 steps: the artifact keeps the first
    MAX_STEPS, and publish reads it instead of refusing the whole artifact."""
    steps = tuple(Step(f"s{n}", "assign", Position("hot/h.go", n + 1, 2)) for n in range(1500))
    long = _escape(10, kind=Kind.LEAKING_PARAM, explanation=(Flow("a", "b", steps), Flow("c", "d", steps)))
    results = read_artifact(_write(tmp_path, result=DiffResult(new=(long,), fixed=(), unchanged=())))
    (back,) = results.result.new
    assert back.explanation == (Flow("a", "b", steps[: artifact_format.MAX_STEPS]),)


def test_the_artifact_carries_data_only(tmp_path: Path) -> None:
    # no policy and no verdict: an artifact written by an older escape-bot, with its `gate`
    # policy, is refused rather than half believed
    document = _document(tmp_path)
    assert set(document) == {
        "format",
        "schema",
        "name",
        "repository",
        "pull_request",
        "annotations",
        "results",
    }
    older = _document(tmp_path)
    older["gate"] = {"fail_on_new": False, "allow": [{"package": "**", "function": "**"}]}
    with pytest.raises(ArtifactError, match="malformed at \\$: Object contains unknown field `gate`"):
        _parse(older)


def _trusted(base: str | None, count_added: bool, tmp_path: Path) -> artifact.TrustedSuppressions:
    results = read_artifact(_write(tmp_path))
    reads: list[str] = []

    def base_file(file: str) -> str | None:
        reads.append(file)
        return base

    trusted = artifact.trusted_suppressions(results, base_file, count_added)
    assert reads == ["hot/h.go"]  # one read per file with a suppression that covers a new escape
    return trusted


def test_suppressions_count_in_publish_only_when_unchanged_from_the_base(tmp_path: Path) -> None:
    unchanged = "package p\n\n  // escape-bot:allow measured: not hot\n  t := T{}\n"
    kept = _trusted(unchanged, False, tmp_path)  # indentation aside, the two lines are the base's
    assert kept.annotations["hot/h.go"].suppressions == (Suppression(19, "measured: not hot"),)
    assert kept.added == frozenset() and kept.ignored == ()

    for base in (None, "package p\n", "// escape-bot:allow measured: not hot\nu := T{}\n"):
        dropped = _trusted(base, False, tmp_path)  # a new file, no comment, another line below it
        assert dropped.annotations["hot/h.go"].suppressions == ()
        assert dropped.annotations["hot/h.go"].noescape_lines == {30}  # stricter comments stay
        assert dropped.ignored == (("hot/h.go", 19),)
        decision = evaluate(RESULT, POLICY, dropped.annotations)
        assert [w.escape.line for w in decision.waived] == [10]  # line 20 is no longer allowed

    counted = _trusted(None, True, tmp_path)  # gate.pr-suppressions = true
    assert counted.annotations["hot/h.go"].suppressions == (Suppression(19, "measured: not hot"),)
    assert counted.added == {("hot/h.go", 19)} and counted.ignored == ()


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = document
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("results.new.0.line", "14", "at $.results.new[0].line: Expected `int`, got `str`"),
        ("results.new.0.line", 1.5, "at $.results.new[0].line: Expected `int`, got `float`"),
        ("results.new.0.kind", "allocates", "at $.results.new[0].kind: Invalid enum value 'allocates'"),
        ("results.new.0.count", 0, "at $.results.new[0].count: Expected `int` >= 1"),
        (
            "results.new.0.message",
            "x" * 70_000,
            "at $.results.new[0].message: Expected `str` of length <= 65536",
        ),
        (
            "results.new.0.origin",
            {"function": "f", "at": None, "x": 1},
            "at $.results.new[0].origin: Object contains unknown field `x`",
        ),
        (
            "results.new.0.explanation",
            [{"flow": "a", "where": "b", "why": "c", "at": None}] * 1001,
            "at $.results.new[0].explanation: Expected `array` of length <= 1000",
        ),
        ("results.head.commit", "HEAD; rm -rf /", "at $.results.head.commit: Expected `str` matching regex"),
        ("results.head.commit", "a" * 40 + "\n", "at $.results.head.commit: Expected `str` matching regex"),
        (
            "results.skipped",
            {f"r{n}": {"head": 1} for n in range(17)},
            "at $.results.skipped: Expected `object` of length <= 16",
        ),
        ("pull_request.number", -1, "at $.pull_request.number: Expected `int` >= 1"),
        ("pull_request.merged", True, "at $.pull_request: Object contains unknown field `merged`"),
        ("name", "a b", "at $.name: Expected `str` matching regex"),
        (
            "schema",
            1,
            "at $.schema: Invalid enum value 1 (this escape-bot reads results artifacts of schema 2)",
        ),
        ("schema", "2", "at $.schema: Expected `int`, got `str`"),
        ("results.schema", 2, "at $.results.schema: Invalid enum value 2"),
        ("verdict", "pass", "at $: Object contains unknown field `verdict`"),
        (
            "annotations",
            {
                "a.go": {
                    "suppressions": [{"line": 1, "reason": "r", "lines": ["", "", ""]}],
                    "noescape_lines": [],
                    "noescape_functions": [],
                }
            },
            "at $.annotations[...].suppressions[0].lines: Expected `array` of length <= 2",
        ),
        ("results.base.commit", "4" * 40, "results.base.commit is not pull_request.base_sha"),
        ("results.new.0.explanation.0.at", "nowhere", "explanation position 'nowhere' is not FILE:LINE"),
    ],
)
def test_malformed_artifacts_are_refused_with_one_line(
    tmp_path: Path, path: str, value: Any, message: str
) -> None:
    document = _set(_document(tmp_path), path, value)
    with pytest.raises(ArtifactError) as info:
        _parse(document)
    assert message in info.value.message
    assert info.value.exit_code == 3 and "\n" not in info.value.message and len(info.value.message) < 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"schema": NaN}', "is not valid JSON: JSON is malformed: invalid character"),
        (
            b'{"name": "\\ud800", "schema": 2}',
            "is not valid JSON: JSON is malformed: unexpected end of escaped utf-16 surrogate",
        ),
        (b"\xff\xfe{}", "is not valid JSON"),
        (b'{"name": "\xff"}', "is not valid JSON: Invalid UTF-8"),
        (b"[" * 100_000, "is malformed at $: Expected `object`, got `array`"),
        (b'{"format": "escape-bot-results"', "is not valid JSON: Input data was truncated"),
        (b"[]", "is malformed at $: Expected `object`, got `array`"),
    ],
)
def test_not_json_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactError, match="results artifact") as info:
        parse_artifact(data)
    assert message in info.value.message


def test_duplicate_keys_and_trailing_data_are_refused(tmp_path: Path) -> None:
    """A repeated key is data one reader sees and another does not (msgspec keeps the last one);
    a second document after the first is not ignored either."""
    text = (_write(tmp_path) / artifact_format.ARTIFACT_FILE).read_text()
    assert parse_artifact(text.encode()).name == "linux"
    for old, new in [
        ('"name":"linux"', '"name":"other","name":"linux"'),
        (
            '"annotations":{',
            '"annotations":{"hot/h.go":{"suppressions":[],"noescape_lines":[],"noescape_functions":[]},',
        ),
        ('"unchanged":', '"unchanged":0,"unchanged":'),
    ]:
        assert old in text
        with pytest.raises(ArtifactError, match="is not valid JSON: duplicate key") as info:
            parse_artifact(text.replace(old, new, 1).encode())
        assert "\n" not in info.value.message
    with pytest.raises(ArtifactError, match="is not valid JSON: JSON is malformed: trailing characters"):
        parse_artifact(text.encode() + b"{}")


def test_derived_fields_of_older_writers_are_ignored(tmp_path: Path) -> None:
    """Artifacts of the same version written by older releases carry every field of `diff --format
    json` in the escapes and sides: read, not believed (derived), never shown."""
    document = _document(tmp_path)
    document["results"]["new"][0] |= {"fingerprint": "x", "hint": "`rm -rf`", "allocates": False}
    document["results"]["head"]["escapes"] = 10**9
    document["results"]["counts"]["new"] = -5
    results = _parse(document)
    assert results.result.new[0] == read_artifact(_write(tmp_path)).result.new[0]


def test_the_codec_round_trips_the_typed_records(tmp_path: Path) -> None:
    encoded = (_write(tmp_path) / artifact_format.ARTIFACT_FILE).read_bytes()
    data = msgspec.json.decode(encoded, type=artifact_format.ArtifactData, strict=True)
    assert artifact_format.encode_artifact(data) == encoded
    assert encoded.endswith(b"}\n") and encoded.count(b"\n") == 1
    assert (data.format, data.schema) == (artifact_format.FORMAT, artifact_format.VERSION)


def test_the_published_schema_is_derived_from_the_records(tmp_path: Path) -> None:
    """docs/results-artifact.schema.json is what msgspec derives from the types, and it accepts
    what the analyze job writes and refuses what the decoder refuses."""
    import jsonschema

    published = json.loads((Path(__file__).parents[2] / "docs" / "results-artifact.schema.json").read_text())
    assert published == json.loads(json.dumps(artifact_format.json_schema()))
    # the command docs/action.md gives to regenerate it
    proc = subprocess.run(
        [sys.executable, "-m", "bot.github.artifact_format"], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == published
    jsonschema.Draft202012Validator.check_schema(published)
    validator = jsonschema.Draft202012Validator(published)
    assert list(validator.iter_errors(_document(tmp_path))) == []
    for path, value in [("schema", 1), ("verdict", "pass"), ("results.head.commit", "a" * 40 + "\n")]:
        assert list(validator.iter_errors(_set(_document(tmp_path), path, value))) != []


def test_files_that_are_not_a_plain_small_file_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _write(tmp_path)
    monkeypatch.setattr(artifact_format, "MAX_BYTES", 1000)
    with pytest.raises(ArtifactError, match="larger than"):
        read_artifact(directory)
    monkeypatch.undo()
    elsewhere = tmp_path / "elsewhere.json"
    (directory / artifact_format.ARTIFACT_FILE).rename(elsewhere)
    with pytest.raises(ArtifactError, match=r"no escape-bot results at .*did the analyze job upload"):
        read_artifact(directory)
    (directory / artifact_format.ARTIFACT_FILE).symlink_to(elsewhere)
    with pytest.raises(ArtifactError, match="cannot read the results artifact"):
        read_artifact(directory)
    (directory / artifact_format.ARTIFACT_FILE).unlink()
    os.mkfifo(directory / artifact_format.ARTIFACT_FILE)
    with pytest.raises(ArtifactError, match="is not a regular file"):
        read_artifact(directory)


def test_workflow_run_payload() -> None:
    run = parse_workflow_run(
        {
            "workflow_run": {
                "id": 5,
                "event": "pull_request",
                "head_sha": HEAD,
                "head_repository": {"full_name": "forker/demo"},
                "pull_requests": [{"number": 7}, {"number": 9}],
            }
        }
    )
    assert (run.id, run.event, run.head_sha, run.head_repository, run.pull_requests) == (
        5,
        "pull_request",
        HEAD,
        "forker/demo",
        (7, 9),
    )
    with pytest.raises(UsageError, match="no usable head_sha"):
        parse_workflow_run({"workflow_run": {"id": 5, "event": "push"}})
    with pytest.raises(UsageError, match="no usable"):
        parse_workflow_run({"workflow_run": None})
