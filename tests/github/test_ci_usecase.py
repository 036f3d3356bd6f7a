"""`bot.ci.run_ci` in process: push events and the store, with real git and the real compiler.

`MemoryStore` stands in for bot.store.repo.Store, which has its own tests (tests/store): a dict
keyed like the store's snapshots (repository, sha, toolchain key). Pull requests end to end,
with GitHub, are in test_ci_e2e.py.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ci import Settings, check_annotations, run_ci, status_description
from bot.errors import UsageError
from bot.gc.model import Snapshot
from bot.github.actions import WorkflowCommands
from bot.github.context import ActionsEnvironment, OtherEvent, PullRequest, Push
from tests.conftest import GitRepo, go_mod
from tests.doubles import MemoryStore
from tests.github.fake import REPOSITORY, TOKEN, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO
from tests.store.conftest import postgresql_server  # noqa: F401  (the fixture, for PostgreSQL)


def _environment(tmp_path: Path, event: str, sha: str) -> ActionsEnvironment:
    return ActionsEnvironment(
        event_name=event,
        event_path=tmp_path / "event.json",
        repository=REPOSITORY,
        sha=sha,
        step_summary=tmp_path / "summary.md",
        output=tmp_path / "output.txt",
        runner_temp=tmp_path / "runner-temp",
    )


def _outputs(tmp_path: Path) -> dict[str, str]:
    text = (tmp_path / "output.txt").read_text()
    return dict(line.split("=", 1) for line in text.splitlines())


def test_push_to_the_default_branch_is_recorded_once(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"go.mod": go_mod(), "p/p.go": HEAD_GO}, "add escapes")
    store = MemoryStore()
    push = Push(ref="refs/heads/main", after=sha, default_branch="main")
    log = io.StringIO()
    outcome = run_ci(
        Settings(repo=repo.path),
        _environment(tmp_path, "push", sha),
        push,
        commands=WorkflowCommands(log),
        store=store,
    )
    assert (outcome.exit_code, outcome.recorded) == (0, True)
    ((key, (commit, snapshot)),) = store.snapshots.items()
    assert key[:2] == (REPOSITORY, sha)
    assert (commit.sha, commit.branch, commit.subject) == (sha, "main", "add escapes")
    assert sorted(e.expression for e in snapshot.escapes if e.kind.allocates) == ["g", "n", "t"]
    assert _outputs(tmp_path)["escape-count"] == "3"
    assert Path(_outputs(tmp_path)["report-path"]).is_file()
    # the code-scanning baseline: every heap escape of the default branch, unchanged, as notes
    (baseline,) = json.loads(Path(_outputs(tmp_path)["sarif-path"]).read_text())["runs"]
    assert sorted(r["properties"]["expression"] for r in baseline["results"]) == ["g", "n", "t"]
    assert {(r["baselineState"], r["level"]) for r in baseline["results"]} == {("unchanged", "note")}
    assert baseline["automationDetails"]["id"] == "escape-bot/default/"
    assert "3 heap escapes in" in (tmp_path / "summary.md").read_text()

    again = run_ci(
        Settings(repo=repo.path),
        _environment(tmp_path, "push", sha),
        push,
        commands=WorkflowCommands(log),
        store=store,
    )
    assert again.recorded is False and len(store.snapshots) == 1
    assert "already recorded" in (tmp_path / "summary.md").read_text()


def test_other_pushes_are_skipped(repo: GitRepo, tmp_path: Path) -> None:
    sha = repo.commit({"go.mod": go_mod(), "p/p.go": HEAD_GO}, "work")
    store = MemoryStore()
    log = io.StringIO()
    env = _environment(tmp_path, "push", sha)
    feature = Push(ref="refs/heads/feature", after=sha, default_branch="main")
    outcome = run_ci(Settings(repo=repo.path), env, feature, commands=WorkflowCommands(log), store=store)
    assert (outcome.exit_code, outcome.snapshot, store.snapshots) == (0, None, {})
    assert "::notice::escape-bot records pushes to the default branch (main) only" in log.getvalue()
    main = Push(ref="refs/heads/main", after=sha, default_branch="main")
    outcome = run_ci(Settings(repo=repo.path), env, main, commands=WorkflowCommands(log), store=None)
    assert outcome.recorded is None and outcome.snapshot is not None
    assert "::notice::escape-bot has no store (--db): the snapshot was not recorded" in log.getvalue()


def test_pull_requests_reuse_stored_snapshots(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    head = repo.commit({"p/p.go": HEAD_GO}, "head")
    pr = PullRequest(
        number=1,
        base_sha=base,
        head_sha=head,
        base_ref="main",
        head_repository=REPOSITORY,
        base_repository=REPOSITORY,
    )
    settings = Settings(repo=repo.path, comment=False, check="none")  # nothing to publish: no token needed
    store = MemoryStore()
    env = _environment(tmp_path, "pull_request", head)
    first = run_ci(settings, env, pr, commands=WorkflowCommands(io.StringIO()), store=store)
    assert first.comparison is not None and first.comparison.base_source == "built"
    second = run_ci(settings, env, pr, commands=WorkflowCommands(io.StringIO()), store=store)
    assert second.comparison is not None
    assert (second.comparison.base_source, second.comparison.head_source) == ("store", "store")
    assert second.exit_code == 1 and second.decision is not None and second.decision.new_units == 3


def test_settings_and_report_helpers(repo: GitRepo, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid --config-name 'a b'"):
        Settings(repo=repo.path, name="a b")
    settings = Settings(repo=repo.path, name="linux", token="ghs_secret")
    assert "ghs_secret" not in repr(settings)
    assert (settings.check_name, settings.status_context) == ("escape-bot (linux)", "escape-bot/linux")
    with pytest.raises(UsageError, match="handles pull_request, merge_group and push events, not 'schedule'"):
        run_ci(settings, _environment(tmp_path, "schedule", "a" * 40), OtherEvent("schedule"),
               commands=WorkflowCommands(io.StringIO()))  # fmt: skip


def test_status_description_and_annotations(repo: GitRepo, tmp_path: Path) -> None:
    from tests.report.conftest import BASE_SHA, HEAD_SHA, corpus_report, corpus_snapshot

    report = corpus_report(corpus_snapshot("go1.21.13", BASE_SHA), corpus_snapshot("go1.27.3", HEAD_SHA))
    description = status_description(report)
    assert len(description) <= 140 and description.startswith("14 new heap escapes, 11 fixed (")
    annotations = check_annotations(report)
    assert len(annotations) == len([e for e in report.result.new if e.kind.allocates])
    assert {a.level for a in annotations} == {"failure"}
    assert all(a.raw_details for a in annotations)


def test_push_that_does_not_build_is_recorded_as_failed(repo: GitRepo, tmp_path: Path) -> None:
    """With the real store (SQLite): the history keeps the failure, and the job still fails."""
    from bot.errors import BuildError
    from bot.gc.run import BuildOptions, toolchain
    from bot.store import Store

    sha = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n\nfunc F() { missing() }\n"}, "broken")
    push = Push(ref="refs/heads/main", after=sha, default_branch="main")
    with Store.open(f"sqlite:///{tmp_path}/escapes.db") as store:
        with pytest.raises(BuildError, match=r"did not build: p/p\.go:3:12: undefined: missing"):
            run_ci(
                Settings(repo=repo.path),
                _environment(tmp_path, "push", sha),
                push,
                commands=WorkflowCommands(io.StringIO()),
                store=store,
            )
        key = toolchain(BuildOptions(), repo.path).key
        assert store.snapshot_status(REPOSITORY, sha, key) == "failed"
        assert "undefined: missing" in (store.failure(REPOSITORY, sha, key) or "")


def test_build_configurations_share_the_steps_one_mib_job_summary(repo: GitRepo, tmp_path: Path) -> None:
    """Three configurations append to one job summary that already holds ~0.9 MiB: together they
    stay within GitHub's 1 MiB for the step, each in its own part, each saying what it left out."""
    funcs = "".join(f"\nfunc R{i:03d}() *T {{\n\tt := T{{A: {i}}}\n\treturn &t\n}}\n" for i in range(400))
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    head = repo.commit({"p/p.go": BASE_GO + funcs}, "head")
    pr = PullRequest(number=1, base_sha=base, head_sha=head, base_ref="main",
                     head_repository=REPOSITORY, base_repository=REPOSITORY)  # fmt: skip
    env = _environment(tmp_path, "pull_request", head)
    summary = tmp_path / "summary.md"
    summary.write_text("x" * 900_000 + "\n")  # written earlier in the same step
    for share, name in ((3, "linux"), (2, "darwin"), (1, "windows")):
        settings = Settings(repo=repo.path, name=name, comment=False, check="none", summary_share=share)
        outcome = run_ci(settings, env, pr, commands=WorkflowCommands(io.StringIO()))
        assert outcome.exit_code == 1
    text = summary.read_text()
    assert len(text.encode()) <= 1024 * 1024
    parts = text[900_001:].split("**:x: 400 new heap escapes**")
    assert len(parts) == 4  # all three configurations wrote their report
    assert text.count("Left out to stay within") == 3
    assert "The JSON report (output `report-path`) has everything." in text


