"""The compiler runner on real modules: multi-module repositories, go.work, tests, tags, GOARCH."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.errors import BuildError
from bot.gc import run
from bot.gc.events import CHUNK
from bot.gc.modules import Module, find_modules, select_modules, workspace_dirs
from bot.gc.parse import module_file_mapper, parse_log
from bot.gc.run import BuildOptions, collect, go_binary, go_environment
from tests.conftest import go_mod, write_files

RET = "package {pkg}\n\nfunc F() *int {{\n\tx := 1\n\treturn &x\n}}\n"


def test_nested_modules_vendor_and_testdata_are_handled(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "go.mod": go_mod("example.com/root"),
            "a/a.go": RET.format(pkg="a"),
            "tools/go.mod": go_mod("example.com/tools"),
            "tools/t/t.go": RET.format(pkg="t"),
            "vendor/example.com/v/go.mod": go_mod("example.com/v"),
            "a/testdata/go.mod": go_mod("example.com/td"),
            ".hidden/go.mod": go_mod("example.com/hidden"),
        },
    )
    assert [(m.path, m.directory) for m in find_modules(tmp_path)] == [
        ("example.com/root", ""),
        ("example.com/tools", "tools"),
    ]
    result = collect(tmp_path, BuildOptions())
    assert sorted((e.package, e.file) for e in result.escapes) == [
        ("example.com/root/a", "a/a.go"),
        ("example.com/tools/t", "tools/t/t.go"),
    ]


def test_go_work_modules_build_in_workspace_mode(tmp_path: Path) -> None:
    # `app` imports `lib` through the workspace only: without go.work it would not build
    write_files(
        tmp_path,
        {
            "go.work": "go 1.21\n\nuse (\n\t./app\n\t./lib // the library\n)\n",
            "lib/go.mod": go_mod("example.com/lib"),
            "lib/lib.go": RET.format(pkg="lib"),
            "app/go.mod": go_mod("example.com/app"),
            "app/app.go": 'package app\n\nimport "example.com/lib"\n\nvar Keep = lib.F()\n',
            "other/go.mod": go_mod("example.com/other"),
            "other/o.go": RET.format(pkg="o"),
        },
    )
    assert workspace_dirs(tmp_path) == {"app", "lib"}
    modules = {m.directory: m.in_workspace for m in find_modules(tmp_path)}
    assert modules == {"app": True, "lib": True, "other": False}
    files = sorted({e.file for e in collect(tmp_path, BuildOptions()).escapes})
    # lib.F is inlined into app: its allocation is also app's (a cross-package call site)
    assert files == ["app/app.go", "lib/lib.go", "other/o.go"]


def test_test_files_are_collected_once(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "go.mod": go_mod(),
            "p/p.go": RET.format(pkg="p"),
            "p/p_test.go": 'package p\n\nimport "testing"\n\nvar sink *int\n\n'
            "func TestF(t *testing.T) {\n\ty := 2\n\tsink = &y\n}\n",
        },
    )
    plain = collect(tmp_path, BuildOptions())
    assert [e.file for e in plain.escapes] == ["p/p.go"]
    with_tests = collect(tmp_path, BuildOptions(include_tests=True))
    moved = sorted((e.file, e.expression) for e in with_tests.escapes if e.kind.allocates)
    assert moved == [("p/p.go", "x"), ("p/p_test.go", "y")]
    assert "+tests" in with_tests.toolchain.flags


def test_build_tags_and_goarch_change_the_result(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "go.mod": go_mod(),
            "p/big.go": "package p\n\nfunc Big() int {\n\tc := new([10000]int)\n\treturn c[0]\n}\n",
            "p/extra.go": "//go:build extra\n\n" + RET.format(pkg="p").replace("F()", "G()"),
        },
    )
    amd64 = collect(tmp_path, BuildOptions(goarch="amd64"))
    assert [e.expression for e in amd64.escapes] == ["new([10000]int)"]
    assert amd64.toolchain.goarch == "amd64"
    i386 = collect(tmp_path, BuildOptions(goarch="386"))
    assert i386.escapes == [] and i386.toolchain.goarch == "386"
    tagged = collect(tmp_path, BuildOptions(goarch="amd64", tags=("extra",)))
    assert sorted(e.function for e in tagged.escapes if e.kind.allocates) == ["Big", "G"]
    assert tagged.toolchain.key != amd64.toolchain.key


def test_package_patterns(tmp_path: Path) -> None:
    write_files(tmp_path, {"go.mod": go_mod(), "a/a.go": RET.format(pkg="a"), "b/b.go": RET.format(pkg="b")})
    only_b = collect(tmp_path, BuildOptions(packages=("./b",)))
    assert {e.file for e in only_b.escapes} == {"b/b.go"}


def test_module_globs_select_by_directory_or_path() -> None:
    modules = [
        Module("example.com/m", ""),
        Module("example.com/m/bench", "bench"),
        Module("example.com/m/otel", "otel"),
        Module("example.com/m/otel/x", "otel/x"),
    ]

    def chosen(*patterns: str) -> list[str]:
        return [m.name for m in select_modules(modules, patterns)]

    assert chosen("**") == [".", "bench", "otel", "otel/x"]
    assert chosen("!bench/**") == [".", "otel", "otel/x"]  # `bench/**` takes bench itself
    assert chosen("**", "!otel/**") == [".", "bench"]
    assert chosen(".") == ["."]
    assert chosen("example.com/m/otel/**") == ["otel/x"]
    assert chosen("otel", "bench") == ["bench", "otel"]
    with pytest.raises(BuildError, match=r"module glob 'nope' matches no module of the repository"):
        chosen("nope")
    with pytest.raises(BuildError, match="select none of the modules"):
        chosen("!**")


@pytest.mark.parametrize("framing", ["json", "text"])
def test_a_module_that_does_not_build_is_quoted_in_both_framings(
    tmp_path: Path, framing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Go < 1.24 has no `go build -json`: the text framing is forced on this toolchain
    if framing == "text":
        monkeypatch.setattr("bot.gc.run.JSON_MIN_VERSION", (99, 0))
    write_files(
        tmp_path,
        {
            "go.mod": go_mod(),
            "a/a.go": RET.format(pkg="a"),
            "b/b.go": "package b\n\ntype T struct{}\n\nfunc Use(t T) { t.Foo() }\n",
            "lib/go.mod": go_mod("example.com/lib"),
            "lib/l.go": RET.format(pkg="lib"),
        },
    )
    result = collect(tmp_path, BuildOptions())
    [failed] = result.failed
    assert (failed.module, failed.directory) == ("example.com/m", "")
    assert failed.errors == (
        "# example.com/m/b",
        "b/b.go:5:19: t.Foo undefined (type T has no field or method Foo)",
    )
    # the other module is still collected; the failed one's partial output is not kept
    assert {e.file for e in result.escapes} == {"lib/l.go"}
    with pytest.raises(BuildError, match=r"did not build: b/b\.go:5:19: t\.Foo undefined"):
        collect(tmp_path, BuildOptions(on_failure="fail"))


def test_a_package_whose_output_is_megabytes_reads_as_its_text_log(tmp_path: Path) -> None:
    """A package's whole output is one `-json` event; one over a megabyte is read as bytes and
    decoded a piece at a time (bot/gc/events.py). Its records are those of the text log."""

    funcs = "".join(
        f"\nfunc F{i}(s string) (*int, any) {{\n\tx := len(s)\n\treturn &x, s\n}}\n" for i in range(3000)
    )
    write_files(tmp_path, {"go.mod": go_mod("example.com/big"), "big/big.go": "package big\n" + funcs})
    built = collect(tmp_path, BuildOptions())
    env = go_environment(BuildOptions()) | {"GOWORK": "off"}
    cmd = [go_binary(), "build", "-o", "/dev/null", "-trimpath", "-gcflags=-m=2", "./..."]
    log = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stderr
    assert len(log) > 2 * CHUNK  # the event is read in several pieces
    mapper = module_file_mapper({"example.com/big": ""})
    text, stats = parse_log(
        log.splitlines(keepends=True), files=mapper, sources=lambda f: (tmp_path / mapper(f)).read_text()
    )
    assert stats.unknown_lines == 0 and built.stats.unknown_lines == 0
    assert len(text) >= 6000
    assert [(e, e.line_text) for e in built.escapes] == [(e, e.line_text) for e in text]


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="Linux's pipe sizes")
def test_go_s_pipe_is_widened_where_the_system_allows() -> None:
    """A real pipe grows to PIPE_BUFFER; where the size cannot be set, nothing is raised."""
    import fcntl
    import os

    from bot.gc import run

    read, write = os.pipe()
    try:
        before = fcntl.fcntl(read, fcntl.F_GETPIPE_SZ)
        run._widen(read)
        assert fcntl.fcntl(write, fcntl.F_GETPIPE_SZ) == run.PIPE_BUFFER > before  # one pipe, both ends
    finally:
        os.close(read)
        os.close(write)
    run._widen(read)  # closed now: EBADF, ignored as any refusal is


def test_an_early_build_is_taken_over_only_by_the_very_same_build(tmp_path: Path) -> None:
    """`building_early` starts go before the caller knows it needs it: `collect` takes it over
    when it runs the same command in the same directory and environment (one go, the same
    escapes as without); another build (other tags) starts its own go and the early one is
    stopped as soon as that starts (never two builds at once). Where there is nothing to build,
    nothing starts."""
    write_files(tmp_path, {"go.mod": go_mod(), "a/a.go": RET.format(pkg="a")})
    plain = collect(tmp_path, BuildOptions()).escapes
    with run.building_early(tmp_path, BuildOptions()) as started:
        assert started and len(run._EARLY) == 1
        early = next(iter(run._EARLY.values()))
        assert collect(tmp_path, BuildOptions()).escapes == plain
        assert not run._EARLY and early.proc.poll() == 0
    tagged = BuildOptions(tags=("extra",))
    with run.building_early(tmp_path, BuildOptions()) as started:
        early = next(iter(run._EARLY.values()))
        assert collect(tmp_path, tagged).escapes == plain  # its own go: the early one not taken,
        assert not run._EARLY and early.proc.poll() is not None  # and stopped when that started
    assert not run._EARLY and early.proc.poll() is not None
    assert not Path(early._work.name).exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with run.building_early(empty, BuildOptions()) as started:
        assert not started and not run._EARLY
