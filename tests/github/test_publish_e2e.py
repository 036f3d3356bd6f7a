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

from bot.github.artifact_format import ARTIFACT_FILE
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


def _pull(
    github: FakeGitHub, a: Analyzed, *, config: str | None = None, head: str | None = None, **kw: Any
) -> None:
    """Pull request #7 as the API shows it, on the analysed base commit, whose files (and
    `.escape-bot.toml`, when given) the contents API serves."""
    github.add_pull(7, head or a.head, head_repo=kw.pop("head_repo", FORK), base_sha=a.base, **kw)
    github.add_file(a.base, "p/p.go", BASE_GO)
    if config is not None:
        github.add_file(a.base, ".escape-bot.toml", config)


def _report(env: dict[str, str]) -> dict[str, Any]:
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    data: dict[str, Any] = json.loads(Path(outputs["report-path"]).read_text())
    return data


def _report_path(env: dict[str, str], output: str) -> str:
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    return outputs[output]


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

    _pull(github, analyzed)
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
    _pull(github, analyzed, head=pull_head)
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
    _pull(github, analyzed, head_repo="someone-else/demo")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 3
    assert (
        "not published: pull request #7 comes from someone-else/demo, the workflow run from forker/demo"
        in proc.stderr
    )


def test_the_verdict_is_recomputed_not_read(github: FakeGitHub, tmp_path: Path, analyzed: Analyzed) -> None:
    _pull(github, analyzed)
    forged = analyzed.copy()
    forged["results"]["gate"] = {"verdict": "pass", "reason": "trust me"}  # ignored: not read
    forged["results"]["counts"]["new"] = 0
    proc, _ = publish(github, tmp_path, analyzed, forged)
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert check.conclusion == "failure" and "trust me" not in check.summary

    forged["verdict"] = "pass"  # our own envelope has no such field
    proc, _ = publish(github, tmp_path, analyzed, forged)
    assert proc.returncode == 3
    assert "is malformed at $: Object contains unknown field `verdict`" in proc.stderr


# the policies forged artifacts carried (issue #13): each turned the failing gate green
FORGED_POLICIES = {
    "no-kinds": {"kinds": []},
    "huge-budget": {"budget": 1_000_000_000},
    "allow-everything": {
        "allow": [
            {"package": "**", "function": "**", "expression": None, "cause": None, "reason": "x", "key": "a"}
        ]
    },
    "fail-never": {"fail_on_new": False},
    "pathological-glob": {
        "allow": [
            {
                "package": "**/**/**/**/**/**/**/**/x",
                "function": "**",
                "expression": None,
                "cause": None,
                "reason": "x",
                "key": "a",
            }
        ]
    },
}


@pytest.mark.parametrize("forged", FORGED_POLICIES.values(), ids=FORGED_POLICIES.keys())
def test_an_artifact_carries_no_policy(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed, forged: dict[str, Any]
) -> None:
    """A policy in the artifact is refused: the artifact is data; schema-valid data is then gated
    by the base branch's policy (the next test)."""
    _pull(github, analyzed)
    document = analyzed.copy()
    document["gate"] = {
        "fail_on_new": True,
        "kinds": ["moved-to-heap"],
        "budget": 0,
        "budgets": [],
        "allow": [],
    }
    document["gate"].update(forged)
    proc, _ = publish(github, tmp_path, analyzed, document)
    assert proc.returncode == 3
    assert "is malformed at $: Object contains unknown field `gate`" in proc.stderr
    assert github.comments == {} and github.check_runs == {}


