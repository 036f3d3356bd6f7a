"""Annotation positions: the merge commit's lines mapped to the PR head's (issue 12, point 4)."""

from __future__ import annotations

from pathlib import Path

from bot.github.positions import Hunk, map_line, parse_hunks, positions
from tests.conftest import GitRepo, go_mod
from tests.github.fake import FakeGitHub
from tests.github.workflow import (
    BASE_GO,
    HEAD_GO,
    PullRequestRun,
    actions_env,
    know_commits,
    merge_commit,
    pr_payload,
)


def test_lines_move_by_the_hunks_above_them() -> None:
    hunks = (Hunk(3, 0, 4, 5), Hunk(10, 2, 15, 1), Hunk(20, 1, 24, 0))  # +5 after 3, 2->1 at 10, -1 at 20
    assert map_line(hunks, 1) == 1 and map_line(hunks, 3) == 3  # above the insertion
    assert map_line(hunks, 4) == 9 and map_line(hunks, 9) == 14  # below it: +5
    assert map_line(hunks, 10) is None and map_line(hunks, 11) is None  # changed: no position
    assert map_line(hunks, 12) == 16  # +5, then 2 lines became 1
    assert map_line(hunks, 20) is None and map_line(hunks, 21) == 24  # the line was deleted


def test_parse_zero_context_diff() -> None:
    diff = (
        "diff --git a/p/p.go b/p/p.go\n--- a/p/p.go\n+++ b/p/p.go\n"
        "@@ -3,0 +4,2 @@ import\n+// a\n+// b\n@@ -7 +9 @@ func\n-x\n+y\n"
        "diff --git a/gone.go b/gone.go\ndeleted file mode 100644\nindex 1234567..0000000\n"
        "--- a/gone.go\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-a\n-b\n-c\n"
        "diff --git a/new.go b/new.go\nnew file mode 100644\nindex 0000000..1234567\n"
        "--- /dev/null\n+++ b/new.go\n@@ -0,0 +1 @@\n+n\n"
        'diff --git "a/q/\\317\\200 x.go" "b/q/\\317\\200 x.go"\nindex 1234567..89abcde 100644\n'
        '--- "a/q/\\317\\200 x.go"\n+++ "b/q/\\317\\200 x.go"\n@@ -1 +1,2 @@\n-a\n+b\n+c\n'
    )
    found = parse_hunks(diff)
    assert found["p/p.go"] == (Hunk(3, 0, 4, 2), Hunk(7, 1, 9, 1))
    assert map_line(found["gone.go"], 2) is None
    assert "new.go" not in found
    assert found["q/π x.go"] == (Hunk(1, 1, 1, 2),)  # git quotes unusual names; unidiff reads them


def test_positions_of_a_merge_commit_in_the_pr_head(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO}, "feature")
    repo.git("checkout", "--quiet", "main")
    moved = BASE_GO.replace('import "fmt"\n', 'import "fmt"\n\n// one\n// two\n// three\n')
    main = repo.commit({"p/p.go": moved}, "main moves on")
    merge = merge_commit(repo, main, head, 7)
    where = positions(repo.path, merge, head, ["p/p.go"])
    merged = repo.git("show", f"{merge}:p/p.go").splitlines()
    ret = merged.index("\tt := T{A: 1}") + 1
    assert ret == 18 and map_line(where["p/p.go"], ret) == 14  # HEAD_GO's line 14
    assert positions(repo.path, head, head, ["p/p.go"]) == {}


def test_check_annotations_are_on_the_heads_lines(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    """The base gained 4 lines above the PR's new escapes: the comment links the merge commit's
    lines, the check run (on the PR head) annotates the head's."""
    repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO}, "feature")
    repo.git("checkout", "--quiet", "main")
    main = repo.commit(
        {"p/p.go": BASE_GO.replace('import "fmt"\n', 'import "fmt"\n\n// one\n// two\n// three\n')}, "main"
    )
    merge = merge_commit(repo, main, head, 7)
    env = actions_env(github, tmp_path, "pull_request", pr_payload(7, main, head), merge)
    know_commits(github, repo)
    run = PullRequestRun(repo, main, head, merge, env, tmp_path)
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert sorted(a["start_line"] for a in check.annotations) == [14, 19, 24]  # HEAD_GO's lines
    (comment,) = github.comments_on(7)
    assert f"/blob/{merge}/p/p.go#L18" in comment.body  # the merge commit's line, where the link points


def test_an_escape_on_a_line_only_the_base_has_is_not_annotated(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    """The PR makes Keep leak its argument; the base meanwhile added a caller: the caller's value
    escapes in the merge commit, on a line the PR's head does not have."""
    keep = "package p\n\ntype T struct{ A int }\n\nvar G *T\n\nfunc Keep(p *T) { _ = p }\n"
    use = "\nfunc Use() int {\n\tx := T{}\n\tKeep(&x)\n\treturn x.A\n}\n"
    more = "\nfunc More() int {\n\ty := T{}\n\tKeep(&y)\n\treturn y.A\n}\n"
    repo.commit({"go.mod": go_mod(), "p/p.go": keep + use}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": keep.replace("_ = p", "G = p") + use}, "Keep keeps")
    repo.git("checkout", "--quiet", "main")
    main = repo.commit({"p/p.go": keep + use + more}, "a new caller")
    merge = merge_commit(repo, main, head, 7)
    env = actions_env(github, tmp_path, "pull_request", pr_payload(7, main, head), merge)
    know_commits(github, repo)
    proc = PullRequestRun(repo, main, head, merge, env, tmp_path).run()
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert [(a["start_line"], a["message"].split(" in ")[0]) for a in check.annotations] == [
        (10, "moved to heap: x")
    ]
    assert "1 new heap escape is not annotated: on lines the base branch changed" in check.summary
    (comment,) = github.comments_on(7)
    assert "`y` in `More`" in comment.body, comment.body  # still reported
    assert "because `Keep`" in comment.body, comment.body
