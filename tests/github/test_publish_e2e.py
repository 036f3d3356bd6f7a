"""`escape-bot ci --mode analyze` then `--mode publish`, as subprocesses, with tampered artifacts.

One pull request is analysed per module (real git, the real compiler, no GitHub at all: analyze
posts nothing); each test hands its artifact, as is or tampered with the way a fork's own
workflow could, to a publish run against the fake GitHub.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from bot.github.artifact import ARTIFACT_FILE
from tests.conftest import GitRepo, go_mod
from tests.github.fake import FakeGitHub
from tests.github.workflow import (
    BASE_GO,
    HEAD_GO,
    actions_env,
    escape_bot_ci,
    merge_commit,
    pr_payload,
)

MARKER = "<!-- escape-bot:default -->"
FORK = "forker/demo"


@dataclass(frozen=True)
class Analyzed:
    repo: Path
    base: str
    head: str
    merge: str
    document: dict[str, Any]  # the artifact as analyze wrote it
    summary: str
    env: dict[str, str]  # the pull_request run's environment

    def copy(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(self.document))
        return data


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Analyzed:
    tmp = tmp_path_factory.mktemp("analyze")
    repo = GitRepo(tmp / "repo")
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO}, "feature")
    merge = merge_commit(repo, base, head, 7)

    class NoServer:  # analyze talks to no API: any request would fail to connect
        api_url = "http://127.0.0.1:9"

    env = actions_env(NoServer(), tmp / "run", "pull_request", pr_payload(7, base, head, FORK), merge)  # type: ignore[arg-type]
    del env["GITHUB_TOKEN"]  # a fork's token could not write anyway; analyze needs none
    proc = escape_bot_ci("--repo", str(repo.path), "--mode", "analyze", env=env)
    assert proc.returncode == 1, proc.stderr  # the gate fails the pull_request run too
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    directory = Path(outputs["artifact-path"])
    assert directory == tmp / "run" / "runner-temp" / "escape-bot" / "default" / "artifact"
    assert "results artifact" in proc.stdout
    document = json.loads((directory / ARTIFACT_FILE).read_text())
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    return Analyzed(repo.path, base, head, merge, document, summary, env)


def _workflow_run(
    head_sha: str, event: str = "pull_request", pull_requests: tuple[int, ...] = ()
) -> dict[str, Any]:
    return {
        "workflow_run": {
            "id": 99,
            "event": event,
            "head_sha": head_sha,
            "head_repository": {"full_name": FORK},
            "pull_requests": [{"number": n} for n in pull_requests],
        }
    }


def publish(
    github: FakeGitHub,
    tmp_path: Path,
    a: Analyzed,
    artifact: dict[str, Any] | bytes,
    *args: str,
    payload: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, str]]:
    """A workflow_run job: the artifact downloaded to a directory, no checkout."""
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir(exist_ok=True)
    data = artifact if isinstance(artifact, bytes) else json.dumps(artifact).encode()
    (downloaded / ARTIFACT_FILE).write_bytes(data)
    env = actions_env(github, tmp_path / "publish", "workflow_run", payload or _workflow_run(a.head), a.base)
    workdir = tmp_path / "empty"
    workdir.mkdir(exist_ok=True)
    proc = escape_bot_ci("--mode", "publish", "--artifact", str(downloaded), *args, env=env, cwd=workdir)
    return proc, env


def _last_error(proc: Any) -> str:
    return str(proc.stderr).strip().splitlines()[-1]


def test_publish_posts_what_auto_would_have_posted(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    # auto mode on the same pull request first (a same-repository PR)
    env = {**analyzed.env, "GITHUB_TOKEN": "ghs_faketoken0123456789", "GITHUB_API_URL": github.api_url}
    env["RUNNER_TEMP"] = str(tmp_path / "auto-temp")
    auto = escape_bot_ci("--repo", str(analyzed.repo), "--no-store", env=env)
    assert auto.returncode == 1, auto.stderr
    (comment,) = github.comments_on(7)
    auto_check = next(iter(github.check_runs.values()))

    github.add_pull(7, analyzed.head, head_repo=FORK)
    proc, penv = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 1, proc.stderr
    assert _last_error(proc) == "escape-bot: error: gate failed: 3 new heap escapes"
    # the comment rebuilt from the artifact is byte for byte the one auto mode wrote: no edit
    assert [c.id for c in github.comments_on(7)] == [comment.id]
    assert github.requests("PATCH", r"/issues/comments/") == []
    _, publish_check = github.check_runs.values()
    assert publish_check.summary == auto_check.summary
    assert publish_check.annotations == auto_check.annotations
    assert (publish_check.head_sha, publish_check.conclusion) == (analyzed.head, "failure")
    assert Path(penv["GITHUB_STEP_SUMMARY"]).read_text() == analyzed.summary
    report = json.loads(
        Path(
            dict(line.split("=", 1) for line in Path(penv["GITHUB_OUTPUT"]).read_text().splitlines())[
                "report-path"
            ]
        ).read_text()
    )
    assert report["gate"] == {"verdict": "fail", "reason": "3 new heap escapes"}
    assert report["pull_request"] == {"number": 7, "head_sha": analyzed.head}


@pytest.mark.parametrize(
    ("payload", "pull_head", "message"),
    [
        # the artifact claims a commit its own run did not build (GitHub's payload says which)
        (
            _workflow_run("e" * 40),
            None,
            "not published: the results are for {head12}, the workflow run that uploaded them built "
            "eeeeeeeeeeee",
        ),
        # a same-repository run lists its PRs: the artifact must name one of them
        (None, None, "not published: the results name pull request #7, the workflow run belongs to #8"),
        # the PR moved on while the results were on their way
        (
            None,
            "d" * 40,
            "not published: pull request #7 is at dddddddddddd now and the results are for {head12}",
        ),
    ],
    ids=["other-commit", "other-pull-request", "stale"],
)
def test_results_for_another_commit_are_refused(
    github: FakeGitHub,
    tmp_path: Path,
    analyzed: Analyzed,
    payload: dict[str, Any] | None,
    pull_head: str | None,
    message: str,
) -> None:
    github.add_pull(7, pull_head or analyzed.head, head_repo=FORK)
    if payload is None and pull_head is None:
        payload = _workflow_run(analyzed.head, pull_requests=(8,))
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy(), payload=payload)
    assert proc.returncode == 3
    assert _last_error(proc).startswith("escape-bot: error: " + message.format(head12=analyzed.head[:12]))
    assert proc.stdout.startswith("::error::not published: ")
    assert github.comments == {} and github.check_runs == {}
    assert [r.method for r in github.log] == (["GET"] if pull_head else [])


def test_a_pull_request_from_another_fork_is_refused(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    github.add_pull(7, analyzed.head, head_repo="someone-else/demo")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 3
    assert (
        "not published: pull request #7 comes from someone-else/demo, the workflow run from forker/demo"
        in proc.stderr
    )


def test_the_verdict_is_recomputed_not_read(github: FakeGitHub, tmp_path: Path, analyzed: Analyzed) -> None:
    github.add_pull(7, analyzed.head, head_repo=FORK)
    forged = analyzed.copy()
    forged["results"]["gate"] = {"verdict": "pass", "reason": "trust me"}  # ignored: not read
    forged["results"]["counts"]["new"] = 0
    proc, _ = publish(github, tmp_path, analyzed, forged)
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert check.conclusion == "failure" and "trust me" not in check.summary

    # the recorded policy is followed: `fail-on: never` in the pull_request run only warns
    lenient = analyzed.copy()
    lenient["gate"]["fail_on_new"] = False
    proc, _ = publish(github, tmp_path, analyzed, lenient)
    assert proc.returncode == 0, proc.stderr
    assert list(github.check_runs.values())[-1].conclusion == "neutral"

    forged["verdict"] = "pass"  # our own envelope has no such field
    proc, _ = publish(github, tmp_path, analyzed, forged)
    assert proc.returncode == 3
    assert (
        "is malformed at $: Additional properties are not allowed ('verdict' was unexpected)" in proc.stderr
    )


def _assert_inert(markdown: str) -> None:
    """What a Markdown renderer sees: hostile text only in code, never HTML, a mention or a link."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    inline = [c for t in tokens if t.type == "inline" for c in (t.children or [])]
    assert [c.content for c in inline if c.type == "html_inline"] == []
    for c in inline:
        if c.type == "text":
            assert not re.search(r"@(?!\u200b)\w", c.content), c.content
            assert not re.search(r"#(?!\u200b)\d", c.content), c.content
    lines = [line for t in tokens if t.type == "html_block" for line in t.content.strip().splitlines()]
    allowed = re.compile(r"^(<!-- escape-bot:default -->|<details><summary>[^<>]*</summary>|</details>)$")
    assert all(allowed.match(line) for line in lines), lines
    assert sum(line.startswith("<details>") for line in lines) == lines.count("</details>") > 0
    widths = {sum(1 for c in row if c.type in ("td_open", "th_open")) for row in _rows(tokens)}
    assert widths <= {2, 4}, widths  # the cause table and the escape tables: no `|` broke out


