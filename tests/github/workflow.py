"""A pull request as GitHub Actions presents it: real git commits, an event payload, the env vars.

`escape_bot_ci` runs the command as a subprocess, the way the Action does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import GitRepo, go_mod
from tests.github.fake import REPOSITORY, TOKEN, FakeGitHub

SERVER_URL = "https://github.example"

BASE_GO = """package p

import "fmt"

type T struct{ A int }

var G *T

var _ = fmt.Sprint

func Plain(x int) int { return x * 2 }
"""

# three new heap escapes of three causes: returned (line 14), global (19), interface-conversion (24)
HEAD_GO = """package p

import "fmt"

type T struct{ A int }

var G *T

var _ = fmt.Sprint

func Plain(x int) int { return x * 2 }

func Ret() *T {
	t := T{A: 1}
	return &t
}

func Keep() {
	g := T{}
	G = &g
}

func Say(n int) {
	fmt.Println(n)
}
"""


def escape_bot_ci(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`escape-bot ci ARGS` in a subprocess, as the Action runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "ci", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class PullRequestRun:
    """One pull_request workflow run: where its files are and what it was told."""

    repo: GitRepo
    base: str
    head: str  # pull_request.head.sha: checks and statuses go here
    merge: str  # GITHUB_SHA: the commit that is checked out and built
    env: dict[str, str]
    tmp: Path

    @property
    def outputs(self) -> dict[str, str]:
        text = Path(self.env["GITHUB_OUTPUT"]).read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    @property
    def summary(self) -> str:
        return Path(self.env["GITHUB_STEP_SUMMARY"]).read_text()

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(Path(self.outputs["report-path"]).read_text())
        return data

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return escape_bot_ci("--repo", str(self.repo.path), *args, env=self.env)


def actions_env(fake: FakeGitHub, tmp: Path, event: str, payload: dict[str, Any], sha: str) -> dict[str, str]:
    """The variables the runner sets, a token, and small waits for the fake server."""
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(payload))
    for name in ("summary.md", "output.txt"):
        (tmp / name).write_text("")
    (tmp / "runner-temp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ESCAPE_BOT_", "RUNNER_"))}
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SHA": sha,
            "GITHUB_API_URL": fake.api_url,
            "GITHUB_SERVER_URL": SERVER_URL,
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
            "GITHUB_OUTPUT": str(tmp / "output.txt"),
            "GITHUB_RUN_ID": "4242",
            "RUNNER_TEMP": str(tmp / "runner-temp"),
            "GITHUB_TOKEN": TOKEN,
            # the production retry code path with tiny waits
            "ESCAPE_BOT_CI_RETRY_BACKOFF": "0.01",
            "ESCAPE_BOT_CI_MAX_WAIT": "0.05",
            "ESCAPE_BOT_CI_WRITE_INTERVAL": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


def pr_payload(number: int, base: str, head: str, head_repo: str = REPOSITORY) -> dict[str, Any]:
    """The fields of a pull_request webhook payload that matter here."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "base": {"sha": base, "ref": "main", "repo": {"full_name": REPOSITORY}},
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": head_repo}},
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }


def pull_request(
    repo: GitRepo,
    fake: FakeGitHub,
    tmp: Path,
    base_files: dict[str, str],
    head_files: dict[str, str],
    *,
    number: int = 7,
    head_repo: str = REPOSITORY,
) -> PullRequestRun:
    """main at `base_files`, a feature branch at `head_files`, and the test merge commit."""
    base = repo.commit({"go.mod": go_mod(), **base_files}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit(head_files, "feature")
    merge = merge_commit(repo, base, head, number)
    env = actions_env(fake, tmp, "pull_request", pr_payload(number, base, head, head_repo), merge)
    know_commits(fake, repo)
    return PullRequestRun(repo, base, head, merge, env, tmp)


def know_commits(fake: FakeGitHub, repo: GitRepo) -> None:
    """The fake accepts check runs and statuses only on commits of the repository, as GitHub does."""
    fake.commits = set(repo.git("rev-list", "--all").split())


def merge_group(
    repo: GitRepo, fake: FakeGitHub, tmp: Path, base_files: dict[str, str], head_files: dict[str, str]
) -> PullRequestRun:
    """A merge queue's group for PR 7: main at `base_files`, the queue's commit merging the PR in.

    `head` and `merge` are both `merge_group.head_sha` (= GITHUB_SHA); there is no comment thread.
    """
    base = repo.commit({"go.mod": go_mod(), **base_files}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    feature = repo.commit(head_files, "feature")
    repo.git("checkout", "--quiet", "--detach", base)
    repo.git("merge", "--quiet", "--no-ff", "-m", "Merge pull request #7", feature)
    head = repo.git("rev-parse", "HEAD").strip()
    ref = f"refs/heads/gh-readonly-queue/main/pr-7-{feature}"
    repo.git("update-ref", ref, head)
    payload = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head,
            "head_ref": ref,
            "base_sha": base,
            "base_ref": "refs/heads/main",
            "head_commit": {"id": head, "tree_id": "0" * 40, "message": "Merge pull request #7"},
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }
    env = actions_env(fake, tmp, "merge_group", payload, head)
    know_commits(fake, repo)
    return PullRequestRun(repo, base, head, head, env, tmp)


def merge_commit(repo: GitRepo, base: str, head: str, number: int) -> str:
    """What GitHub checks out for a PR: a merge of head into base (refs/pull/N/merge)."""
    repo.git("checkout", "--quiet", "--detach", base)
    repo.git("merge", "--quiet", "--no-ff", "-m", f"Merge {head} into {base}", head)
    sha = repo.git("rev-parse", "HEAD").strip()
    repo.git("update-ref", f"refs/pull/{number}/merge", sha)
    return sha


def push_feature(run: PullRequestRun, fake: FakeGitHub, files: dict[str, str], tmp: Path) -> PullRequestRun:
    """A new commit on the PR branch: a new head, a new merge commit, a new workflow run."""
    run.repo.git("checkout", "--quiet", "feature")
    head = run.repo.commit(files, "more work")
    merge = merge_commit(run.repo, run.base, head, 7)
    env = actions_env(fake, tmp, "pull_request", pr_payload(7, run.base, head), merge)
    know_commits(fake, run.repo)
    return PullRequestRun(run.repo, run.base, head, merge, env, tmp)
