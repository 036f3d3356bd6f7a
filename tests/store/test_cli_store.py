"""The store through the CLI, on SQLite and PostgreSQL: collect --db, diff reusing the base,
db upgrade / current, outdated databases."""

from __future__ import annotations

import json
import subprocess
import sys

from alembic import command

from bot.store import Store
from bot.store.db import alembic_config, head_revision, upgrade_command
from tests.conftest import GitRepo, go_mod

from .conftest import with_password

ESCAPES = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_collect_records_once(repo: GitRepo, db_url: str) -> None:
    sha = repo.commit({"go.mod": go_mod(), "p/p.go": ESCAPES}, "one escape")
    first = run("collect", "--repo", str(repo.path), "--db", db_url, "--format", "json")
    assert first.returncode == 0, first.stderr
    assert f"{sha[:12]}: recorded in" in first.stderr
    second = run("collect", "--repo", str(repo.path), "--db", db_url, "--format", "json")
    assert second.returncode == 0, second.stderr
    assert f"{sha[:12]}: already in" in second.stderr
    assert json.loads(second.stdout)["escapes"] == json.loads(first.stdout)["escapes"]
    with Store.open(db_url) as store:
        assert store.stored_commits(repo.path.name) == {sha}


def test_diff_takes_the_stored_base(repo: GitRepo, db_url: str) -> None:
    base = repo.commit({"go.mod": go_mod(), "p/p.go": "package p\n"}, "empty")
    head = repo.commit({"p/p.go": ESCAPES}, "escape")
    first = run("diff", "--repo", str(repo.path), "--db", db_url, "--base", base)
    assert first.returncode == 0, first.stderr
    assert f"base {base[:12]}: built" in first.stdout
    second = run("diff", "--repo", str(repo.path), "--db", db_url, "--base", base, "--format", "json")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert (data["base_source"], data["head_source"]) == ("store", "store")
    assert data["counts"]["new"] == 1 and data["head"]["commit"] == head
    # a different toolchain key (build tags) is not the same snapshot: built again
    third = run("diff", "--repo", str(repo.path), "--db", db_url, "--base", base, "--tags", "x")
    assert f"base {base[:12]}: built" in third.stdout


def test_outdated_database_and_upgrade(db_url: str) -> None:
    url = with_password(db_url)
    command.upgrade(alembic_config(db_url), "0001")
    proc = run("db", "current", "--db", url)
    assert proc.returncode == 0, proc.stderr
    assert "0001 (this escape-bot needs" in proc.stdout and "secret" not in proc.stdout
    repo_less = run("collect", "--db", url, "--repo", ".", "--rev", "HEAD")
    assert repo_less.returncode == 3
    assert f"run `{upgrade_command(url)}`" in repo_less.stderr and "secret" not in repo_less.stderr
    upgraded = run("db", "upgrade", "--db", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from 0001 to {head_revision()}" in upgraded.stdout
    assert "secret" not in upgraded.stdout
    assert run("db", "upgrade", "--db", url).stdout.strip().endswith(f"already at {head_revision()}")
