"""Fixtures for the GitHub layer: a fake GitHub REST server on 127.0.0.1 (see fake.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.github.fake import FakeGitHub


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours proxy variables; loopback must never go through one
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def http_server() -> Iterator[HTTPServer]:
    """One real HTTP server for the session; handlers are cleared after each test."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def github(http_server: HTTPServer) -> Iterator[FakeGitHub]:
    """The fake at the root (github.com style: https://api.github.com/repos/...)."""
    fake = FakeGitHub(http_server)
    yield fake
    try:
        http_server.check_handler_errors()
    finally:
        http_server.clear()


@pytest.fixture
def ghes(http_server: HTTPServer) -> Iterator[FakeGitHub]:
    """The fake under a GitHub Enterprise Server prefix (https://HOST/api/v3/repos/...)."""
    fake = FakeGitHub(http_server, prefix="/api/v3")
    yield fake
    try:
        http_server.check_handler_errors()
    finally:
        http_server.clear()
