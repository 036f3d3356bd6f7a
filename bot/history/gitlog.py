"""The git that history needs beyond bot/git.py: first-parent lists, the branch, the remote.

An adapter (runs `git`); the rest of bot/history gets plain lists and strings from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.commit import CommitInfo
from bot.errors import GitError
from bot.git import COMMIT_FORMAT, parse_commits, run_git


def first_parent_commits(
    root: Path,
    revisions: str,
    *,
    branch: str | None = None,
    since: datetime | None = None,
    last: int | None = None,
) -> list[CommitInfo]:
    """The first-parent history of `revisions` (a revision or a range such as `v1.0..main`),
    oldest first, at most the newest `last`, committed at or after `since`."""
    args = ["log", "--first-parent", "-z", f"--format={COMMIT_FORMAT}"]
    if since is not None:
        args.append(f"--since={since.astimezone(UTC).isoformat()}")
    if last is not None:
        args.append(f"--max-count={last}")
    proc = run_git(root, *args, revisions, "--")
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise GitError(f"cannot list the history of {revisions!r}: {reason}", details=proc.stderr)
    commits = parse_commits(proc.stdout, branch)
    commits.reverse()
    return commits


def first_parent_shas(root: Path, revision: str) -> list[str]:
    """`git rev-list --first-parent REV`, oldest first."""
    proc = run_git(root, "rev-list", "--first-parent", "--reverse", revision, "--")
    if proc.returncode != 0:
        raise GitError(f"cannot list the history of {revision!r}", details=proc.stderr)
    return proc.stdout.split()


def current_branch(root: Path) -> str | None:
    """The branch HEAD is on; None when detached."""
    proc = run_git(root, "symbolic-ref", "--short", "-q", "HEAD")
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def has_revision(root: Path, revision: str) -> bool:
    """True when `revision` names a commit in the clone."""
    return run_git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode == 0


def is_shallow(root: Path) -> bool:
    """True for a shallow clone (its first-parent history stops early)."""
    return run_git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def remote_url(root: Path, name: str = "origin") -> str | None:
    """`git remote get-url origin`, or None."""
    proc = run_git(root, "remote", "get-url", name)
    return proc.stdout.strip() or None if proc.returncode == 0 else None
