"""The git that history needs beyond bot/git.py: first-parent lists, the branch, the remote.

An adapter (runs `git`); the rest of bot/history gets plain lists and strings from it.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bot.commit import CommitInfo
from bot.errors import GitError
from bot.git import run_git

# one line per field; -z puts a NUL between commits (%s is one line, names cannot hold newlines)
_FORMAT = "%H%n%P%n%an%n%ae%n%aI%n%cI%n%s"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_git(root, *args)


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
    args = ["log", "--first-parent", "-z", f"--format={_FORMAT}"]
    if since is not None:
        args.append(f"--since={since.astimezone(UTC).isoformat()}")
    if last is not None:
        args.append(f"--max-count={last}")
    proc = _git(root, *args, revisions, "--")
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise GitError(f"cannot list the history of {revisions!r}: {reason}", details=proc.stderr)
    commits = []
    for record in proc.stdout.split("\x00"):
        fields = record.strip("\n").split("\n")
        if len(fields) < 7:
            continue
        sha, parents, name, email, authored, committed, subject = fields[:7]
        commits.append(
            CommitInfo(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                authored_at=datetime.fromisoformat(authored),
                committed_at=datetime.fromisoformat(committed),
                subject=subject,
                branch=branch,
            )
        )
    commits.reverse()
    return commits


def first_parent_shas(root: Path, revision: str) -> list[str]:
    """`git rev-list --first-parent REV`, oldest first."""
    proc = _git(root, "rev-list", "--first-parent", "--reverse", revision, "--")
    if proc.returncode != 0:
        raise GitError(f"cannot list the history of {revision!r}", details=proc.stderr)
    return proc.stdout.split()


def current_branch(root: Path) -> str | None:
    """The branch HEAD is on; None when detached."""
    proc = _git(root, "symbolic-ref", "--short", "-q", "HEAD")
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def has_revision(root: Path, revision: str) -> bool:
    """True when `revision` names a commit in the clone."""
    return _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode == 0


def is_shallow(root: Path) -> bool:
    """True for a shallow clone (its first-parent history stops early)."""
    return _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def remote_url(root: Path, name: str = "origin") -> str | None:
    """`git remote get-url origin`, or None."""
    proc = _git(root, "remote", "get-url", name)
    return proc.stdout.strip() or None if proc.returncode == 0 else None
