"""The only module that runs `go`: finds modules, builds them with `-gcflags=-m=2`, streams the log.

Builds use `-trimpath`, so file names are `module/path/file.go` whatever the checkout directory
(the build cache replays diagnostics byte-identical only then), and `-o /dev/null`, so nothing
is written into the checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from bot.errors import BotError, BuildError, ToolchainError
from bot.gc import gobin
from bot.gc.builderrors import BuildErrors, watch
from bot.gc.events import CHUNK, text_of
from bot.gc.model import Escape, ModuleFailure, ParseStats, Toolchain, record_order
from bot.gc.modules import Module, find_modules, select_modules
from bot.gc.parse import LogParser, module_file_mapper, parse_lines
from bot.gc.reuse import BlockCache, ReusingParser, parser_fingerprint
from bot.gc.shard import Shard, own_escapes
from bot.interrupt import stop_process_group
from bot.memory import gc_paused

go_binary = gobin.go_binary  # callers take it from here, as before it had a module of its own

JSON_MIN_VERSION = (1, 24)  # `go build -json` framing (compiler.md, "Where the output comes from")


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to build and how: the toolchain key follows from these."""

    packages: tuple[str, ...] = ("./...",)
    tags: tuple[str, ...] = ()
    goos: str | None = None
    goarch: str | None = None
    include_tests: bool = False
    go: str = ""  # empty: found by go_binary()
    extra_env: tuple[tuple[str, str], ...] = ()
    modules: tuple[str, ...] = ("**",)  # globs over module directories or paths; `!` excludes
    on_failure: Literal["report", "fail"] = "report"  # a module that does not build: go on, or stop
    toolchain: Literal["local", "auto"] = "local"  # GOTOOLCHAIN: never download one unless "auto"
    goflags: tuple[str, ...] = ()  # GOFLAGS (validated by bot.config.check_goflags)
    cgo: bool | None = None  # CGO_ENABLED; None: Go's own default
    shard: Shard | None = None  # build only this shard's packages (bot/gc/shard.py)

    @property
    def flags(self) -> tuple[str, ...]:
        """Flags that change what the compiler reports (part of the toolchain key).

        Only settings away from the defaults are added, so that existing keys stay the same.
        """
        flags = ["-trimpath", "-gcflags=-m=2"]
        if self.include_tests:
            flags.append("+tests")
        if self.modules != ("**",):
            flags.append("modules=" + ",".join(self.modules))
        flags += self.goflags
        if self.cgo is not None:
            flags.append(f"CGO_ENABLED={int(self.cgo)}")
        if self.shard is not None:  # a shard's snapshot is never taken for the whole
            flags.append(f"shard={self.shard}")
        return tuple(flags)


@dataclass(slots=True)
class BuildResult:
    """Escapes of every selected module of one checkout that built, and those that did not."""

    toolchain: Toolchain
    modules: list[Module]
    escapes: list[Escape] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)
    failed: list[ModuleFailure] = field(default_factory=list)


# Never handed to the compiler: the code being built (a pull request's) must not see them.
_SECRET_NAMES = frozenset({"GITHUB_TOKEN", "GH_TOKEN", "DATABASE_URL", "PGPASSWORD", "PGPASSFILE"})
_SECRET_PREFIXES = ("ACTIONS_", "ESCAPE_BOT_")  # runtime/OIDC tokens; the bot's own (database URL)
_SECRET_SUFFIXES = ("_TOKEN", "_PASSWORD", "_SECRET", "_KEY")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


def is_secret(name: str) -> bool:
    """True for variables that must not reach the compiler's environment."""
    upper = name.upper()
    return (
        upper in _SECRET_NAMES
        or upper.startswith(_SECRET_PREFIXES)
        or upper.endswith(_SECRET_SUFFIXES)
        or any(word in upper for word in _SECRET_WORDS)
    )


