"""The one git runner (bot/git.py): its failures are one-line GitErrors, one commit parser reads
`git show` and `git log` alike, and "the repository root, else nothing" is asked one way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import git
from bot.history import gitlog
from tests.conftest import GitRepo, go_mod


def test_a_git_failure_in_demo_is_one_line_not_a_crash(tmp_path: Path) -> None:
    """A broken git configuration (a real git reading a malformed global config) made `demo` end
    with "an unexpected error occurred ... please report" (exit 4); it is a GitError now."""
    bad = tmp_path / "gitconfig"
    bad.write_text("[core\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(bad)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--keep", str(tmp_path / "demo")],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("escape-bot: error: git init failed: ") and "config" in first
    assert "unexpected" not in proc.stderr


def test_show_and_log_are_read_by_one_parser(repo: GitRepo) -> None:
    base = repo.commit({"go.mod": go_mod(), "a.go": "package a\n"}, "first: a subject, with: colons")
    head = repo.commit({"a.go": "package a\n\n// b\n"}, "second")
    one = git.commit_info(repo.path, head, branch="main")
    listed = gitlog.first_parent_commits(repo.path, "HEAD", branch="main")
    assert [c.sha for c in listed] == [base, head] and listed[-1] == one
    assert listed[0].subject == "first: a subject, with: colons" and one.parents == (base,)


def test_find_root_is_the_root_or_none(repo: GitRepo, tmp_path: Path) -> None:
    (repo.path / "sub" / "dir").mkdir(parents=True)
    assert git.find_root(repo.path / "sub" / "dir") == repo.path.resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert git.find_root(outside) is None
    assert git.find_root(tmp_path / "missing") is None


def _tree(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): p.read_text()
        for p in path.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(path).parts
    }


def test_a_reused_worktree_holds_exactly_each_revision(repo: GitRepo) -> None:
    """`compare` checks head out over base in one worktree: the result must be head's tree and
    nothing else (files removed by head, and anything the base's build left behind, are gone)."""
    base = repo.commit({"go.mod": go_mod(), "a.go": "package a\n", "old.go": "package a\n"}, "base")
    head = repo.commit(
        {"a.go": "package a\n\n// changed\n", "b/b.go": "package b\n"}, "head", remove=("old.go",)
    )
    # an untracked file: the repository is not a clean checkout of head, so head is checked out
    # over base in the temporary worktree (the clean case is test_a_clean_checkout_is_built_in_place)
    (repo.path / "notes.txt").write_text("x")
    with git.worktrees(repo.path) as trees:
        first = trees.at(base)
        assert _tree(first) == {"go.mod": go_mod(), "a.go": "package a\n", "old.go": "package a\n"}
        (first / "left-behind.txt").write_text("x")
        (first / "a.go").write_text("package a // edited in place\n")
        second = trees.at(head)
        assert second == first
        assert _tree(second) == {
            "go.mod": go_mod(),
            "a.go": "package a\n\n// changed\n",
            "b/b.go": "package b\n",
        }
        assert _tree(trees.at(base))["old.go"] == "package a\n"
    assert not first.exists()
    assert str(first) not in repo.git("worktree", "list")


def test_a_clean_checkout_is_built_in_place(repo: GitRepo) -> None:
    """A CI job's checkout of the pull request is head exactly: head is built where it is (no
    `git worktree add`, seconds on a large tree), base in a temporary worktree, and closing the
    worktrees leaves the repository as it was."""
    base = repo.commit({"go.mod": go_mod(), "a.go": "package a\n", "old.go": "package a\n"}, "base")
    head = repo.commit({"a.go": "package a\n\n// changed\n"}, "head", remove=("old.go",))
    before = _tree(repo.path)
    with git.worktrees(repo.path) as trees:
        assert trees.at(head) == repo.path
        assert "escape-bot-wt-" not in repo.git("worktree", "list")
        other = trees.at(base)
        assert other != repo.path and _tree(other)["old.go"] == "package a\n"
        assert trees.at(head) == repo.path
    assert not other.exists()
    assert _tree(repo.path) == before and repo.git("status", "--porcelain") == ""
    assert repo.git("worktree", "list").count("\n") == 1  # the repository's own, nothing else
    (repo.path / "sub").mkdir()  # empty: git sees nothing, and from inside it the top is built
    with git.worktree(repo.path / "sub", head) as tree:
        assert tree == repo.path.resolve()


def test_a_checkout_that_is_not_exactly_the_commit_is_not_built_in_place(repo: GitRepo) -> None:
    """Whatever go would see and the commit does not hold (a modified, untracked or ignored file:
    generated code is often ignored; a skip-worktree or assume-unchanged entry) or another HEAD
    means a temporary worktree."""
    base = repo.commit({"go.mod": go_mod(), "a.go": "package a\n", ".gitignore": "gen_*.go\n"}, "base")
    head = repo.commit({"b.go": "package a\n"}, "head")
    assert git.clean_head(repo.path) == head and git.is_checkout_of(repo.path, head)
    assert not git.is_checkout_of(repo.path, base)

    def dirty(make: object, undo: object) -> None:
        make()  # type: ignore[operator]
        try:
            assert git.clean_head(repo.path) is None
            with git.worktree(repo.path, head) as tree:
                assert tree != repo.path and "escape-bot-wt-" in str(tree)
        finally:
            undo()  # type: ignore[operator]
        assert git.clean_head(repo.path) == head

    a = repo.path / "a.go"
    dirty(lambda: a.write_text("package a // edited\n"), lambda: a.write_text("package a\n"))
    extra = repo.path / "extra.go"
    dirty(lambda: extra.write_text("package a\n"), extra.unlink)
    generated = repo.path / "gen_x.go"
    dirty(lambda: generated.write_text("package a\n"), generated.unlink)
    for flag in ("skip-worktree", "assume-unchanged"):
        dirty(
            lambda flag=flag: repo.git("update-index", f"--{flag}", "a.go"),
            lambda flag=flag: repo.git("update-index", f"--no-{flag}", "a.go"),
        )
    extra_config = repo.path / ".escape-bot.toml"  # untracked: the worktree would not have it
    dirty(lambda: extra_config.write_text("[gate]\n"), extra_config.unlink)
    near = repo.path / ".escape-botx" / "x.go"  # not the bot's directory, only a name like it
    near.parent.mkdir()
    dirty(lambda: near.write_text("package x\n"), lambda: shutil.rmtree(near.parent))
    repo.git("checkout", "--quiet", "--detach", base)
    assert git.clean_head(repo.path) == base and not git.is_checkout_of(repo.path, head)


def test_the_bots_own_directory_leaves_a_checkout_clean(repo: GitRepo) -> None:
    """The documented workflows restore the history database into `.escape-bot/escapes.db` before
    escape-bot runs (and reports go to `.escape-bot/reports/` outside Actions): untracked or
    ignored, that directory, which the go command never reads, still lets head be built in place."""
    repo.commit({"go.mod": go_mod(), "a.go": "package a\n"}, "base")
    head = repo.commit({".gitignore": "bin/\n"}, "head")
    own = repo.path / ".escape-bot"
    (own / "reports" / "default").mkdir(parents=True)
    (own / "escapes.db").write_bytes(b"SQLite format 3\x00")
    (own / "reports" / "default" / "report.json").write_text("{}")
    assert repo.git("status", "--porcelain") == "?? .escape-bot/\n"
    assert git.clean_head(repo.path) == head
    (repo.path / ".gitignore").write_text(".escape-bot/\n")
    repo.git("commit", "--quiet", "-am", "ignored")  # tracked changes only: the directory stays out
    assert repo.git("status", "--porcelain", "--ignored") == "!! .escape-bot/\n"
    ignored = git.resolve(repo.path, "HEAD")
    assert git.clean_head(repo.path) == ignored
    with git.worktrees(repo.path) as trees:
        assert trees.at(ignored) == repo.path
    assert (own / "escapes.db").read_bytes() == b"SQLite format 3\x00"


def test_a_checkout_with_a_submodule_is_not_built_in_place(repo: GitRepo, tmp_path: Path) -> None:
    """A submodule's files are in the job's checkout but not in a temporary worktree (`git
    worktree add` does not check submodules out): building one side in place would build code
    the other side does not have."""
    other = GitRepo(tmp_path / "other")
    other.commit({"go.mod": go_mod("example.com/other"), "o.go": "package other\n"}, "other")
    repo.commit({"go.mod": go_mod(), "a.go": "package a\n"}, "base")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(other.path), "vendored")
    head = repo.commit({}, "a submodule")
    assert (repo.path / "vendored" / "o.go").is_file() and repo.git("status", "--porcelain") == ""
    assert git.clean_head(repo.path) is None
    with git.worktree(repo.path, head) as tree:
        assert tree != repo.path and not (tree / "vendored" / "o.go").exists()


def test_the_working_tree_is_examined_only_for_heads_commit(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`git status` over a large tree takes time: it is run once, and only when a revision to
    build is the repository's HEAD (here neither side of a diff is, and then base is)."""
    base = repo.commit({"go.mod": go_mod(), "a.go": "package a\n"}, "base")
    middle = repo.commit({"b.go": "package a\n"}, "middle")
    head = repo.commit({"c.go": "package a\n"}, "head")
    repo.git("checkout", "--quiet", "--detach", base)
    asked: list[str | None] = []
    real = git.clean_head

    def counted(path: Path, *, only: str | None = None) -> str | None:
        asked.append(only)
        return real(path, only=only)

    monkeypatch.setattr(git, "clean_head", counted)
    with git.worktrees(repo.path) as trees:
        assert trees.at(middle) != repo.path and trees.at(head) != repo.path
        assert asked == []
        assert trees.at(base) == repo.path and trees.at(base) == repo.path
        assert asked == [base]
