"""The Markdown report (pure): PR comment, job summary, check-run summary and `--format markdown`.

One Jinja2 template renders every flavour. The environment is sandboxed with strict undefined
variables, and its `finalize` hook lets a template output only `Md` (escaped by a filter from
bot/report/safe.py) or an integer: a value printed without a filter fails the rendering instead of
reaching a pull request unescaped.

GitHub refuses comment bodies over 65,536 characters and check summaries over 65,535 bytes (422),
so `render` fits the report into a limit (bot/report/limits.py) by leaving out the least useful
detail first: explanations, then the fixed list, then rows of new escapes; the counts always
stay, and the report says how much was left out and where the full report is.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from bot.attribution import Attribution, Reason
from bot.diff import DiffResult
from bot.gate import GateDecision, Verdict
from bot.gc.model import Cause, Escape, FailedModule, Position, Snapshot, Toolchain
from bot.gc.parse import in_goroot
from bot.insight import Insight
from bot.profile.hotness import Hotness
from bot.report import hints, limits, safe, text
from bot.report.limits import Limit
from bot.report.safe import Md
from bot.report.text import label, side_words

DEFAULT_NAME = "default"


# the limits are defined, with their units, in bot/report/limits.py; these names are what callers use
COMMENT_LIMIT = limits.COMMENT_BODY
CHECK_SUMMARY_LIMIT = limits.CHECK_SUMMARY
STEP_SUMMARY_LIMIT = limits.STEP_SUMMARY


class Flavour(StrEnum):
    """Where the Markdown goes."""

    COMMENT = "comment"  # the sticky PR comment: starts with the hidden marker
    SUMMARY = "summary"  # the job summary (GITHUB_STEP_SUMMARY)
    CHECK = "check"  # check-run output.summary
    PLAIN = "plain"  # `escape-bot diff --format markdown`


class UnsafeOutputError(Exception):
    """A template tried to output a value that no escaping filter produced (a bug)."""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything the report shows."""

    base: Snapshot
    head: Snapshot
    result: DiffResult
    decision: GateDecision
    name: str = DEFAULT_NAME
    links: Links | None = None
    insight: Insight = field(default_factory=Insight)  # attribution, hotness, toolchain effect
    accept_label: str | None = "escape-bot/accept"  # `[accept] label`; None: acceptance is off
    policy_url: str | None = None  # where the configuration reference is (a link when given)
    enforced: bool = True  # False: `diff` without `--fail-on-new`, a failing gate exits 0


# ---- the view the template sees: raw (untrusted) values, escaped by filters in the template ----


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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cut:
    """How much detail to keep (None: all)."""

    explanations: int | None = None
    fixed: int | None = None
    new: int | None = None


@dataclass(frozen=True, slots=True)
class _Model:
    """The full view before cutting."""

    rows: tuple[Row, ...]  # the new escapes, most important first
    fixed: tuple[Row, ...]
    context: dict[str, object] = field(hash=False)


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


def _at(e: Escape, at: Position) -> str:
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
            where = f" at {_at(e, step.at)}" if step.at else ""
            lines.append(f"    {step.where} ({step.why}){where}")
    return tuple(lines)


def _chain(e: Escape, sha: str, links: Links | None) -> tuple[ChainLink, ...]:
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


def _size(n: int) -> str:
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
        parts.append(f"{_size(h.alloc_bytes)} allocated{objects}")
    if h.cpu_share is not None:
        parts.append(f"{h.cpu_share * 100:.1f} % CPU")
    return ", ".join(parts)


def _culprit(a: Attribution | None, sha: str, links: Links | None) -> Culprit | None:
    """The change elsewhere an escape is attributed to; None for its own line or no line."""
    if a is None or not a.located or a.reason is Reason.CHANGED_LINE:
        return None
    url = links.blob(sha, a.file, a.line) if links else None
    return Culprit(a.function, a.file, a.line, url, hints.attribution_words(a), a.reason.value)


def _row(e: Escape, sha: str, links: Links | None, insight: Insight | None = None) -> Row:
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
        chain=_chain(e, sha, links),
        hot=hot_words(hot),
        is_hot=bool(insight and insight.is_hot(e, HOT_SHARE)),
        cause_of=_culprit(insight.attributions.get(e), sha, links) if insight else None,
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


def _platform(t: Toolchain) -> str:
    tags = f" tags={','.join(t.tags)}" if t.tags else ""
    return f"{t.goos}/{t.goarch}{tags}" if t.goos else tags.strip()


