"""Many repositories of an organisation in one PostgreSQL schema, each by its name (docs/storage.md).

Two real git repositories (the second cloned from the first, so they share a commit, as a fork or
a mirror does) are backfilled at the same time, by two processes, into one real PostgreSQL
schema. Each repository's history read back from there must be exactly what it reads from a
database of its own: no commit, snapshot or escape of one shows in the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.store import Store
from tests.conftest import GIT_ENV, GitRepo, go_mod

ESCAPE = "\nfunc F{n}() *int {{\n\tx := {n}\n\treturn &x\n}}\n"


def _source(package: str, count: int) -> str:
    return f"package {package}\n" + "".join(ESCAPE.format(n=n) for n in range(count))


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ESCAPE_BOT_"))}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, **GIT_ENV},
    )


def _done(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def _repositories(tmp_path: Path) -> tuple[GitRepo, Path]:
    api = GitRepo(tmp_path / "api")
    api.commit({"go.mod": go_mod(), "p/p.go": _source("p", 1)}, "shared base")
    subprocess.run(["git", "clone", "--quiet", str(api.path), str(tmp_path / "web")], check=True)
    for count in (2, 3):
        api.commit({"p/p.go": _source("p", count)}, f"api: {count} escapes")
    web = GitRepo(tmp_path / "web")  # the clone (git init again changes nothing), its own commits
    web.commit({"q/q.go": _source("q", 4)}, "web: package q")
    web.commit({"q/q.go": _source("q", 6), "p/p.go": _source("p", 0)}, "web: more in q, none in p")
    return api, web.path


def _trend(repo: Path, name: str, url: str) -> list[dict[str, object]]:
    out = _done(_cli("trend", "--repo", str(repo), "--name", name, "--db", url, "--format", "json"))
    data = json.loads(out)
    rows: list[dict[str, object]] = data["commits"] if isinstance(data, dict) else data
    return rows


def test_two_repositories_share_one_schema_without_cross_talk(pg_url: str, tmp_path: Path) -> None:
    api, web = _repositories(tmp_path)
    names = {"org/api": api.path, "org/web": web}
    # both at once into the shared schema, each into a SQLite file of its own
    shared = [
        _cli("backfill", "--repo", str(path), "--name", name, "--db", pg_url) for name, path in names.items()
    ]
    for proc in shared:
        _done(proc)
    alone = {name: f"sqlite:///{tmp_path / (name.replace('/', '-') + '.db')}" for name in names}
    for name, path in names.items():
        _done(_cli("backfill", "--repo", str(path), "--name", name, "--db", alone[name]))

    for name, path in names.items():
        assert _trend(path, name, pg_url) == _trend(path, name, alone[name])
    api_trend, web_trend = _trend(api.path, "org/api", pg_url), _trend(web, "org/web", pg_url)
    assert len(api_trend) == len(web_trend) == 3
    assert api_trend[0] == web_trend[0]  # the shared commit, recorded by each under its name
    assert api_trend[1:] != web_trend[1:]

    api_shas = set(api.git("rev-list", "HEAD").split())
    web_shas = set(GitRepo(web).git("rev-list", "HEAD").split())
    with Store.open(pg_url) as store:
        assert store.stored_commits("org/api") == api_shas
        assert store.stored_commits("org/web") == web_shas
        assert len(api_shas & web_shas) == 1
        assert store.stored_commits("org/elsewhere") == set()
