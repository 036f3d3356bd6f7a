"""The view the report template sees (pure): rows, attribution, hotness and flow chains as raw
(untrusted) values; the template's filters (bot/report/filters.py) escape them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.attribution import Attribution, Reason
from bot.gate import Verdict
from bot.gc.model import Cause, Escape, FailedModule, Position, Snapshot, Toolchain
from bot.gc.parse import in_goroot
from bot.insight import Insight
from bot.profile.hotness import Hotness
from bot.report import hints, safe, text
from bot.report.text import label, side_words


@dataclass(frozen=True, slots=True, kw_only=True)
class Links:
    """Where source links point: `{server}/{repository}/blob/{sha}/{file}#L{line}`."""

    server_url: str
    repository: str

    def blob(self, sha: str, file: str, line: int) -> str | None:
        """A link to the line at `sha`; None without a sha (working tree) or a line."""
        if not sha or line <= 0 or in_goroot(file):
            return None  # a `$GOROOT/` file is the Go distribution's: no link into the repository
        return safe.blob_url(self.server_url, self.repository, sha, file, line)


@dataclass(frozen=True, slots=True)
class Row:
    """One escape in a table."""

    file: str
    line: int
    url: str | None
    function: str
    expression: str
    message: str
    cause: str
    cause_label: str
    count: int
    steps: tuple[str, ...]  # explanation, one line per flow and per step
    notes: str = ""  # `via inlined mk, p/p.go:7`, `3 appends to e.buf`, `constant: no allocation`
    hint: tuple[str, ...] = ()  # bot.report.hints.hint_parts: `Code` parts are code spans
    chain: tuple[ChainLink, ...] = ()  # the plain-language reason
    hot: str = ""  # `12.3 % CPU`, `4.1 MB allocated`: what the profiles say
    is_hot: bool = False  # marked with a flame
    cause_of: Culprit | None = None  # the change elsewhere that caused it (attributed escapes)
    group_start: bool = False  # the first row under its cause (the template prints the cause)
    group_size: int = 0  # on the first row: how many rows follow under that cause


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One link of the reason chain: `&i` (line 11); `ours` for our own words (`returned`)."""

    text: str
    ours: bool
    where: str  # `line 11`, `util.go:7`, or empty
    url: str | None


@dataclass(frozen=True, slots=True)
class Culprit:
    """The change a group of new escapes is attributed to, said in words."""

    function: str
    file: str
    line: int
    url: str | None
    words: str
    reason: str

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line, self.function, self.reason)


@dataclass(frozen=True, slots=True)
class Group:
    """The new escapes of one cause, for the summary table."""

    cause: str
    label: str
    units: int


@dataclass(frozen=True, slots=True)
class Side:
    """Base or head, as the footer shows it."""

    commit: str
    go_version: str
    platform: str
    url: str | None


@dataclass(frozen=True, slots=True)
class LeftOut:
    """What the size limit made us leave out."""

    explanations: int = 0
    fixed: int = 0
    new: int = 0

    def __bool__(self) -> bool:
        return bool(self.explanations or self.fixed or self.new)


def repo_file(e: Escape, at: Position) -> str | None:
    """The repository path of a position the compiler printed in `e`'s explanation (a module path
    such as `example.com/mini/b.go`), when it is a file of `e`'s package; None otherwise."""
    name = at.file
    if name == e.file or name.endswith("/" + e.file):
        return e.file
    if e.package and name.startswith(e.package + "/"):
        rest = name[len(e.package) + 1 :]
        if "/" not in rest:
            folder = e.file.rpartition("/")[0]
            return f"{folder}/{rest}" if folder else rest
    return None


def position_text(e: Escape, at: Position) -> str:
    """A step's position in the report's one path style: repository-relative when known."""
    file = repo_file(e, at)
    return f"{file}:{at.line}" if file else str(at)


def explanation_lines(e: Escape) -> tuple[str, ...]:
    """The compiler's flow explanation: a `DST ← SRC` line per flow, then its steps indented,
    positions repository-relative where they are files of the escape's package."""
    lines: list[str] = []
    for flow in e.explanation:
        lines.append(f"{flow.dst} ← {flow.src}")
        for step in flow.steps:
            where = f" at {position_text(e, step.at)}" if step.at else ""
            lines.append(f"    {step.where} ({step.why}){where}")
    return tuple(lines)


def flow_chain(e: Escape, sha: str, links: Links | None) -> tuple[ChainLink, ...]:
    out = []
    shown: Position | None = None
    for link in hints.chain(e):
        where, url = "", None
        if link.at is not None and (
            shown is None or (link.at.file, link.at.line) != (shown.file, shown.line)
        ):
            shown = link.at
            file = repo_file(e, link.at)
            if file is None:
                where = str(link.at)
            else:
                where = f"line {link.at.line}" if file == e.file else f"{file}:{link.at.line}"
                url = links.blob(sha, file, link.at.line) if links else None
        out.append(ChainLink(link.text, link.ours, where, url))
    return tuple(out)


def size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


HOT_SHARE = 0.01  # a function in at least 1 % of the CPU samples is hot (as `[gate] hot-only` reads it)


def hot_words(h: Hotness | None) -> str:
    """`12.3 % CPU, 4.1 MB allocated`: what the profiles say of an escape; empty when nothing."""
    if h is None:
        return ""
    parts = []
    if h.alloc_bytes:
        objects = f" in {h.alloc_objects:,} objects" if h.alloc_objects else ""
        parts.append(f"{size_text(h.alloc_bytes)} allocated{objects}")
    if h.cpu_share is not None:
        parts.append(f"{h.cpu_share * 100:.1f} % CPU")
    return ", ".join(parts)


