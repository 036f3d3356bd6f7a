"""action.yml and the copy-paste workflows (docs/workflows/): schema, audit, documentation.

check-jsonschema validates against its builtin copies of SchemaStore's Actions schemas and
zizmor audits offline: neither reaches the network. Each tool is also shown a broken copy, so a
tool that silently checked nothing would fail these tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "docs" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def _schema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return _tool("check-jsonschema", "--builtin-schema", schema, str(path))


def _zizmor(*paths: Path) -> list[dict[str, Any]]:
    proc = _tool("zizmor", "--offline", "--format", "json", *map(str, paths))
    assert proc.stdout.strip(), proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def _action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def test_the_workflow_examples_are_there() -> None:
    names = {p.name for p in WORKFLOWS}
    assert names == {
        "pull-request.yml",
        "push.yml",
        "fork-analyze.yml",
        "fork-publish.yml",
        "postgres.yml",
        "monorepo.yml",
        "sharded.yml",
        "sharded-publish.yml",
    }


def test_action_matches_the_actions_schema(tmp_path: Path) -> None:
    proc = _schema("vendor.github-actions", ACTION)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "action.yml"
    broken.write_text(re.sub(r"\n    value: .*", "", ACTION.read_text()))  # outputs need `value:`
    assert _schema("vendor.github-actions", broken).returncode != 0


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_match_the_workflow_schema(workflow: Path) -> None:
    proc = _schema("vendor.github-workflows", workflow)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing(tmp_path: Path) -> None:
    assert _zizmor(ACTION, *WORKFLOWS) == []
    # the control: an input expanded inside `run:` is exactly what it must find
    injected = tmp_path / "action.yml"
    injected.write_text(
        ACTION.read_text().replace('exec "$EB_BIN"', 'echo "${{ inputs.name }}"\n        exec "$EB_BIN"')
    )
    assert [f["ident"] for f in _zizmor(injected)] == ["template-injection"]


def test_inputs_reach_scripts_only_through_env() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step.get("id")
    # every input is used, and only where the runner evaluates it (env, with, working-directory)
    used = json.dumps([{k: s.get(k) for k in ("env", "with", "working-directory")} for s in steps])
    for name in action["inputs"]:
        assert f"inputs.{name} }}}}" in used, f"input {name} is never used"


def test_third_party_actions_are_pinned_by_commit() -> None:
    refs = [s["uses"] for s in _action()["runs"]["steps"] if "uses" in s]
    for workflow in WORKFLOWS:
        data = yaml.safe_load(workflow.read_text())
        refs += [s["uses"] for job in data["jobs"].values() for s in job.get("steps", []) if "uses" in s]
    assert refs
    for ref in refs:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref


def test_every_input_output_and_exit_code_is_documented() -> None:
    docs = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    action = _action()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", docs, re.MULTILINE))
    assert set(action["inputs"]) <= documented, set(action["inputs"]) - documented
    assert set(action["outputs"]) <= documented, set(action["outputs"]) - documented
    for spec in [*action["inputs"].values(), *action["outputs"].values()]:
        assert spec["description"].strip()
    for code in (0, 1, 2, 3, 4):
        assert re.search(rf"^\| {code} \|", docs, re.MULTILINE), code
    for workflow in WORKFLOWS:
        assert f"workflows/{workflow.name}" in docs, workflow.name
