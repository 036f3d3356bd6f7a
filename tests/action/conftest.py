"""Fixtures for the action's tests: a copy of the action as the runner downloads it, the fake
GitHub server of tests/github, and the job environment a runner gives a step."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.gc.run import go_binary
from tests.github.conftest import _no_proxy, github, http_server  # noqa: F401 (fixtures)
from tests.github.fake import REPOSITORY, FakeGitHub
from tests.github.workflow import SERVER_URL

ROOT = Path(__file__).parents[2]
# what `pip install` of the action needs; a file missing here is missing from the action too
ACTION_FILES = ("action.yml", "pyproject.toml", "README.md", "bot", "migrations")


@pytest.fixture(scope="session")
def action_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action at a path of its own, like the runner's `_actions/OWNER/REPO/REF` (building
    the wheel writes into the action's directory, which must not be the work tree)."""
    target = tmp_path_factory.mktemp("actions") / "escape-bot"
    target.mkdir()
    for name in ACTION_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


def setup_python(with_: Mapping[str, str]) -> dict[str, str]:
    """Stands in for actions/setup-python: the interpreter running the tests (a Python the
    project supports). The action asks it not to touch PATH, so outputs are all it provides."""
    assert with_.get("update-environment") == "false"
    return {"python-path": sys.executable, "python-version": platform.python_version()}


STAND_INS = {"actions/setup-python": setup_python}


def job_env(
    fake: FakeGitHub,
    *,
    event: str,
    payload: dict[str, Any],
    sha: str,
    workspace: Path,
    runner_temp: Path,
    files: Path,
) -> dict[str, str]:
    """The environment a runner gives every step of a job: GITHUB_* (no token: the runner never
    sets one), RUNNER_TEMP, and PATH with the Go toolchain that actions/setup-go would add."""
    files.mkdir(parents=True, exist_ok=True)
    runner_temp.mkdir(parents=True, exist_ok=True)
    event_path = files / "event.json"
    event_path.write_text(json.dumps(payload))
    outer_venv = str(Path(sys.executable).parent)
    path = [str(Path(go_binary()).parent)] + [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != outer_venv
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "ESCAPE_BOT_", "RUNNER_", "INPUT_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env.update(
        {
            "PATH": os.pathsep.join(path),
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_SHA": sha,
            "GITHUB_API_URL": fake.api_url,
            "GITHUB_SERVER_URL": SERVER_URL,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(runner_temp),
            # a job-level `env:` of the workflow: the production retry code with tiny waits
            "ESCAPE_BOT_CI_RETRY_BACKOFF": "0.01",
            "ESCAPE_BOT_CI_MAX_WAIT": "0.05",
            "ESCAPE_BOT_CI_WRITE_INTERVAL": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env