def _rows(tokens: list[Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for t in tokens:
        if t.type == "tr_open":
            rows.append([])
        elif rows:
            rows[-1].append(t)
    return rows


HOSTILE = "`x` <!-- escape-bot:default --> @octocat #1 <img src=x onerror=alert(1)> | ``` </details>"


def test_injected_markdown_is_escaped(github: FakeGitHub, tmp_path: Path, analyzed: Analyzed) -> None:
    github.add_pull(7, analyzed.head, head_repo=FORK)
    hostile = analyzed.copy()
    new = hostile["results"]["new"]
    new[0].update(
        file="p/<b>x</b>|`@octocat`.go",
        function="@octocat <script>alert(1)</script>",
        expression=HOSTILE,
        message="<!-- escape-bot:default -->\n**forged**\n-->",
    )
    new[1]["explanation"] = [
        {"flow": HOSTILE + " ← y", "where": "```\n</details>", "why": "@admin", "at": "a.go:1:2"}
    ]
    hostile["results"]["head"]["go_version"] = "go1 <script>@team"
    hostile["results"]["head"]["revision"] = "<!-- escape-bot:default -->"
    proc, _ = publish(github, tmp_path, analyzed, hostile)
    assert proc.returncode == 1, proc.stderr
    (comment,) = github.comments_on(7)
    body = comment.body
    assert body.startswith(MARKER + "\n") and body.count("<!--") == 1
    _assert_inert(body)
    assert "go1 &lt;script&gt;@\u200bteam" in body  # plain text is HTML-escaped
    (check,) = github.check_runs.values()
    assert "<!--" not in check.summary
    _assert_inert(check.summary)
    # annotations carry the path as data for the API, never as Markdown
    assert {a["path"] for a in check.annotations} >= {"p/<b>x</b>|`@octocat`.go"}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: b'{"format": "escape-bot-results", ', "is not valid JSON"),
        (
            lambda d: d["results"]["new"][0].update(line="14"),
            "at $.results.new[0].line: '14' is not of type 'integer'",
        ),
        (lambda d: d["results"]["new"][0].pop("file"), "at $.results.new[0]: 'file' is a required property"),
        (
            lambda d: d["pull_request"].update(head_sha="HEAD"),
            "at $.pull_request.head_sha: 'HEAD' does not match",
        ),
        (lambda d: d.update(name="default\n::error::x"), "at $.name: "),
    ],
    ids=["truncated", "wrong-type", "missing-field", "not-a-sha", "bad-name"],
)
def test_malformed_artifacts_exit_3_before_any_request(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed, tamper: Any, message: str
) -> None:
    document = analyzed.copy()
    changed = tamper(document)
    proc, _ = publish(github, tmp_path, analyzed, changed if isinstance(changed, bytes) else document)
    assert proc.returncode == 3
    line = _last_error(proc)
    assert line.startswith("escape-bot: error: the results artifact ") and message in line
    assert github.log == []
    assert "\n::error::x" not in proc.stdout  # the value is escaped in the workflow command


