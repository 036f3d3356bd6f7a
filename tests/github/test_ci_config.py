"""`escape-bot ci` with a configuration file: allow-list, acceptance label, build configurations.

Real git, the real compiler, real HTTP to the fake GitHub (tests/github/fake.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import GitRepo
from tests.github.fake import BOT, FakeGitHub
from tests.github.workflow import BASE_GO, HEAD_GO, PullRequestRun, pull_request

ALLOW_RET = '[[allow]]\npackage = "example.com/m/p"\nfunction = "Ret"\nreason = "Ret hands out a fresh T"\n'


def _relabel(run: PullRequestRun, labels: list[str], **extra: Any) -> None:
    """The same PR, with `labels` on it (and an event action, sender, label...)."""
    path = Path(run.env["GITHUB_EVENT_PATH"])
    payload = json.loads(path.read_text())
    payload["pull_request"]["labels"] = [{"name": name} for name in labels]
    payload.update(extra)
    path.write_text(json.dumps(payload))


def test_allow_list_from_the_configuration_file(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = pull_request(
        repo, github, tmp_path, {"p/p.go": BASE_GO, ".escape-bot.toml": ALLOW_RET}, {"p/p.go": HEAD_GO}
    )
    proc = run.run()
    assert proc.returncode == 1, proc.stderr  # two more escapes are not allowed
    (comment,) = [c for c in github.comments_on(7) if c.login == BOT]
    assert "**Allowed** (1 escape, not gated):" in comment.body  # its own short section, not collapsed
    assert "Ret hands out a fresh T" in comment.body
    assert "The gate failed: 2 new heap escapes, 1 allowed." in comment.body
    (check,) = github.check_runs.values()
    assert sorted(a["start_line"] for a in check.annotations if a["annotation_level"] == "failure") == [
        19,
        24,
    ]


def test_acceptance_label_passes_and_names_who(repo: GitRepo, github: FakeGitHub, tmp_path: Path) -> None:
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO}, {"p/p.go": HEAD_GO})
    _relabel(
        run,
        ["escape-bot/accept"],
        action="labeled",
        label={"name": "escape-bot/accept"},
        sender={"login": "mona"},
    )
    proc = run.run()
    assert proc.returncode == 0, proc.stderr
    (comment,) = github.comments_on(7)
    assert "accepted by @\u200bmona with the pull request's acceptance label" in comment.body
    (check,) = github.check_runs.values()
    assert check.conclusion == "success"

    # a later push to the labelled PR: the timeline says who added the label
    github.add_label_event(7, "escape-bot/accept", "hubot")
    _relabel(run, ["escape-bot/accept"], action="synchronize")
    assert run.run().returncode == 0
    (comment,) = github.comments_on(7)
    assert "accepted by @\u200bhubot" in comment.body
    # another label does nothing
    _relabel(
        run, ["needs-review"], action="labeled", label={"name": "needs-review"}, sender={"login": "mona"}
    )
    assert run.run().returncode == 1


def test_each_build_configuration_gets_its_own_comment_and_check(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    config = '[[build]]\nname = "amd64"\ngoarch = "amd64"\n\n[[build]]\nname = "i386"\ngoarch = "386"\n'
    big = "package p\n\nfunc Big() int {\n\tc := new([10000]int)\n\treturn c[0]\n}\n"
    run = pull_request(
        repo, github, tmp_path, {"p/p.go": "package p\n", ".escape-bot.toml": config}, {"p/p.go": big}
    )
    proc = run.run()
    assert proc.returncode == 1, proc.stderr
    bodies = {c.body.splitlines()[0]: c.body for c in github.comments_on(7)}
    assert set(bodies) == {"<!-- escape-bot:amd64 -->", "<!-- escape-bot:i386 -->"}
    assert "1 new heap escape" in bodies["<!-- escape-bot:amd64 -->"]
    assert "No change in heap escapes" in bodies["<!-- escape-bot:i386 -->"]
    conclusions = {c.name: c.conclusion for c in github.check_runs.values()}
    assert conclusions == {"escape-bot (amd64)": "failure", "escape-bot (i386)": "success"}
    # one SARIF file per configuration, each its own category, and outputs for all of them
    sarif_dir = Path(run.outputs["sarif-path"])
    assert sorted(p.name for p in sarif_dir.iterdir()) == ["amd64.sarif", "i386.sarif"]
    for name in ("amd64", "i386"):
        (sarif_run,) = json.loads((sarif_dir / f"{name}.sarif").read_text())["runs"]
        assert sarif_run["automationDetails"]["id"] == f"escape-bot/{name}/"
    assert (run.outputs["new-count"], run.outputs["verdict"], run.outputs["names"]) == (
        "1",
        "fail",
        "amd64,i386",
    )
    reports = {json.loads(p.read_text())["name"] for p in sarif_dir.parent.glob("*/report.json")}
    assert reports == {"amd64", "i386"}  # the reports did not overwrite each other


def test_the_comment_names_the_configured_acceptance_label(
    repo: GitRepo, github: FakeGitHub, tmp_path: Path
) -> None:
    config = {".escape-bot.toml": '[accept]\nlabel = "perf-ok"\n'}
    run = pull_request(repo, github, tmp_path, {"p/p.go": BASE_GO, **config}, {"p/p.go": HEAD_GO})
    assert run.run().returncode == 1
    (comment,) = github.comments_on(7)
    assert "add the label `perf-ok` to the pull request" in comment.body
    assert "escape-bot/accept" not in comment.body
