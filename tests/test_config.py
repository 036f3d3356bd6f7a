"""Configuration files: defaults, every key, and bad files named precisely (exit 2)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, Glob, load_config, parse_config
from bot.gc.model import Cause, Escape, Kind

FULL = """
include = ["**"]
exclude = ["gen/**", "**/testdata/**"]
include-tests = true

[[build]]
name = "amd64"
goarch = "amd64"

[[build]]
name = "i386"
goarch = "386"
tags = ["purego"]

[gate]
fail-on = "new"
kinds = ["moved-to-heap"]
max-new = 1
constants = true
generated = true

[[gate.budget]]
package = "example.com/m/hot/**"
max-new = "never"

[[gate.budget]]
cause = "interface-conversion"
max-new = 5

[[allow]]
package = "example.com/m/log"
function = "Logf"
cause = "interface-conversion"
reason = "logging boxes its arguments"

[accept]
label = "perf/accepted"
"""


def _escape(package: str = "example.com/m/p", function: str = "F", cause: Cause = Cause.RETURNED) -> Escape:
    return Escape(package, "p/p.go", 3, 2, function, Kind.MOVED_TO_HEAP, "x", "moved to heap: x", cause)


def test_no_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(None, tmp_path)
    assert config == Config()
    assert config.source == "defaults" and config.accept_label == "escape-bot/accept"
    assert (
        config.wants("p/p.go") and not config.wants("vendor/x/y.go") and not config.wants("a/testdata/t.go")
    )
    assert config.gate.max_new == 0 and config.gate.kinds == (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP)


def test_every_key() -> None:
    config = parse_config(FULL)
    assert [b.name for b in config.builds] == ["amd64", "i386"]
    assert config.builds[1].tags == ("purego",) and config.builds[1].goarch == "386"
    assert config.include_tests and config.accept_label == "perf/accepted"
    assert config.gate.constants and config.gate.generated
    assert not Config().gate.constants and not Config().gate.generated  # off by default
    assert not config.wants("gen/x.go") and config.wants("vendor/x.go")  # exclude replaces the defaults
    hot, boxed = config.gate.budgets
    assert hot.max_new is None and hot.matches(_escape("example.com/m/hot/inner"))
    assert not hot.matches(_escape("example.com/m/cold"))
    assert boxed.matches(_escape(cause=Cause.INTERFACE_CONVERSION)) and not boxed.matches(_escape())
    (entry,) = config.allow
    assert entry.matches(_escape("example.com/m/log", "Logf", Cause.INTERFACE_CONVERSION))
    assert not entry.matches(_escape("example.com/m/log", "Logf", Cause.RETURNED))


def test_globs() -> None:
    assert Glob("**/*.go", key="k").match("a/b/c.go") and Glob("**/*.go", key="k").match("c.go")
    assert not Glob("*.go", key="k").match("a/c.go")
    assert Glob("gen/[!x]*.go", key="k").match("gen/a.go") and not Glob("gen/[!x]*.go", key="k").match(
        "gen/x.go"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1", "colour: unknown key"),
        ("[gate]\nbudgets = []", "gate.budgets: unknown key"),
        ("include-tests = 'yes'", "include-tests: expected true or false, got a string"),
        ("exclude = 'vendor'", "exclude: expected a list of strings, got a string"),
        ("exclude = ['a[b']", "exclude[0]: invalid glob 'a[b'"),
        ("[gate]\nmax-new = -1", 'gate.max-new: expected a whole number ≥ 0 or "never"'),
        ("[gate]\nfail-on = 'sometimes'", 'gate.fail-on: expected "new" or "never"'),
        ("[gate]\nkinds = ['heapish']", "gate.kinds[0]: unknown kind 'heapish'"),
        ("[gate]\nconstants = 1", "gate.constants: expected true or false, got an integer"),
        ("[gate]\ngenerated = 'yes'", "gate.generated: expected true or false, got a string"),
        ("[[gate.budget]]\nmax-new = 1", "gate.budget[0]: needs a package glob, a cause, or both"),
        ("[[gate.budget]]\ncause = 'returned'", "gate.budget[0].max-new: required"),
        ("[[gate.budget]]\ncause = 'nope'\nmax-new = 1", "gate.budget[0].cause: unknown cause 'nope'"),
        ("[[allow]]\npackage = 'p'\nfunction = 'F'", "allow[0].reason: required"),
        ("[[allow]]\npackage = 'p'\nfunction = 'F'\nreason = ' '", "allow[0].reason: must say why"),
        ("[[allow]]\npackage = 'p'\nfunction = 'F'\nreason = 'r'\nline = 3", "allow[0].line: unknown key"),
        ("[[build]]\nname = 'a b'", "build[0].name: 'a b' must be"),
        ("[[build]]\nname = 'x'\n[[build]]\nname = 'x'", "build[1].name: 'x' is used twice"),
        ("[[build]]\ngoarch = 386", "build[0].goarch: expected a string, got an integer"),
        ("[gate]\nhot-only = 2", "gate.hot-only: expected a share of CPU samples from 0 to 1"),
        ("[gate]\nhot-only = true", "gate.hot-only: expected a share of CPU samples from 0 to 1"),
        ("[rank]\nprofiles = 'cpu.pprof'", "rank.profiles: expected a list of strings, got a string"),
        ("[rank]\npgo = 'yes'", "rank.pgo: expected true or false, got a string"),
        ("[rank]\nprofile = ['x']", "rank.profile: unknown key"),
        ("[gate\nmax-new = 1", "invalid TOML"),
        ("a = 1\nb = = 2", "(at line 2, column"),
    ],
)
def test_bad_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.toml")
    assert info.value.exit_code == 2
    assert info.value.message.startswith("cfg.toml: ")
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_config_check_command(tmp_path: Path) -> None:
    (tmp_path / ".escape-bot.toml").write_text(FULL)
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", "--repo", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert '"max-new": "never"' in ok.stdout and '"label": "perf/accepted"' in ok.stdout
    (tmp_path / ".escape-bot.toml").write_text("[gate]\nmax-new = 'x'\n")
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", "--repo", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("escape-bot: error: ") and "gate.max-new" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_build_settings_and_their_configurations() -> None:
    config = parse_config(
        '[build]\nmodules = ["**", "!bench/**"]\non-failure = "fail"\ntoolchain = "auto"\n'
        'goflags = ["-p=2", "-mod=vendor"]\ncgo = false\n\n'
        '[[build.configuration]]\nname = "arm"\ngoarch = "arm64"\n'
    )
    assert config.build.modules == ("**", "!bench/**")
    assert (config.build.on_failure, config.build.toolchain, config.build.cgo) == ("fail", "auto", False)
    assert config.build.goflags == ("-p=2", "-mod=vendor")
    assert [(b.name, b.goarch) for b in config.builds] == [("arm", "arm64")]
    defaults = parse_config("")
    assert defaults.build.modules == ("**",) and defaults.build.on_failure == "report"
    assert defaults.build.toolchain == "local" and defaults.build.cgo is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[build]\non-failure = "ignore"\n', 'build.on-failure: expected "report" or "fail"'),
        ('[build]\ntoolchain = "go1.22"\n', 'build.toolchain: expected "local" or "auto"'),
        ("[build]\ncgo = 1\n", "build.cgo: expected true or false"),
        ('[build]\ngoflags = ["-toolexec=x"]\n', "build.goflags[0]: '-toolexec=x' is refused"),
        ('[build]\ngoflags = ["--exec=x"]\n', "build.goflags[0]: '--exec=x' is refused"),
        ('[build]\ngoflags = ["-overlay=o.json"]\n', "build.goflags[0]: '-overlay=o.json' is refused"),
        ('[build]\ngoflags = ["-mod=mod"]\n', "only -mod=readonly (the default) or -mod=vendor"),
        ('[build]\ngoflags = ["-p=1 -x"]\n', "one flag per entry"),
        ('[build]\nmodules = ["../other/**"]\n', "module globs are relative to the repository root"),
        ('[build]\nmodules = ["a[b"]\n', "build.modules[0]: invalid glob"),
        ("[build]\nmodules = []\n", "build.modules: at least one glob"),
        ('[build]\nname = "x"\n', "build.name: unknown key"),
    ],
)
def test_bad_build_settings(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text)


def test_rank_and_hot_only() -> None:
    config = parse_config("[gate]\nhot-only = 0.05\n\n[rank]\nprofiles = ['p/cpu.pprof']\npgo = false\n")
    assert config.gate.hot_only == 0.05
    assert (config.rank.profiles, config.rank.pgo) == (("p/cpu.pprof",), False)
    assert parse_config("").rank.pgo and parse_config("").gate.hot_only is None
