"""The pure core imports no subprocess, database or HTTP library (docs/architecture.md, "Rooms").

Every module the architecture document marks `pure` is checked, together with every `bot`
module it imports, directly or through others (imports inside functions count too: a lazy
import runs all the same).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
ROOT = PROJECT / "bot"
FORBIDDEN = {
    "subprocess",
    "sqlalchemy",
    "alembic",
    "github",
    "requests",
    "urllib",
    "http",
    "socket",
    "psycopg",
    "multiprocessing",
}
ADAPTERS = ("bot.gc.run", "bot.git", "bot.store", "bot.github.client", "bot.cli", "bot.app", "bot.commands")
# The doc may add rooms but never quietly drop these from the pure core.
MINIMUM = {
    "bot.gc.parse",
    "bot.gc.causes",
    "bot.gc.model",
    "bot.gc.source",
    "bot.diff",
    "bot.gate",
    "bot.annotations",
    "bot.github.labels",
    "bot.report.render",
    "bot.report.safe",
    "bot.report.serialize",
    "bot.report.sarif",
    "bot.globs",
}


def _module_path(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package = ROOT / relative / "__init__.py"
    return package if package.exists() else ROOT / relative.with_suffix(".py")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module name `module` imports, absolute (`from . import x` resolved)."""
    path = _module_path(module)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            names.add(base)
            # `from bot.report import safe` imports the submodule bot.report.safe
            names |= {f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")}
    return frozenset(names)


def _is_module(name: str) -> bool:
    return name.startswith("bot.") and _module_path(name).exists()


def closure(module: str) -> dict[str, str]:
    """Every `bot` module reachable from `module`, each with the module that first imported it."""
    seen = {module: module}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in _imports(current):
            target = name if _is_module(name) else name.rsplit(".", 1)[0]
            if _is_module(target) and target not in seen:
                seen[target] = current
                todo.append(target)
    return seen


def documented_pure() -> set[str]:
    """The modules docs/architecture.md's room table marks `pure`."""
    found = set()
    for line in (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[1] != "pure":
            continue
        for ref in re.findall(r"`(bot/[^`]+)`", cells[0]):
            target = PROJECT / ref
            files = sorted(target.glob("*.py")) if ref.endswith("/") else [target]
            found |= {_module_name(f) for f in files}
    return found


PURE = sorted(documented_pure() | MINIMUM)


def test_the_architecture_doc_names_the_pure_core() -> None:
    assert documented_pure() >= MINIMUM, MINIMUM - documented_pure()


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_reach_no_adapters(module: str) -> None:
    for reached, importer in closure(module).items():
        imported = _imports(reached)
        bad = {i for i in imported if i.split(".")[0] in FORBIDDEN}
        assert not bad, f"{module} reaches {reached} (through {importer}), which imports {sorted(bad)}"
        adapters = {i for i in imported if i.startswith(ADAPTERS)}
        assert not adapters, f"{module} reaches {reached} (through {importer}), which imports {adapters}"


def test_the_checker_sees_indirect_imports(tmp_path: Path) -> None:
    """The closure follows `bot` imports: the CLI reaches the compiler runner through app."""
    assert "bot.gc.run" in closure("bot.cli")
    assert "bot.gc.parse" in closure("bot.gc.run")
    assert "subprocess" in _imports("bot.gc.run")
