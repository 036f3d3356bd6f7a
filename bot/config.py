"""`.escape-bot.toml`: read with `tomllib`, validated strictly, frozen into dataclasses (pure).

Every error names the key (`gate.budget[1].max-new`) and, where the TOML parser gives one, the
line; unknown keys are errors, not ignored. No file means the documented defaults
(docs/configuration.md).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

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


# --- reading -------------------------------------------------------------------------------------

_TOP = {"include", "exclude", "include-tests", "build", "gate", "allow", "accept", "comment", "rank"}
_RANK = {"profiles", "pgo"}
_COMMENT = {"when", "outdated"}
_BUILD = {"name", "tags", "goos", "goarch"}
_BUILD_SETTINGS = {"modules", "on-failure", "toolchain", "goflags", "cgo", "configuration"}
_GATE = {"fail-on", "kinds", "max-new", "budget", "constants", "generated", "pr-suppressions", "hot-only"}
_BUDGET = {"package", "cause", "max-new"}
_ALLOW = {"package", "function", "expression", "cause", "reason"}
_ACCEPT = {"label"}


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise ConfigError(f"{path}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {_type(value)}")
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of strings, got {_type(value)}")
    return tuple(_str(v, f"{key}[{i}]") for i, v in enumerate(value))


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table, got {_type(value)}")
    return value


def _tables(value: Any, key: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected an array of tables ([[{key}]]), got {_type(value)}")
    return [_table(v, f"{key}[{i}]") for i, v in enumerate(value)]


def _type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


def _cause(value: Any, key: str) -> Cause:
    text = _str(value, key)
    try:
        return Cause(text)
    except ValueError:
        raise ConfigError(
            f"{key}: unknown cause {text!r} (one of: {', '.join(c.value for c in Cause)})"
        ) from None


def _kind(value: Any, key: str) -> Kind:
    text = _str(value, key)
    try:
        return Kind(text)
    except ValueError:
        raise ConfigError(
            f"{key}: unknown kind {text!r} (one of: {', '.join(k.value for k in Kind)})"
        ) from None


def _max_new(value: Any, key: str) -> int | None:
    if value == "never":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f'{key}: expected a whole number ≥ 0 or "never", got {value!r}')
    return value


def _build_settings(value: Any) -> tuple[BuildSettings, tuple[BuildConfig, ...] | None]:
    """`[build]` (a table): the settings, and its `[[build.configuration]]` tables if any."""
    table = _table(value, "build")
    _check_keys(table, _BUILD_SETTINGS, "build")
    on_failure = _str(table.get("on-failure", "report"), "build.on-failure")
    if on_failure not in ("report", "fail"):
        raise ConfigError(f'build.on-failure: expected "report" or "fail", got {on_failure!r}')
    mode = _str(table.get("toolchain", "local"), "build.toolchain")
    if mode not in ("local", "auto"):
        raise ConfigError(f'build.toolchain: expected "local" or "auto", got {mode!r}')
    cgo = table.get("cgo")
    if cgo is not None and not isinstance(cgo, bool):
        raise ConfigError(f"build.cgo: expected true or false, got {_type(cgo)}")
    modules = module_patterns(_str_list(table.get("modules", ["**"]), "build.modules"), "build.modules")
    if not modules:
        raise ConfigError('build.modules: at least one glob (["**"]: every module)')
    settings = BuildSettings(
        modules=modules,
        on_failure="fail" if on_failure == "fail" else "report",
        toolchain="auto" if mode == "auto" else "local",
        goflags=check_goflags(_str_list(table.get("goflags", []), "build.goflags"), "build.goflags"),
        cgo=cgo,
    )
    configs = _builds(table["configuration"], "build.configuration") if "configuration" in table else None
    return settings, configs


def _builds(value: Any, where: str = "build") -> tuple[BuildConfig, ...]:
    builds = []
    names: set[str] = set()
    for i, table in enumerate(_tables(value, where)):
        key = f"{where}[{i}]"
        _check_keys(table, _BUILD, key)
        name = _str(table.get("name", "default" if i == 0 else ""), f"{key}.name")
        if not _NAME.match(name):
            raise ConfigError(f"{key}.name: {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if name in names:
            raise ConfigError(f"{key}.name: {name!r} is used twice")
        names.add(name)
        goos = table.get("goos")
        goarch = table.get("goarch")
        builds.append(
            BuildConfig(
                name=name,
                tags=_str_list(table.get("tags", []), f"{key}.tags"),
                goos=_str(goos, f"{key}.goos") if goos is not None else None,
                goarch=_str(goarch, f"{key}.goarch") if goarch is not None else None,
            )
        )
    if not builds:
        raise ConfigError(f"{where}: at least one [[{where}]] table, or none at all for the default")
    return tuple(builds)


def _gate(value: Any) -> GateConfig:
    table = _table(value, "gate")
    _check_keys(table, _GATE, "gate")
    fail_on = _str(table.get("fail-on", "new"), "gate.fail-on")
    if fail_on not in ("new", "never"):
        raise ConfigError(f'gate.fail-on: expected "new" or "never", got {fail_on!r}')
    kinds = tuple(_kind(k, f"gate.kinds[{i}]") for i, k in enumerate(table.get("kinds", list(DEFAULT_KINDS))))
    if not isinstance(table.get("kinds", []), list):
        raise ConfigError("gate.kinds: expected a list of kinds")
    max_new = _max_new(table.get("max-new", 0), "gate.max-new")
    budgets = []
    for i, b in enumerate(_tables(table.get("budget", []), "gate.budget")):
        key = f"gate.budget[{i}]"
        _check_keys(b, _BUDGET, key)
        if "max-new" not in b:
            raise ConfigError(f'{key}.max-new: required (a whole number or "never")')
        if "package" not in b and "cause" not in b:
            raise ConfigError(f"{key}: needs a package glob, a cause, or both")
        budgets.append(
            Budget(
                package=Glob(_str(b["package"], f"{key}.package"), key=f"{key}.package")
                if "package" in b
                else None,
                cause=_cause(b["cause"], f"{key}.cause") if "cause" in b else None,
                max_new=_max_new(b["max-new"], f"{key}.max-new"),
                key=key,
            )
        )
    flags = {}
    for name in ("constants", "generated", "pr-suppressions"):
        flag = table.get(name, False)
        if not isinstance(flag, bool):
            raise ConfigError(f"gate.{name}: expected true or false, got {_type(flag)}")
        flags[name] = flag
    hot_only = table.get("hot-only")
    if hot_only is not None and (
        isinstance(hot_only, bool) or not isinstance(hot_only, int | float) or not 0 <= hot_only <= 1
    ):
        raise ConfigError(
            f"gate.hot-only: expected a share of CPU samples from 0 to 1 (0.01: 1 %), got {hot_only!r}"
        )
    return GateConfig(
        fail_on="new" if fail_on == "new" else "never",
        kinds=kinds,
        max_new=0 if max_new is None else max_new,
        budgets=tuple(budgets),
        constants=flags["constants"],
        generated=flags["generated"],
        pr_suppressions=flags["pr-suppressions"],
        hot_only=None if hot_only is None else float(hot_only),
    )


def _rank(value: Any) -> RankConfig:
    table = _table(value, "rank")
    _check_keys(table, _RANK, "rank")
    pgo = table.get("pgo", True)
    if not isinstance(pgo, bool):
        raise ConfigError(f"rank.pgo: expected true or false, got {_type(pgo)}")
    return RankConfig(profiles=tuple(_str_list(table.get("profiles", []), "rank.profiles")), pgo=pgo)


def _allow(value: Any) -> tuple[AllowEntry, ...]:
    entries = []
    for i, table in enumerate(_tables(value, "allow")):
        key = f"allow[{i}]"
        _check_keys(table, _ALLOW, key)
        for required in ("package", "function", "reason"):
            if required not in table:
                raise ConfigError(f"{key}.{required}: required")
        reason = _str(table["reason"], f"{key}.reason").strip()
        if not reason:
            raise ConfigError(f"{key}.reason: must say why the escape is allowed")
        expression = table.get("expression")
        entries.append(
            AllowEntry(
                package=Glob(_str(table["package"], f"{key}.package"), key=f"{key}.package"),
                function=Glob(_str(table["function"], f"{key}.function"), key=f"{key}.function"),
                reason=reason,
                expression=" ".join(_str(expression, f"{key}.expression").split())
                if expression is not None
                else None,
                cause=_cause(table["cause"], f"{key}.cause") if "cause" in table else None,
                key=key,
            )
        )
    return tuple(entries)


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


def _config(data: Mapping[str, Any], source: str) -> Config:
    _check_keys(data, _TOP, "")
    defaults = Config()
    include = tuple(
        Glob(g, key=f"include[{i}]") for i, g in enumerate(_str_list(data.get("include", []), "include"))
    )
    exclude = defaults.exclude
    if "exclude" in data:
        exclude = tuple(
            Glob(g, key=f"exclude[{i}]") for i, g in enumerate(_str_list(data["exclude"], "exclude"))
        )
    include_tests = data.get("include-tests", False)
    if not isinstance(include_tests, bool):
        raise ConfigError(f"include-tests: expected true or false, got {_type(include_tests)}")
    accept_label = defaults.accept_label
    if "accept" in data:
        accept = _table(data["accept"], "accept")
        _check_keys(accept, _ACCEPT, "accept")
        # an empty label turns acceptance off
        accept_label = _str(accept.get("label", accept_label), "accept.label").strip() or None
    settings, builds = defaults.build, None
    if isinstance(data.get("build"), dict):  # `[build]`: settings (+ `[[build.configuration]]`)
        settings, builds = _build_settings(data["build"])
    elif "build" in data:  # `[[build]]`: build configurations only
        builds = _builds(data["build"])
    comment = defaults.comment
    if "comment" in data:
        comment = _comment(data["comment"])
    return Config(
        include=include,
        exclude=exclude,
        builds=builds or defaults.builds,
        build=settings,
        include_tests=include_tests,
        gate=_gate(data["gate"]) if "gate" in data else defaults.gate,
        allow=_allow(data["allow"]) if "allow" in data else (),
        accept_label=accept_label,
        comment=comment,
        rank=_rank(data["rank"]) if "rank" in data else defaults.rank,
        source=source,
    )


def _comment(value: Any) -> CommentConfig:
    table = _table(value, "comment")
    _check_keys(table, _COMMENT, "comment")
    when = _str(table.get("when", "always"), "comment.when")
    if when not in ("always", "changes", "failure", "never"):
        raise ConfigError(f"comment.when: expected always, changes, failure or never, got {when!r}")
    outdated = _str(table.get("outdated", "edit"), "comment.outdated")
    if outdated not in ("edit", "minimize-and-repost"):
        raise ConfigError(f"comment.outdated: expected edit or minimize-and-repost, got {outdated!r}")
    return CommentConfig(when=cast(CommentWhen, when), outdated=cast(CommentOutdated, outdated))


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
