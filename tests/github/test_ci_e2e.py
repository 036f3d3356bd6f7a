"""`escape-bot ci` end to end: a subprocess, real git, the real compiler, real HTTP to the fake GitHub.

Each test is a workflow run on a pull_request event: a base commit on main, a feature commit that
adds (or removes) heap escapes, and the merge commit GitHub would check out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import GitRepo
from tests.github.fake import BOT, REPOSITORY, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO, SERVER_URL, PullRequestRun, pull_request, push_feature

MARKER = "<!-- escape-bot:default -->"


def _new_pr(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> PullRequestRun:
    return pull_request(repo, github, tmp_path / "run1", {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})


def test_pull_request_comment_check_run_outputs_and_rerun(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    forged = github.add_comment(7, MARKER + "\nI am escape-bot, approve me", "mallory")
    run = _new_pr(repo, github, tmp_path)

    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "escape-bot: error: gate failed: 3 new heap escapes"

    # one comment of ours, grouped by cause, links at the commit that was built
    ours = [c for c in github.comments_on(7) if c.login == BOT]
    assert len(ours) == 1
    body = ours[0].body
    assert body.startswith(MARKER + "\n**:x: 3 new heap escapes**\n")
    for label, cause in [
        ("returned to the caller", "returned"),
        ("assigned to a package-level variable", "global"),
        ("converted to an interface", "interface-conversion"),
    ]:
        assert f"| {label} (`{cause}`) | 1 |" in body
    blob = f"{SERVER_URL}/{REPOSITORY}/blob/{run.merge}/p/p.go"
    # the new escapes listed, visible: location linked, function, expression, cause, reason, hint
    assert f"- [`p/p.go:14`]({blob}#L14) `t` in `Ret`: returned to the caller\n  Why: `t` → " in body
    assert "  Fix: `Ret` returns `t`: return the value" in body
    assert f"[`p/p.go:19`]({blob}#L19)" in body and f"[`p/p.go:24`]({blob}#L24)" in body
    assert "~r0 ← &t" in body  # the explanation, collapsed
    assert "0 unchanged heap escapes." in body
    assert github.comments[forged.id].body == MARKER + "\nI am escape-bot, approve me"

    # the check run is on the PR's head commit, not on the merge commit
    (check,) = github.check_runs.values()
    assert (check.name, check.head_sha, check.conclusion) == ("escape-bot", run.head, "failure")
    assert check.title == "3 new heap escapes"
    assert not check.summary.startswith("<!--")
    assert sorted((a["path"], a["start_line"], a["annotation_level"]) for a in check.annotations) == [
        ("p/p.go", 14, "failure"),
        ("p/p.go", 19, "failure"),
        ("p/p.go", 24, "failure"),
    ]
    assert check.details_url is not None and check.details_url.endswith(f"#issuecomment-{ours[0].id}")

    # outputs, JSON report, SARIF, job summary
    outputs = run.outputs
    assert (outputs["new-count"], outputs["fixed-count"], outputs["verdict"]) == ("3", "0", "fail")
    report = run.report()
    assert report["counts"]["new"] == 3 and report["gate"]["verdict"] == "fail"
    assert report["pull_request"] == {"number": 7, "head_sha": run.head}
    assert Path(outputs["sarif-path"]).is_file()
    assert Path(outputs["report-path"]).is_relative_to(tmp_path / "run1" / "runner-temp")
    assert run.summary.startswith("**:x: 3 new heap escapes**")

    # a new commit on the PR fixes one escape: the same comment is edited
    second = push_feature(
        run, github, {"p/p.go": HEAD_GO.replace("\tfmt.Println(n)\n", "\t_ = n\n")}, tmp_path / "run2"
    )
    proc = second.run()
    assert proc.returncode == 1, proc.stderr
    ours_now = [c for c in github.comments_on(7) if c.login == BOT]
    assert [c.id for c in ours_now] == [ours[0].id]
    assert ours_now[0].body.startswith(MARKER + "\n**:x: 2 new heap escapes**\n")
    assert "interface-conversion" not in ours_now[0].body
    assert len(github.requests("POST", r"/issues/7/comments")) == 1
    assert len(github.requests("PATCH", r"/issues/comments/")) == 1
    assert github.comments[forged.id].login == "mallory"
    assert [c.head_sha for c in github.check_runs.values()] == [run.head, second.head]


def test_a_pull_request_that_fixes_escapes_passes(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = pull_request(repo, github, tmp_path, {"p/p.go": HEAD_GO}, {"p/p.go": BASE_GO})
    proc = run.run()
    assert proc.returncode == 0, proc.stderr
    (comment,) = github.comments_on(7)
    assert comment.body.startswith(MARKER + "\n**:white_check_mark: No new heap escapes, 3 fixed**\n")
    assert "<details><summary>3 fixed</summary>" in comment.body
    assert f"{SERVER_URL}/{REPOSITORY}/blob/{run.base}/p/p.go#L14" in comment.body  # fixed: at base
    (check,) = github.check_runs.values()
    assert (check.conclusion, check.annotations) == ("success", [])
    assert run.outputs["new-count"] == "0" and run.outputs["fixed-count"] == "3"


def test_statuses_and_configuration_names_on_enterprise_server(
    repo: GitRepo, ghes: FakeGitHub, tmp_path: Path
) -> None:
    run = _new_pr(repo, ghes, tmp_path)
    for name in ("linux", "windows"):
        proc = run.run("--check", "status", "--config-name", name)
        assert proc.returncode == 1, proc.stderr
    bodies = sorted(c.body.split("\n", 1)[0] for c in ghes.comments_on(7))
    assert bodies == ["<!-- escape-bot:linux -->", "<!-- escape-bot:windows -->"]
    # pending before the build (a required status never waits for nothing), then the verdict
    assert [(s.sha, s.state, s.context) for s in ghes.statuses] == [
        (run.head, "pending", "escape-bot/linux"),
        (run.head, "failure", "escape-bot/linux"),
        (run.head, "pending", "escape-bot/windows"),
        (run.head, "failure", "escape-bot/windows"),
    ]
    desc = ghes.statuses[1].description
    assert desc == "3 new heap escapes (returned 1, global 1, interface-conversion 1)" and len(desc) <= 140
    assert ghes.check_runs == {}


def test_no_permission_degrades_to_summary_and_annotations(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    github.fail(
        "POST", r"/repos/octo/demo/issues/7/comments", 403, "Resource not accessible by integration", times=9
    )
    github.fail(
        "POST", r"/repos/octo/demo/check-runs", 403, "Resource not accessible by integration", times=9
    )
    run = pull_request(
        repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO}, head_repo="forker/demo"
    )
    proc = run.run()
    assert proc.returncode == 1, proc.stderr  # the gate's verdict, not the 403's
    assert github.comments_on(7) == [] and github.check_runs == {}
    lines = proc.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("::warning::")]
    assert warnings == [
        "::warning::escape-bot could not update the pull request comment: "
        "the token lacks `pull-requests: write` (pull requests from forks get a read-only token). "
        "The result is in the job summary.",
        "::warning::escape-bot could not create the check run: the token lacks `checks: write` "
        "(pull requests from forks get a read-only token). The result is in the job summary.",
    ]
    errors = [line for line in lines if line.startswith("::error ")]
    assert errors == [
        "::error file=p/p.go,line=14,title=New heap escape%3A returned to the caller::"
        "moved to heap: t in Ret [returned]",
        "::error file=p/p.go,line=19,title=New heap escape%3A assigned to a package-level variable::"
        "moved to heap: g in Keep [global]",
        "::error file=p/p.go,line=24,title=New heap escape%3A converted to an interface::"
        "n escapes to heap in Say [interface-conversion]",
    ]
    assert "| returned to the caller (`returned`) | 1 |" in run.summary


def test_at_most_ten_annotations_when_degraded(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    github.fail("POST", r"/repos/octo/demo/issues/7/comments", 403, "Resource not accessible by integration")
    funcs = "".join(f"\nfunc R{i}() *T {{\n\tt := T{{A: {i}}}\n\treturn &t\n}}\n" for i in range(15))
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": BASE_GO + funcs})
    proc = run.run("--check", "none")
    assert proc.returncode == 1, proc.stderr
    assert len([line for line in proc.stdout.splitlines() if line.startswith("::error ")]) == 10
    assert "::notice::5 more new heap escapes: see the job summary" in proc.stdout.splitlines()
    assert "::warning::escape-bot could not update the pull request comment: the token lacks " in proc.stdout
    assert "add `pull-requests: write` to the workflow's `permissions:`" in proc.stdout  # not a fork


def test_a_huge_report_is_cut_below_the_limits(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    # 1,200 new escapes: the full report is ~900 kB; GitHub (and the fake) answer 422 above 65,536
    funcs = "".join(
        f"\nfunc ReturnsAPointerToALocalVariable{i:04d}() *T {{\n\tt := T{{A: {i}}}\n\treturn &t\n}}\n"
        for i in range(1200)
    )
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": BASE_GO + funcs})
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    (comment,) = github.comments_on(7)
    assert 50_000 < len(comment.body) <= 65_536
    assert comment.body.startswith(MARKER + "\n**:x: 1200 new heap escapes**\n")
    assert "| returned to the caller (`returned`) | 1,200 |" in comment.body
    note = re.search(
        r"Left out to stay within 65,536 characters: 1,200 explanations, 0 fixed escapes, ([\d,]+) new",
        comment.body,
    )
    assert note and 0 < int(note.group(1).replace(",", "")) < 1200, comment.body[-600:]
    (check,) = github.check_runs.values()
    assert len(check.summary.encode()) <= 65_535 and len(check.annotations) == 1000
    assert "Annotations on the first 1,000 of 1,200 new heap escapes only" in check.summary
    assert "Left out" not in run.summary  # the job summary has room for all of them
    assert run.summary.count("ReturnsAPointerToALocalVariable") >= 2400  # rows and explanations
    assert run.report()["counts"]["new"] == 1200


def test_token_absent_is_a_usage_error_before_building(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    run = _new_pr(repo, github, tmp_path)
    del run.env["GITHUB_TOKEN"]
    proc = run.run()
    assert proc.returncode == 2
    first = proc.stderr.strip().splitlines()
    assert first == [
        "escape-bot: error: no GitHub token: set GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) "
        "or pass --token, or turn publishing off with --no-comment --check none"
    ]
    assert proc.stdout.startswith("::error::no GitHub token")
    assert github.log == [] and run.outputs == {}
    # without publishing no token is needed
    proc = run.run("--no-comment", "--check", "none")
    assert proc.returncode == 1, proc.stderr
    assert run.outputs["new-count"] == "3" and github.log == []


def test_outside_actions_is_a_usage_error(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = _new_pr(repo, github, tmp_path)
    del run.env["GITHUB_EVENT_NAME"]
    proc = run.run()
    assert proc.returncode == 2
    assert "GITHUB_EVENT_NAME is not set" in proc.stderr


def test_shallow_checkout_fetches_the_base(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = _new_pr(repo, github, tmp_path)
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")  # as GitHub serves any commit
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", "--no-tags", f"file://{repo.path}", str(clone)], check=True
    )
    subprocess.run(
        ["git", "-C", str(clone), "fetch", "--quiet", "--depth=1", "origin", run.merge], check=True
    )
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", run.merge], check=True)
    missing = subprocess.run(
        ["git", "-C", str(clone), "cat-file", "-e", f"{run.base}^{{commit}}"], check=False
    )
    assert missing.returncode != 0  # the base is not there yet
    proc = run.run("--repo", str(clone))
    assert proc.returncode == 1, proc.stderr
    assert run.outputs["new-count"] == "3"

    bogus = "0123456789abcdef" * 2 + "01234567"
    run.env["GITHUB_EVENT_PATH"] = str(tmp_path / "bogus.json")
    Path(run.env["GITHUB_EVENT_PATH"]).write_text(
        Path(tmp_path / "run1" / "event.json").read_text().replace(run.base, bogus)
    )
    proc = run.run("--repo", str(clone))
    assert proc.returncode == 3
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(
        f"escape-bot: error: the base commit {bogus[:12]} is not in the checkout and "
        f"`git fetch origin {bogus[:12]}` failed ("
    )
    assert line.endswith("); check out with `fetch-depth: 0`")
    assert f"::error::the base commit {bogus[:12]} is not in the checkout" in proc.stdout


def test_unsupported_event(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = _new_pr(repo, github, tmp_path)
    run.env["GITHUB_EVENT_NAME"] = "pull_request_target"
    proc = run.run()
    assert proc.returncode == 2
    assert "handles pull_request, merge_group and push events, not 'pull_request_target'" in proc.stderr


def test_a_github_outage_exits_3_after_the_reports(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    github.fail("POST", r"/repos/octo/demo/check-runs", 500, "Server Error", times=100)
    run = _new_pr(repo, github, tmp_path)
    proc = run.run()
    assert proc.returncode == 3
    line = "cannot create the check run: GitHub answered 500 Server Error"
    assert proc.stderr.strip().splitlines()[-1] == f"escape-bot: error: {line}"
    assert f"::error::{line}" in proc.stdout.splitlines()
    # opening it in progress (a try and 5 retries), then creating it completed at the end (the
    # same); GitHub failing, the failure is not posted a third time
    assert len(github.requests("POST", r"/check-runs")) == 12
    assert len(github.comments_on(7)) == 1  # what could be published was
    assert run.outputs["new-count"] == "3" and "3 new heap escapes" in run.summary


def test_flaky_github_still_gives_one_comment_and_one_check(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    # the comment is stored, then the gateway fails; the check run hits a secondary rate limit
    github.fail("POST", r"/repos/octo/demo/issues/7/comments", 502, "Bad Gateway", apply=True)
    github.fail(
        "POST",
        r"/repos/octo/demo/check-runs",
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        headers={"Retry-After": "60"},
    )
    run = _new_pr(repo, github, tmp_path)
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    assert len(github.comments_on(7)) == 1 and len(github.requests("POST", r"/issues/7/comments")) == 1
    assert len(github.check_runs) == 1 and len(github.requests("POST", r"/check-runs")) == 2


def test_no_comment_permission_but_a_check_run(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    github.fail("POST", r"/repos/octo/demo/issues/7/comments", 403, "Resource not accessible by integration")
    run = _new_pr(repo, github, tmp_path)
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("::warning::")] == [
        "::warning::escape-bot could not update the pull request comment: the token lacks "
        "`pull-requests: write` (add `pull-requests: write` to the workflow's `permissions:`). "
        "The result is in the job summary."
    ]
    assert not [line for line in lines if line.startswith("::error")]  # the check run carries them
    (check,) = github.check_runs.values()
    assert len(check.annotations) == 3 and check.details_url == f"{SERVER_URL}/{REPOSITORY}/actions/runs/4242"
