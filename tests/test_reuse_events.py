"""ReusingParser on real `go build -json` logs rearranged the ways a log can differ from the one
cached (bot/gc/reuse.py): whatever the order, splitting or interleaving of events, the records and
counters are those of a LogParser without reuse. The log is the real compiler's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.gc.model import Escape, ParseStats
from bot.gc.parse import LogParser, module_file_mapper, parse_lines
from bot.gc.reuse import BlockCache, ReusingParser
from bot.gc.run import BuildOptions, go_binary, go_environment
from tests.conftest import go_mod, write_files

PKG = """package {name}

type T struct{{ A int }}

func Ret() *T {{
	t := T{{A: {n}}}
	return &t
}}

func Keep(n int) any {{ return n }}
"""


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("m")
    files = {"go.mod": go_mod()}
    for i, name in enumerate(("a", "b", "c", "d")):
        files[f"{name}/{name}.go"] = PKG.format(name=name, n=i)
    write_files(root, files)
    env = go_environment(BuildOptions())
    env["GOWORK"] = "off"
    out = subprocess.run(
        [go_binary(), "build", "-json", "-o", "/dev/null", "-trimpath", "-gcflags=-m=2", "./..."],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines(keepends=True) if '"build-output"' in line]
    assert len(lines) >= 4
    return root, lines


def _parse(root: Path, lines: list[str], parser: LogParser) -> tuple[list[Escape], ParseStats]:
    records = sorted(parse_lines(iter(lines), parser), key=lambda e: (e.package, e.file, e.line, e.column))
    return records, parser.stats()


def _both(root: Path, cached: list[str], lines: list[str]) -> tuple[object, object, int]:
    mapper = module_file_mapper({"example.com/m": "."})

    def read(printed: str) -> str | None:
        path = root / mapper(printed)
        return path.read_text() if path.is_file() else None

    cache = BlockCache()
    _parse(root, cached, ReusingParser(cache, "ctx", files=mapper, sources=read))
    reused = _parse(root, lines, ReusingParser(cache, "ctx", files=mapper, sources=read))
    plain = _parse(root, lines, LogParser(files=mapper, sources=read))
    return reused, plain, cache.reused


def _split(line: str) -> list[str]:
    """One event as two events of the same package, cut after its first output line."""
    event = json.loads(line)
    first, rest = event["Output"].split("\n", 1)
    return [json.dumps({**event, "Output": part}) + "\n" for part in (first + "\n", rest)]


def test_the_same_log_is_taken_from_the_cache(events: tuple[Path, list[str]]) -> None:
    root, lines = events
    reused, plain, hits = _both(root, lines, lines)
    assert reused == plain
    assert hits == len(lines)


def test_reordered_split_and_interleaved_logs_read_as_without_reuse(events: tuple[Path, list[str]]) -> None:
    root, lines = events
    other = '{"ImportPath":"x","Action":"build-fail"}\n'
    variants = [
        list(reversed(lines)),
        [*_split(lines[0]), *lines[1:]],  # a cached block goes on in a second event
        [lines[0], *_split(lines[1]), *lines[2:]],
        [lines[0], other, *lines[1:], other],  # events of another kind in between
        [lines[0], "a text line: not an event\n", *lines[1:]],
        [lines[0], "{not json\n", *lines[1:]],
        [*lines, lines[0]],  # a package printed again later
        [lines[0], lines[0], *lines[1:]],  # the same event twice in a row: one block
    ]
    for variant in variants:
        reused, plain, _hits = _both(root, lines, variant)
        assert reused == plain, variant


def test_a_changed_source_file_is_not_reused(events: tuple[Path, list[str]]) -> None:
    """Only a comment on an escape's line changes: the compiler's output is the same, the
    record's line text is not."""
    root, lines = events
    source = root / "a/a.go"
    text = source.read_text()
    mapper = module_file_mapper({"example.com/m": "."})

    def read(printed: str) -> str | None:
        path = root / mapper(printed)
        return path.read_text() if path.is_file() else None

    cache = BlockCache()
    _parse(root, lines, ReusingParser(cache, "ctx", files=mapper, sources=read))
    try:
        source.write_text(text.replace("t := T{A: 0}", "t := T{A: 0} // edited"))
        reused = _parse(root, lines, ReusingParser(cache, "ctx", files=mapper, sources=read))
        plain = _parse(root, lines, LogParser(files=mapper, sources=read))
    finally:
        source.write_text(text)
    assert reused == plain
    assert cache.reused == len(lines) - 1
    assert any(e.line_text.endswith("// edited") for e in reused[0])