def _side(s: Snapshot, links: Links | None) -> Side:
    url = None
    if links and s.commit:
        url = f"{links.server_url.rstrip('/')}/{safe.url_path(links.repository)}/commit/{s.commit}"
    return Side(s.commit[:12] or s.revision, s.toolchain.go_version, _platform(s.toolchain), url)


@dataclass(frozen=True, slots=True)
class Broken:
    """A module that did not build: which, on which side (said in words) and go's error lines."""

    module: str
    directory: str
    side: str
    words: str
    errors: tuple[str, ...]


def _broken(f: FailedModule, base: Snapshot, head: Snapshot) -> Broken:
    return Broken(
        f.module, f.directory or ".", f.side, side_words(f.side, label(base), label(head)), f.errors
    )


@dataclass(frozen=True, slots=True)
class Allowed:
    """A new escape the gate let through, and the reason given for it."""

    row: Row
    reason: str


def _units(records: Iterable[Escape]) -> int:
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


_VERDICT_WORDS = {Verdict.PASS: "passed", Verdict.WARN: "would fail", Verdict.FAIL: "failed"}
_ICONS = {Verdict.PASS: ":white_check_mark: ", Verdict.WARN: ":warning: ", Verdict.FAIL: ":x: "}


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


def _compiler(insight: Insight, links: Links | None, base_sha: str) -> Compiler | None:
    effect = insight.toolchain
    if effect is None:
        return None
    result = effect.result
    new = [e for e in result.new if e.allocates] if result else []
    fixed = [e for e in result.fixed if e.allocates] if result else []
    return Compiler(
        effect.before,
        effect.after,
        tuple(_row(e, base_sha, links) for e in new[:MAX_CONSTANT_ROWS]),
        tuple(_row(e, base_sha, links) for e in fixed[:MAX_CONSTANT_ROWS]),
        _units(new) + _units(fixed),
        effect.note if result is None or effect.note else "",
    )


def _mark_groups(rows: Sequence[Row]) -> tuple[Row, ...]:
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


def _model(report: Report, flavour: Flavour, limit: Limit | None) -> _Model:
    result, links, insight = report.result, report.links, report.insight
    counted = result.counting.counts
    waived = {w.escape for w in report.decision.waived}
    new = [e for e in result.new if e.kind.allocates and counted(e) and e not in waived]
    fixed = [e for e in result.fixed if e.kind.allocates and counted(e)]
    constants = [e for e in result.new if e.kind.allocates and not counted(e)]
    by_cause: dict[Cause, list[Escape]] = defaultdict(list)
    for e in new:
        by_cause[e.cause].append(e)
    groups = tuple(Group(c.value, c.label, _units(by_cause[c])) for c in Cause if c in by_cause)
    head_sha = report.head.commit
    rows = tuple(_row(e, head_sha, links, insight) for e in ordered_new(new, insight))
    leaks_new = _units(e for e in result.new if not e.kind.allocates)
    leaks_fixed = _units(e for e in result.fixed if not e.kind.allocates)
    n_new, n_fixed = _units(new), _units(fixed)
    allowed = tuple(Allowed(_row(w.escape, head_sha, links), w.reason) for w in report.decision.waived)
    context: dict[str, object] = {
        "marker": safe.marker(report.name) if flavour is Flavour.COMMENT else None,
        "icon": Md("")
        if flavour is Flavour.PLAIN
        else Md(_ICONS[report.decision.verdict if report.enforced else Verdict.WARN]),
        "headline": headline(
            n_new,
            n_fixed,
            report.decision.verdict,
            sites=len(new),
            allowed=_units(w.escape for w in report.decision.waived),
        ),
        "name": report.name if report.name != DEFAULT_NAME else None,
        "groups": groups,
        "new_units": n_new,
        "new_sites": len(new),
        "fixed_units": n_fixed,
        "unchanged": _units(e for e in result.unchanged if e.kind.allocates and counted(e)),
        "leaks_new": leaks_new,
        "leaks_fixed": leaks_fixed,
        "base": _side(report.base, links),
        "head": _side(report.head, links),
        "toolchains_differ": report.base.toolchain != report.head.toolchain and insight.toolchain is None,
        "compiler": _compiler(insight, links, report.base.commit),
        "ranked_by": ", ".join(insight.profiles),
        "limit": limit.size if limit else 0,
        "limit_unit": limit.unit if limit else "characters",
        "flavour": flavour.value,
        "gate_reason": report.decision.reason,
        "gate_verdict": _VERDICT_WORDS[report.decision.verdict],
        "warn_only": report.decision.verdict is Verdict.WARN,
        "not_enforced": report.decision.verdict is Verdict.FAIL and not report.enforced,
        "accepted_by": report.decision.accepted_by,
        "accept_label": report.accept_label,
        "policy_url": report.policy_url,
        "broken": tuple(_row(e, head_sha, links) for e in report.decision.broken),
        "allowed": allowed,
        # constants boxed into interfaces: shown, never counted unless `[gate] constants`
        "constants": tuple(_row(e, head_sha, links) for e in constants[:MAX_CONSTANT_ROWS]),
        "constants_units": _units(constants),
        "constants_left_out": max(len(constants) - MAX_CONSTANT_ROWS, 0),
        "skipped": tuple(text.skipped_lines(report.head, result)),
        "failed_modules": tuple(_broken(f, report.base, report.head) for f in result.failed_modules),
    }
    fixed_rows = tuple(_row(e, report.base.commit, links) for e in fixed)
    return _Model(rows, fixed_rows, context)


