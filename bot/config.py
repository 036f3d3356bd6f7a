"""`.escape-bot.toml`: read with `tomllib`, validated strictly, frozen into dataclasses (pure).

The parsed TOML is validated against a declarative JSON Schema (bot/config_schema.py, published
as docs/escape-bot.schema.json), then the records are built. Every error names the key
(`gate.budget[1].max-new`) and, where the TOML parser gives one, the line; unknown keys are
errors, not ignored. No file means the documented defaults
(docs/configuration.md).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.config_schema import first_error
from bot.errors import UsageError
from bot.gc.model import Cause, Escape, Kind
from bot.globs import GlobError, GlobMatcher

CONFIG_FILE = ".escape-bot.toml"
DEFAULT_EXCLUDE = ("vendor/**", "**/vendor/**", "testdata/**", "**/testdata/**")
DEFAULT_KINDS = (Kind.MOVED_TO_HEAP, Kind.ESCAPES_TO_HEAP)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(UsageError):
    """A configuration file that cannot be used (exit 2)."""


# --- globs -------------------------------------------------------------------------------------


class Glob:
    """A path glob: `*` and `?` stay within one path segment, `**` spans segments, `[...]` classes.

    Matched in linear time by bot/globs.py (a configuration or an allow-list may come from an
    untrusted pull request: no pattern may take exponential time)."""

    __slots__ = ("matcher", "pattern")

    def __init__(self, pattern: str, *, key: str) -> None:
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"{key}: a glob must be a non-empty string")
        self.pattern = pattern
        try:
            self.matcher = GlobMatcher(pattern)
        except GlobError as exc:
            raise ConfigError(f"{key}: {exc}") from None

    def match(self, text: str) -> bool:
        """True when the whole of `text` matches."""
        return self.matcher.match(text)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)


# --- the configuration ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildConfig:
    """One build configuration: collected and reported on its own."""

    name: str = "default"
    tags: tuple[str, ...] = ()
    goos: str | None = None
    goarch: str | None = None


OnFailure = Literal["report", "fail"]
ToolchainMode = Literal["local", "auto"]

# GOFLAGS entries a configuration file (which a pull request can change) may not set: they run
# other programs (-toolexec, -exec), swap source files (-overlay, -modfile), replace the
# compiler (-compiler) or the bot's own settings (-gcflags, -mod other than readonly/vendor).
REFUSED_GOFLAGS = ("-toolexec", "-exec", "-overlay", "-modfile", "-compiler", "-gcflags")


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """`[build]`: which modules are built and in what Go environment (docs/configuration.md)."""

    modules: tuple[str, ...] = ("**",)  # globs over module directories; a leading `!` excludes
    on_failure: OnFailure = "report"
    toolchain: ToolchainMode = "local"
    goflags: tuple[str, ...] = ()
    cgo: bool | None = None  # None: Go's own default


def module_patterns(patterns: Sequence[str], key: str) -> tuple[str, ...]:
    """Validate module globs (`bench/**`, `!examples/**`); ConfigError naming `key`."""
    for i, pattern in enumerate(patterns):
        body = pattern[1:] if pattern.startswith("!") else pattern
        Glob(body, key=f"{key}[{i}]")  # raises on an invalid glob
        if body.startswith("/") or ".." in body.split("/"):
            raise ConfigError(f"{key}[{i}]: {pattern!r}: module globs are relative to the repository root")
    return tuple(patterns)


def check_goflags(flags: Sequence[str], key: str) -> tuple[str, ...]:
    """GOFLAGS entries, each `-flag` or `-flag=value`; the refused ones are a ConfigError."""
    for i, flag in enumerate(flags):
        name = flag.split("=", 1)[0]
        if not flag.startswith("-") or " " in flag.strip():
            raise ConfigError(f'{key}[{i}]: {flag!r}: one flag per entry, like "-trimpath" or "-p=2"')
        normalized = "-" + name.lstrip("-")
        if normalized in REFUSED_GOFLAGS:
            raise ConfigError(f"{key}[{i}]: {flag!r} is refused: it lets the built code choose what runs")
        if normalized == "-mod" and flag.split("=", 1)[-1] not in ("readonly", "vendor"):
            raise ConfigError(f"{key}[{i}]: {flag!r}: only -mod=readonly (the default) or -mod=vendor")
    return tuple(flags)


@dataclass(frozen=True, slots=True)
class Budget:
    """How many new escapes a scope may add; `max_new` None means "never" (not even waivable)."""

    package: Glob | None
    cause: Cause | None
    max_new: int | None
    key: str  # where it was written, for messages: `gate.budget[0]`

    def matches(self, escape: Escape) -> bool:
        """True when the escape falls in this budget's scope."""
        if self.package is not None and not self.package.match(escape.package):
            return False
        return self.cause is None or escape.cause is self.cause

    def describe(self) -> str:
        """`package example.com/m/hot/**, cause returned`."""
        parts = []
        if self.package is not None:
            parts.append(f"package {self.package.pattern}")
        if self.cause is not None:
            parts.append(f"cause {self.cause.value}")
        return ", ".join(parts) or "everything"


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """An allow-list entry: matching new escapes are shown as allowed, never gated."""

    package: Glob
    function: Glob
    reason: str
    expression: str | None = None
    cause: Cause | None = None
    key: str = ""

    def matches(self, escape: Escape) -> bool:
        """True when the escape is the one this entry allows."""
        return (
            self.package.match(escape.package)
            and self.function.match(escape.function)
            and (self.expression is None or " ".join(escape.expression.split()) == self.expression)
            and (self.cause is None or escape.cause is self.cause)
        )


