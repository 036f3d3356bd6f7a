"""Hotness from real profiles: a Go program the test writes, profiled by the Go runtime itself
(`runtime/pprof` CPU profile, `go test -bench -memprofile`), decoded by `go tool pprof -raw`,
and matched to the escapes the real compiler reports for the same module."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.errors import ParseError, UsageError
from bot.gc.model import Escape
from bot.gc.pprof import decode, load_profiles, pgo_profiles
from bot.gc.run import BuildOptions, collect, go_binary
from bot.profile.hotness import NamedProfile, alloc_weights, is_memory_profile, rank, short_function
from bot.profile.raw import parse_raw
from tests.conftest import go_mod, write_files

LIB = """package p

type T struct{ a [8]int }

var Sink *T

// Hot allocates on every iteration: the request path.
func Hot(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		t := &T{}
		t.a[0] = i
		Sink = t
		s += t.a[0]
	}
	return s
}

// Cold allocates once: start-up.
func Cold() *T {
	return &T{}
}
"""

BENCH = """package p

import "testing"

func BenchmarkHot(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Hot(50)
	}
	Sink = Cold()
}
"""

MAIN = """package main

import (
	"os"
	"runtime/pprof"
	"time"

	"example.com/m/p"
)

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	s := 0
	for start := time.Now(); time.Since(start) < 700*time.Millisecond; {
		s += p.Hot(1000)
	}
	p.Sink = p.Cold()
	pprof.StopCPUProfile()
	f.Close()
	println(s)
}
"""


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOFLAGS": "", "GOWORK": "off"}


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hot")
    write_files(root, {"go.mod": go_mod(), "p/p.go": LIB, "p/p_test.go": BENCH, "cmd/run/main.go": MAIN})
    return root


@pytest.fixture(scope="module")
def escapes(module: Path) -> list[Escape]:
    found = [e for e in collect(module, BuildOptions()).escapes if e.kind.allocates]
    assert {(e.function, e.expression) for e in found} >= {("Hot", "&T{}"), ("Cold", "&T{}")}
    return found


def write_cpu_profile(module: Path) -> Path:
    """Run MAIN (`./cmd/run`) of `module` to write its CPU profile where PGO looks for it."""
    path = module / "cmd" / "run" / "default.pgo"
    subprocess.run(
        [go_binary(), "run", "./cmd/run", str(path)],
        cwd=module,
        env=_go_env(),
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="module")
def cpu_profile(module: Path) -> Path:
    return write_cpu_profile(module)


@pytest.fixture(scope="module")
def memory_profile(module: Path) -> Path:
    path = module / "mem.pprof"
    bench = ["-run", "^$", "-bench", ".", "-benchtime", "200x"]
    subprocess.run(
        [go_binary(), "test", *bench, "-memprofile", str(path), "-memprofilerate", "1", "./p"],
        cwd=module,
        env=_go_env(),
        check=True,
        capture_output=True,
    )
    return path


def _by_function(escapes: list[Escape], function: str) -> Escape:
    (escape,) = [e for e in escapes if e.function == function and e.expression == "&T{}"]
    return escape


def test_cpu_profile_ranks_the_hot_escape_above_the_cold_one(
    module: Path, escapes: list[Escape], cpu_profile: Path
) -> None:
    profile = decode(go_binary(), cpu_profile)
    assert not is_memory_profile(profile.profile)
    assert profile.profile.samples, "the CPU profile has samples"
    hotness = rank(escapes, [profile])
    hot, cold = hotness[_by_function(escapes, "Hot")], hotness[_by_function(escapes, "Cold")]
    assert hot.cpu_share is not None and cold.cpu_share is not None
    # Hot runs for 0.7 s, Cold once: Hot is on most stacks, Cold on (almost) none
    assert hot.cpu_share > 0.5 > cold.cpu_share
    assert hot.weight > cold.weight
    assert hot.source == "cpu:default.pgo" and hot.alloc_bytes is None


def test_memory_profile_counts_bytes_and_objects_at_the_escape_line(
    escapes: list[Escape], memory_profile: Path
) -> None:
    profile = decode(go_binary(), memory_profile)
    assert is_memory_profile(profile.profile)
    hotness = rank(escapes, [profile])
    hot, cold = hotness[_by_function(escapes, "Hot")], hotness[_by_function(escapes, "Cold")]
    # -memprofilerate 1 records every allocation: 200 iterations x 50 &T{} of 64 bytes, at least
    assert hot.alloc_objects is not None and hot.alloc_objects >= 200 * 50
    assert hot.alloc_bytes is not None and hot.alloc_bytes >= 200 * 50 * 64
    assert cold.alloc_objects is not None and 1 <= cold.alloc_objects < 10
    assert hot.cpu_share is None and hot.source == "memory:mem.pprof"
    lines = alloc_weights(profile.profile).by_line
    assert any(file.endswith("p/p.go") and line == _by_function(escapes, "Hot").line for file, line in lines)


def test_pgo_profile_found_by_default(module: Path, cpu_profile: Path) -> None:
    assert pgo_profiles(module) == [cpu_profile]
    (loaded,) = load_profiles(go_binary(), module, [])
    assert loaded.name == "default.pgo"
    assert load_profiles(go_binary(), module, [], pgo=False) == []


def test_bad_profiles_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        decode(go_binary(), tmp_path / "missing.pprof")
    junk = tmp_path / "junk.pprof"
    junk.write_bytes(b"\x00\x01 not a profile")
    with pytest.raises(ParseError, match="go tool pprof"):
        decode(go_binary(), junk)
    with pytest.raises(ParseError, match="not the output of"):
        parse_raw("hello\n")


def test_raw_text_with_spaces_in_function_names_and_inlined_frames() -> None:
    text = (
        "PeriodType: space bytes\nPeriod: 1\nSamples:\n"
        "alloc_objects/count alloc_space/bytes[dflt] inuse_objects/count inuse_space/bytes\n"
        "          3         96          1         32: 1 2 \n"
        "                bytes:[32]\n"
        "Locations\n"
        "     1: 0x41f9ee M=1 runtime.newobject /go/src/runtime/malloc.go:1700:0 s=1690\n"
        "     2: 0x4c83c5 M=1 example.com/m/p.(*Map[go.shape.interface {}]).Put /src/p/map.go:10:0 s=7\n"
        "             main.main /src/cmd/main.go:15:0 s=10\n"
        "Mappings\n1: 0x400000/0x4c9000/0x0 /tmp/x  [FN]\n"
    )
    profile = parse_raw(text)
    assert profile.types == ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")
    (sample,) = profile.samples
    assert sample.values == (3, 96, 1, 32)
    assert [f.function for f in sample.frames] == [
        "runtime.newobject",
        "example.com/m/p.(*Map[go.shape.interface {}]).Put",
        "main.main",
    ]
    assert short_function(sample.frames[1].function) == "(*Map).Put"
    assert alloc_weights(profile).by_line == {("/src/p/map.go", 10): (96, 3)}
    escape = Escape("example.com/m/p", "p/map.go", 10, 5, "(*Map).Put", *_heap("&node{}"))
    assert rank([escape], [NamedProfile("mem.pprof", profile)])[escape].alloc_objects == 3


def _heap(expression: str) -> tuple[object, ...]:
    from bot.gc.model import Cause, Kind

    return (Kind.ESCAPES_TO_HEAP, expression, f"{expression} escapes to heap", Cause.STORED_IN_HEAP)