def _take(rows: Sequence[Row], budget: int | None) -> tuple[tuple[Row, ...], int | None]:
    """The first `budget` rows (all when None) and what is left of the budget."""
    if budget is None:
        return tuple(rows), None
    kept = tuple(rows[:budget])
    return kept, budget - len(kept)


def _view(model: _Model, cut: _Cut) -> dict[str, object]:
    """The template context with at most `cut` rows, fixed rows and explanations, in document order."""
    kept, _ = _take(model.rows, cut.new)
    with_steps = [r for r in kept if r.steps]
    explained, _ = _take(with_steps, cut.explanations)
    visible = _mark_groups(kept[:VISIBLE_ROWS])
    collapsed = _mark_groups(kept[VISIBLE_ROWS:])
    fixed, _ = _take(model.fixed, cut.fixed)
    left = LeftOut(
        explanations=sum(1 for r in model.rows if r.steps) - len(explained),
        fixed=len(model.fixed) - len(fixed),
        new=len(model.rows) - len(kept),
    )
    return {
        **model.context,
        "rows": visible,
        "more_rows": collapsed,
        "more_units": sum(r.count for r in collapsed),
        "explained": tuple(explained),
        "fixed": fixed,
        "fixed_left_out": left.fixed,
        "left_out": left,
    }


# ---- filters: small and pure, each returns Md ----


def _cell(value: object) -> Md:
    return safe.code_span(str(value), in_table=True)


def _code(value: object) -> Md:
    return safe.code_span(str(value))


def _text(value: object) -> Md:
    return safe.plain(str(value))


def _text_cell(value: object) -> Md:
    return safe.plain(str(value), in_table=True)


def _html(value: object) -> Md:
    """Text inside an HTML element (`<summary>`): entities, no mentions, no comment opener."""
    return Md(safe.html_text(safe.one_line(str(value))).replace("@", "@\u200b"))


def _where(row: Row, table: bool = True) -> Md:
    """`file:line` as a code span, linked to the line when there is a URL."""
    label = safe.code_span(f"{text.shown_file(row.file)}:{row.line}", in_table=table)
    return Md(f"[{label}]({safe.url(row.url)})") if row.url else label


def _link(label: Md, url: str | None) -> Md:
    return Md(f"[{label}]({safe.url(url)})") if url else label


def _hint(parts: Sequence[str]) -> Md:
    """A hint: names and code as code spans, our words as plain text."""
    return Md("".join(safe.code_span(p) if isinstance(p, hints.Code) else safe.plain(p) for p in parts))


def _chain_md(links: Sequence[ChainLink]) -> Md:
    """`i` → `&i` ([line 11](…)) → returned ([line 11](…))."""
    out = []
    for link in links:
        text = safe.plain(link.text) if link.ours else safe.code_span(link.text)
        if link.where:
            text = Md(f"{text} ({_link(safe.plain(link.where), link.url)})")
        out.append(text)
    return Md(" → ".join(out))


def _culprit_md(c: Culprit) -> Md:
    """`sink` ([util.go:7](…), changed in this PR) now stores its parameter."""
    name = f"{safe.code_span(c.function)} " if c.function else ""
    where = _link(safe.code_span(f"{text.shown_file(c.file)}:{c.line}"), c.url)
    return Md(f"{name}({where}, changed in this PR) {safe.plain(c.words)}")


