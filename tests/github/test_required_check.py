"""escape-bot as a required check (issue 12), end to end: a subprocess, real git, the real compiler,
real HTTP to the strict fake GitHub. Each test asserts what the fake received.

- a merge queue's `merge_group` gets a completed check run on its head, and no comment;
- a head that does not build completes the check as `failure` with the compiler's errors;
- a store that cannot be written does not stop the result, and is reported after it;
- a 70 KB non-ASCII report stays under GitHub's 65,535 *bytes*;
- a personal access token (no check runs for it) gets a commit status instead;
- a `Retry-After` longer than `--max-wait` fails at once, after the check was completed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import GitRepo
from tests.github.fake import PAT, PAT_USER, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO, SERVER_URL, merge_group, pull_request

RUN_URL = f"{SERVER_URL}/octo/demo/actions/runs/4242"


def _check_requests(github: FakeGitHub) -> list[tuple[str, object, object]]:
    """(method, status, conclusion) of every check-run write, in order."""
    return [
        (r.method, r.json.get("status"), r.json.get("conclusion"))
        for r in github.requests(path=r"/check-runs")
        if r.method in ("POST", "PATCH")
    ]


def test_a_merge_group_gets_a_completed_check_run_and_no_comment(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    run = merge_group(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    proc = run.run()
    assert proc.returncode == 1, proc.stderr  # the gate fails the queue's check
    assert _check_requests(github) == [("POST", "in_progress", None), ("PATCH", "completed", "failure")]
    opened = github.requests("POST", r"/check-runs")[0].json
    assert (opened["head_sha"], opened["name"]) == (run.head, "escape-bot")
    (check,) = github.check_runs.values()
    assert (check.head_sha, check.status, check.conclusion) == (run.head, "completed", "failure")
    assert check.title == "3 new heap escapes"
    assert sorted(a["start_line"] for a in check.annotations) == [14, 19, 24]
    assert github.requests(path=r"/issues/") == [] and github.comments == {}  # no PR to comment on
    assert run.outputs["new-count"] == "3" and run.report()["pull_request"] is None
    assert run.summary.startswith("**:x: 3 new heap escapes**")


def test_a_merge_group_that_passes(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = merge_group(repo, github, tmp_path, {"p/p.go": HEAD_GO}, {"p/p.go": BASE_GO})
    proc = run.run("--check", "status")
    assert proc.returncode == 0, proc.stderr
    assert [(s.sha, s.state, s.context) for s in github.statuses] == [
        (run.head, "pending", "escape-bot"),
        (run.head, "success", "escape-bot"),
    ]


def test_a_broken_head_fails_the_check_with_the_compiler_errors(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    """The module built at base and not at head: the change broke it, and the gate says so."""
    broken = HEAD_GO + "\nfunc Broken() { missing() }\n"
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": broken})
    proc = run.run()
    assert proc.returncode == 1, proc.stderr  # the gate's verdict: the change broke the build
    assert "builds at base but not at head" in proc.stderr and "undefined: missing" in proc.stderr
    # opened before the build, completed after it: never left "Expected — Waiting"
    assert _check_requests(github) == [("POST", "in_progress", None), ("PATCH", "completed", "failure")]
    (check,) = github.check_runs.values()
    assert (check.head_sha, check.conclusion) == (run.head, "failure")
    assert "undefined: missing" in check.summary
    assert "undefined: missing" in run.summary  # the job summary says the same
    (comment,) = github.comments_on(7)
    assert "undefined: missing" in comment.body


def test_a_build_that_gives_no_verdict_fails_the_check_with_the_compiler_errors(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    """`[build] on-failure = "fail"`: a failed build is no result at all, and the check says why."""
    broken = HEAD_GO + "\nfunc Broken() { missing() }\n"
    config = {".escape-bot.toml": '[build]\non-failure = "fail"\n'}
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO, **config}, {"p/p.go": broken, **config})
    proc = run.run()
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "module example.com/m (the root) did not build" in last and "undefined: missing" in last
    assert _check_requests(github) == [("POST", "in_progress", None), ("PATCH", "completed", "failure")]
    (check,) = github.check_runs.values()
    assert (check.head_sha, check.conclusion) == (run.head, "failure")
    assert check.title.startswith("Failed: ") and "did not build" in check.title
    assert "could not give a verdict" in check.summary
    assert "undefined: missing" in check.summary and "```" in check.summary
    assert "undefined: missing" in run.summary
    assert github.comments == {}


def test_a_store_that_cannot_be_written_does_not_hide_the_result(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    """A real SQLite database opened read-only: the snapshots are read, and writing them fails."""
    db = tmp_path / "escapes.db"
    subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade", "--db", f"sqlite:///{db}"],
        check=True,
        capture_output=True,
    )
    run = pull_request(repo, github, tmp_path / "run", {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    proc = run.run("--db", f"sqlite:///file:{db}?mode=ro&uri=true")
    assert proc.returncode == 1, proc.stderr  # the gate's verdict (docs/ci.md, exit codes)
    (comment,) = github.comments_on(7)
    assert "3 new heap escapes" in comment.body
    (check,) = github.check_runs.values()
    assert (check.status, check.conclusion) == ("completed", "failure")
    lines = proc.stdout.splitlines()
    warning = next(line for line in lines if "could not be recorded" in line)
    assert warning.startswith(
        "::warning::escape-bot: the snapshot could not be recorded (the result above stands)"
    )
    assert "read-only" in warning
    # reported after the result was published
    assert lines.index(warning) > next(i for i, line in enumerate(lines) if "::endgroup::" in line)
    assert "could not be recorded" in run.summary.split("3 new heap escapes", 1)[1]


def test_a_70_kb_non_ascii_report_is_cut_to_65535_bytes(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    # Go identifiers in Greek: 2 bytes per letter, so characters and bytes differ by ~7 %
    funcs = "".join(
        f"\nfunc ΕπιστρέφειΔείκτηΣεΤοπικήΜεταβλητή{i:04d}() *T {{\n\tτ := T{{A: {i}}}\n\treturn &τ\n}}\n"
        for i in range(300)
    )
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": BASE_GO + funcs})
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    size = len(check.summary.encode())
    assert 50_000 < size <= 65_535
    assert size > len(check.summary)  # non-ASCII: bytes, not characters, were counted
    assert len(run.summary.encode()) > 70_000  # the job summary has room for everything
    assert re.search(r"Left out to stay within 65,\d\d\d bytes: \d+ explanations", check.summary)
    assert "JSON report (output `report-path`) have everything" in check.summary
    (comment,) = github.comments_on(7)
    assert len(comment.body) <= 65_536
    assert run.report()["counts"]["new"] == 300


def test_a_personal_access_token_gets_a_commit_status(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    run.env["GITHUB_TOKEN"] = PAT
    proc = run.run("--author-login", PAT_USER)
    assert proc.returncode == 1, proc.stderr
    # GitHub answers 403 "You must authenticate via a GitHub App" once; no check run is retried
    assert [(r.method, r.path) for r in github.requests(path=r"/check-runs")] == [
        ("POST", "/repos/octo/demo/check-runs")
    ]
    assert github.check_runs == {}
    (comment,) = github.comments_on(7)
    assert comment.login == PAT_USER
    assert [(s.sha, s.state, s.context) for s in github.statuses] == [
        (run.head, "pending", "escape-bot"),
        (run.head, "failure", "escape-bot"),
    ]
    assert github.statuses[-1].target_url is not None and "#issuecomment-" in github.statuses[-1].target_url
    assert (
        "::warning::escape-bot: check runs can only be created with a GitHub App token (GITHUB_TOKEN is one; "
        "this token is not): the result is the commit status escape-bot instead" in proc.stdout
    )
    assert "the commit status `escape-bot` instead" in run.summary


def test_a_retry_after_longer_than_max_wait_fails_at_once(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    github.fail(
        "POST",
        r"/repos/octo/demo/issues/7/comments",
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        headers={"Retry-After": "3600"},
        times=10,
    )
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    proc = run.run()  # --max-wait is 0.05 s in these tests
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "escape-bot: error: cannot update the pull request comment: GitHub asks to wait 3600 s "
        "(Retry-After or rate-limit reset), longer than --max-wait 0.05 s; not retried"
    )
    assert len(github.requests("POST", r"/issues/7/comments")) == 1  # not retried at a shorter wait
    # the check run still carries the verdict, and links the run (there is no comment to link)
    assert _check_requests(github) == [("POST", "in_progress", None), ("PATCH", "completed", "failure")]
    (check,) = github.check_runs.values()
    assert check.details_url == RUN_URL
    assert check.summary.startswith(f"The full report: [the job summary]({RUN_URL}).")


def test_the_check_summary_links_the_comment(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    """details_url is ignored for GITHUB_TOKEN's check runs: the summary carries the link."""
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    assert run.run().returncode == 1
    (comment,) = github.comments_on(7)
    (check,) = github.check_runs.values()
    first = check.summary.splitlines()[0]
    assert (
        first.startswith("The full report: [the pull request comment](")
        and f"#issuecomment-{comment.id}" in first
    )
