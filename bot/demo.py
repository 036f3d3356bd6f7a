"""`escape-bot demo`: a throwaway git repository with two commits of a bundled Go example."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from bot.errors import BotError
from bot.git import git_output
from bot.wording import plural

_ENV = {
    "GIT_AUTHOR_NAME": "escape-bot demo",
    "GIT_AUTHOR_EMAIL": "demo@escape-bot.invalid",
    "GIT_COMMITTER_NAME": "escape-bot demo",
    "GIT_COMMITTER_EMAIL": "demo@escape-bot.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00Z",
}


def _git(repo: Path, *args: str) -> None:
    git_output(repo, *args, env=_ENV)  # a failure is a GitError (one line, exit 3), not a crash


def _copy_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@contextlib.contextmanager
def demo_repository(keep: Path | None = None) -> Iterator[Path]:
    """A git repository whose HEAD~1 is the base example and HEAD the head example."""
    example = Path(str(resources.files("bot") / "examples" / "demo"))
    parent = None
    if keep is None:
        parent = Path(tempfile.mkdtemp(prefix="escape-bot-demo-"))
        repo = parent / "demo"
    else:
        repo = keep
        if repo.exists() and any(repo.iterdir()):
            raise BotError(f"{repo} is not empty")
    repo.mkdir(parents=True, exist_ok=True)
    try:
        _git(repo, "init", "--quiet", "--initial-branch=main")
        _copy_tree(example / "base", repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "--quiet", "-m", "inventory: shelf helpers")
        _copy_tree(example / "head", repo)
        _git(repo, "add", "-A")
        _git(repo, "commit", "--quiet", "-m", "inventory: newest item, counters, announcements (#2)")
        yield repo
    finally:
        if parent is not None:
            shutil.rmtree(parent, ignore_errors=True)


def epilogue(*, kept: Path | None, store_url: str, new: int, fixed: int) -> str:
    """What the demo just showed and where to go next: a few lines for stderr.

    Says where the snapshots are only when they are still there (`--keep`): a temporary
    repository, and the database inside it, are deleted when the demo ends."""
    where = (
        f"Both snapshots are recorded in {store_url}; the repository is kept in {kept}."
        if kept is not None
        else "The repository and its database were temporary and are deleted (--keep DIR keeps them)."
    )
    return "\n".join(
        [
            "",
            "What this was: a heap escape is a value the Go compiler cannot keep on the stack, so it is",
            "allocated on the heap and later collected: on a hot path that costs time and garbage.",
            "The demo compared two commits of a small Go module: "
            f"{plural(new, 'new heap escape')}, {fixed} fixed.",
            "The [cause] tag says why the compiler moved each value (returned, interface-conversion,",
            "closure-capture...): docs/causes.md explains each and how to avoid it.",
            "The head commit also inserts lines, so every unchanged escape moved; escape-bot matches them",
            "by function and expression and still reports only what is new.",
            where,
            "Next: `escape-bot diff --base origin/main` in your repository, `escape-bot ci` in GitHub",
            "Actions (docs/usage.md, docs/ci.md), `escape-bot trend` for the history.",
        ]
    )
