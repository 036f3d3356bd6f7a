"""The Go environment the bot builds untrusted code in: GOTOOLCHAIN, GOFLAGS, secrets, go.work.

The real `go` runs behind a wrapper script (given with `--go`) that records the environment and
arguments it was started with; the module proxy is a recording HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.gc.run import go_binary
from tests.conftest import GitRepo, go_mod

RET = "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A module proxy that answers 404 to everything and records each path asked for."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def test_a_go_mod_asking_for_another_toolchain_downloads_nothing(
    repo: GitRepo, proxy: tuple[str, list[str]]
) -> None:
    url, requests = proxy
    repo.commit(
        {"go.mod": "module example.com/m\n\ngo 1.99.0\n\ntoolchain go1.99.0\n", "p/p.go": RET}, "new go"
    )
    # the caller asks for toolchain switching: the bot's default (local) wins
    env = {**os.environ, "GOPROXY": url, "GOTOOLCHAIN": "auto", "GONOSUMDB": "*", "GOSUMDB": "off"}
    proc = _run(["collect", "--repo", str(repo.path)], env)
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0].endswith(
        "did not build: go: go.mod requires go >= 1.99.0 (running go "
        + go_version().removeprefix("go")
        + "; GOTOOLCHAIN=local)"
    )
    assert requests == []
    # the proxy does record: `toolchain = "auto"` in the configuration asks it for go1.99.0
    repo.commit({".escape-bot.toml": '[build]\ntoolchain = "auto"\n'}, "auto")
    auto = _run(["collect", "--repo", str(repo.path)], env)
    assert auto.returncode == 3
    assert any("golang.org/toolchain" in r for r in requests), requests


def go_version() -> str:
    out = subprocess.run([go_binary(), "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _wrapper(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "go-calls.txt"
    script = tmp_path / "go"
    script.write_text(
        f"#!/bin/sh\n{{ echo ARGS: \"$*\"; env; echo END; }} >> '{record}'\nexec '{go_binary()}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script, record


def test_goflags_and_secrets_of_the_caller_never_reach_go(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"go.mod": go_mod(), "p/p.go": RET}, "one escape")
    go, record = _wrapper(tmp_path)
    marker = tmp_path / "toolexec-ran"
    env = {
        **os.environ,
        "GOFLAGS": f"-toolexec=touch\\ {marker}",
        "GITHUB_TOKEN": "ghs_secret_value_1",
        "ACTIONS_RUNTIME_TOKEN": "secret_value_2",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid/secret_value_3",
        "ESCAPE_BOT_DATABASE_URL": f"sqlite:///{tmp_path}/secret_value_4.db",  # implies --record
        "DATABASE_URL": "postgresql://u:secret_value_8@127.0.0.1/db",
        "NPM_TOKEN": "secret_value_5",
        "DEPLOY_KEY": "secret_value_6",
        "PGPASSWORD": "secret_value_7",
        "KEEP_ME": "visible",
    }
    proc = _run(["collect", "--repo", str(repo.path), "--go", str(go), "--format", "json"], env)
    assert proc.returncode == 0, proc.stderr
    calls = record.read_text()
    assert calls.count("ARGS: ") >= 2  # `go env` and `go build`
    assert "ARGS: build -o /dev/null -trimpath -gcflags=-m=2" in calls
    assert "secret_value" not in calls and "toolexec" not in calls
    assert "\nGOFLAGS=-mod=readonly\n" in calls and "\nGOTOOLCHAIN=local\n" in calls
    assert "\nKEEP_ME=visible\n" in calls  # the rest of the environment is the caller's
    assert not marker.exists()


def test_configured_goflags_and_cgo_reach_go(repo: GitRepo, tmp_path: Path) -> None:
    config = '[build]\ngoflags = ["-p=1"]\ncgo = false\n'
    repo.commit({"go.mod": go_mod(), "p/p.go": RET, ".escape-bot.toml": config}, "configured")
    go, record = _wrapper(tmp_path)
    proc = _run(["collect", "--repo", str(repo.path), "--go", str(go)], dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    calls = record.read_text()
    assert "\nGOFLAGS=-mod=readonly -p=1\n" in calls and "\nCGO_ENABLED=0\n" in calls
