"""The parser's optional C accelerators (pyproject.toml's `[[tool.setuptools.ext-modules]]`), or
None where they were not built.

`ESCAPE_BOT_PURE_PYTHON=1` turns them off, to compare both paths or to rule one out.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _load(name: str) -> ModuleType | None:
    if os.environ.get("ESCAPE_BOT_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        return importlib.import_module(f"bot.gc.{name}")
    except ImportError:
        return None


scan = _load("_scan")
flows = _load("_flows")  # FlowReader.flows (bot/gc/flows.py)
