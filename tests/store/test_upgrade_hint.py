"""The outdated-schema message names the command that upgrades that very database: run as printed
(on the test server, which trusts loopback, the masked password logs in too), it upgrades it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from bot.store.db import current, head_revision, upgrade
from tests.conftest import GitRepo, go_mod
from tests.store.conftest import with_password

OLD_REVISION = "0001"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_the_hint_upgrades_the_database_it_names(db_url: str, repo: GitRepo) -> None:
    repo.commit({"go.mod": go_mod()}, "one")
    url = with_password(db_url)
    upgrade(url, OLD_REVISION)
    for command in ("trend", "backfill"):  # a reading command and a recording one
        refused = run(command, "--repo", str(repo.path), "--db", url, "--name", "acme/service")
        assert refused.returncode == 3
        [line] = refused.stderr.splitlines()
        assert "secret" not in line
        assert f"is at revision {OLD_REVISION}, this escape-bot needs {head_revision()}" in line
    hint = re.fullmatch(r".*: run `(.*)`", line)
    assert hint is not None, line
    argv = shlex.split(hint.group(1))
    assert argv[:4] == ["escape-bot", "db", "upgrade", "--db"]
    if db_url.startswith("postgresql"):
        assert argv[4].startswith("postgresql://postgres:***@127.0.0.1")
        assert "search_path" in argv[4]  # the schema of this test, not the server's default one
    upgraded = run(*argv[1:])
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from {OLD_REVISION} to {head_revision()}" in upgraded.stdout
    assert current(url) == head_revision()