@pytest.mark.parametrize(
    ("config", "exit_code", "conclusion", "reason"),
    [
        # no configuration on the base branch: the defaults, whatever the PR's own file said
        (None, 1, "failure", "3 new heap escapes"),
        ("[gate]\nmax-new = 5\n", 0, "success", "3 new heap escapes, within the budget of 5"),
        ('[gate]\nfail-on = "never"\n', 0, "neutral", "3 new heap escapes (not gated)"),
        ('[gate]\nkinds = ["leaking-param"]\n', 0, "success", "no new heap escapes"),
        (
            '[[allow]]\npackage = "example.com/m/**"\nfunction = "Ret"\n'
            'reason = "a pool, see www.example.org"\n',
            1,
            "failure",
            "2 new heap escapes, 1 allowed",
        ),
        # the glob that took minutes as a regex: the answer only (bench/bench_globs.py times it)
        (
            '[[allow]]\npackage = "**/**/**/**/**/**/**/**/x"\nfunction = "**"\nreason = "r"\n',
            1,
            "failure",
            "3 new heap escapes",
        ),
        ('exclude = ["p/**"]\n', 0, "success", "no new heap escapes"),
    ],
    ids=["defaults", "budget", "fail-never", "kinds", "allow", "pathological-glob", "exclude"],
)
def test_the_policy_is_the_base_branch_configuration(
    github: FakeGitHub,
    tmp_path: Path,
    analyzed: Analyzed,
    config: str | None,
    exit_code: int,
    conclusion: str,
    reason: str,
) -> None:
    _pull(github, analyzed, config=config)
    proc, penv = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == exit_code, proc.stderr
    (check,) = github.check_runs.values()
    assert check.conclusion == conclusion
    assert _report(penv)["gate"]["reason"] == reason
    (read,) = github.requests("GET", r"/contents/")
    assert read.path == "/repos/octo/demo/contents/.escape-bot.toml" and read.query == f"ref={analyzed.base}"
    if config and "www." in config:
        (comment,) = github.comments_on(7)
        assert "a pool, see www\u200b.example.org" in comment.body  # GitHub would autolink www.

    # a broken configuration on the base branch is a configuration error, not the defaults
    github.add_file(analyzed.base, ".escape-bot.toml", "[gate]\nmax-new = -1\n")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 2
    assert f".escape-bot.toml of main ({analyzed.base[:12]}): gate.max-new" in proc.stderr


def test_the_publish_workflows_own_configuration(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    """`--config` in the publish step: the file of its own checkout of the default branch."""
    _pull(github, analyzed, config="[gate]\nmax-new = 5\n")
    own = tmp_path / "own.toml"
    own.write_text('[gate]\nfail-on = "never"\n')
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy(), "--config", str(own))
    assert proc.returncode == 0, proc.stderr
    assert [c.conclusion for c in github.check_runs.values()] == ["neutral"]
    assert github.requests("GET", r"/contents/") == []


def _suppressed(a: Analyzed) -> dict[str, Any]:
    """The artifact of a head whose `return &t` (line 15) carries an allow comment above it."""
    document = a.copy()
    document["annotations"]["p/p.go"] = {
        "suppressions": [
            {"line": 13, "reason": "pooled", "lines": ["\t// escape-bot:allow pooled", "\tt := T{A: 1}"]}
        ],
        "noescape_lines": [],
        "noescape_functions": [],
    }
    return document


