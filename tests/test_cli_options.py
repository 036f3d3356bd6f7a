"""Every option of every command is settable from its environment variable,
`ESCAPE_BOT_<COMMAND>_<OPTION>` (docs/usage.md), and means what its command-line spelling means."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.core import ParameterSource

from bot.cli import cli
from bot.commands.group import walk
from tests.conftest import GitRepo, go_mod
from tests.store.conftest import database, postgresql_server

__all__ = ["postgresql_server"]  # the session fixture, for the PostgreSQL database below

SHARED = {"--db": "ESCAPE_BOT_DATABASE_URL", "--config": "ESCAPE_BOT_CONFIG", "--go": "ESCAPE_BOT_GO"}


def options() -> list[tuple[tuple[str, ...], click.Command, click.Option]]:
    found = []
    for path, command in walk(cli):
        for param in command.params:
            if isinstance(param, click.Option) and param.expose_value:
                found.append((path, command, param))
    return found


OPTIONS = options()


def long_name(option: click.Option) -> str:
    return next(o for o in option.opts if o.startswith("--"))


def expected_name(path: tuple[str, ...], option: click.Option) -> str:
    """The documented convention, spelled out here rather than taken from bot/."""
    words = ["ESCAPE_BOT", *path, long_name(option)[2:]]
    return "_".join(w.upper().replace("-", "_") for w in words)


def sample(option: click.Option) -> tuple[str, list[str]]:
    """A value other than the default, as the variable spells it and as the command line does."""
    opt = long_name(option)
    if option.is_flag and option.is_bool_flag:
        if option.secondary_opts and option.default:
            return "false", [option.secondary_opts[0]]
        return "true", [opt]
    if isinstance(option.type, click.Choice):
        value = next(str(c) for c in reversed(option.type.choices) if c != option.default)
        return value, [opt, value]
    if isinstance(option.type, click.types.IntParamType):
        return "3", [opt, "3"]
    if isinstance(option.type, click.types.FloatParamType):
        return "2.5", [opt, "2.5"]
    if option.multiple:
        separator = os.pathsep if isinstance(option.type, click.Path) else " "
        return f"one{separator}two", [opt, "one", opt, "two"]
    return "some-value", [opt, "some-value"]


def required(command: click.Command, but: click.Option) -> list[str]:
    """Command-line values for the command's other required options (diff --base)."""
    args = []
    for param in command.params:
        if isinstance(param, click.Option) and param.required and param is not but:
            args += [long_name(param), "v1"]
    return args


def clean_env(monkeypatch: pytest.MonkeyPatch, option: click.Option) -> None:
    envvars = [option.envvar] if isinstance(option.envvar, str) else list(option.envvar or [])
    for name in envvars:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("path", "command", "option"),
    OPTIONS,
    ids=[f"{' '.join(p)} {long_name(o)}" for p, _, o in OPTIONS],
)
def test_every_option_reads_its_variable(
    monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], command: click.Command, option: click.Option
) -> None:
    name = expected_name(path, option)
    assert option.envvar and name == (option.envvar if isinstance(option.envvar, str) else option.envvar[0])
    assert option.show_envvar
    clean_env(monkeypatch, option)
    env_value, argv = sample(option)
    others = required(command, option)
    from_argv = command.make_context(path[-1], [*argv, *others])
    monkeypatch.setenv(name, env_value)
    from_env = command.make_context(path[-1], list(others))
    assert from_env.get_parameter_source(option.name or "") is ParameterSource.ENVIRONMENT
    assert from_env.params[option.name or ""] == from_argv.params[option.name or ""]
    assert from_env.params[option.name or ""] != option.get_default(from_env)
    # and `--help` names it
    assert name in command.get_help(from_env).replace("\n", " ").replace("  ", " ").replace("- ", "-")


def test_variable_names_are_unique() -> None:
    names = [expected_name(path, option) for path, _, option in OPTIONS]
    assert len(names) == len(set(names))
    assert not set(names) & set(SHARED.values())
    assert "ESCAPE_BOT_DB_UPGRADE_DB" in names and "ESCAPE_BOT_CONFIG_CHECK_CONFIG" in names


SHARED_OPTIONS = [o for o in OPTIONS if long_name(o[2]) in SHARED]


@pytest.mark.parametrize(
    ("path", "command", "option"),
    SHARED_OPTIONS,
    ids=[f"{' '.join(p)} {long_name(o)}" for p, _, o in SHARED_OPTIONS],
)
def test_shared_variables_still_work_and_yield_to_the_command_own(
    monkeypatch: pytest.MonkeyPatch, path: tuple[str, ...], command: click.Command, option: click.Option
) -> None:
    clean_env(monkeypatch, option)
    shared, name = SHARED[long_name(option)], expected_name(path, option)
    others = required(command, option)

    def value(args: list[str]) -> str:
        return str(command.make_context(path[-1], [*args, *others]).params[option.name or ""])

    monkeypatch.setenv(shared, "shared-value")
    assert value([]) == "shared-value"
    monkeypatch.setenv(name, "own-value")
    assert value([]) == "own-value"
    assert value([long_name(option), "argv-value"]) == "argv-value"  # the command line wins over both


