"""Every workflow the documentation offers grants what its steps need (issue 12).

Reads each file in docs/workflows/ and each complete workflow (a YAML block with `jobs:`) in
docs/*.md, works out per job what its steps need from the token, and compares it with the job's
`permissions:` (or the workflow's). A missing `security-events: write` next to upload-sarif, or a
missing `checks: write` for escape-bot's check run, fails here instead of in a user's repository.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DOCS = Path(__file__).parents[2] / "docs"
ORDER = {"none": 0, "read": 1, "write": 2}


def _workflows() -> list[tuple[str, dict[str, Any]]]:
    found = [
        (f"docs/workflows/{p.name}", yaml.safe_load(p.read_text()))
        for p in sorted(DOCS.glob("workflows/*.yml"))
    ]
    for doc in sorted(DOCS.glob("*.md")):
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.S)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and "jobs" in data:
                found.append((f"docs/{doc.name} block {i + 1}", data))
    return found


def _triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    if isinstance(on, str):
        return {on}
    return set(on or ())


def _escape_bot(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return (
        uses.startswith("your-org/escape-bot@")
        or uses in ("./", ".")
        or "escape-bot ci" in str(step.get("run", ""))
    )


def needed(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    """What the job's steps need from the token."""
    need: dict[str, str] = {}

    def add(scope: str, level: str) -> None:
        if ORDER[level] > ORDER[need.get(scope, "none")]:
            need[scope] = level

    triggers = _triggers(workflow)
    for step in job.get("steps", []):
        uses = str(step.get("uses", ""))
        inputs = step.get("with") or {}
        if uses.startswith("actions/checkout@"):
            add("contents", "read")
        if uses.startswith("github/codeql-action/upload-sarif@"):
            add("security-events", "write")
            add("actions", "read")  # private repositories: the run's details
        if uses.startswith("actions/download-artifact@") and "run-id" in inputs:
            add("actions", "read")
        if _escape_bot(step):
            mode = str(inputs.get("mode", "auto"))
            if mode == "analyze" or not triggers & {"pull_request", "merge_group", "workflow_run"}:
                continue  # pushes and the analyze half post nothing
            check = str(inputs.get("check", "check-run"))
            if check == "check-run":
                add("checks", "write")
            elif check == "status":
                add("statuses", "write")
            comments = triggers & {"pull_request", "workflow_run"}
            if comments and str(inputs.get("comment", "true")).lower() != "false":
                add("pull-requests", "write")
    return need


def granted(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    """The job's permissions: its own block, else the workflow's (GitHub does not merge them)."""
    block = job.get("permissions", workflow.get("permissions"))
    if block is None:
        return {}  # the repository default: not something a copy-paste workflow may rely on
    if block == "write-all":
        raise AssertionError("write-all grants far more than any step needs")
    if block == "read-all":
        return {}
    return {str(k): str(v) for k, v in dict(block).items()}


@pytest.mark.parametrize("name, workflow", _workflows(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_job_is_granted_what_its_steps_need(name: str, workflow: dict[str, Any]) -> None:
    for job_name, job in workflow["jobs"].items():
        have = granted(workflow, job)
        for scope, level in needed(workflow, job).items():
            assert ORDER[have.get(scope, "none")] >= ORDER[level], (
                f"{name}: job {job_name} needs `{scope}: {level}`, has {have}"
            )


def test_the_documentation_offers_the_workflows_this_checks() -> None:
    names = [n for n, _ in _workflows()]
    assert "docs/workflows/pull-request.yml" in names and any(n.startswith("docs/ci.md") for n in names)
    uploads = [n for n, w in _workflows() if "security-events" in str(w)]
    assert "docs/workflows/pull-request.yml" in uploads and any(n.startswith("docs/ci.md") for n in uploads)


def test_the_check_catches_a_missing_permission() -> None:
    """The rules themselves: the workflow docs/ci.md used to show, without security-events."""
    workflow = {
        "on": {"pull_request": None},
        "permissions": {"contents": "read", "pull-requests": "write", "checks": "write"},
        "jobs": {
            "escapes": {
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"run": "escape-bot ci"},
                    {"uses": "github/codeql-action/upload-sarif@v3"},
                ]
            }
        },
    }
    job = workflow["jobs"]["escapes"]  # type: ignore[index]
    assert needed(workflow, job) == {
        "contents": "read",
        "checks": "write",
        "pull-requests": "write",
        "security-events": "write",
        "actions": "read",
    }
    have = granted(workflow, job)
    assert "security-events" not in have
    merge_queue_only = {**workflow, "on": {"merge_group": None}}
    assert "pull-requests" not in needed(merge_queue_only, job)  # no comment on a merge group
    assert needed({**workflow, "on": ["push"]}, job) == {
        "contents": "read",
        "security-events": "write",
        "actions": "read",
    }