def go_environment(options: BuildOptions, *, mod: str = "readonly") -> dict[str, str]:
    """The environment `go` runs in: the caller's without secrets, with the bot's Go settings.

    GOFLAGS is always set (so neither the caller's nor `go env -w`'s applies): `-mod=readonly`
    (or `vendor`) and `[build] goflags`. GOTOOLCHAIN is `local` unless the configuration says
    `auto`: a go.mod asking for a newer Go then fails with go's own line, nothing is downloaded.
    """
    env = {k: v for k, v in os.environ.items() if not is_secret(k)}
    env["GOFLAGS"] = " ".join([f"-mod={mod}", *options.goflags])
    env["GOTOOLCHAIN"] = options.toolchain
    if options.cgo is not None:
        env["CGO_ENABLED"] = "1" if options.cgo else "0"
    if options.goos:
        env["GOOS"] = options.goos
    if options.goarch:
        env["GOARCH"] = options.goarch
    env.update(dict(options.extra_env))
    return env


_TOOLCHAINS: dict[tuple[object, ...], Toolchain] = {}


def toolchain(options: BuildOptions, cwd: Path) -> Toolchain:
    """Ask the toolchain what it is (`go env`), for the snapshot's key.

    With GOTOOLCHAIN=local no go.mod can switch toolchains, so the answer is asked once per
    binary, environment and directory: a diff asked four times, both sides in one worktree.
    """
    go = go_binary(options.go or None)
    env = go_environment(options) | {"GOWORK": "off"}  # a go.work is checked when building
    key = (go, tuple(sorted(env.items())), options.tags, options.flags, str(cwd))
    if options.toolchain == "local" and key in _TOOLCHAINS:
        return _TOOLCHAINS[key]
    try:
        proc = subprocess.run(
            [go, "env", "-json", "GOVERSION", "GOOS", "GOARCH"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ToolchainError(f"cannot run {options.go}: {exc.strerror}") from exc
    if proc.returncode != 0:
        raise ToolchainError(f"`go env` failed: {_first_line(proc.stderr)}", details=proc.stderr)
    data = json.loads(proc.stdout)
    found = Toolchain(
        go_version=data["GOVERSION"],
        goos=data["GOOS"],
        goarch=data["GOARCH"],
        tags=tuple(sorted(options.tags)),
        flags=options.flags,
    )
    if options.toolchain == "local":
        _TOOLCHAINS[key] = found
    return found


def version_tuple(go_version: str) -> tuple[int, int]:
    """`go1.24.11` -> (1, 24); unknown forms sort as newest."""
    m = re.match(r"go(\d+)\.(\d+)", go_version)
    return (int(m.group(1)), int(m.group(2))) if m else (99, 0)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "no output")


def _build_command(
    options: BuildOptions, use_json: bool, tests: bool, packages: tuple[str, ...] | None = None
) -> list[str]:
    go = go_binary(options.go or None)
    cmd = [go, "test", "-c"] if tests else [go, "build"]
    cmd += ["-o", os.devnull, "-trimpath", "-gcflags=-m=2"]
    if use_json:
        cmd.append("-json")
    if options.tags:
        cmd.append("-tags=" + ",".join(options.tags))
    return [*cmd, *(options.packages if packages is None else packages)]


# with -e a package that does not compile is listed (and fails in its shard); one with no file
# to build is left out, as `./...` leaves it out, since go refuses it when named
_LIST_FORMAT = (
    "{{.ImportPath}}\t{{len .GoFiles}}{{len .CgoFiles}}{{with .Error}}e{{end}}\t"
    "{{len .TestGoFiles}}{{len .XTestGoFiles}}"
)


def _shard_packages(
    options: BuildOptions, shard: Shard, cwd: Path, env: dict[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """The module's packages that `shard` builds (`go list` of the patterns): for `go build`, for
    `go test -c`, and go's "matched no packages" warnings. BuildError when go cannot list them."""
    cmd = [go_binary(options.go or None), "list", "-e", "-f", _LIST_FORMAT]
    if options.tags:
        cmd.append("-tags=" + ",".join(options.tags))
    proc = subprocess.run(
        [*cmd, *options.packages], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BuildError(f"`go list` failed: {_first_line(proc.stderr)}", details=proc.stderr)
    listed = [line.split("\t") for line in proc.stdout.splitlines()]
    own = [(path, files.strip("0"), tests.strip("0")) for path, files, tests in listed if shard.owns(path)]
    build, tests = [p for p, f, _ in own if f], [p for p, f, t in own if f or t]
    return build, tests, [w for w in proc.stderr.splitlines() if "matched no packages" in w]


class _Go:
    """A running go command: its log is read from `proc.stdout`; stderr goes to a temporary file
    so that neither pipe can fill up and stall the build, and go's $WORK to a directory of ours
    (a go stopped by a signal leaves its own behind)."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], use_json: bool) -> None:
        # closed by `finish`: the go may outlive this call (building_early)
        self.err_file = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._work = tempfile.TemporaryDirectory(
            prefix="escape-bot-go-", dir=env.get("GOTMPDIR") or None, ignore_cleanup_errors=True
        )
        run_env = {**env, "GOTMPDIR": self._work.name}
        # each go in its own process group, so that stopping it reaches the compilers it runs too
        try:
            if use_json:
                self.proc: subprocess.Popen[bytes] | subprocess.Popen[str] = subprocess.Popen(
                    cmd,
                    cwd=cwd,
                    env=run_env,
                    stdout=subprocess.PIPE,
                    stderr=self.err_file,
                    process_group=0,
                    bufsize=PIPE_BUFFER,
                )
            else:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=cwd,
                    env=run_env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    process_group=0,
                    bufsize=PIPE_BUFFER,
                )
        except BaseException:
            self._remove()
            raise
        assert self.proc.stdout is not None
        _widen(self.proc.stdout.fileno())

    def finish(self, *, stop: bool) -> tuple[int, str]:
        """Wait for go (stopped first when `stop`); its exit status and stderr. Nothing is left."""
        try:
            if stop:  # interrupted, or the reader gave up: never leave go running
                stop_process_group(self.proc)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            code = self.proc.wait()
            self.err_file.seek(0)
            return code, self.err_file.read()
        finally:
            self._remove()

    def _remove(self) -> None:
        self.err_file.close()
        self._work.cleanup()


_EARLY: dict[tuple[object, ...], _Go] = {}
"""Builds started before anyone asked for them (`building_early`), by what `_stream` would run."""


def _early_key(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[object, ...]:
    return (tuple(cmd), str(cwd), tuple(sorted(env.items())))


@contextlib.contextmanager
def building_early(repo_root: Path, options: BuildOptions) -> Iterator[bool]:
    """Start go on the first selected module of the checkout at `repo_root` now, while the caller
    finds out whether it needs that build (a store lookup, the SQLAlchemy import before it: a
    few tenths of a second a cold build need not wait for). `collect` takes the running go over
    when it runs the same command in the same directory and environment; a go nobody took is
    stopped on leaving. True when one was started; any problem is left for `collect` to report.
    """
    started: tuple[tuple[object, ...], _Go] | None = None
    # whatever fails here fails again in `collect`, which reports it
    with contextlib.suppress(BotError, OSError, ValueError):
        if options.shard is None:  # a shard's packages come from `go list` first
            found = find_modules(repo_root)
            if found:
                modules = select_modules(found, options.modules)
                tc = toolchain(options, repo_root / modules[0].directory)
                cmd, cwd, env, use_json = _plan(repo_root, modules[0], options, tc, tests=False)
                key = _early_key(cmd, cwd, env)
                if key not in _EARLY:
                    started = key, _Go(cmd, cwd, env, use_json)
                    _EARLY[key] = started[1]
    try:
        yield started is not None
    finally:
        if started is not None and _EARLY.get(started[0]) is started[1]:
            del _EARLY[started[0]]
            started[1].finish(stop=True)


def _stream(
    cmd: list[str], cwd: Path, env: dict[str, str], use_json: bool, errors: BuildErrors
) -> Generator[str | bytes, None, None]:
    """Lines of the compiler log as they arrive (from a go `building_early` started, if it runs
    this very build); raises BuildError on a failed build.

    With `-json` the log is on stdout and stderr holds only the go command's own complaints.
    Events are read as bytes and a big one (a package's whole output) is handed on so: as text
    it would take two bytes a character (bot/gc/events.py decodes it a megabyte at a time).
    """
    failed_json = False
    go = _EARLY.pop(_early_key(cmd, cwd, env), None)
    if go is None:
        # builds run one after another: an early go that is not this build will never be taken,
        # and must not compile alongside it
        while _EARLY:
            _EARLY.popitem()[1].finish(stop=True)
        go = _Go(cmd, cwd, env, use_json)
    assert go.proc.stdout is not None
    read = False
    try:
        for line in go.proc.stdout:
            if isinstance(line, bytes):  # -json
                failed_json = failed_json or b'"Action":"build-fail"' in line
                yield line if len(line) > CHUNK else text_of(line)
            else:
                yield line
        read = True
    finally:
        code, stderr = go.finish(stop=not read)
    errors.stderr = stderr
    errors.failed = code != 0 or failed_json
    errors.status = code


PIPE_BUFFER = 1 << 20
"""Bytes read from go's output at a time, and the pipe's size where Linux lets it grow: a warm
build prints the standard library's 130 MB in about a second, which 8 KiB reads and a 64 KiB pipe
turn into some 16,000 system calls and a go that waits for the parser more often (~0.1 s of CPU
a build, bench/bench_diff_std.py's warm row)."""


def _widen(fd: int) -> None:
    """The pipe `fd` holds PIPE_BUFFER bytes where the system allows (Linux's F_SETPIPE_SZ, up to
    /proc/sys/fs/pipe-max-size, 1 MiB by default); elsewhere it stays as it is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):  # over the system's limit: the default size works too
            fcntl.fcntl(fd, set_size, PIPE_BUFFER)


_LEADING_PATH = re.compile(r"^(\./)?([\w.@+-][\w./@+-]*?)(?=:\d|: )")


def _rewriter(repo_root: Path, module: Module) -> Callable[[str], str]:
    """Error lines name repository paths: never the checkout's (a temporary worktree's)
    directory, and a file go names relative to the module (`x.go:3:5`) gets the module's
    directory (`bench/x.go:3:5`)."""
    roots = sorted({str(repo_root), str(repo_root.resolve())}, key=len, reverse=True)
    cwd = repo_root / module.directory

    def rewrite(text: str) -> str:
        for root in roots:
            text = text.replace(root + "/", "").replace(root, ".")
        m = _LEADING_PATH.match(text)
        if m and (cwd / m.group(2)).exists():
            relative = Path(os.path.normpath(Path(module.directory) / m.group(2))).as_posix()
            text = relative + text[m.end() :]
        return text

    return rewrite


def _vendored(directory: Path) -> bool:
    return (directory / "vendor" / "modules.txt").is_file()


def _place(repo_root: Path, module: Module, options: BuildOptions) -> tuple[Path, dict[str, str]]:
    """Where a module's build runs, and its environment."""
    cwd = repo_root / module.directory
    mod = "vendor" if not module.in_workspace and _vendored(cwd) else "readonly"
    env = go_environment(options, mod=mod)
    # GOWORK names the root's go.work (a go.work nearer the module must not be picked up)
    env["GOWORK"] = str(repo_root / "go.work") if module.in_workspace else "off"
    return cwd, env


def _plan(
    repo_root: Path, module: Module, options: BuildOptions, tc: Toolchain, *, tests: bool
) -> tuple[list[str], Path, dict[str, str], bool]:
    """The command, directory, environment and framing of a module's build of all its packages
    (`build_module`'s first, unless sharded), for `building_early`."""
    cwd, env = _place(repo_root, module, options)
    use_json = version_tuple(tc.go_version) >= JSON_MIN_VERSION
    return _build_command(options, use_json, tests), cwd, env, use_json


def build_module(
    repo_root: Path,
    module: Module,
    options: BuildOptions,
    tc: Toolchain,
    *,
    modules: list[Module],
    on_package: Callable[[str], None] | None = None,
    reuse: BlockCache | None = None,
) -> tuple[list[Escape], ParseStats, list[str]]:
    """Build one module's packages and parse its log: its escapes, the parser's counters, and
    go's "matched no packages" warnings. BuildError (quoting go) when it does not build.
    `reuse`: package blocks of an earlier build in the same worktree (bot/gc/reuse.py)."""
    cwd, env = _place(repo_root, module, options)
    use_json = version_tuple(tc.go_version) >= JSON_MIN_VERSION
    mapper = module_file_mapper({m.path: m.directory for m in modules})
    sources = _source_reader(repo_root, mapper)
    escapes: list[Escape] = []
    totals = ParseStats()
    warnings: list[str] = []
    runs = [False, True] if options.include_tests else [False]
    own: dict[bool, list[str]] = {}
    if options.shard is not None:
        own[False], own[True], warnings = _shard_packages(options, options.shard, cwd, env)
    for tests in runs:
        if options.shard is not None and not own[tests]:
            continue  # none of the module's packages is this shard's
        modules_at = sorted((m.path, m.directory) for m in modules)
        context = repr((parser_fingerprint(), modules_at, module.path, tests))
        parser = (
            LogParser(files=mapper, sources=sources)
            if reuse is None
            else ReusingParser(reuse, context, files=mapper, sources=sources)
        )
        errors = BuildErrors(_rewriter(repo_root, module))
        packages = tuple(own[tests]) if options.shard is not None else None
        cmd = _build_command(options, use_json, tests, packages)
        stream = _stream(cmd, cwd, env, use_json, errors)
        # closed on the way out, so that an interruption stops go before its worktree goes
        with contextlib.closing(stream), gc_paused():
            records = parse_lines(watch(stream, parser, errors), parser)
            if packages is not None:
                records = own_escapes(records, packages)
            escapes.extend(_keep(records, tests, parser, on_package))
        errors.check()
        totals = _add_stats(totals, parser.stats())
        warnings += errors.no_packages
    return escapes, totals, warnings


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
    reuse: BlockCache | None = None,
) -> BuildResult:
    """Build the selected modules of a checkout and return their escapes, sorted.

    A module that does not build is listed in `failed` with go's error lines and the others are
    still built, unless `options.on_failure` is "fail": then its BuildError is raised.
    """
    found = find_modules(repo_root)
    if not found:
        raise BuildError("no go.mod found in the repository")
    modules = select_modules(found, options.modules)
    tc = toolchain(options, repo_root / modules[0].directory)
    result = BuildResult(toolchain=tc, modules=modules)
    warnings: list[str] = []
    for module in modules:
        try:
            escapes, stats, no_packages = build_module(
                repo_root, module, options, tc, modules=found, on_package=on_package, reuse=reuse
            )
        except BuildError as exc:
            failure = ModuleFailure(module.path, module.directory, tuple(exc.details.splitlines()))
            if options.on_failure == "fail":
                raise BuildError(
                    f"module {failure.where} did not build: {failure.reason}", details=exc.details
                ) from None
            result.failed.append(failure)
            continue
        result.escapes.extend(escapes)
        result.stats = _add_stats(result.stats, stats)
        warnings += no_packages
    built = len(modules) - len(result.failed)
    if built and len(warnings) >= built * len(options.packages) and not result.stats.packages:
        # every pattern matched nothing in every module: go only warns, and 0 escapes would pass
        raise BuildError(f"no package to build: {warnings[0].removeprefix('go: warning: ')}")
    result.escapes.sort(key=record_order)
    return result