# ---- end to end: the real command, a real repository ------------------------------------

RET = "package p\n\ntype T struct{ A int }\n\nfunc Ret() *T {\n\tt := T{A: 1}\n\treturn &t\n}\n"


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ESCAPE_BOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_diff_base_and_format_from_the_environment(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    repo.commit({"p/p.go": RET}, "escape")
    env = {
        "ESCAPE_BOT_DIFF_BASE": base,
        "ESCAPE_BOT_DIFF_FORMAT": "json",
        "ESCAPE_BOT_DIFF_STORE": "false",
    }
    proc = run("diff", "--repo", str(repo.path), env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["base"]["commit"] == base
    assert [e["expression"] for e in data["new"] if e["kind"] == "moved-to-heap"] == ["t"]
    assert not (repo.path / ".escape-bot").exists()  # --no-store came from the environment too


def test_collect_format_from_the_environment(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "escape")
    proc = run(
        "collect", env={"ESCAPE_BOT_COLLECT_FORMAT": "json", "ESCAPE_BOT_COLLECT_REPO": str(repo.path)}
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"]["by_cause"] == {"returned": 1}


def test_nested_command_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested.db'}"
    proc = run("db", "upgrade", env={"ESCAPE_BOT_DB_UPGRADE_DB": url})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "nested.db").is_file()
    assert "upgraded from empty" in proc.stdout
    current = run("db", "current", env={"ESCAPE_BOT_DB_CURRENT_DB": url})
    assert "up to date" in current.stdout, current.stderr


def test_a_misspelt_variable_is_not_ignored_silently(repo: GitRepo) -> None:
    proc = run("causes", env={"ESCAPE_BOT_DIFF_BSAE": "v1.7.0"})
    assert proc.returncode == 0
    assert "escape-bot: warning: ESCAPE_BOT_DIFF_BSAE names no option" in proc.stderr
    assert run("causes", env={"ESCAPE_BOT_DIFF_BASE": "v1.7.0"}).stderr == ""


# ---- --name: one repository name for backfill, collect, diff and the history commands -----


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, request, tmp_path) as url:
        yield url


def repositories(url: str) -> list[str]:
    from sqlalchemy import text

    from bot.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT name FROM repository ORDER BY name"))]
    finally:
        engine.dispose()


def test_diff_with_the_backfill_name_reuses_its_snapshots(repo: GitRepo, store_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    head = repo.commit({"p/p.go": RET}, "escape")
    filled = run("backfill", "--repo", str(repo.path), "--db", store_url, "--name", "acme/service", env={})
    assert filled.returncode == 0, filled.stderr
    assert "2 to build" in filled.stdout
    assert repositories(store_url) == ["acme/service"]

    args = ("diff", "--repo", str(repo.path), "--db", store_url, "--base", base, "--head", head)
    proc = run(*args, "--format", "json", env={"ESCAPE_BOT_DIFF_NAME": "acme/service"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    # both taken from the store: nothing rebuilt, no second repository
    assert (data["base_source"], data["head_source"]) == ("store", "store")
    assert [e["expression"] for e in data["new"] if e["kind"] == "moved-to-heap"] == ["t"]
    assert repositories(store_url) == ["acme/service"]

    # collect --record with the same name finds HEAD stored too
    collected = run("collect", "--repo", str(repo.path), "--db", store_url, "--name", "acme/service", env={})
    assert collected.returncode == 0, collected.stderr
    assert "already in" in collected.stderr
    assert repositories(store_url) == ["acme/service"]

    # without --name, the directory's name: a repository of its own, built again
    other = run(*args, "--format", "json", env={})
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["base_source"] == "built"
    assert repositories(store_url) == ["acme/service", repo.path.name]


def test_collect_name_needs_a_database(repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "escape")
    proc = run("collect", "--repo", str(repo.path), "--name", "acme/service", env={})
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(
        "--name names the repository in the database: use it with --record or --db"
    )


def test_ci_records_a_push_under_its_name(repo: GitRepo, store_url: str, tmp_path: Path) -> None:
    """A push as GitHub Actions reports it (the variables the runner sets; no API call is made
    for a push), recorded under --name rather than $GITHUB_REPOSITORY; `top` reads it back."""
    sha = repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "escape")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"ref": "refs/heads/main", "after": sha, "repository": {"default_branch": "main"}})
    )
    for name in ("summary.md", "output.txt"):
        (tmp_path / name).write_text("")
    actions = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "acme/service",
        "GITHUB_SHA": sha,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "RUNNER_TEMP": str(tmp_path),
    }
    args = ("--repo", str(repo.path), "--db", store_url, "--no-comment", "--check", "none")
    proc = run("ci", *args, env={**actions, "ESCAPE_BOT_CI_NAME": "acme/mirror"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repositories(store_url) == ["acme/mirror"]
    top = run(
        "top",
        "--repo",
        str(repo.path),
        "--db",
        store_url,
        "--name",
        "acme/mirror",
        "--format",
        "json",
        env={},
    )
    assert top.returncode == 0, top.stderr
    assert json.loads(top.stdout)["commit"]["sha"] == sha
