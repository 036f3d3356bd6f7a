"""Use cases: collect one revision, compare two. Adapters (git, compiler, store) are called here;
the CLI only parses options and prints what these return."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

from bot import git
from bot.annotations import Annotations, scan
from bot.attribution import Attribution, ChangedLines, attribute
from bot.background import Later, writes_in_background
from bot.config import Config
from bot.diff import EXCLUDED, Counting, DiffResult, diff, split_same
from bot.errors import BuildError
from bot.failures import failed_modules, without_modules
from bot.gate import GateDecision, GatePolicy, evaluate
from bot.gc.model import Escape, ModuleFailure, Snapshot
from bot.gc.modules import find_modules
from bot.gc.parse import module_file_mapper
from bot.gc.pprof import load_profiles
from bot.gc.reuse import BlockCache
from bot.gc.run import BuildOptions, building_early, collect, go_binary, toolchain
from bot.insight import Insight, ToolchainEffect
from bot.ports import SnapshotStore, StoredPair
from bot.profile.hotness import rank
from bot.wording import plural

Progress = Callable[[str], None]
"""Receives short status lines ('building base abc1234', a package name)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both sides and what changed."""

    base: Snapshot
    head: Snapshot
    result: DiffResult
    base_source: Literal["built", "store"]
    head_source: Literal["built", "store"]
    renames: dict[str, str]
    insight: Insight = field(default_factory=Insight)  # filled by `explain`

    @property
    def same_toolchain(self) -> bool:
        """False when a Go upgrade (or other flags) may explain the difference."""
        return self.base.toolchain == self.head.toolchain


def _quiet(_: str) -> None:
    pass


_TREES: ContextVar[git.Worktrees | None] = ContextVar("trees", default=None)
"""The worktree `compare` reuses for both sides, while it runs (`one_worktree`)."""

P = ParamSpec("P")
R = TypeVar("R")


def one_worktree(use_case: Callable[Concatenate[Path, P], R]) -> Callable[Concatenate[Path, P], R]:
    """Run a use case with one temporary worktree for every revision it checks out: the second
    revision is checked out over the first, so git writes only the files that differ."""

    @functools.wraps(use_case)
    def run(repo: Path, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if _TREES.get() is not None:
            return use_case(repo, *args, **kwargs)
        with git.worktrees(git.repo_root(repo)) as trees:
            token = _TREES.set(trees)
            try:
                return use_case(repo, *args, **kwargs)
            finally:
                _TREES.reset(token)

    return run


@contextlib.contextmanager
def checkout(repo: Path, sha: str | None) -> Iterator[Path]:
    """The working tree itself (sha None) or a temporary worktree of `sha` (`one_worktree`'s)."""
    trees = _TREES.get()
    if sha is None:
        yield repo
    elif trees is not None:
        yield trees.at(sha)
    else:
        with git.worktree(repo, sha) as path:
            yield path


class NothingBuilt(BuildError):
    """No selected module of a revision built: there is nothing to report for it."""

    def __init__(self, message: str, *, details: str, snapshot: Snapshot) -> None:
        super().__init__(message, details=details)
        self.snapshot = snapshot  # no escapes; `failed_modules` says why


def revision_label(rev: str | None, sha: str) -> str:
    """How messages name a revision: `HEAD (0123456789ab)`, `0123456789ab`, `the working tree`."""
    if not sha:
        return "the working tree"
    return sha[:12] if not rev or sha.startswith(rev) else f"{rev} ({sha[:12]})"


def failure_details(failures: tuple[ModuleFailure, ...]) -> str:
    """Every failed module and its error lines, for the lines under a message."""
    return "\n".join(line for f in failures for line in (f"module {f.where}:", *("  " + e for e in f.errors)))


def build_snapshot(
    repo: Path,
    rev: str | None,
    options: BuildOptions,
    progress: Progress = _quiet,
    *,
    reuse: BlockCache | None = None,
) -> Snapshot:
    """Build one revision (None: the working tree as it is) and return its escapes.

    Modules that do not build are in the snapshot's `failed_modules`; when none of the selected
    modules builds, NothingBuilt. Every BuildError names the revision, never the checkout's
    (temporary) directory.
    """
    sha = git.resolve(repo, rev) if rev is not None else ""
    label = revision_label(rev, sha)
    with checkout(repo, sha or None) as tree:
        progress(f"building {rev or 'working tree'}" + (f" ({sha[:12]})" if sha else ""))
        try:
            built = collect(tree, options, on_package=progress, reuse=reuse)
        except BuildError as exc:
            raise BuildError(f"{label}: {exc.message}", details=exc.details) from None
    blocks = reuse.keys_for(built.escapes) if reuse is not None else ()
    snapshot = Snapshot(
        rev or "", sha, built.toolchain, tuple(built.escapes), built.stats, tuple(built.failed), blocks
    )
    if built.failed and len(built.failed) == len(built.modules):
        first = built.failed[0]
        many = f" (and {plural(len(built.failed) - 1, 'more module')})" if len(built.failed) > 1 else ""
        raise NothingBuilt(
            f"{label}: module {first.where} did not build{many}: {first.reason}",
            details=failure_details(snapshot.failed_modules),
            snapshot=snapshot,
        )
    return snapshot


def repository_name(repo: Path) -> str:
    """The name snapshots are stored under: `owner/name` in Actions, else the directory name."""
    return os.environ.get("GITHUB_REPOSITORY") or repo.name


def snapshot_of(
    repo: Path,
    rev: str,
    options: BuildOptions,
    store: SnapshotStore | None,
    progress: Progress = _quiet,
    *,
    repository: str | None = None,
    reuse: BlockCache | None = None,
    later: Later | None = None,
) -> tuple[Snapshot, Literal["built", "store"]]:
    """A revision's snapshot: from the store when it holds one for this toolchain, else built (and
    stored), under `repository` (default: repository_name, as backfill's). With `later` the store
    write is queued there (bot/background.py) instead of done before returning."""
    sha = git.resolve(repo, rev)
    name = repository or repository_name(repo)
    if store is not None:
        key = toolchain(options, repo).key
        stored = store.find_snapshot(name, sha, key)
        # a module that did not build then may build now (the environment changed): build again
        if stored is not None and not stored.failed_modules:
            progress(f"{rev} ({sha[:12]}) taken from the store")
            return Snapshot(rev, sha, stored.toolchain, stored.escapes, stored.stats), "store"
        if reuse is None:
            reuse = BlockCache()  # its keys are stored with the results, for a later head to reuse
    snapshot = build_snapshot(repo, rev, options, progress, reuse=reuse)
    if store is not None:
        info = git.commit_info(repo, sha)
        if later is None:
            store.record_snapshot(name, info, snapshot)
        else:
            later(store, name, info, snapshot)
    return snapshot, "built"


def annotations_at(repo: Path, sha: str, files: Iterable[str]) -> dict[str, Annotations]:
    """The `//escape-bot:allow` and `//gcassert:noescape` comments of `files` at commit `sha`."""
    found = {}
    for file in sorted(set(files)):
        text = git.file_at(repo, sha, file)
        if text is not None:
            found[file] = scan(text)
    return found


@one_worktree
def compare(
    repo: Path,
    base_rev: str,
    head_rev: str,
    options: BuildOptions,
    *,
    store: SnapshotStore | None = None,
    progress: Progress = _quiet,
    keep: Callable[[Escape], bool] | None = None,
    counting: Counting | None = None,
    repository: str | None = None,
) -> Comparison:
    """Build (or load) base and head and diff them. Both builds share the Go build cache and one
    temporary worktree (head checked out over base).

    Escapes that `keep` refuses (include/exclude globs) are matched like the others, then
    counted as skipped (`excluded`) instead of listed; snapshots are stored unfiltered.
    `counting` says whether constants and generated files count (`[gate]`); `repository` is
    the name snapshots are stored under (default: repository_name).
    """
    root = git.repo_root(repo)
    base_sha = git.resolve(root, base_rev)
    head_sha = git.resolve(root, head_rev)
    renames = git.renames(root, base_sha, head_sha)
    skip = (lambda e: None if keep(e) else EXCLUDED) if keep is not None else None
    # a head built here is stored while the diff is made (it has finished, and its error is
    # raised, before the comparison is returned)
    with writes_in_background() as later:
        pair, built_head = _paired(
            root, base_rev, head_rev, options, store, renames, progress, repository, later
        )
        if pair is not None:  # the store holds the base: only the files that differ are compared
            result = diff(
                pair.base.escapes, pair.head.escapes, renames, skip=skip, counting=counting, same=pair.same
            )
            base = _joined(pair.base, pair.same)
            if built_head is not None:
                return _compared(base, built_head[0], result, "store", "built", renames, keep)
            return _compared(base, _joined(pair.head, pair.same), result, "store", "store", renames, keep)
    # head is built in base's worktree: its unchanged packages' blocks are base's (bot/gc/reuse.py);
    # base is stored while head builds, and the diff is made while the last write finishes (each
    # has finished, and its error is raised, before the comparison is returned)
    reuse = BlockCache()
    with writes_in_background() as later:
        base, base_source, base_built = _side(
            root, base_rev, options, store, progress, repository, reuse, later
        )
        head, head_source, head_built = built_head or _side(
            root, head_rev, options, store, progress, repository, reuse, later
        )
        if not base_built and not head_built:
            _nothing_compared(base, head)
        failed = failed_modules(base, head)
        if failed:
            # a module that failed on either side is compared on neither (bot/failures.py)
            directories = set(git.module_directories(root, base_sha)) | set(
                git.module_directories(root, head_sha)
            )
            dropped = [f.directory for f in failed]
            base = replace(base, escapes=without_modules(base.escapes, dropped, directories))
            head = replace(head, escapes=without_modules(head.escapes, dropped, directories))
        # files identical on both sides (head reused base's blocks) are not matched one by one
        rest_base, rest_head, same = split_same(base.escapes, head.escapes, renames)
        result = diff(rest_base, rest_head, renames, skip=skip, counting=counting, same=same)
        result = replace(result, failed_modules=failed)
    effect = None
    if store is not None and base_source == "built" and base_built:
        effect = toolchain_effect(root, base, store, skip=skip, counting=counting, repository=repository)
    return _compared(base, head, result, base_source, head_source, renames, keep, effect)


def _compared(
    base: Snapshot,
    head: Snapshot,
    result: DiffResult,
    base_source: Literal["built", "store"],
    head_source: Literal["built", "store"],
    renames: dict[str, str],
    keep: Callable[[Escape], bool] | None,
    effect: ToolchainEffect | None = None,
) -> Comparison:
    if keep is not None:  # the sides as reported: only the wanted files
        base = replace(base, escapes=tuple(e for e in base.escapes if keep(e)))
        head = replace(head, escapes=tuple(e for e in head.escapes if keep(e)))
    return Comparison(base, head, result, base_source, head_source, renames, Insight(toolchain=effect))


Side = tuple[Snapshot, Literal["built", "store"], bool]
"""A side of a comparison: the snapshot, where it came from, False when no module built."""


def _paired(
    root: Path,
    base_rev: str,
    head_rev: str,
    options: BuildOptions,
    store: SnapshotStore | None,
    renames: dict[str, str],
    progress: Progress,
    repository: str | None,
    later: Later,
) -> tuple[StoredPair | None, Side | None]:
    """Both sides from the store split by file, when it holds both (every module built): a check
    run again. When it holds only the base (a pull request's first run: the push to the default
    branch recorded it), the head is built and split against it by its files' digests, then
    queued on `later` to be stored, and the built head is returned with the pair; else (None,
    the head if it was built)."""
    if store is None:
        return None, None
    name = repository or repository_name(root)
    key = toolchain(options, root).key
    base_sha, head_sha = git.resolve(root, base_rev), git.resolve(root, head_rev)
    trees = _TREES.get()
    own = trees.checked_out(head_sha) if trees is not None and _first_attempt() else None
    head: Side | None = None
    # a CI job's checkout of the pull request: head's go starts before the store is first asked
    # (and SQLAlchemy imported); it is stopped as soon as the store says it holds head (a check
    # run again: nothing to build), or has no base (base is built first)
    with building_early(own, options) if own is not None else contextlib.nullcontext(False):
        if store.snapshot_status(name, head_sha, key) is None:
            if store.snapshot_status(name, base_sha, key) != "ok":
                return None, None
            # head's packages whose events and sources are base's are taken from the store,
            # not parsed again (bot/gc/reuse.py, bot/store/blocks.py); built, not stored yet
            cache = stored_cache(store, name, base_sha, key, renames)
            head = _side(root, head_rev, options, None, progress, repository, cache)
            if cache.reused:
                progress(f"{plural(cache.reused, 'unchanged package')} taken from the store")
            if not head[2]:
                return None, head
    if head is not None:
        # head's digests are computed first: its write, queued next, forks a child process that
        # inherits them (bot/store/content.py's memo) and stores head while the diff is made
        pair = store.pair_with_base(name, base_sha, key, head[0], renames)
        later(store, name, git.commit_info(root, head_sha), head[0])
    else:
        pair = store.find_pair(name, base_sha, head_sha, key, renames)
    if pair is None:
        return None, head
    shown = ((base_rev, base_sha),) if head is not None else ((base_rev, base_sha), (head_rev, head_sha))
    for rev, sha in shown:
        progress(f"{rev} ({sha[:12]}) taken from the store")
    base = replace(pair.base, revision=base_rev)
    return replace(pair, base=base, head=replace(pair.head, revision=head_rev)), head


def stored_cache(
    store: SnapshotStore, repository: str, sha: str, key: str, renames: Mapping[str, str]
) -> BlockCache:
    """A block cache holding the stored snapshot's package blocks (none when it has none)."""
    cache = BlockCache()
    for block, records in store.stored_blocks(repository, sha, key, renames):
        cache.add_stored(block, records)
    return cache


def _first_attempt() -> bool:
    """False in a GitHub Actions job run again (`GITHUB_RUN_ATTEMPT` > 1): the first attempt most
    likely stored head, so no go is started before the store is asked (it would cost the re-run
    CPU, about 0.15 s of go while SQLAlchemy is imported, for nothing)."""
    return os.environ.get("GITHUB_RUN_ATTEMPT", "1").strip() in ("", "1")


def _joined(side: Snapshot, same: tuple[Escape, ...]) -> Snapshot:
    """A side's files that differ and the files identical on both sides, in the store's canonical
    order (package, file, then the site): each part is in it already and they share no file."""
    if not same:
        return side
    escapes = sorted((*side.escapes, *same), key=lambda e: (e.package, e.file))
    return replace(side, escapes=tuple(escapes))


def toolchain_effect(
    root: Path,
    base: Snapshot,
    store: SnapshotStore,
    *,
    skip: Callable[[Escape], str | None] | None = None,
    counting: Counting | None = None,
    repository: str | None = None,
) -> ToolchainEffect | None:
    """What the compiler alone changed: the base as another Go version built it earlier (stored
    before an upgrade) against the base as built now, with the same toolchain as head. The pull
    request's own effect is the comparison itself, built with one toolchain on both sides."""
    name = repository or repository_name(root)
    key = store.other_toolchain_key(name, base.commit, base.toolchain)
    earlier = store.find_snapshot(name, base.commit, key) if key else None
    if earlier is None or earlier.failed_modules:
        return None
    changed = diff(earlier.escapes, base.escapes, skip=skip, counting=counting)
    return ToolchainEffect(earlier.toolchain.go_version, base.toolchain.go_version, changed)


def _side(
    root: Path,
    rev: str,
    options: BuildOptions,
    store: SnapshotStore | None,
    progress: Progress,
    repository: str | None,
    reuse: BlockCache | None = None,
    later: Later | None = None,
) -> tuple[Snapshot, Literal["built", "store"], bool]:
    """One side of a comparison; False when none of its modules built (the snapshot is empty
    and says why): the other side decides whether that is the change or the environment."""
    try:
        snapshot, source = snapshot_of(
            root, rev, options, store, progress, repository=repository, reuse=reuse, later=later
        )
    except NothingBuilt as exc:
        return exc.snapshot, "built", False
    return snapshot, source, True


def _nothing_compared(base: Snapshot, head: Snapshot) -> None:
    """Neither side built anything: the environment, and nothing to compare (exit 3)."""
    first = head.failed_modules[0]
    raise BuildError(
        f"nothing to compare: no module builds at base {revision_label(base.revision, base.commit)} "
        f"nor at head {revision_label(head.revision, head.commit)}; module {first.where}: {first.reason}",
        details=failure_details(head.failed_modules),
    )


def attribute_new(root: Path, comparison: Comparison) -> dict[Escape, Attribution]:
    """Why each new heap escape of a comparison appeared (bot/attribution.py): the change's lines
    from git, head's sources, and the compiler's file names mapped to repository paths."""
    base_sha, head_sha = comparison.base.commit, comparison.head.commit
    if not base_sha or not head_sha:
        return {}
    changes = ChangedLines(git.changed_lines(root, base_sha, head_sha))
    modules = {m.path: m.directory for m in find_modules(root)}
    return attribute(
        comparison.result.new,
        comparison.base,
        comparison.head,
        changes,
        source=functools.cache(lambda file: git.file_at(root, head_sha, file)),
        files=module_file_mapper(modules),
    )


def explain(
    root: Path,
    comparison: Comparison,
    *,
    profiles: Iterable[Path] = (),
    pgo: bool = True,
    go: str | None = None,
) -> Comparison:
    """The comparison with its insight: every new heap escape attributed to the change behind it,
    and ranked by the profiles given (else the repository's `default.pgo` files, unless `pgo` is
    False). Profiles are read with the Go toolchain (`go tool pprof -raw`)."""
    loaded = load_profiles(go_binary(go), root, profiles, pgo=pgo)
    new = [e for e in comparison.result.new if e.kind.allocates]
    insight = replace(
        comparison.insight,
        attributions=attribute_new(root, comparison),
        hotness=rank(new, loaded) if loaded else {},
        profiles=tuple(p.name for p in loaded),
    )
    return replace(comparison, insight=insight)


@dataclass(frozen=True, slots=True)
class Gated:
    """A comparison, the head's source comments of its new escapes, and the gate's verdict."""

    comparison: Comparison
    annotations: dict[str, Annotations]
    decision: GateDecision


def compare_and_gate(
    repo: Path,
    base_rev: str,
    head_rev: str,
    options: BuildOptions,
    *,
    config: Config,
    policy: GatePolicy,
    store: SnapshotStore | None = None,
    progress: Progress = _quiet,
    accepted_by: str | None = None,
    profiles: Iterable[Path] = (),
    repository: str | None = None,
) -> Gated:
    """The one use case behind `diff`, `ci` (pull requests and merge groups) and `demo`: build or
    load both sides, compare them, explain and rank what is new, and decide.

    `config` chooses which files are reported (include/exclude) and the profiles (`[rank]`, unless
    `profiles` are given); `policy` decides; `accepted_by` names who accepted with the label;
    `repository` is the name snapshots are stored under (default: repository_name).
    """
    # asked per file, not per record: tens of thousands of records share a few thousand files
    wants = functools.cache(config.wants)
    comparison = compare(
        repo,
        base_rev,
        head_rev,
        options,
        store=store,
        progress=progress,
        keep=lambda e: wants(e.file),
        counting=policy.counting,
        repository=repository,
    )
    root = git.repo_root(repo)
    comparison = explain(
        root,
        comparison,
        profiles=list(profiles) or [Path(p) for p in config.rank.profiles],
        pgo=config.rank.pgo,
        go=options.go or None,
    )
    annotations = annotations_at(root, comparison.head.commit, [e.file for e in comparison.result.new])
    # `[gate] hot-only` applies only with profiles: without them every new escape counts
    hot = comparison.insight.is_hot if comparison.insight.profiles else None
    decision = evaluate(comparison.result, policy, annotations, accepted_by, hot)
    return Gated(comparison, annotations, decision)