@dataclass(frozen=True, slots=True)
class GateConfig:
    """What fails the gate."""

    fail_on: Literal["new", "never"] = "new"
    kinds: tuple[Kind, ...] = DEFAULT_KINDS
    max_new: int = 0  # for escapes no budget covers
    budgets: tuple[Budget, ...] = ()
    constants: bool = False  # count constants boxed into interfaces (they allocate nothing)
    generated: bool = False  # gate files with a `// Code generated ... DO NOT EDIT.` header
    # --mode publish: `//escape-bot:allow` comments the pull request adds count too (else only
    # those on lines unchanged from the base branch); listed as such in the comment
    pr_suppressions: bool = False
    # only new escapes in functions with at least this share of the CPU samples (or allocating in
    # the memory profile) block; None: every new escape does (docs/ranking.md)
    hot_only: float | None = None


@dataclass(frozen=True, slots=True)
class RankConfig:
    """`[rank]`: the profiles that rank new escapes by how hot they are."""

    profiles: tuple[str, ...] = ()  # CPU or memory profiles, relative to the repository root
    pgo: bool = True  # with no profiles: the repository's `default.pgo` files, as `go build -pgo=auto`


CommentWhen = Literal["always", "changes", "failure", "never"]
CommentOutdated = Literal["edit", "minimize-and-repost"]


@dataclass(frozen=True, slots=True)
class CommentConfig:
    """`[comment]`: when the sticky comment is posted, and what becomes of an outdated one."""

    when: CommentWhen = "always"  # changes: new or fixed escapes, or an earlier comment to update
    outdated: CommentOutdated = "edit"  # minimize-and-repost: hide the old one, post a new one


@dataclass(frozen=True, slots=True)
class Config:
    """The effective configuration (defaults when there is no file)."""

    include: tuple[Glob, ...] = ()
    exclude: tuple[Glob, ...] = field(
        default_factory=lambda: tuple(Glob(g, key="exclude") for g in DEFAULT_EXCLUDE)
    )
    builds: tuple[BuildConfig, ...] = (BuildConfig(),)
    build: BuildSettings = BuildSettings()
    include_tests: bool = False
    gate: GateConfig = GateConfig()
    allow: tuple[AllowEntry, ...] = ()
    accept_label: str | None = "escape-bot/accept"
    comment: CommentConfig = CommentConfig()
    rank: RankConfig = RankConfig()
    source: str = "defaults"  # the file it came from

    def wants(self, file: str) -> bool:
        """True when escapes in `file` (repository-relative) are reported at all."""
        if self.include and not any(g.match(file) for g in self.include):
            return False
        return not any(g.match(file) for g in self.exclude)

    def filter(self, escapes: Sequence[Escape]) -> tuple[Escape, ...]:
        """Only the escapes of wanted files."""
        return tuple(e for e in escapes if self.wants(e.file))


# --- reading: the schema first (bot/config_schema.py), then what a schema cannot say -------------


def _globs(patterns: Sequence[str], key: str) -> tuple[Glob, ...]:
    return tuple(Glob(g, key=f"{key}[{i}]") for i, g in enumerate(patterns))


def _build_settings(table: Mapping[str, Any]) -> tuple[BuildSettings, tuple[BuildConfig, ...] | None]:
    """`[build]`: the settings, and its `[[build.configuration]]` tables if any."""
    settings = BuildSettings(
        modules=module_patterns(table.get("modules", ["**"]), "build.modules"),
        on_failure=table.get("on-failure", "report"),
        toolchain=table.get("toolchain", "local"),
        goflags=check_goflags(table.get("goflags", []), "build.goflags"),
        cgo=table.get("cgo"),
    )
    configs = _builds(table["configuration"], "build.configuration") if "configuration" in table else None
    return settings, configs


