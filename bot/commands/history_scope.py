"""The options the history commands share (`--repo`, `--db`, `--branch`, filters, `--output`) and
what they resolve to: the repository, branch and first-parent order a query is scoped to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported when a command runs, so that `--help` stays fast
    from bot.history.blame import Target
    from bot.history.queries import Filters, Scope
    from bot.store import Store

from bot.commands import db_option, name_option, repo_option, usage_error
from bot.errors import UsageError
from bot.gc.model import Cause
from bot.wording import plural

# the shared ones, worded as every other command words them (bot/commands/__init__.py)
REPO = repo_option
DB = db_option
NAME = name_option


BRANCH = click.option(
    "--branch",
    default=None,
    metavar="NAME",
    help="Branch whose first-parent history to read (default: the current branch).",
)


TOOLCHAIN = click.option(
    "--toolchain",
    "toolchain_key",
    default=None,
    metavar="KEY",
    help="Toolchain key of the snapshots to read (default: the newest snapshot's), "
    "e.g. 'go1.24.2/linux/amd64/tags=/flags=-trimpath -gcflags=-m=2/records=2'. "
    "trend and top read sharded history whole (`shard=*/N`: the N shards combined); "
    "one shard's key reads that shard.",
)


LEAKS = click.option(
    "--leaks/--no-leaks",
    default=False,
    help="Count every kind, leaking parameters too (default: heap escapes: moved-to-heap, escapes-to-heap).",
)


PACKAGE_GLOB = click.option(
    "--package",
    "package_glob",
    default=None,
    metavar="GLOB",
    help="Only packages whose import path matches this glob ('*' crosses '/'): 'example.com/m/internal/*'.",
)


CAUSE = click.option(
    "--cause",
    type=click.Choice([c.value for c in Cause]),
    metavar="CAUSE",
    default=None,
    help="`escape-bot causes` lists the ids; only escapes of this cause (e.g. returned).",
)


OUTPUT = click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write to this file instead of stdout.",
)


@dataclass(frozen=True, slots=True)
class Where:
    """The repository as the queries see it."""

    root: Path | None  # None: --repo is not a git repository (the database alone is read)
    scope: Scope
    sha: str | None = None  # --rev, resolved
    rev: str | None = None  # --rev as given
    branch_missing: bool = False  # --branch names no branch of the clone (nor origin's)


def _stored_name(root: Path) -> str:
    from bot.app import repository_name  # bot.app's imports: only when --name is not given

    return repository_name(root)


def scope_of(
    repo: Path, branch: str | None, name: str | None, toolchain_key: str | None, rev: str | None = None
) -> Where:
    """Repository name, branch and first-parent order (from git when the clone has them)."""
    from bot import git
    from bot.history import gitlog
    from bot.history.queries import Scope

    root = git.find_root(repo)
    if rev is not None and root is None:
        raise usage_error(f"--rev needs a git repository, and {repo} is not one", "--rev")
    repository = name or (_stored_name(root) if root else repo.resolve().name)
    if root is not None and branch is None:
        branch = gitlog.current_branch(root) or "HEAD"
    sha = git.resolve(root, rev) if rev is not None and root is not None else None
    order: tuple[str, ...] | None = None
    missing = False
    # a shallow clone's first-parent history stops early: the branch's stored commits then
    if root is not None and not gitlog.is_shallow(root):
        tip = sha or branch
        candidates = [tip] if sha or tip is None else [tip, f"origin/{tip}"]
        for candidate in candidates:
            if candidate and gitlog.has_revision(root, candidate):
                order = tuple(gitlog.first_parent_shas(root, candidate))
                break
        else:
            missing = sha is None and branch not in (None, "HEAD")
    scope = Scope(repository=repository, branch=branch, order=order, toolchain_key=toolchain_key)
    return Where(root, scope, sha, rev, missing)


@contextmanager
def explained(where: Where, store: Store) -> Iterator[None]:
    """A query that found nothing says why, in the terms of the command line: a --rev that is not
    stored, a --branch the clone does not have, a --toolchain nothing was stored with."""
    from bot.errors import NotStoredError

    try:
        yield
    except NotStoredError as exc:
        scope = where.scope
        stored = where.sha is not None and where.sha in store.stored_commits(
            scope.repository, include_failed=True
        )
        if where.sha is not None and not stored:  # (a failed one has its own message)
            rev = where.rev or where.sha[:12]
            label = where.sha[:12] if where.sha.startswith(rev) else f"{rev} ({where.sha[:12]})"
            raise NotStoredError(
                f"revision {label} of {scope.repository} is not stored in {store.url}: record it with "
                f"`escape-bot collect --record --rev {rev}` (or `escape-bot backfill`)"
            ) from None
        if where.branch_missing and not store.stored_commits(scope.repository):
            raise NotStoredError(f"no branch {scope.branch!r} in the git repository {where.root}") from None
        if where.branch_missing:
            raise NotStoredError(
                f"no branch {scope.branch!r} in the git repository {where.root}, and nothing is stored "
                f"for {scope.repository} on a branch of that name"
            ) from None
        if scope.toolchain_key is not None:
            from bot.history.shards import shard_key
            from bot.store.queries import snapshots

            keys = sorted({s.toolchain_key for s in snapshots(store, scope.repository) if s.ok})
            family = shard_key(scope.toolchain_key)
            wanted = family.members if family is not None and family.index is None else (scope.toolchain_key,)
            if not set(wanted) & set(keys):
                raise NotStoredError(
                    f"nothing of {scope.repository} is stored with toolchain {scope.toolchain_key!r}; "
                    + (f"stored: {', '.join(repr(k) for k in keys)}" if keys else "nothing is stored")
                ) from None
        raise NotStoredError(f"{exc.message} (database {store.url})") from None


def filters_of(leaks: bool, package_glob: str | None, cause: str | None) -> Filters:
    from bot.history.model import ALL_KINDS, HEAP_KINDS
    from bot.history.queries import Filters

    return Filters(
        kinds=ALL_KINDS if leaks else HEAP_KINDS, package=package_glob, cause=Cause(cause) if cause else None
    )


def date_of(value: str | None, option: str, *, end_of_day: bool = False) -> datetime | None:
    """`--since`/`--until` as a moment; a bad date is a usage error naming the option."""
    from bot.history.dates import parse_when

    if value is None:
        return None
    try:
        return parse_when(value, datetime.now(UTC), end_of_day=end_of_day)
    except UsageError as exc:
        raise usage_error(exc.message, option) from None


def blame_target(root: Path | None, spec: str | None, function: str | None) -> Target:
    """FILE[:LINE] (relative to the current directory or to the repository) and --function."""
    from bot.history.blame import Target

    if spec is None:
        return Target(function=function)
    file, line = spec, None
    head, colon, tail = spec.rpartition(":")
    if colon and not Path(spec).exists():  # a file name may hold a colon
        if not tail.isdigit() or int(tail) < 1:
            raise usage_error(
                f"{spec}: LINE must be a line number (1, 2, ...), not {tail!r}", "[FILE[:LINE]]"
            )
        file, line = head, int(tail)
    path = Path(file)
    if root is not None and path.exists():
        try:
            file = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise usage_error(f"{spec} is not inside the repository {root}", "[FILE[:LINE]]") from None
    return Target(file=Path(file).as_posix(), line=line, function=function)


def check_blame_file(root: Path | None, target: Target, sha: str) -> None:
    """A FILE that matched nothing must at least exist at the commit (as a path or the end of one):
    otherwise it is a typo, not a file without escapes."""
    from bot import git

    if root is None or target.file is None:
        return  # no clone to look in: the database alone cannot tell
    name = target.file.lstrip("/")
    files = git.git_output(root, "ls-tree", "-r", "--name-only", "-z", sha, check=False).split("\0")
    matching = [f for f in files if f == name or f.endswith("/" + name)]
    if not matching:
        raise usage_error(f"{name}: no such file in the repository at {sha[:12]}", "[FILE[:LINE]]")
    if target.line is not None:
        longest = max(len((git.file_at(root, sha, f) or "").splitlines()) for f in matching)
        if target.line > longest:
            raise usage_error(
                f"{name}:{target.line}: the file has {plural(longest, 'line')} at {sha[:12]}", "[FILE[:LINE]]"
            )
