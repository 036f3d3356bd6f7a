"""action.yml end to end: its own steps, run as the runner would (tests/action/runner.py).

Real: the install step (`python -m venv` under RUNNER_TEMP, `pip install` of the action's
directory from PyPI and pip's cache), git repositories, the Go compiler, HTTP to the fake GitHub
of tests/github/fake.py. Stood in for: actions/setup-python (the interpreter running the tests,
see conftest.py), and in the workflows around the action, upload-artifact/download-artifact
and the Actions cache (a copied directory, a database file left where the cache restores it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.action.conftest import STAND_INS, job_env
from tests.action.runner import ActionRun, run_action
from tests.conftest import GitRepo, go_mod
from tests.github.fake import BOT, REPOSITORY, TOKEN, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO, SERVER_URL, merge_commit, pr_payload

MARKER = "<!-- escape-bot:default -->"


def _action(action_dir: Path, env: dict[str, str], workspace: Path, **inputs: str) -> ActionRun:
    return run_action(
        action_dir, inputs=inputs, env=env, workspace=workspace, token=TOKEN, stand_ins=STAND_INS
    )


def test_push_then_pull_request_through_the_action(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path, action_dir: Path
) -> None:
    runner_temp = tmp_path / "runner-temp"  # one job using the action twice: the venv is reused
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    push = {"ref": "refs/heads/main", "after": base, "repository": {"default_branch": "main"}}
    env = job_env(
        github,
        event="push",
        payload=push,
        sha=base,
        workspace=repo.path,
        runner_temp=runner_temp,
        files=tmp_path / "push",
    )
    run = _action(action_dir, env, repo.path)
    assert run.returncode == 0, run.stderr
    # the install step made its own venv and installed the action's copy into it, not the tree
    escape_bot = Path(run.step("install").outputs["escape-bot"])
    assert escape_bot.parent.parent == runner_temp / "escape-bot-venv" and escape_bot.is_file()
    where = subprocess.run(
        [str(escape_bot.parent / "python"), "-I", "-c", "import bot; print(bot.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(runner_temp / "escape-bot-venv")
    assert "upgraded from empty to" in run.step("run").stdout  # the database the cache would keep
    assert json.loads(Path(run.outputs["report-path"]).read_text())["head"]["commit"] == base
    assert github.log == []  # a push posts nothing

    # a pull request against main; the database stays where actions/cache would restore it
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO}, "feature")
    merge = merge_commit(repo, base, head, 7)
    env = job_env(
        github,
        event="pull_request",
        payload=pr_payload(7, base, head),
        sha=merge,
        workspace=repo.path,
        runner_temp=runner_temp,
        files=tmp_path / "pr",
    )
    run = _action(action_dir, env, repo.path)
    assert run.returncode == 1, run.stderr  # the gate
    assert "escape-bot: error: gate failed: 3 new heap escapes" in run.stderr
    (comment,) = github.comments_on(7)
    assert comment.login == BOT and comment.body.startswith(MARKER + "\n**:x: 3 new heap escapes**\n")
    assert f"{SERVER_URL}/{REPOSITORY}/blob/{merge}/p/p.go#L14" in comment.body
    (check,) = github.check_runs.values()
    assert (check.name, check.head_sha, check.conclusion) == ("escape-bot", head, "failure")
    assert len(check.annotations) == 3
    assert {k: run.outputs[k] for k in ("new-count", "fixed-count", "verdict")} == {
        "new-count": "3",
        "fixed-count": "0",
        "verdict": "fail",
    }
    report = json.loads(Path(run.outputs["report-path"]).read_text())
    assert (report["base_source"], report["head_source"]) == ("store", "built")  # the history
    assert Path(run.outputs["sarif-path"]).is_file()
    assert run.summary.startswith("**:x: 3 new heap escapes**")
    # the token came in through the input's default, `${{ github.token }}`
    assert all(r.authorization == f"token {TOKEN}" for r in github.log)


def test_inputs_reach_escape_bot(repo: GitRepo, github: FakeGitHub, tmp_path: Path, action_dir: Path) -> None:
    files = {"go.mod": go_mod(), "p/p.go": BASE_GO, "q/q.go": "package q\n", "r/r.go": "package r\n"}
    base = repo.commit(files, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    q = "package q\n\nfunc Q() *int {\n\tx := 1\n\treturn &x\n}\n"
    head = repo.commit({"p/p.go": HEAD_GO, "q/q.go": q}, "feature")
    merge = merge_commit(repo, base, head, 7)
    env = job_env(
        github,
        event="pull_request",
        payload=pr_payload(7, base, head),
        sha=merge,
        workspace=tmp_path / "workspace",
        runner_temp=tmp_path / "runner-temp",
        files=tmp_path / "pr",
    )
    # the checkout in a subdirectory of the workspace (actions/checkout `path:`)
    (tmp_path / "workspace").mkdir()
    shutil.move(repo.path, tmp_path / "workspace" / "src")
    run = _action(
        action_dir,
        env,
        tmp_path / "workspace",
        **{
            "working-directory": "src",
            "packages": "./q/...\n  ./r/...",  # p's three new escapes are not built
            "fail-on": "never",
            "comment": "false",
            "check": "status",
            "name": "linux-amd64",
            "database-url": f"sqlite:///{tmp_path / 'history.db'}",
            "goos": "linux",
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr  # fail-on: never
    assert run.outputs["new-count"] == "1" and run.outputs["verdict"] == "warn"  # only ./q/...
    assert github.comments_on(7) == [] and github.check_runs == {}
    assert [(s.sha, s.state, s.context) for s in github.statuses] == [
        (head, "pending", "escape-bot/linux-amd64"),  # before the build
        (head, "success", "escape-bot/linux-amd64"),
    ]
    assert (tmp_path / "history.db").is_file()
    assert not (tmp_path / "workspace" / "src" / ".escape-bot" / "escapes.db").exists()
    assert "escape-bot/linux-amd64" in run.outputs["report-path"]

    # the default SQLite history, restored from a cache that escape-bot cannot use: a fresh start
    cached = tmp_path / "workspace" / "src" / ".escape-bot" / "escapes.db"
    cached.parent.mkdir()
    cached.write_bytes(b"written by something else entirely" * 100)
    again = _action(
        action_dir, env, tmp_path / "workspace", **{"working-directory": "src", "fail-on": "never"}
    )
    assert again.returncode == 0, again.stdout + again.stderr
    warning = "::warning title=escape-bot::the cached history database could not be used; starting a new one"
    assert warning in again.stdout.splitlines()
    assert again.outputs["new-count"] == "4" and cached.read_bytes().startswith(b"SQLite format 3")

    bad = _action(
        action_dir, env, tmp_path / "workspace", **{"working-directory": "src", "fail-on": "sometimes"}
    )
    assert bad.returncode == 2
    assert "::error title=escape-bot::input fail-on must be new or never" in bad.stdout
    with pytest.raises(AssertionError, match="no input"):
        _action(action_dir, env, tmp_path / "workspace", **{"fail_on": "never"})


def test_fork_safe_pair_through_the_action(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path, action_dir: Path
) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO}, "feature")
    merge = merge_commit(repo, base, head, 7)
    runner_temp = tmp_path / "runner-temp"

    # 1. pull_request from a fork: analyze. The read-only token is never used.
    env = job_env(
        github,
        event="pull_request",
        payload=pr_payload(7, base, head, head_repo="forker/demo"),
        sha=merge,
        workspace=repo.path,
        runner_temp=runner_temp,
        files=tmp_path / "analyze",
    )
    analyzed = _action(action_dir, env, repo.path, mode="analyze")
    assert analyzed.returncode == 1, analyzed.stderr  # the gate fails the pull_request run too
    assert github.log == []
    uploaded = Path(analyzed.outputs["artifact-path"])
    assert [p.name for p in uploaded.iterdir()] == ["escape-bot-results.json"]

    # upload-artifact + download-artifact: the directory arrives in the other run
    downloaded = tmp_path / "downloaded"
    shutil.copytree(uploaded, downloaded)

    # 2. workflow_run, from the default branch, in a job that checked nothing out
    github.add_pull(7, head, head_repo="forker/demo", base_sha=base)
    github.add_file(base, "p/p.go", BASE_GO)  # the base commit has no .escape-bot.toml: the defaults
    workspace = tmp_path / "publish-workspace"
    workspace.mkdir()
    workflow_run = {
        "workflow_run": {
            "id": 99,
            "event": "pull_request",
            "head_sha": head,
            "head_repository": {"full_name": "forker/demo"},
            "pull_requests": [],  # GitHub lists none for forks
        }
    }
    env = job_env(
        github,
        event="workflow_run",
        payload=workflow_run,
        sha=base,
        workspace=workspace,
        runner_temp=tmp_path / "publish-temp",
        files=tmp_path / "publish",
    )
    published = _action(action_dir, env, workspace, mode="publish", artifact=str(downloaded))
    assert published.returncode == 1, published.stderr  # the gate, recomputed from the artifact
    assert (github.log[0].method, github.log[0].path) == ("GET", f"/repos/{REPOSITORY}/pulls/7")
    (comment,) = github.comments_on(7)
    assert comment.body.startswith(MARKER + "\n**:x: 3 new heap escapes**\n")
    (check,) = github.check_runs.values()
    assert (check.head_sha, check.conclusion, len(check.annotations)) == (head, "failure", 3)
    assert published.outputs["new-count"] == "3" and published.outputs["verdict"] == "fail"
    # the same report the pull_request run rendered, though rebuilt from untrusted JSON
    assert published.summary == analyzed.summary
    assert not (workspace / ".escape-bot").exists()  # publish needs no checkout and no database

    # 3. a newer commit on the PR: these results are stale and must not be posted
    github.pulls[7].head_sha = "f" * 40
    stale = _action(action_dir, env, workspace, mode="publish", artifact=str(downloaded))
    assert stale.returncode == 3
    assert stale.stderr.strip().splitlines()[-1] == (
        f"escape-bot: error: not published: pull request #7 is at ffffffffffff now and the results "
        f"are for {head[:12]}; the run for the newer commit publishes its own"
    )
    assert len(github.comments_on(7)) == 1 and len(github.check_runs) == 1