def _url(value: str) -> Md:
    return safe.url(value)


def _codeblock(lines: Sequence[str]) -> Md:
    return safe.code_block(lines)


def _plural(n: int, word: str) -> Md:
    return Md(f"{n:,} {word}{'' if n == 1 else 's'}")


def _number(n: int) -> Md:
    return Md(f"{n:,}")


def _finalize(value: object) -> object:
    if isinstance(value, Md) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise UnsafeOutputError(f"the template printed a {type(value).__name__} without an escaping filter")


@functools.cache
def environment() -> SandboxedEnvironment:
    """The sandboxed, strict Jinja2 environment with the escaping filters."""
    env = SandboxedEnvironment(
        loader=PackageLoader("bot.report", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: escaping is the filters' job, enforced by finalize
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        cell=_cell,
        code=_code,
        text=_text,
        textcell=_text_cell,
        html=_html,
        where=_where,
        url=_url,
        hint=_hint,
        chain=_chain_md,
        culprit=_culprit_md,
        codeblock=_codeblock,
        plural=_plural,
        number=_number,
    )
    return env


def _render_view(view: dict[str, object]) -> str:
    return environment().get_template("report.md.j2").render(view)


def _largest_fitting(render: Callable[[int], str], high: int, fits: Callable[[str], bool]) -> str | None:
    """The rendering with the largest k in [0, high] that fits (size grows with k), or None."""
    best = render(0)
    if not fits(best):
        return None
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        text = render(mid)
        if fits(text):
            low, best = mid, text
        else:
            high = mid - 1
    return best


def render(report: Report, flavour: Flavour = Flavour.COMMENT, *, limit: Limit | None = COMMENT_LIMIT) -> str:
    """The report as Markdown within `limit` (None: no limit)."""
    model = _model(report, flavour, limit)

    def fits(text: str) -> bool:
        return limit is None or limit.fits(text)

    def attempt(cut: _Cut) -> str:
        return _render(model, cut, flavour, report.name)

    text = attempt(_Cut())
    if fits(text):
        return text
    n_expl = sum(1 for r in model.rows if r.steps)
    n_new = len(model.rows)
    # least useful first: explanations, then the fixed list, then rows of new escapes
    phases: list[tuple[int, Callable[[int], _Cut]]] = [
        (n_expl, lambda k: _Cut(explanations=k)),
        (len(model.fixed), lambda k: _Cut(explanations=0, fixed=k)),
        (n_new, lambda k: _Cut(explanations=0, fixed=0, new=k)),
    ]
    for high, make_cut in phases:
        found = _largest_fitting(functools.partial(_attempt_cut, attempt, make_cut), high, fits)
        if found is not None:
            return found
    # not even the counts fit (a limit of a few hundred characters): cut at a line and say so
    note = "\n\n(report cut to fit the size limit)\n"
    text = attempt(_Cut(explanations=0, fixed=0, new=0))
    while text and not fits(text + note):
        text = text[: text.rfind("\n", 0, len(text) - 1) + 1]
    return text + note


def _attempt_cut(attempt: Callable[[_Cut], str], make_cut: Callable[[int], _Cut], k: int) -> str:
    return attempt(make_cut(k))


def _render(model: _Model, cut: _Cut, flavour: Flavour, name: str) -> str:
    text = _render_view(_view(model, cut))
    if flavour is Flavour.COMMENT and not text.startswith(safe.marker(name) + "\n"):
        raise UnsafeOutputError("the comment does not start with its marker")
    return text


def failure_markdown(name: str, reason: str, details: str, limit: Limit | None = None) -> str:
    """Why no verdict could be given: the one-line reason, then the compiler's (or the error's)
    lines in a code block, keeping as many of the first lines as `limit` allows and saying how
    many were left out."""
    title = f"escape-bot ({name})" if name != DEFAULT_NAME else "escape-bot"
    head = f"**:x: {safe.plain(title)} could not give a verdict**\n\n{safe.plain(safe.one_line(reason))}\n"
    lines = details.strip().splitlines()

    def text(k: int) -> str:
        if not lines:
            return head
        block = f"\n{safe.code_block(lines[:k])}\n" if k else "\n"
        left = len(lines) - k
        note = f"\n{_plural(left, 'more line')} left out: see the job's log.\n" if left else ""
        return head + block + note

    if limit is None or limit.fits(text(len(lines))):
        return text(len(lines))
    found = _largest_fitting(text, len(lines), limit.fits)
    return found if found is not None else limit.cut(head)
