"""The GitHub Actions run we are in: `GITHUB_*` variables and the event payload.

Read once, at the edge, into frozen records; nothing below reads `os.environ`. See
shared/docs/github.md, "Actions runtime": on `pull_request` `GITHUB_SHA` is the test merge commit,
while checks and statuses must go to `pull_request.head.sha`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import UsageError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionsEnvironment:
    """The variables the runner sets for every step (the token is not one of them)."""

    event_name: str
    event_path: Path
    repository: str  # owner/name
    sha: str  # the commit checked out: on pull_request the test merge commit
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    step_summary: Path | None = None
    output: Path | None = None
    runner_temp: Path | None = None
    run_id: str | None = None

    @property
    def run_url(self) -> str | None:
        """The workflow run's page, for statuses' target_url."""
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequest:
    """The parts of a `pull_request` payload we use."""

    number: int
    base_sha: str
    head_sha: str  # the PR's last commit: checks and statuses go here
    base_ref: str
    head_repository: str  # owner/name of the head; differs from the base repository for forks
    base_repository: str
    state: str = "open"  # "closed": a re-run on a closed pull request posts no comment

    @property
    def from_fork(self) -> bool:
        """A fork PR gets a read-only token (shared/docs/github.md, "Fork PRs")."""
        return self.head_repository.lower() != self.base_repository.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Push:
    """The parts of a `push` payload we use."""

    ref: str  # refs/heads/main
    after: str
    default_branch: str

    @property
    def branch(self) -> str | None:
        """The branch pushed to, or None for a tag."""
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def to_default_branch(self) -> bool:
        """True for a push to the repository's default branch."""
        return self.branch is not None and self.branch == self.default_branch


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeGroup:
    """The parts of a `merge_group` payload we use (a merge queue asks for the required checks).

    `head_sha` is the queue's temporary commit (also `GITHUB_SHA`): it is built, and the check run
    or status goes on it; `base_sha` is its parent on the target branch.
    """

    head_sha: str
    base_sha: str
    head_ref: str  # refs/heads/gh-readonly-queue/main/pr-7-<sha>
    base_ref: str  # refs/heads/main


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An event `escape-bot ci` does not handle."""

    name: str


Event = PullRequest | Push | MergeGroup | OtherEvent


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise UsageError(f"{name} is not set: `escape-bot ci` runs inside GitHub Actions (see docs/ci.md)")
    return value


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value) if value else None


def read_environment(env: Mapping[str, str]) -> ActionsEnvironment:
    """The Actions variables; UsageError naming the first one missing."""
    return ActionsEnvironment(
        event_name=_required(env, "GITHUB_EVENT_NAME"),
        event_path=Path(_required(env, "GITHUB_EVENT_PATH")),
        repository=_required(env, "GITHUB_REPOSITORY"),
        sha=_required(env, "GITHUB_SHA"),
        api_url=env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL,
        server_url=env.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER_URL,
        step_summary=_path(env, "GITHUB_STEP_SUMMARY"),
        output=_path(env, "GITHUB_OUTPUT"),
        runner_temp=_path(env, "RUNNER_TEMP"),
        run_id=env.get("GITHUB_RUN_ID", "").strip() or None,
    )


def _get(payload: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(payload, dict) or key not in payload:
            raise KeyError(".".join(keys))
        payload = payload[key]
    return payload


def parse_event(name: str, payload: Any) -> Event:
    """The event record from the webhook payload; UsageError when a field we need is missing."""
    try:
        if name == "pull_request":
            pr = _get(payload, "pull_request")
            return PullRequest(
                number=int(_get(payload, "pull_request", "number")),
                base_sha=str(_get(payload, "pull_request", "base", "sha")),
                head_sha=str(_get(payload, "pull_request", "head", "sha")),
                base_ref=str(_get(payload, "pull_request", "base", "ref")),
                # null when the fork was deleted
                head_repository=str((pr["head"].get("repo") or {}).get("full_name", "")),
                base_repository=str(_get(payload, "pull_request", "base", "repo", "full_name")),
                state=str(pr.get("state") or "open"),
            )
        if name == "push":
            return Push(
                ref=str(_get(payload, "ref")),
                after=str(_get(payload, "after")),
                default_branch=str(_get(payload, "repository", "default_branch")),
            )
        if name == "merge_group":
            return MergeGroup(
                head_sha=str(_get(payload, "merge_group", "head_sha")),
                base_sha=str(_get(payload, "merge_group", "base_sha")),
                head_ref=str(_get(payload, "merge_group", "head_ref")),
                base_ref=str(_get(payload, "merge_group", "base_ref")),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"the {name} event payload has no usable {exc.args[0] if exc.args else 'field'}"
        ) from exc
    return OtherEvent(name)


def load_event(environment: ActionsEnvironment) -> Event:
    """Read and parse GITHUB_EVENT_PATH."""
    try:
        payload = json.loads(environment.event_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the event payload {environment.event_path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"the event payload {environment.event_path} is not JSON") from exc
    return parse_event(environment.event_name, payload)