def culprit_of(a: Attribution | None, sha: str, links: Links | None) -> Culprit | None:
    """The change elsewhere an escape is attributed to; None for its own line or no line."""
    if a is None or not a.located or a.reason is Reason.CHANGED_LINE:
        return None
    url = links.blob(sha, a.file, a.line) if links else None
    return Culprit(a.function, a.file, a.line, url, hints.attribution_words(a), a.reason.value)


def escape_row(e: Escape, sha: str, links: Links | None, insight: Insight | None = None) -> Row:
    hot = insight.hotness.get(e) if insight else None
    return Row(
        file=e.file,
        line=e.line,
        url=links.blob(sha, e.file, e.line) if links else None,
        function=e.function,
        expression=e.expression,
        message=e.message,
        cause=e.cause.value,
        cause_label=e.cause.label,
        count=e.count,
        steps=explanation_lines(e),
        notes="; ".join(text.notes(e)),
        hint=hints.hint_parts(e),
        chain=flow_chain(e, sha, links),
        hot=hot_words(hot),
        is_hot=bool(insight and insight.is_hot(e, HOT_SHARE)),
        cause_of=culprit_of(insight.attributions.get(e), sha, links) if insight else None,
    )


def ordered_new(new: Sequence[Escape], insight: Insight) -> list[Escape]:
    """Hottest first (`Insight.order`), then by cause; escapes attributed to one change elsewhere
    together, where the hottest of them stands."""
    by_cause = sorted(new, key=lambda e: list(Cause).index(e.cause))
    ordered = insight.order(by_cause)
    groups: dict[object, list[Escape]] = {}
    for e in ordered:
        a = insight.attributions.get(e)
        key: object = (
            (a.file, a.line, a.function, a.reason)
            if a and a.located and a.reason is not Reason.CHANGED_LINE
            else e
        )
        groups.setdefault(key, []).append(e)
    return [e for members in groups.values() for e in members]


def platform_text(t: Toolchain) -> str:
    tags = f" tags={','.join(t.tags)}" if t.tags else ""
    return f"{t.goos}/{t.goarch}{tags}" if t.goos else tags.strip()


def side_view(s: Snapshot, links: Links | None) -> Side:
    url = None
    if links and s.commit:
        url = f"{links.server_url.rstrip('/')}/{safe.url_path(links.repository)}/commit/{s.commit}"
    return Side(s.commit[:12] or s.revision, s.toolchain.go_version, platform_text(s.toolchain), url)


@dataclass(frozen=True, slots=True)
class Broken:
    """A module that did not build: which, on which side (said in words) and go's error lines."""

    module: str
    directory: str
    side: str
    words: str
    errors: tuple[str, ...]


def broken_module(f: FailedModule, base: Snapshot, head: Snapshot) -> Broken:
    return Broken(
        f.module, f.directory or ".", f.side, side_words(f.side, label(base), label(head)), f.errors
    )


@dataclass(frozen=True, slots=True)
class Allowed:
    """A new escape the gate let through, and the reason given for it."""

    row: Row
    reason: str


def unit_count(records: Iterable[Escape]) -> int:
    return sum(e.count for e in records)


def headline(new: int, fixed: int, verdict: Verdict, *, sites: int | None = None, allowed: int = 0) -> str:
    """`3 new heap escapes (2 sites), 1 allowed, 1 fixed`: the one-line verdict. Escapes are
    counted as allocations (`[]int{1}` boxed into an interface is two at one site) everywhere;
    allowed escapes are not new in this count."""
    if not new and not fixed and not allowed:
        return "No change in heap escapes"
    parts = [f"{new} new heap escape{'s' if new != 1 else ''}" if new else "No new heap escapes"]
    if new and sites is not None and sites != new:
        parts[0] += f" ({sites} site{'s' if sites != 1 else ''})"
    if verdict is Verdict.WARN:
        parts[0] += " (not gated)"
    if allowed:
        parts.append(f"{allowed} allowed")
    if fixed:
        parts.append(f"{fixed} fixed")
    return ", ".join(parts)


MAX_CONSTANT_ROWS = 50  # constants allocate nothing: a sample is enough, the JSON has them all
VISIBLE_ROWS = 20  # new escapes listed outside any collapsed section


@dataclass(frozen=True, slots=True)
class Compiler:
    """What the compiler alone changed (base rebuilt with head's toolchain), or why it is not known."""

    before: str
    after: str
    new: tuple[Row, ...]
    fixed: tuple[Row, ...]
    units: int  # new plus fixed heap escapes
    note: str


def compiler_section(insight: Insight, links: Links | None, base_sha: str) -> Compiler | None:
    effect = insight.toolchain
    if effect is None:
        return None
    result = effect.result
    new = [e for e in result.new if e.allocates] if result else []
    fixed = [e for e in result.fixed if e.allocates] if result else []
    return Compiler(
        effect.before,
        effect.after,
        tuple(escape_row(e, base_sha, links) for e in new[:MAX_CONSTANT_ROWS]),
        tuple(escape_row(e, base_sha, links) for e in fixed[:MAX_CONSTANT_ROWS]),
        unit_count(new) + unit_count(fixed),
        effect.note if result is None or effect.note else "",
    )


def mark_groups(rows: Sequence[Row]) -> tuple[Row, ...]:
    """Each row that starts a run of one attributed change says so (the template heads it)."""
    out: list[Row] = []
    previous: tuple[str, int, str, str] | None = None
    for i, r in enumerate(rows):
        key = r.cause_of.key if r.cause_of else None
        start = key is not None and key != previous
        size = 0
        if start:
            size = next(
                (j for j, o in enumerate(rows[i:]) if (o.cause_of.key if o.cause_of else None) != key),
                len(rows) - i,
            )
        out.append(replace(r, group_start=start, group_size=size))
        previous = key
    return tuple(out)
