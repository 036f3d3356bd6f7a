"""`ci --mode analyze --shard K/3` three times, then one `--mode publish` of the three artifacts,
against one unsharded `--mode analyze` of the same pull request.

Real git, the real compiler, a multi-package module (packages that import each other, so a
shard compiles packages that are not its own), a nested module; the merged results must be the
unsharded results: the same new, fixed and unchanged escapes, failed modules and verdict.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.diff import DiffResult
from bot.gate import GatePolicy, evaluate
from bot.gc.model import Escape
from bot.gc.shard import shard_of
from bot.github.artifact_format import ARTIFACT_FILE, ArtifactError, Results, read_artifact
from bot.github.shards import SHARD_FILE, read_results
from tests.conftest import GitRepo, go_mod
from tests.github.fake import FakeGitHub
from tests.github.workflow import actions_env, escape_bot_ci, merge_commit, pr_payload

FORK = "forker/demo"
N = 3


def _package(name: str, escapes: int, *, imports: str = "") -> str:
    """A package whose function F{i} makes `escapes` distinct heap allocations (one each)."""
    body = "".join(
        f"\nfunc F{i}(n int) []int {{\n\ts := make([]int, n+{i})\n\treturn s\n}}\n" for i in range(escapes)
    )
    if imports:
        body += f"\nfunc Use() []int {{ return {imports.rsplit('/', 1)[-1]}.F0(1) }}\n"
        return f'package {name}\n\nimport "example.com/m/{imports}"\n{body}'
    return f"package {name}\n{body}"


PACKAGES = [f"p{i}" for i in range(9)]


def _files(*, head: bool, broken: str | None = None) -> dict[str, str]:
    files = {"go.mod": go_mod(), "tools/go.mod": go_mod("example.com/tools")}
    for i, name in enumerate(PACKAGES):
        # head: every third package gains an allocation, every third (offset) loses one
        escapes = 2 + (1 if head and i % 3 == 0 else 0) - (1 if head and i % 3 == 1 else 0)
        files[f"{name}/{name}.go"] = _package(name, escapes, imports="p0" if i % 2 and name != "p0" else "")
    for name in ("ta", "tb", "tc", "td"):
        files[f"tools/{name}/{name}.go"] = _package(name, 3 if head else 2)
    if broken is not None:
        files[f"tools/{broken}/{broken}.go"] += "\nfunc Broken() int { return undefined }\n"
    return files


@dataclass(frozen=True)
class Analysis:
    base: str
    head: str
    whole: Results  # the unsharded artifact
    shards: Path  # one subdirectory per shard, as download-artifact lays them out
    env: dict[str, str]


def _analyze(tmp: Path, broken: str | None) -> Analysis:
    repo = GitRepo(tmp / "repo")
    base = repo.commit(_files(head=False), "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit(_files(head=True, broken=broken), "feature")
    merge = merge_commit(repo, base, head, 7)

    class NoServer:  # analyze talks to no API
        api_url = "http://127.0.0.1:9"

    def run(where: str, *args: str) -> Path:
        env = actions_env(NoServer(), tmp / where, "pull_request", pr_payload(7, base, head, FORK), merge)  # type: ignore[arg-type]
        del env["GITHUB_TOKEN"]
        artifact = tmp / "downloaded" / where if args else tmp / where / "artifact"
        proc = escape_bot_ci(
            "--repo",
            str(repo.path),
            "--mode",
            "analyze",
            "--no-store",
            "--artifact",
            str(artifact),
            *args,
            env=env,
        )
        assert proc.returncode in (0, 1), proc.stderr
        return artifact

    whole = read_artifact(run("whole"))
    for k in range(1, N + 1):
        run(f"escape-bot-results-shard-{k}", "--shard", f"{k}/{N}")
    env = actions_env(NoServer(), tmp / "env", "pull_request", pr_payload(7, base, head, FORK), merge)  # type: ignore[arg-type]
    return Analysis(base, head, whole, tmp / "downloaded", env)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    return _analyze(tmp_path_factory.mktemp("shards"), None)


def _units(records: tuple[Escape, ...]) -> int:
    return sum(e.count for e in records)


def _same_results(merged: DiffResult, whole: DiffResult) -> None:
    assert merged.new == whole.new
    assert merged.fixed == whole.fixed
    assert merged.failed_modules == whole.failed_modules
    policy = GatePolicy()
    assert evaluate(merged, policy) == evaluate(whole, policy)


def test_the_merged_shards_are_the_unsharded_results(analysis: Analysis) -> None:
    merged = read_results(analysis.shards)
    whole = analysis.whole
    assert whole.result.new and whole.result.fixed  # the change gains and loses escapes
    _same_results(merged.result, whole.result)
    assert _units(merged.result.unchanged) == _units(whole.result.unchanged) > 0
    assert merged.result.skipped == whole.result.skipped
    assert (merged.number, merged.head_sha, merged.base_sha) == (whole.number, whole.head_sha, whole.base_sha)
    assert evaluate(merged.result, GatePolicy()).verdict.value == "fail"
    # the split is real: each shard reported only its own packages, and more than one had news
    owners = set()
    for k in range(1, N + 1):
        part = read_artifact(analysis.shards / f"escape-bot-results-shard-{k}")
        packages = {e.package for e in (*part.result.new, *part.result.fixed)}
        assert all(shard_of(p, N) == k for p in packages)
        owners |= {k} if part.result.new else set()
    assert len(owners) > 1


def test_a_module_broken_in_one_shard_is_left_out_of_all(tmp_path: Path) -> None:
    # a broken package and another of its module (tools) in different shards
    shards = {n: shard_of(f"example.com/tools/{n}", N) for n in ("ta", "tb", "tc", "td")}
    broken = "ta"
    assert set(shards.values()) != {shards[broken]}  # some package of tools builds elsewhere
    analysis = _analyze(tmp_path, broken)
    # the shards that built other packages of tools reported their new escapes...
    elsewhere = [
        e
        for k in set(shards.values()) - {shards[broken]}
        for e in read_artifact(analysis.shards / f"escape-bot-results-shard-{k}").result.new
        if e.file.startswith("tools/")
    ]
    assert elsewhere
    # ...which the merge leaves out, as the unsharded run left out the whole module
    merged = read_results(analysis.shards)
    (failed,) = analysis.whole.result.failed_modules
    assert (failed.directory, failed.side) == ("tools", "head")
    _same_results(merged.result, analysis.whole.result)
    assert not any(e.file.startswith("tools/") for e in merged.result.new)


def _copy(analysis: Analysis, tmp_path: Path) -> Path:
    target = tmp_path / "downloaded"
    shutil.copytree(analysis.shards, target)
    return target


def _shard_file(directory: Path, k: int) -> Path:
    return directory / f"escape-bot-results-shard-{k}" / SHARD_FILE


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: shutil.rmtree(d / "escape-bot-results-shard-2"), r"shard 2 of 3 missing"),
        (
            lambda d: shutil.copytree(
                d / "escape-bot-results-shard-1", d / "escape-bot-results-shard-1-again"
            ),
            r"shard 1/3 is given twice \(escape-bot-results-shard-1 and escape-bot-results-shard-1-again\)",
        ),
        (
            lambda d: _shard_file(d, 3).write_text(
                json.dumps({"format": "escape-bot-shard", "shard": 3, "of": 4, "modules": []})
            ),
            r"the number of shards N is '3' in escape-bot-results-shard-1 and '4' in escape-bot-results-sh",
        ),
        (lambda d: _shard_file(d, 2).unlink(), r"holds results but no escape-bot-shard.json"),
        (
            lambda d: _shard_file(d, 2).write_text('{"format": "escape-bot-shard", "shard": 0, "of": 3}'),
            r"is malformed",
        ),
    ],
    ids=["missing", "duplicated", "other-n", "no-shard-file", "bad-shard-file"],
)
def test_incomplete_shards_are_refused(
    analysis: Analysis, tmp_path: Path, tamper: object, message: str
) -> None:
    directory = _copy(analysis, tmp_path)
    tamper(directory)  # type: ignore[operator]
    with pytest.raises(ArtifactError, match=message):
        read_results(directory)


@pytest.mark.parametrize("field", ["head_sha", "base_sha"])
def test_shards_of_other_commits_are_refused(analysis: Analysis, tmp_path: Path, field: str) -> None:
    directory = _copy(analysis, tmp_path)
    path = directory / "escape-bot-results-shard-2" / ARTIFACT_FILE
    document = json.loads(path.read_text())
    document["pull_request"][field] = "f" * 40
    if field == "base_sha":
        document["results"]["base"]["commit"] = "f" * 40
    path.write_text(json.dumps(document))
    what = "head commit" if field == "head_sha" else "base commit"
    with pytest.raises(ArtifactError, match=f"the shards do not belong together: the {what} is"):
        read_results(directory)


def test_publish_posts_the_shards_as_one_comment(
    github: FakeGitHub, tmp_path: Path, analysis: Analysis
) -> None:
    """`--mode publish --artifact DIR` of the shards posts what the unsharded artifact posts."""
    github.add_pull(7, analysis.head, head_repo=FORK, base_sha=analysis.base)
    github.add_file(analysis.base, "go.mod", go_mod())  # the fake knows the base commit by its files
    payload = {
        "workflow_run": {
            "id": 99,
            "event": "pull_request",
            "head_sha": analysis.head,
            "head_repository": {"full_name": FORK},
            "pull_requests": [],
        }
    }
    bodies = []
    for name, artifact in [("whole", tmp_path / "whole"), ("sharded", analysis.shards)]:
        if name == "whole":
            artifact.mkdir()
            whole = analysis.shards.parent / "whole" / "artifact" / ARTIFACT_FILE
            shutil.copyfile(whole, artifact / ARTIFACT_FILE)
        env = actions_env(github, tmp_path / name, "workflow_run", payload, analysis.base)
        (tmp_path / f"cwd-{name}").mkdir()
        proc = escape_bot_ci(
            "--mode", "publish", "--artifact", str(artifact), env=env, cwd=tmp_path / f"cwd-{name}"
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("escape-bot: error: gate failed: ")
        (comment,) = github.comments_on(7)
        bodies.append(comment.body)
    # the second publish finds the same comment and the same text: nothing to edit
    assert bodies[0] == bodies[1]
    assert github.requests("PATCH", r"/issues/comments/") == []


def test_a_module_failed_at_base_in_one_shard_and_at_head_in_another_failed_on_both() -> None:
    from bot.gc.model import FailedModule
    from bot.github.shards import merge_failed

    merged = merge_failed(
        [
            FailedModule("example.com/tools", "tools", "base", ("# example.com/tools/ta", "ta.go:1: x")),
            FailedModule("example.com/other", "other", "head", ("o.go:1: y",)),
            FailedModule("example.com/tools", "tools", "head", ("# example.com/tools/tb", "ta.go:1: x")),
        ]
    )
    assert merged == (
        FailedModule("example.com/other", "other", "head", ("o.go:1: y",)),
        FailedModule(
            "example.com/tools",
            "tools",
            "both",
            ("# example.com/tools/ta", "ta.go:1: x", "# example.com/tools/tb"),
        ),
    )


def test_a_shard_listing_another_shards_package_is_refused(analysis: Analysis, tmp_path: Path) -> None:
    directory = _copy(analysis, tmp_path)
    path = directory / "escape-bot-results-shard-1" / ARTIFACT_FILE
    document = json.loads(path.read_text())
    other = json.loads((directory / "escape-bot-results-shard-2" / ARTIFACT_FILE).read_text())
    document["results"]["new"].append(other["results"]["new"][0])  # counted twice, were it merged
    path.write_text(json.dumps(document))
    package = other["results"]["new"][0]["package"]
    with pytest.raises(
        ArtifactError,
        match=f"escape-bot-results-shard-1 \\(shard 1/3\\) lists escapes of package '{package}', "
        "which is in shard 2",
    ):
        read_results(directory)
