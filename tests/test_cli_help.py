"""`--help` that stands alone: every option described, the command list grouped and never cut,
`escape-bot causes`, and docs/usage.md naming exactly the options `--help` names."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bot.cli import SECTIONS, cli
from bot.commands.group import walk
from bot.gc.model import Cause

DOCS = Path(__file__).resolve().parent.parent / "docs"
COMMANDS = list(walk(cli))
LEAVES = [(path, command) for path, command in COMMANDS if path and not isinstance(command, click.Group)]


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCAPE_BOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": str(columns)},
        timeout=120,
        check=False,
    )


def long_names(option: click.Option) -> set[str]:
    return {o for o in [*option.opts, *option.secondary_opts] if o.startswith("--")}


def exposed(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and p.expose_value]


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "escape-bot" for p, _ in COMMANDS]
)
def test_every_option_and_command_is_described(path: tuple[str, ...], command: click.Command) -> None:
    for option in exposed(command):
        assert option.help and option.help.strip(), f"{' '.join(path)} {option.opts[0]} has no help"
        assert option.show_envvar
    if path:
        assert command.short_help, f"{' '.join(path)} has no short_help"
        assert not command.short_help.endswith("...")
    proc = run(*path, "--help")
    assert proc.returncode == 0, proc.stderr
    flat = re.sub(r"\s+", " ", proc.stdout)
    for option in exposed(command):
        assert next(iter(sorted(long_names(option)))) in flat
        assert "env var:" in flat


def test_the_command_list_is_grouped_and_never_cut() -> None:
    proc = run("--help", columns=50)  # a narrow terminal: click would cut the short help to fit
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "..." not in out.split("\n", 1)[1]  # the usage line's own `[ARGS]...` aside
    headings = [line[:-1] for line in out.splitlines() if line.endswith(" commands:")]
    assert headings == list(SECTIONS)
    flat = re.sub(r"\s+", "", out)  # click wraps lines, and at hyphens too
    for section, commands in SECTIONS.items():
        block = flat.split(f"{section}:".replace(" ", ""), 1)[1].split("commands:", 1)[0]
        for command in commands:
            assert command.name and command.short_help
            # the whole short help, after the command's name, in its own section
            assert re.sub(r"\s+", "", f"{command.name}{command.short_help}") in block
    listed = [c.name for commands in SECTIONS.values() for c in commands]
    assert sorted(listed) == sorted(cli.commands)  # every command in a section, once


def test_subgroups_list_their_commands_whole() -> None:
    out = re.sub(r"\s+", "", run("db", "--help", columns=40).stdout)  # wrapped, at hyphens too
    assert "upgradeUpgradethedatabasetothisescape-bot'sschema." in out
    assert "currentPrintthedatabase'sschemarevision." in out


# ---- escape-bot causes -------------------------------------------------------------------


def causes_table() -> dict[str, list[str]]:
    """docs/causes.md: id -> the table's cells (id, label, decided when, example)."""
    rows = {}
    for line in (DOCS / "causes.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0] != "`id`":
            rows[cells[0].strip("`")] = cells
    return rows


def test_causes_json_is_the_taxonomy_of_docs_causes() -> None:
    proc = run("causes", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)["causes"]
    assert sorted(e["cause"] for e in entries) == sorted(c.value for c in Cause)
    documented = causes_table()
    assert sorted(documented) == sorted(c.value for c in Cause)
    for entry in entries:
        _, label, _, examples = documented[entry["cause"]]
        assert entry["meaning"] == label == Cause(entry["cause"]).label
        assert (f"`{entry['example']}`" in examples) if entry["example"] else entry["cause"] == "unknown"


def test_causes_text_has_a_line_per_cause() -> None:
    proc = run("causes")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["CAUSE", "MEANING", "EXAMPLE"]
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert sorted(by_id) == sorted(c.value for c in Cause)
    assert "returned to the caller" in by_id["returned"] and "return &t" in by_id["returned"]
    assert "fmt.Println(n)" in by_id["interface-conversion"]


def test_cause_filters_point_at_causes() -> None:
    out = re.sub(r"\s+", " ", run("trend", "--help").stdout)
    assert "--cause CAUSE" in out and "`escape-bot causes` lists the ids" in out


# ---- docs/usage.md matches --help ----------------------------------------------------------

COMMAND_HEADING = re.compile(r"^#+ .*?`escape-bot ([a-z -]+)`")


def documented(doc: Path) -> dict[str, list[tuple[set[str], str]]]:
    """Per heading naming a command (`## \\`escape-bot db upgrade\\``), its option rows: the `--options` of
    the first cell, and the whole row. A section ends at the next `##` heading."""
    found: dict[str, list[tuple[set[str], str]]] = {}
    current = None
    for line in doc.read_text(encoding="utf-8").splitlines():
        heading = COMMAND_HEADING.match(line)
        if heading:
            current = heading.group(1)
            found.setdefault(current, [])
        elif line.startswith("## "):
            current = None
        elif current and line.startswith("| `--"):
            first = line.strip("|").split(" | ")[0]
            found[current].append((set(re.findall(r"--[a-z][a-z-]*", first)), line))
    return found


USAGE = documented(DOCS / "usage.md")


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_usage_md_lists_every_option_as_help_does(path: tuple[str, ...], command: click.Command) -> None:
    name = " ".join(path)
    assert name in USAGE, f"docs/usage.md has no section `escape-bot {name}`"
    rows = USAGE[name]
    in_help = set().union(*(long_names(o) for o in exposed(command)))
    in_doc = set().union(*(names for names, _ in rows)) if rows else set()
    assert in_doc == in_help, f"only in --help: {in_help - in_doc}; only in usage.md: {in_doc - in_help}"
    placeholder = "_".join(["ESCAPE_BOT", *path]).upper().replace("-", "_") + "_<OPTION>"
    for option in exposed(command):
        (row,) = [r for names, r in rows if long_names(option) & names]
        variable = option.envvar[0] if isinstance(option.envvar, list) else option.envvar
        assert f"`{variable}`" in row or f"`{placeholder}`" in row, f"{variable} is not in {row}"


def test_usage_md_documents_only_commands_that_exist() -> None:
    assert set(USAGE) == {" ".join(p) for p, _ in LEAVES}


@pytest.mark.parametrize("doc", ["ci.md", "queries.md", "action.md"])
def test_other_docs_name_no_option_a_command_lacks(doc: str) -> None:
    commands = dict(LEAVES)
    for name, rows in documented(DOCS / doc).items():
        command = commands[tuple(name.split())]
        in_help = set().union(*(long_names(o) for o in exposed(command)))
        for names, row in rows:
            assert names <= in_help, f"docs/{doc}: {row}"


def test_usage_md_tables_have_headers() -> None:
    """Every table starts with a header row and its `| --- |` separator (else it does not render)."""
    lines = (DOCS / "usage.md").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            assert i + 1 < len(lines) and re.fullmatch(r"\|( --- \|)+", lines[i + 1]), f"line {i + 1}: {line}"


def test_shared_options_are_worded_the_same_everywhere() -> None:
    from bot.commands import DB_HELP, FORMAT_HELP, NAME_HELP, REPO_HELP

    seen = {"--repo": 0, "--db": 0, "--name": 0, "--format": 0}
    for path, command in COMMANDS:
        for option in exposed(command):
            long = next(o for o in option.opts if o.startswith("--"))
            where = f"{' '.join(path)} {long}"
            if long == "--repo":
                assert option.help == REPO_HELP, where
            elif long == "--db":
                assert option.help and option.help.startswith(DB_HELP), where
                assert option.metavar == "URL", where
            elif long == "--name":
                assert option.help == NAME_HELP, where
            elif long == "--format":
                assert option.help and option.help.startswith(FORMAT_HELP), where
            else:
                continue
            seen[long] += 1
    assert min(seen.values()) >= 5, seen