def test_wrong_name_missing_artifact_and_wrong_event(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    github.add_pull(7, analyzed.head, head_repo=FORK)
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy(), "--name", "linux")
    assert proc.returncode == 3
    assert "the results are for configuration 'default', this step publishes 'linux' (--name)" in proc.stderr

    proc, env = publish(github, tmp_path, analyzed, analyzed.copy())
    (tmp_path / "downloaded" / ARTIFACT_FILE).unlink()
    again = escape_bot_ci("--mode", "publish", "--artifact", str(tmp_path / "downloaded"), env=env)
    assert again.returncode == 3 and "no escape-bot results at" in again.stderr

    no_artifact = escape_bot_ci("--mode", "publish", env=env)
    assert no_artifact.returncode == 2 and "--mode publish needs --artifact DIR" in no_artifact.stderr

    no_token = escape_bot_ci(
        "--mode", "publish", "--artifact", "x", env={k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
    )
    assert no_token.returncode == 2 and "no GitHub token" in no_token.stderr

    wrong = escape_bot_ci(
        "--mode", "publish", "--artifact", "x", env={**env, "GITHUB_EVENT_NAME": "pull_request"}
    )
    assert (
        wrong.returncode == 2
        and "--mode publish runs on workflow_run events, not 'pull_request'" in wrong.stderr
    )

    auto = escape_bot_ci(env=env)  # a workflow_run without --mode publish
    assert auto.returncode == 2 and "--mode publish posts a pull_request run's results" in auto.stderr


def test_a_push_triggered_run_has_nothing_to_publish(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    proc, _ = publish(github, tmp_path, analyzed, b"", payload=_workflow_run(analyzed.base, event="push"))
    assert proc.returncode == 0, proc.stderr
    assert "::notice::escape-bot publishes the results of pull_request runs" in proc.stdout
    assert github.log == []


def test_analyze_needs_no_token_and_posts_nothing(analyzed: Analyzed) -> None:
    assert "GITHUB_TOKEN" not in analyzed.env
    assert analyzed.document["pull_request"] == {
        "number": 7,
        "head_sha": analyzed.head,
        "base_sha": analyzed.base,
    }
    assert analyzed.document["results"]["head"]["commit"] == analyzed.merge
    assert [e["line"] for e in analyzed.document["results"]["new"]] == [14, 19, 24]
    assert analyzed.summary.startswith("**:x: 3 new heap escapes**")