def test_suppressions_the_pull_request_adds_do_not_count(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    ret = [e for e in analyzed.document["results"]["new"] if e["function"] == "Ret"]
    assert [e["line"] for e in ret] == [14]  # `t := T{A: 1}` moves to the heap
    _pull(github, analyzed)  # the base's p/p.go has no such comment
    proc, _ = publish(github, tmp_path, analyzed, _suppressed(analyzed))
    assert proc.returncode == 1, proc.stderr
    assert "::notice::1 //escape-bot:allow comment added by the pull request was not counted" in proc.stdout
    (check,) = github.check_runs.values()
    assert ": 3 new heap escapes." in check.summary

    # the same comment on the base branch: unchanged, so it counts
    github.add_file(
        analyzed.base, "p/p.go", BASE_GO + "\nfunc Old() {\n\t// escape-bot:allow pooled\n\tt := T{A: 1}\n}\n"
    )
    proc, env = publish(github, tmp_path, analyzed, _suppressed(analyzed))
    assert proc.returncode == 1, proc.stderr
    assert "allowed inline \\(line 13\\): pooled" in github.comments_on(7)[0].body
    assert _report(env)["gate"]["reason"] == "2 new heap escapes, 1 allowed"


def test_added_suppressions_count_when_the_base_policy_says_so(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    _pull(github, analyzed, config="[gate]\npr-suppressions = true\nmax-new = 2\n")
    proc, _ = publish(github, tmp_path, analyzed, _suppressed(analyzed))
    assert proc.returncode == 0, proc.stderr
    (comment,) = github.comments_on(7)
    assert "allowed inline by a comment this pull request adds \\(line 13\\): pooled" in comment.body
    assert "::notice::" not in proc.stdout


def test_a_fork_pull_request_accepted_by_label(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    _pull(github, analyzed)
    github.add_label_event(7, "escape-bot/accept", "maintainer")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 0, proc.stderr
    (check,) = github.check_runs.values()
    assert check.conclusion == "success"
    (comment,) = github.comments_on(7)
    assert "accepted by @\u200bmaintainer with the pull request's acceptance label" in comment.body
    assert [r.path for r in github.requests("GET", "/events")] == ["/repos/octo/demo/issues/7/events"]

    # removed again: the API's labels decide, not an old event
    github.add_label_event(7, "escape-bot/accept", "maintainer", event="unlabeled")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 1, proc.stderr
    # the base branch names another label: the default one accepts nothing
    github.add_label_event(7, "escape-bot/accept", "maintainer")
    github.add_file(analyzed.base, ".escape-bot.toml", '[accept]\nlabel = "perf-ok"\n')
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 1, proc.stderr
    github.add_label_event(7, "perf-ok", "lead")
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 0, proc.stderr
    assert "accepted by @\u200blead" in github.comments_on(7)[0].body


def test_a_pull_request_whose_fork_was_deleted(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    _pull(github, analyzed, fork_deleted=True)  # `head.repo: null`
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy())
    assert proc.returncode == 3
    assert _last_error(proc) == (
        "escape-bot: error: not published: GitHub names no head repository for pull request #7 "
        "(its fork was deleted), so nothing confirms that the workflow run built it"
    )
    assert github.comments == {} and github.check_runs == {}

    # the other side silent: a workflow_run payload without head_repository
    _pull(github, analyzed)
    payload = _workflow_run(analyzed.head)
    payload["workflow_run"]["head_repository"] = None
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy(), payload=payload)
    assert proc.returncode == 3
    assert "not published: the workflow run names no head repository" in proc.stderr
    assert github.comments == {} and github.check_runs == {}


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
    _pull(github, analyzed)
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
            "at $.results.new[0].line: Expected `int`, got `str`",
        ),
        (
            lambda d: d["results"]["new"][0].pop("file"),
            "at $.results.new[0]: Object missing required field `file`",
        ),
        (
            lambda d: d["pull_request"].update(head_sha="HEAD"),
            "at $.pull_request.head_sha: Expected `str` matching regex",
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


HIDDEN = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200c-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
TRICKY_FILE = "p/\u202eog.x\nb.go:99"  # shows as `p/x.go` reversed; a second line; a fake position
URLS = "see https://evil.example/x, www.evil.example and a@b.example"


def _gfm(markdown: str) -> list[Any]:
    """GitHub-flavoured reading: tables, and autolinks of URLs and e-mail addresses (linkify-it;
    not its fuzzy bare domains, which GitHub does not link; `www.` is checked by hand)."""
    md = MarkdownIt("gfm-like")
    md.linkify.set({"fuzzy_link": False})
    tokens = md.parse(markdown)
    return [c for t in tokens if t.type == "inline" for c in (t.children or [])]


def test_a_file_named_with_bidi_controls_and_a_newline(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    """Read back as GFM: no link but ours, no mention, no raw control character, one record."""
    config = f'[[allow]]\npackage = "**"\nfunction = "Keep"\nreason = "{URLS}"\n'
    _pull(github, analyzed, config=config)
    hostile = analyzed.copy()
    new = hostile["results"]["new"]
    new[0].update(
        file=TRICKY_FILE, function="Ret\u2066@octocat\u2069", expression="t // https://evil.example"
    )
    new[2].update(file="p/x.go\n::error file=p/p.go,line=1::forged", message=URLS)
    hostile["results"]["head"]["go_version"] = "go1.27 https://evil.example/go"
    hostile["results"]["head"]["tags"] = ["www.evil.example", "\u202egat"]
    github.fail("POST", r"/repos/octo/demo/check-runs", 403, "Resource not accessible by integration")
    proc, env = publish(github, tmp_path, analyzed, hostile)
    assert proc.returncode == 1, proc.stderr
    (comment,) = github.comments_on(7)
    body = comment.body
    _assert_inert(body)
    inline = _gfm(body)
    links = [c.attrs["href"] for c in inline if c.type == "link_open"]
    assert links and all(str(h).startswith("https://github.example/octo/demo/") for h in links), links
    for c in inline:
        if c.type == "text":
            assert not re.search(r"(?i)\bwww\.", c.content), c.content
            assert not re.search(r"@(?!\u200b)\w", c.content), c.content
    assert not HIDDEN.search(body), [hex(ord(ch)) for ch in HIDDEN.findall(body)]
    # the name is shown quoted, with what is hidden in it spelled out
    assert '`"p/\\u202eog.x\\nb.go:99":14`' in body
    assert (
        "a pool" not in body
        and "see https:\u200b//evil.example/x, www\u200b.evil.example and a\u200b@\u200bb.example" in body
    )
    assert "go1.27 https:\u200b//evil.example/go" in body

    # the check run was refused: the annotations went out as workflow commands, one line each
    lines = proc.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::error")]
    assert len(commands) == 3, commands  # one per new escape
    assert all(not HIDDEN.search(line) for line in lines)
    assert "::error file=p/\\u202eog.x\\nb.go%3A99,line=14,title=" in commands[0], commands
    assert "file=p/x.go\\n%3A%3Aerror file=p/p.go%2Cline=1%3A%3Aforged,line=24" in commands[2]
    # the log's plain-text list (between ::stop-commands:: fences) holds one line per escape too
    assert not any(line.lstrip().startswith("::error file=p/p.go,line=1::forged") for line in lines)
    assert any(line.startswith('  "p/\\u202eog.x\\nb.go:99":14:') for line in lines)

    # SARIF: the file is a relative URI, no scheme, no newline
    sarif = json.loads(Path(_report_path(env, "sarif-path")).read_text())
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
    ]
    assert "p/%E2%80%AEog.x%0Ab.go%3A99" in uris and all(":" not in u and "\n" not in u for u in uris)


def test_check_run_annotations_show_hidden_characters(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    _pull(github, analyzed)
    hostile = analyzed.copy()
    hostile["results"]["new"][0].update(file=TRICKY_FILE, function="Ret\u202e")
    proc, _ = publish(github, tmp_path, analyzed, hostile)
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert {a["path"] for a in check.annotations} == {"p/\\u202eog.x\\nb.go:99", "p/p.go"}
    text = json.dumps(check.annotations, ensure_ascii=False) + check.summary + check.title
    assert not HIDDEN.search(text)
    assert any("in Ret\\u202e [" in a["message"] for a in check.annotations)


def test_wrong_name_missing_artifact_and_wrong_event(
    github: FakeGitHub, tmp_path: Path, analyzed: Analyzed
) -> None:
    _pull(github, analyzed)
    proc, _ = publish(github, tmp_path, analyzed, analyzed.copy(), "--config-name", "linux")
    assert proc.returncode == 3
    expected = "the results are for configuration 'default', this step publishes 'linux' (--config-name)"
    assert expected in proc.stderr

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


def test_a_pull_request_that_relaxes_its_own_configuration(github: FakeGitHub, tmp_path: Path) -> None:
    """The fork's `.escape-bot.toml` turns its own analyze run green; the publish job, with the base
    branch's policy (none: the defaults), still fails the check."""
    lenient = (
        '[gate]\nfail-on = "never"\nkinds = []\nmax-new = 1000000\n\n'
        '[[allow]]\npackage = "**/**/**/**/**/**/**/**/x"\nfunction = "**"\nreason = "trust me"\n'
    )
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit({"go.mod": go_mod(), "p/p.go": BASE_GO}, "base")
    repo.git("checkout", "--quiet", "-b", "feature")
    head = repo.commit({"p/p.go": HEAD_GO, ".escape-bot.toml": lenient}, "feature")
    merge = merge_commit(repo, base, head, 7)
    env = actions_env(github, tmp_path / "run", "pull_request", pr_payload(7, base, head, FORK), merge)
    del env["GITHUB_TOKEN"]
    proc = escape_bot_ci("--repo", str(repo.path), "--mode", "analyze", env=env)
    assert proc.returncode == 0, proc.stderr  # the PR's own policy: nothing gated
    outputs = dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())
    document = json.loads((Path(outputs["artifact-path"]) / ARTIFACT_FILE).read_text())
    assert len(document["results"]["new"]) == 3 and "gate" not in document

    a = Analyzed(repo.path, base, head, merge, document, "", env)
    _pull(github, a)
    proc, penv = publish(github, tmp_path, a, document)
    assert proc.returncode == 1, proc.stderr
    (check,) = github.check_runs.values()
    assert check.conclusion == "failure" and check.head_sha == head
    assert _report(penv)["gate"]["reason"] == "3 new heap escapes"
    assert "trust me" not in github.comments_on(7)[0].body
