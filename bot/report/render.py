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

from bot.diff import DiffResult
from bot.gate import GateDecision, Verdict
from bot.gc.model import Cause, Escape, FailedModule, Snapshot, Toolchain
from bot.gc.parse import in_goroot
from bot.insight import Insight
from bot.report import limits, safe, text
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


@dataclass(frozen=True, slots=True)
class Group:
    """The new escapes of one cause."""

    cause: str
    label: str
    units: int
    rows: tuple[Row, ...]
    rows_left_out: int
    explained: tuple[Row, ...]
    explanations_left_out: int


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

    groups: tuple[tuple[Cause, tuple[Row, ...]], ...]
    fixed: tuple[Row, ...]
    context: dict[str, object] = field(hash=False)


def explanation_lines(e: Escape) -> tuple[str, ...]:
    """The compiler's flow explanation: a `DST ← SRC` line per flow, then its steps indented."""
    lines: list[str] = []
    for flow in e.explanation:
        lines.append(f"{flow.dst} ← {flow.src}")
        for step in flow.steps:
            where = f" at {step.at}" if step.at else ""
            lines.append(f"    {step.where} ({step.why}){where}")
    return tuple(lines)


def _row(e: Escape, sha: str, links: Links | None) -> Row:
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
    )


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


def headline(new: int, fixed: int, verdict: Verdict) -> str:
    """`3 new heap escapes, 1 fixed`: the one-line verdict."""
    if not new and not fixed:
        return "No change in heap escapes"
    parts = [f"{new} new heap escape{'s' if new != 1 else ''}" if new else "No new heap escapes"]
    if verdict is Verdict.WARN:
        parts[0] += " (not gated)"
    if fixed:
        parts.append(f"{fixed} fixed")
    return ", ".join(parts)


_VERDICT_WORDS = {Verdict.PASS: "passed", Verdict.WARN: "passed with a warning", Verdict.FAIL: "failed"}
_ICONS = {Verdict.PASS: ":white_check_mark: ", Verdict.WARN: ":warning: ", Verdict.FAIL: ":x: "}


MAX_CONSTANT_ROWS = 50  # constants allocate nothing: a sample is enough, the JSON has them all


def _model(report: Report, flavour: Flavour, limit: Limit | None) -> _Model:
    result, links = report.result, report.links
    counted = result.counting.counts
    new = [e for e in result.new if e.kind.allocates and counted(e)]
    fixed = [e for e in result.fixed if e.kind.allocates and counted(e)]
    constants = [e for e in result.new if e.kind.allocates and not counted(e)]
    by_cause: dict[Cause, list[Escape]] = defaultdict(list)
    for e in new:
        by_cause[e.cause].append(e)
    groups = tuple(
        (c, tuple(_row(e, report.head.commit, links) for e in by_cause[c])) for c in Cause if c in by_cause
    )
    leaks_new = _units(e for e in result.new if not e.kind.allocates)
    leaks_fixed = _units(e for e in result.fixed if not e.kind.allocates)
    n_new, n_fixed = _units(new), _units(fixed)
    context: dict[str, object] = {
        "marker": safe.marker(report.name) if flavour is Flavour.COMMENT else None,
        "icon": Md("") if flavour is Flavour.PLAIN else Md(_ICONS[report.decision.verdict]),
        "headline": headline(n_new, n_fixed, report.decision.verdict),
        "name": report.name if report.name != DEFAULT_NAME else None,
        "new_units": n_new,
        "fixed_units": n_fixed,
        "unchanged": _units(e for e in result.unchanged if e.kind.allocates and counted(e)),
        "leaks_new": leaks_new,
        "leaks_fixed": leaks_fixed,
        "base": _side(report.base, links),
        "head": _side(report.head, links),
        "toolchains_differ": report.base.toolchain != report.head.toolchain,
        "limit": limit.size if limit else 0,
        "limit_unit": limit.unit if limit else "characters",
        "flavour": flavour.value,
        "gate_reason": report.decision.reason,
        "gate_verdict": _VERDICT_WORDS[report.decision.verdict],
        "accepted_by": report.decision.accepted_by,
        "broken": tuple(_row(e, report.head.commit, links) for e in report.decision.broken),
        "allowed": tuple(
            Allowed(_row(w.escape, report.head.commit, links), w.reason) for w in report.decision.waived
        ),
        # constants boxed into interfaces: shown, never counted unless `[gate] constants`
        "constants": tuple(_row(e, report.head.commit, links) for e in constants[:MAX_CONSTANT_ROWS]),
        "constants_units": _units(constants),
        "constants_left_out": max(len(constants) - MAX_CONSTANT_ROWS, 0),
        "skipped": tuple(text.skipped_lines(report.head, result)),
        "failed_modules": tuple(_broken(f, report.base, report.head) for f in result.failed_modules),
    }
    fixed_rows = tuple(_row(e, report.base.commit, links) for e in fixed)
    return _Model(groups, fixed_rows, context)


def _take(rows: Sequence[Row], budget: int | None) -> tuple[tuple[Row, ...], int | None]:
    """The first `budget` rows (all when None) and what is left of the budget."""
    if budget is None:
        return tuple(rows), None
    kept = tuple(rows[:budget])
    return kept, budget - len(kept)


def _view(model: _Model, cut: _Cut) -> dict[str, object]:
    """The template context with at most `cut` rows, fixed rows and explanations, in document order."""
    groups: list[Group] = []
    rows_budget, expl_budget = cut.new, cut.explanations
    left = LeftOut()
    for cause, rows in model.groups:
        kept, rows_budget = _take(rows, rows_budget)
        with_steps = [r for r in kept if r.steps]
        explained, expl_budget = _take(with_steps, expl_budget)
        groups.append(
            Group(
                cause=cause.value,
                label=cause.label,
                units=sum(r.count for r in rows),
                rows=kept,
                rows_left_out=len(rows) - len(kept),
                explained=explained,
                explanations_left_out=len(with_steps) - len(explained),
            )
        )
        left = replace(
            left,
            new=left.new + len(rows) - len(kept),
            explanations=left.explanations + sum(1 for r in rows if r.steps) - len(explained),
        )
    fixed, _ = _take(model.fixed, cut.fixed)
    left = replace(left, fixed=len(model.fixed) - len(fixed))
    return {**model.context, "groups": groups, "fixed": fixed, "fixed_left_out": left.fixed, "left_out": left}


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
    n_expl = sum(1 for _, rows in model.groups for r in rows if r.steps)
    n_new = sum(len(rows) for _, rows in model.groups)
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
