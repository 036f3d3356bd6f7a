"""`collect --from-log`: what is not a compiler log is refused; header-less logs are read.

Logs are the golden logs of tests/data/golden (written by the real compiler) and logs the real
`go tool compile -m=2` writes here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.gc.logs import read_log
from bot.gc.parse import parse_log
from bot.gc.run import go_binary
from tests.test_cli import run

GOLDEN = Path(__file__).parent / "data" / "golden"
EMPTY = (
    "is empty: `go build` writes the compiler's diagnostics to stderr, so "
    "`go build -gcflags=-m=2 ./... > build.log` leaves the file empty: use `2> build.log`"
)


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    return proc.stderr.splitlines()[0]


def test_an_empty_log_is_refused_with_the_redirection_hint(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text("")
    assert _error(run("collect", "--from-log", str(log))) == f"escape-bot: error: {log} {EMPTY}"
    log.write_text("\n\n  \n")
    assert _error(run("collect", "--from-log", str(log))) == f"escape-bot: error: {log} {EMPTY}"


def test_a_file_without_compiler_lines_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "notes.log"
    log.write_text("Build started\nall good\n# not/a/package\n")
    assert _error(run("collect", "--from-log", str(log))) == (
        f"escape-bot: error: {log} has no compiler line: it is not a `go build -gcflags=-m=2` log"
    )


def test_a_binary_file_and_a_directory_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "a.out"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    assert _error(run("collect", "--from-log", str(binary))) == (
        f"escape-bot: error: {binary} is a binary file, not a compiler log"
    )
    assert _error(run("collect", "--from-log", str(tmp_path))) == (
        f"escape-bot: error: {tmp_path} is a directory, not a compiler log"
    )


@pytest.mark.parametrize("name", ["go1.27.3-broken.log", "go1.27.3-broken.jsonl"])
def test_a_failed_build_log_is_refused_quoting_its_errors(name: str) -> None:
    proc = run("collect", "--from-log", str(GOLDEN / name))
    assert _error(proc) == (
        f"escape-bot: error: {GOLDEN / name} is the log of a failed build: "
        "bad/bad.go:9:17: cannot use 1 (untyped int constant) as string value in variable declaration"
    )
    assert "    bad/bad.go:10:2: undefined: undefinedFunc" in proc.stderr.splitlines()


def _heap(records: list) -> list[tuple[str, str, int, int, str, str]]:  # type: ignore[type-arg]
    return sorted(
        (e.package, e.file, e.line, e.column, e.kind.value, e.expression) for e in records if e.kind.allocates
    )


def _packages(text: str) -> dict[str, str]:
    """A multi-package log split into one log per package (as one `go tool compile` writes)."""
    blocks: dict[str, str] = {}
    current = ""
    for line in text.splitlines(keepends=True):
        if line.startswith("# "):
            current = line[2:].split(" [", 1)[0].strip()
        blocks[current] = blocks.get(current, "") + line
    return blocks


@pytest.mark.parametrize("name", ["go1.27.3.log", "go1.25.5.log", "go1.24.11.log"])
def test_a_log_without_headers_finds_what_the_log_with_headers_finds(tmp_path: Path, name: str) -> None:
    # -trimpath names files `import/path/file.go`: the directory of the files is the package
    total = 0
    for package, text in _packages((GOLDEN / name).read_text()).items():
        bare = tmp_path / f"{package.replace('/', '_')}.log"
        bare.write_text("".join(line for line in text.splitlines(keepends=True) if not line.startswith("# ")))
        expected, _ = parse_log(text.splitlines(keepends=True))
        found = read_log(str(bare))
        assert _heap(found.escapes) == _heap(expected), package
        how = "the directory of its files; --package names it"
        assert found.notes == [f"{bare} has no `# package` line: package {package!r} ({how})"]
        total += len(_heap(expected))
    assert total > 20


def test_a_bare_go_tool_compile_log(tmp_path: Path) -> None:
    """What Bazel's rules_go runs: `go tool compile -m=2` on a file list, no `# package` line."""
    (tmp_path / "p.go").write_text(
        "package p\n\nfunc F() *int {\n\tx := 1\n\treturn &x\n}\n\nfunc G(s string) any {\n\treturn s\n}\n"
    )
    proc = subprocess.run(
        [go_binary(), "tool", "compile", "-p", "example.com/p", "-o", str(tmp_path / "p.a"), "-m=2", "p.go"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    log = tmp_path / "compile.log"
    log.write_text(proc.stdout + proc.stderr)
    assert not any(line.startswith("# ") for line in log.read_text().splitlines())
    bare = run("collect", "--from-log", str(log), "--package", "example.com/p", "--format", "json")
    assert bare.returncode == 0, bare.stderr
    assert bare.stderr == f"escape-bot: {log} has no `# package` line: package 'example.com/p' (--package)\n"
    escapes = json.loads(bare.stdout)["escapes"]
    assert sorted(
        (e["package"], e["function"], e["expression"]) for e in escapes if e["kind"] != "leaking-param"
    ) == [
        ("example.com/p", "F", "x"),
        ("example.com/p", "G", "s"),
    ]
    # without --package: the directory of the files, as the compiler names them (absolute here)
    by_dir = run("collect", "--from-log", str(log), "--format", "json")
    assert {e["package"] for e in json.loads(by_dir.stdout)["escapes"]} == {str(tmp_path)}


def test_collect_json_is_compact_unless_pretty_and_explains_when_asked() -> None:
    """The streamed output of a real log is the documented document (bot/report/serialize.py)."""
    from bot.gc.model import Snapshot, Toolchain
    from bot.report.serialize import snapshot_dict

    log = GOLDEN / "go1.27.3.log"
    found = read_log(str(log))
    snapshot = Snapshot("", "", Toolchain("unknown", "", ""), tuple(found.escapes), found.stats)
    compact = run("collect", "--from-log", str(log), "--format", "json")
    assert compact.returncode == 0, compact.stderr
    assert compact.stdout.count("\n") == 1
    assert json.loads(compact.stdout) == json.loads(json.dumps(snapshot_dict(snapshot, explain=False)))
    pretty = run("collect", "--from-log", str(log), "--format", "json", "--pretty", "--explain")
    assert pretty.returncode == 0, pretty.stderr
    assert pretty.stdout == json.dumps(snapshot_dict(snapshot), indent=2, ensure_ascii=False) + "\n"
    assert any(e["explanation"] for e in json.loads(pretty.stdout)["escapes"])