def _read_only(url: str) -> str:
    """The same database, opened so that every write fails (SQLite mode=ro; PostgreSQL read-only
    transactions), as a store on a read-only volume or with a read-only role would."""
    from urllib.parse import quote

    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    base, _, query = url.partition("?")
    options = dict(part.split("=", 1) for part in query.split("&") if part)
    from urllib.parse import unquote

    current = unquote(options.pop("options", ""))
    options["options"] = quote(f"{current} -cdefault_transaction_read_only=on".strip(), safe="")
    return base + "?" + "&".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_push_whose_store_cannot_be_written_reports_first_then_fails(
    kind: str, repo: GitRepo, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from bot.errors import StoreError
    from bot.store import Store
    from tests.store.conftest import database

    sha = repo.commit({"go.mod": go_mod(), "p/p.go": HEAD_GO}, "add escapes")
    push = Push(ref="refs/heads/main", after=sha, default_branch="main")
    with database(kind, request, tmp_path / "db") as url:
        Store.open(url).close()  # the schema, at head
        with (
            Store.open(_read_only(url), access="auto") as store,
            pytest.raises(StoreError, match=f"the snapshot of {sha[:12]} could not be recorded: "),
        ):
            run_ci(
                Settings(repo=repo.path),
                _environment(tmp_path, "push", sha),
                push,
                commands=WorkflowCommands(io.StringIO()),
                store=store,
            )
    # the report and the job summary were written first
    assert Path(_outputs(tmp_path)["report-path"]).is_file() and _outputs(tmp_path)["escape-count"] == "3"
    assert "3 heap escapes in" in (summary := (tmp_path / "summary.md").read_text())
    assert "NOT recorded: database" in summary


def test_a_crash_still_completes_the_check(repo: GitRepo, tmp_path: Path, github: FakeGitHub) -> None:
    """Any exception, not only a known failure: the check run opened first is completed as failure."""
    from bot.github.client import GitHubClient
    from bot.github.retry import RetryPolicy

    class Broken(MemoryStore):
        def find_snapshot(self, repository: str, sha: str, toolchain_key: str) -> Snapshot | None:
            raise RuntimeError("the store fell over")

    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    head = repo.commit({"p/p.go": HEAD_GO}, "head")
    pr = PullRequest(number=7, base_sha=base, head_sha=head, base_ref="main",
                     head_repository=REPOSITORY, base_repository=REPOSITORY)  # fmt: skip
    client = GitHubClient(api_url=github.api_url, token=TOKEN, repository=REPOSITORY,
                          policy=RetryPolicy(request_interval=None, write_interval=None))  # fmt: skip
    with pytest.raises(RuntimeError, match="the store fell over"):
        run_ci(Settings(repo=repo.path), _environment(tmp_path, "pull_request", head), pr,
               commands=WorkflowCommands(io.StringIO()), publisher=client, store=Broken())  # fmt: skip
    client.close()
    (check,) = github.check_runs.values()
    assert (check.head_sha, check.status, check.conclusion) == (head, "completed", "failure")
    assert "unexpected error: RuntimeError: the store fell over" in check.summary
    assert "could not give a verdict" in (tmp_path / "summary.md").read_text()
    assert github.comments == {}


def test_the_store_is_opened_at_its_first_use_and_one_that_cannot_be_is_unavailable(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`ci` opens its store lazily (LazyStore), so that head's build starts first: the real
    SQLite store is opened once, at the first lookup, and closed on leaving. A server that cannot
    be reached (a real refused connection) makes the store unavailable, as an eager open did:
    nothing is found, and recording says why, in one line without the password."""
    from datetime import UTC, datetime

    from bot.ci import LazyStore
    from bot.commands import open_store
    from bot.commit import CommitInfo
    from bot.errors import StoreError
    from bot.gc.model import Toolchain
    from bot.store import Store

    opened: list[Store] = []
    closed: list[Store] = []

    @contextlib.contextmanager
    def opener() -> Iterator[Store]:
        with open_store(f"sqlite:///{tmp_path / 'escapes.db'}", repo.path, "auto") as store:
            opened.append(store)
            yield store
        closed.append(store)

    with LazyStore(opener) as lazy:
        assert opened == []
        assert lazy.snapshot_status("r", "0" * 40, "k") is None
        assert lazy.find_pair("r", "0" * 40, "1" * 40, "k", {}) is None
        assert len(opened) == 1
        assert closed == []
    assert closed == opened

    url = "postgresql://postgres:s3cret@127.0.0.1:1/test"  # nothing listens on port 1
    now = datetime(2026, 1, 1, tzinfo=UTC)
    commit = CommitInfo("0" * 40, (), "a", "a@example.invalid", now, now, "s")
    snapshot = Snapshot("HEAD", "0" * 40, Toolchain("go1.24", "linux", "amd64"), ())
    with LazyStore(lambda: open_store(url, repo.path, "auto")) as lazy:
        assert lazy.find_snapshot("r", "0" * 40, "k") is None
        assert lazy.snapshot_status("r", "0" * 40, "k") is None
        with pytest.raises(StoreError) as raised:
            lazy.record_snapshot("r", commit, snapshot)
        assert "s3cret" not in raised.value.message and "\n" not in raised.value.message
        assert "127.0.0.1" in raised.value.message
        with lazy.writing_in_child(()) as forked:
            assert forked is False