def _builds(tables: Sequence[Mapping[str, Any]], where: str = "build") -> tuple[BuildConfig, ...]:
    builds = []
    names: set[str] = set()
    for i, table in enumerate(tables):
        key = f"{where}[{i}]"
        name = table.get("name", "default" if i == 0 else "")
        if not _NAME.match(name):  # only a missing name gets here: the schema checked the others
            raise ConfigError(f"{key}.name: {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if name in names:
            raise ConfigError(f"{key}.name: {name!r} is used twice")
        names.add(name)
        builds.append(
            BuildConfig(
                name=name,
                tags=tuple(table.get("tags", [])),
                goos=table.get("goos"),
                goarch=table.get("goarch"),
            )
        )
    return tuple(builds)


def _max_new(value: int | str) -> int | None:
    return None if value == "never" else int(value)


def _gate(table: Mapping[str, Any]) -> GateConfig:
    budgets = tuple(
        Budget(
            package=Glob(b["package"], key=f"gate.budget[{i}].package") if "package" in b else None,
            cause=Cause(b["cause"]) if "cause" in b else None,
            max_new=_max_new(b["max-new"]),
            key=f"gate.budget[{i}]",
        )
        for i, b in enumerate(table.get("budget", []))
    )
    hot_only = table.get("hot-only")
    return GateConfig(
        fail_on=table.get("fail-on", "new"),
        kinds=tuple(Kind(k) for k in table.get("kinds", [k.value for k in DEFAULT_KINDS])),
        max_new=_max_new(table.get("max-new", 0)) or 0,
        budgets=budgets,
        constants=table.get("constants", False),
        generated=table.get("generated", False),
        pr_suppressions=table.get("pr-suppressions", False),
        hot_only=None if hot_only is None else float(hot_only),
    )


def _allow(tables: Sequence[Mapping[str, Any]]) -> tuple[AllowEntry, ...]:
    return tuple(
        AllowEntry(
            package=Glob(t["package"], key=f"allow[{i}].package"),
            function=Glob(t["function"], key=f"allow[{i}].function"),
            reason=t["reason"].strip(),
            expression=" ".join(t["expression"].split()) if "expression" in t else None,
            cause=Cause(t["cause"]) if "cause" in t else None,
            key=f"allow[{i}]",
        )
        for i, t in enumerate(tables)
    )


def parse_config(text: str, source: str = CONFIG_FILE) -> Config:
    """Validate a configuration file's text; ConfigError names the key (and line) at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    try:
        return _config(data, source)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}") from None


def _config(data: dict[str, Any], source: str) -> Config:
    problem = first_error(data)
    if problem is not None:
        raise ConfigError(problem)
    defaults = Config()
    accept_label = defaults.accept_label
    if "accept" in data:  # an empty label turns acceptance off
        accept_label = data["accept"].get("label", accept_label).strip() or None
    settings, builds = defaults.build, None
    if isinstance(data.get("build"), dict):  # `[build]`: settings (+ `[[build.configuration]]`)
        settings, builds = _build_settings(data["build"])
    elif "build" in data:  # `[[build]]`: build configurations only
        builds = _builds(data["build"])
    comment = data.get("comment", {})
    rank = data.get("rank", {})
    return Config(
        include=_globs(data.get("include", []), "include"),
        exclude=_globs(data["exclude"], "exclude") if "exclude" in data else defaults.exclude,
        builds=builds or defaults.builds,
        build=settings,
        include_tests=data.get("include-tests", False),
        gate=_gate(data["gate"]) if "gate" in data else defaults.gate,
        allow=_allow(data.get("allow", [])),
        accept_label=accept_label,
        comment=CommentConfig(when=comment.get("when", "always"), outdated=comment.get("outdated", "edit")),
        rank=RankConfig(profiles=tuple(rank.get("profiles", [])), pgo=rank.get("pgo", True)),
        source=source,
    )


def effective(config: Config) -> dict[str, Any]:
    """The configuration as plain data (`escape-bot config check`)."""
    return {
        "source": config.source,
        "include": [g.pattern for g in config.include],
        "exclude": [g.pattern for g in config.exclude],
        "include-tests": config.include_tests,
        "build": {
            "modules": list(config.build.modules),
            "on-failure": config.build.on_failure,
            "toolchain": config.build.toolchain,
            "goflags": list(config.build.goflags),
            "cgo": config.build.cgo,
            "configuration": [
                {"name": b.name, "tags": list(b.tags), "goos": b.goos, "goarch": b.goarch}
                for b in config.builds
            ],
        },
        "gate": {
            "fail-on": config.gate.fail_on,
            "kinds": [k.value for k in config.gate.kinds],
            "max-new": config.gate.max_new,
            "constants": config.gate.constants,
            "generated": config.gate.generated,
            "budget": [
                {
                    "package": b.package.pattern if b.package else None,
                    "cause": b.cause.value if b.cause else None,
                    "max-new": "never" if b.max_new is None else b.max_new,
                }
                for b in config.gate.budgets
            ],
            "pr-suppressions": config.gate.pr_suppressions,
            "hot-only": config.gate.hot_only,
        },
        "allow": [
            {
                "package": a.package.pattern,
                "function": a.function.pattern,
                "expression": a.expression,
                "cause": a.cause.value if a.cause else None,
                "reason": a.reason,
            }
            for a in config.allow
        ],
        "accept": {"label": config.accept_label},
        "comment": {"when": config.comment.when, "outdated": config.comment.outdated},
        "rank": {"profiles": list(config.rank.profiles), "pgo": config.rank.pgo},
    }


def load_config(path: Path | None, repo_root: Path) -> Config:
    """`path` (must exist), else `.escape-bot.toml` at the repository root, else the defaults."""
    if path is None:
        candidate = repo_root / CONFIG_FILE
        if not candidate.is_file():
            return Config()
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from None
    return parse_config(text, str(path))
