"""A snapshot stored by an escape-bot that read the compiler differently is never used as a base:
the records' version is part of the toolchain key (real compiler, real git, both backends)."""

from __future__ import annotations

import pytest

from bot import app
from bot.gc import model
from bot.gc.run import BuildOptions
from bot.store import Store
from tests.conftest import GitRepo, go_mod


def test_snapshots_of_another_records_version_are_built_again(
    repo: GitRepo, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit(
        {"go.mod": go_mod(), "p/p.go": "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"}, "F"
    )
    with Store.open(db_url) as store:
        monkeypatch.setattr(model, "RECORDS_VERSION", 1)  # as an older escape-bot stored it
        old, source = app.snapshot_of(repo.path, "HEAD", BuildOptions(), store)
        assert source == "built" and old.toolchain.key.endswith("/records=1")
        assert app.snapshot_of(repo.path, "HEAD", BuildOptions(), store)[1] == "store"
        monkeypatch.setattr(model, "RECORDS_VERSION", 2)
        new, source = app.snapshot_of(repo.path, "HEAD", BuildOptions(), store)
        assert source == "built" and new.toolchain.key.endswith("/records=2")
        assert app.snapshot_of(repo.path, "HEAD", BuildOptions(), store)[1] == "store"
