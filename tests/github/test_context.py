"""The Actions environment and event payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import UsageError
from bot.github.context import (
    OtherEvent,
    PullRequest,
    Push,
    load_event,
    parse_event,
    read_environment,
)
from tests.github.workflow import pr_payload

ENV = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_EVENT_PATH": "/tmp/event.json",
    "GITHUB_REPOSITORY": "octo/demo",
    "GITHUB_SHA": "ab" * 20,
}


def test_environment_defaults_and_run_url() -> None:
    env = read_environment(ENV)
    assert (env.api_url, env.server_url) == ("https://api.github.com", "https://github.com")
    assert env.step_summary is None and env.output is None and env.run_url is None
    ghes = read_environment(
        {**ENV, "GITHUB_API_URL": "https://ghe.example/api/v3", "GITHUB_SERVER_URL": "https://ghe.example",
         "GITHUB_RUN_ID": "9", "GITHUB_OUTPUT": "/tmp/o"}
    )  # fmt: skip
    assert ghes.api_url == "https://ghe.example/api/v3" and ghes.output == Path("/tmp/o")
    assert ghes.run_url == "https://ghe.example/octo/demo/actions/runs/9"


@pytest.mark.parametrize("missing", sorted(ENV))
def test_a_missing_variable_is_named(missing: str) -> None:
    with pytest.raises(UsageError, match=f"^{missing} is not set"):
        read_environment({k: v for k, v in ENV.items() if k != missing})


def test_pull_request_payload() -> None:
    event = parse_event("pull_request", pr_payload(7, "b" * 40, "c" * 40))
    assert isinstance(event, PullRequest)
    assert (event.number, event.base_sha, event.head_sha, event.from_fork) == (7, "b" * 40, "c" * 40, False)
    fork = parse_event("pull_request", pr_payload(7, "b" * 40, "c" * 40, head_repo="someone/demo"))
    assert isinstance(fork, PullRequest) and fork.from_fork
    deleted = pr_payload(7, "b" * 40, "c" * 40)
    deleted["pull_request"]["head"]["repo"] = None  # the fork was deleted
    assert isinstance(parse_event("pull_request", deleted), PullRequest)


def test_push_payload() -> None:
    push = parse_event(
        "push", {"ref": "refs/heads/main", "after": "a" * 40, "repository": {"default_branch": "main"}}
    )
    assert isinstance(push, Push) and push.to_default_branch and push.branch == "main"
    tag = parse_event(
        "push", {"ref": "refs/tags/v1", "after": "a" * 40, "repository": {"default_branch": "main"}}
    )
    assert isinstance(tag, Push) and not tag.to_default_branch and tag.branch is None


def test_other_and_broken_payloads(tmp_path: Path) -> None:
    assert parse_event("workflow_dispatch", {}) == OtherEvent("workflow_dispatch")
    with pytest.raises(UsageError, match=r"pull_request event payload has no usable pull_request\.base\.sha"):
        parse_event("pull_request", {"pull_request": {"number": 1, "base": {}}})
    path = tmp_path / "event.json"
    path.write_text("{not json")
    with pytest.raises(UsageError, match="is not JSON"):
        load_event(read_environment({**ENV, "GITHUB_EVENT_PATH": str(path)}))
    path.write_text(json.dumps(pr_payload(3, "b" * 40, "c" * 40)))
    assert isinstance(load_event(read_environment({**ENV, "GITHUB_EVENT_PATH": str(path)})), PullRequest)
