"""`[comment]`: when the sticky comment is posted, outdated comments, closed pull requests and a
wrong `--author-login` (issue 12, point 8). End to end against the strict fake GitHub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import CommentConfig, ConfigError, parse_config
from tests.conftest import GitRepo
from tests.github.fake import BOT, PAT, PAT_USER, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO, pull_request, push_feature

FIXED_ONE = HEAD_GO.replace("\tfmt.Println(n)\n", "\t_ = n\n")


def _config(when: str, outdated: str = "edit") -> dict[str, str]:
    return {".escape-bot.toml": f'[comment]\nwhen = "{when}"\noutdated = "{outdated}"\n'}


def test_the_comment_table_is_validated() -> None:
    assert parse_config('[comment]\nwhen = "changes"\n').comment == CommentConfig("changes", "edit")
    assert parse_config("").comment == CommentConfig("always", "edit")
    with pytest.raises(ConfigError, match=r"comment\.when: expected always, changes, failure or never"):
        parse_config('[comment]\nwhen = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"comment\.outdated: expected edit or minimize-and-repost"):
        parse_config('[comment]\noutdated = "delete"\n')
    with pytest.raises(ConfigError, match=r"comment\.colour"):
        parse_config('[comment]\ncolour = "red"\n')


def test_changes_posts_only_when_escapes_change_but_keeps_a_comment_current(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    # no change in heap escapes: nothing is posted (the check run still carries the verdict)
    run = pull_request(repo, github, tmp_path / "1", {"p/p.go": BASE_GO, **_config("changes")},
                       {"p/p.go": BASE_GO.replace("x * 2", "x * 3")})  # fmt: skip
    assert run.run().returncode == 0
    assert github.requests("POST", r"/issues/7/comments") == [] and github.comments == {}
    assert len(github.check_runs) == 1
    # new escapes: posted
    second = push_feature(run, github, {"p/p.go": HEAD_GO}, tmp_path / "2")
    assert second.run().returncode == 1
    (comment,) = github.comments_on(7)
    assert "3 new heap escapes" in comment.body
    # no change again: the earlier comment is updated, not left saying 3 new
    third = push_feature(run, github, {"p/p.go": BASE_GO}, tmp_path / "3")
    assert third.run().returncode == 0
    (comment,) = github.comments_on(7)
    assert "No change in heap escapes" in comment.body
    assert len(github.requests("POST", r"/issues/7/comments")) == 1


def test_failure_and_never(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = pull_request(repo, github, tmp_path / "1", {"p/p.go": HEAD_GO, **_config("failure")},
                       {"p/p.go": BASE_GO})  # fmt: skip
    assert run.run().returncode == 0  # 3 fixed: a change, but no failure
    assert github.comments == {} and github.requests("POST", r"/issues/") == []
    github.log.clear()
    never = push_feature(run, github, {".escape-bot.toml": '[comment]\nwhen = "never"\n',
                                       "p/p.go": HEAD_GO + "\nfunc Q() *T { q := T{}; return &q }\n"},
                         tmp_path / "2")  # fmt: skip
    assert never.run().returncode == 1
    assert github.requests(path=r"/issues/") == []  # not even read
    (check,) = [c for c in github.check_runs.values() if c.head_sha == never.head]
    assert check.conclusion == "failure"


def test_minimize_and_repost(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    files = {"p/p.go": BASE_GO, **_config("always", "minimize-and-repost")}
    run = pull_request(repo, github, tmp_path / "1", files, {"p/p.go": HEAD_GO})
    assert run.run().returncode == 1
    (first,) = github.comments_on(7)
    second = push_feature(run, github, {"p/p.go": FIXED_ONE}, tmp_path / "2")
    assert second.run().returncode == 1
    old, new = github.comments_on(7)
    assert old.id == first.id and old.minimized == "OUTDATED"
    assert not old.body.startswith("<!-- escape-bot:default -->") and "3 new heap escapes" in old.body
    assert (
        new.body.startswith("<!-- escape-bot:default -->\n**:x: 2 new heap escapes**")
        and new.minimized is None
    )
    (mutation,) = github.requests("POST", r"^/graphql$")
    assert "minimizeComment" in mutation.json["query"]
    assert mutation.json["variables"]["input"] == {"subjectId": f"IC_{first.id}", "classifier": "OUTDATED"}
    # another commit (its links point at a new commit): the outdated ones are no longer ours
    third = push_feature(run, github, {"p/p.go": FIXED_ONE + "\n// a comment\n"}, tmp_path / "3")
    assert third.run().returncode == 1
    comments = github.comments_on(7)
    assert [c.minimized for c in comments] == ["OUTDATED", "OUTDATED", None]
    assert [c.body.startswith("<!-- escape-bot:default -->") for c in comments] == [False, False, True]
    assert github.requests("DELETE") == []  # no outdated comment was taken for a racing copy


def test_a_closed_pull_request_gets_no_comment(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    event = Path(run.env["GITHUB_EVENT_PATH"])
    payload = json.loads(event.read_text())
    payload["pull_request"]["state"] = "closed"
    event.write_text(json.dumps(payload))
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    assert github.requests(path=r"/issues/") == []
    assert "::notice::escape-bot: pull request #7 is closed: no comment" in proc.stdout
    assert len(github.check_runs) == 1


def test_a_wrong_author_login_is_detected(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    """A PAT posts as its user, not as github-actions[bot]: the second run would not find the
    first run's comment. The first run already says so."""
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    run.env["GITHUB_TOKEN"] = PAT
    proc = run.run("--check", "status")
    assert proc.returncode == 1, proc.stderr
    warning = (
        f"::warning::escape-bot: the comment was posted as {PAT_USER}, but --author-login is {BOT}: "
        "the next run will not find it and will post another; set --author-login octocat"
    )
    assert any(line.startswith(warning) for line in proc.stdout.splitlines()), proc.stdout
    assert [c.login for c in github.comments_on(7)] == [PAT_USER]
    proc = run.run("--check", "status", "--author-login", PAT_USER)  # fixed: found and left as is
    assert proc.returncode == 1 and "--author-login is" not in proc.stdout
    assert len(github.comments_on(7)) == 1
