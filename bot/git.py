"""The git adapter: revisions, commit metadata, temporary worktrees, renames.

The user's working tree is never written to: a revision is built in it only when it holds
exactly that commit (`is_checkout_of`: a CI job's own checkout); other revisions are checked out
in a temporary `git worktree` that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

from bot.commit import CommitInfo
from bot.errors import GitError
from bot.interrupt import Interrupted


def run_git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`git -C repo ARGS`, output captured as text; never raises for a non-zero exit. `env` is
    added to the process's environment."""
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc


def git_output(repo: Path, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> str:
    """`run_git`'s stdout; a non-zero exit is a GitError with git's last line (unless not `check`)."""
    proc = run_git(repo, *args, env=env)
    if check and proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
        raise GitError(f"git {args[0]} failed: {message}", details=proc.stderr)
    return proc.stdout


def repo_root(path: Path) -> Path:
    """The top of the repository containing `path`."""
    if not path.exists():
        raise GitError(f"{path} does not exist")
    proc = run_git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise GitError(f"{path.resolve()} is not a git repository")
    return Path(proc.stdout.strip())


def find_root(path: Path) -> Path | None:
    """The top of the repository containing `path`, or None outside any (or for a missing path)."""
    try:
        return repo_root(path)
    except GitError:
        return None


def resolve(repo: Path, rev: str) -> str:
    """A revision -> full commit sha; GitError naming the revision when unknown."""
    proc = run_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if proc.returncode != 0 or not proc.stdout.strip():
        raise GitError(f"unknown revision {rev!r} in {repo}")
    return proc.stdout.strip()


# one line per field, with -z a NUL after each commit (%s is one line, names cannot hold newlines)
COMMIT_FORMAT = "%H%n%P%n%an%n%ae%n%aI%n%cI%n%s"


def parse_commits(out: str, branch: str | None = None) -> list[CommitInfo]:
    """The commits of `git log -z` / `git show -s -z` with `--format=COMMIT_FORMAT`, in git's order."""
    commits = []
    for record in out.split("\x00"):
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
    return commits


def commit_info(repo: Path, sha: str, branch: str | None = None) -> CommitInfo:
    """Metadata of one commit."""
    found = parse_commits(git_output(repo, "show", "-s", "-z", f"--format={COMMIT_FORMAT}", sha), branch)
    if not found:
        raise GitError(f"git show printed no commit for {sha[:12]}")
    return found[0]


def renames(repo: Path, base: str, head: str) -> dict[str, str]:
    """Files renamed between two commits (git's rename detection): old path -> new path."""
    out = git_output(repo, "diff", "--name-status", "-M", "-z", base, head)
    parts = out.split("\x00")
    result: dict[str, str] = {}
    i = 0
    while i < len(parts) - 1:
        status = parts[i]
        if status.startswith(("R", "C")):
            if status.startswith("R"):
                result[parts[i + 1]] = parts[i + 2]
            i += 3
        else:
            i += 2
    return result


OWN_DIRECTORY = ".escape-bot"
"""The bot's directory in a repository: the default database (which a workflow restores from the
Actions cache before escape-bot runs) and, outside Actions, the reports. The go command never
reads it (it skips directories whose name starts with a dot), so a checkout is clean with it."""


def is_checkout_of(repo: Path, sha: str) -> bool:
    """Whether the working tree `repo` is in is exactly commit `sha`, so it can be built as it is
    instead of checking `sha` out again (seconds on a large tree): see clean_head."""
    return clean_head(repo, only=sha) == sha


def clean_head(repo: Path, *, only: str | None = None) -> str | None:
    """The commit the working tree `repo` is in is a clean checkout of, else None (also when it
    is not `only`, without asking further): HEAD's commit, with no file modified, untracked or
    ignored (an ignored generated .go file would be built too) but the bot's own directory, no
    index entry skip-worktree or assume-unchanged (a sparse checkout lacks files), and no
    submodule."""
    head = run_git(repo, "rev-parse", "--show-toplevel", "HEAD^{commit}")
    lines = head.stdout.split("\n")
    if head.returncode != 0 or len(lines) < 2 or (only is not None and lines[1] != only):
        return None
    top = Path(lines[0])
    status = run_git(
        top, "status", "--porcelain", "-z", "--ignored", "--untracked-files=normal",
        "--ignore-submodules=none",
    )  # fmt: skip
    if status.returncode != 0 or not all(_ours(entry) for entry in status.stdout.split("\0") if entry):
        return None
    # `ls-files -v` tags each entry: H is a plain tracked file; S (skip-worktree), lower case
    # (assume-unchanged) and the rest mean the tree may not hold what the commit does. A
    # submodule (mode 160000) is checked out here but not in a temporary worktree, so its Go
    # code would be built on one side only
    listed = run_git(top, "ls-files", "-v", "--stage", "-z")
    plain = all(e.startswith("H ") and not e.startswith("H 160000 ") for e in listed.stdout.split("\0") if e)
    if listed.returncode != 0 or not plain:
        return None
    return lines[1]


def _ours(entry: str) -> bool:
    """Whether a `git status --porcelain` entry is an untracked or ignored path of the bot's own
    directory (OWN_DIRECTORY), the one thing a clean checkout may hold beyond its commit."""
    return entry[:3] in ("?? ", "!! ") and (entry[3:] + "/").startswith(OWN_DIRECTORY + "/")


@contextlib.contextmanager
def worktree(repo: Path, sha: str) -> Iterator[Path]:
    """A temporary detached worktree of `sha`, removed on exit; `repo` itself when it is a clean
    checkout of `sha` (is_checkout_of: built as it is, never written to)."""
    if is_checkout_of(repo, sha):
        yield repo_root(repo)
        return
    parent = Path(tempfile.mkdtemp(prefix="escape-bot-wt-"))
    path = parent / "src"
    try:
        git_output(repo, "worktree", "add", "--detach", "--quiet", str(path), sha)
        yield path
    finally:
        _remove_worktree(repo, parent, path)


def _remove_worktree(repo: Path, parent: Path, path: Path) -> None:
    """Remove a temporary worktree, its directory and its registration, even when a stop signal
    (a Ctrl-C is sent to the whole process group, so to a running `git worktree remove` too)
    interrupts a step: every step runs, then the interruption goes on."""
    steps: tuple[Callable[[], object], ...] = (
        # twice --force: also a worktree still locked by a `worktree add` that was stopped half-way
        lambda: git_output(repo, "worktree", "remove", "--force", "--force", str(path), check=False),
        lambda: shutil.rmtree(parent, ignore_errors=True),
        # prune forgets registrations whose directory is gone (a remove that was killed half-way),
        # but not locked ones: unlock first (an error when it is not registered, or not locked)
        lambda: git_output(repo, "worktree", "unlock", str(path), check=False),
        lambda: git_output(repo, "worktree", "prune", check=False),
    )
    interrupted: BaseException | None = None
    for step in steps:
        try:
            step()
        except (KeyboardInterrupt, Interrupted) as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


class Worktrees:
    """One temporary worktree reused for several revisions: the first is checked out with
    `git worktree add`, each next one in place (git writes only the files that differ, about one
    file for a pull request instead of the whole tree). The repository's own working tree is
    used instead for the commit it is a clean checkout of (asked once, for HEAD's commit), as a CI
    job's checkout of the pull request is. Use `worktrees()`, which removes the temporary one."""

    def __init__(self, repo: Path) -> None:
        self._repo = repo
        self._parent: Path | None = None
        self._path: Path | None = None
        self._head: str | None = None  # the repository's HEAD commit ("" when it has none)
        self._clean: bool | None = None  # whether its working tree is exactly that commit

    def at(self, sha: str) -> Path:
        """A tree holding exactly the tree of `sha` (nothing left of the previous one)."""
        if (own := self.checked_out(sha)) is not None:
            return own
        if self._path is None:
            self._parent = Path(tempfile.mkdtemp(prefix="escape-bot-wt-"))
            self._path = self._parent / "src"
            git_output(self._repo, "worktree", "add", "--detach", "--quiet", str(self._path), sha)
        else:
            git_output(self._path, "checkout", "--detach", "--force", "--quiet", sha)
            git_output(self._path, "clean", "-ffdxq")
        return self._path

    def checked_out(self, sha: str) -> Path | None:
        """The repository's own working tree when it is a clean checkout of `sha`, else None."""
        if self._head is None:
            try:
                self._head = resolve(self._repo, "HEAD")
            except GitError:  # no commit yet
                self._head = ""
        if sha != self._head:
            return None  # git status is asked only for HEAD's commit: seconds on a large tree
        if self._clean is None:
            self._clean = clean_head(self._repo, only=sha) == sha
        return self._repo if self._clean else None

    def close(self) -> None:
        if self._parent is not None and self._path is not None:
            parent, path, self._parent, self._path = self._parent, self._path, None, None
            _remove_worktree(self._repo, parent, path)


@contextlib.contextmanager
def worktrees(repo: Path) -> Iterator[Worktrees]:
    """A reusable temporary worktree (Worktrees), removed on exit."""
    trees = Worktrees(repo)
    try:
        yield trees
    finally:
        trees.close()


def ensure_commit(repo: Path, sha: str, what: str) -> None:
    """Make sure `sha` is in the clone: fetch it alone when the checkout is shallow."""
    try:
        resolve(repo, sha)
        return
    except GitError:
        pass
    # actions/checkout fetches one commit by default; GitHub serves any reachable sha
    proc = run_git(repo, "fetch", "--no-tags", "--depth=1", "origin", sha)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"exit {proc.returncode}"
        raise GitError(
            f"the {what} commit {sha[:12]} is not in the checkout and `git fetch origin {sha[:12]}` failed "
            f"({reason}); check out with `fetch-depth: 0`"
        )
    resolve(repo, sha)


def module_directories(repo: Path, sha: str) -> list[str]:
    """Directories holding a go.mod at commit `sha` ('' for the root), as find_modules skips
    them: none under vendor/, testdata/, or a directory starting with '.' or '_'."""
    out = git_output(repo, "ls-tree", "-r", "--name-only", "-z", sha)
    found = []
    for path in out.split("\x00"):
        parts = path.split("/")
        if parts[-1] != "go.mod":
            continue
        dirs = parts[:-1]
        if any(d in ("vendor", "testdata", "node_modules") or d.startswith((".", "_")) for d in dirs):
            continue
        found.append("/".join(dirs))
    return sorted(found)


def file_at(repo: Path, sha: str, path: str) -> str | None:
    """The text of `path` at commit `sha`, or None when it does not exist there."""
    proc = run_git(repo, "show", f"{sha}:{path}")
    return proc.stdout if proc.returncode == 0 else None


def changed_lines(repo: Path, base: str, head: str) -> dict[str, frozenset[int]]:
    """The head lines a change added or modified in each Go file (renames followed), plus, where
    lines were only deleted, the head line the deletion stands before."""
    from bot.patch import QUOTE_PATH_OFF, read_diff

    text = git_output(
        repo, *QUOTE_PATH_OFF, "diff", "-U0", "--no-color", "--no-ext-diff", "-M", base, head, "--", "*.go"
    )
    changed: dict[str, set[int]] = {}
    for file in read_diff(text):
        if file.target is None:  # removed
            continue
        lines = changed.setdefault(file.target, set())
        for hunk in file.patched:
            added = [line.target_line_no for line in hunk if line.is_added and line.target_line_no]
            lines.update(added)
            if not added and hunk.removed:  # `@@ -5,2 +4,0 @@`: removed after head line 4
                lines.add(hunk.target_start + 1)
    return {path: frozenset(lines) for path, lines in changed.items() if lines}
