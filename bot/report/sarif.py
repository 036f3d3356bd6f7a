"""SARIF 2.1.0 for code-scanning upload (pure): one rule per cause id, one result per heap escape.

A pull request's log holds the head's heap escapes: the new ones (`baselineState: new`, `error`
when they fail the gate, else `warning`) and the unchanged ones (`unchanged`, `note`); a push's log
(`snapshot_log`) holds every heap escape of the commit, the baseline code scanning compares a
pull request's alerts with. Leaving the unchanged ones out of a PR's log would make code scanning
report every existing alert as fixed by the PR.

`partialFingerprints.primaryLocationLineHash` (the one code scanning reads) and our own key come
from the escape's line-free identity (`bot.diff.fingerprint`) plus its ordinal among identical
ones, so an alert follows the code when lines move. `automationDetails.id` carries the
configuration name: each build configuration is its own category. Code scanning keeps at most
25,000 results of a run: beyond that the new ones are kept first, and a tool notification says
how many were left out. URIs are percent-encoded (RFC 3986).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from bot import __version__
from bot.diff import fingerprint
from bot.gate import Verdict
from bot.gc.model import Cause, Escape, Snapshot
from bot.gc.parse import in_goroot
from bot.report import safe
from bot.report.limits import SARIF_RESULTS_PER_RUN
from bot.report.render import DEFAULT_NAME, Links, Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "escapeIdentity/v1"


def _rule_name(cause: Cause) -> str:
    """`stored-in-heap` -> `StoredInHeap` (SARIF rule names are identifiers)."""
    return "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", cause.value))


# why the compiler moves the value to the heap, and what usually keeps it on the stack
HELP: dict[Cause, tuple[str, str]] = {
    Cause.RETURNED: (
        "A pointer to a local value is returned, so the value must outlive the call.",
        "Return the value itself instead of a pointer, or let the caller pass the destination in.",
    ),
    Cause.CHANNEL_SEND: (
        "A pointer is sent on a channel; the receiver may keep it after the sender's frame is gone.",
        "Send values rather than pointers when they are small.",
    ),
    Cause.CLOSURE_CAPTURE: (
        "A closure that outlives the call captures the variable by reference.",
        "Pass the value to the closure as an argument, or copy it into a local the closure owns.",
    ),
    Cause.STORED_IN_HEAP: (
        "The address is stored into an object that is already on the heap (a slice, map, field).",
        "Store values instead of pointers, or preallocate the container with value elements.",
    ),
    Cause.GLOBAL: (
        "The address is assigned to a package-level variable, which lives for the whole program.",
        "Keep the value local, or assign a value copy to the global.",
    ),
    Cause.INTERFACE_CONVERSION: (
        "The value is converted to an interface whose callee may keep it (fmt, errors, any).",
        "Avoid the interface on hot paths: use typed functions (strconv instead of fmt).",
    ),
    Cause.LEAKING_CALL: (
        "The address is passed to a function the compiler cannot see through (interface method, "
        "function value), or that keeps its argument.",
        "Call a concrete function, or change the callee so its parameter does not leak.",
    ),
    Cause.GO_DEFER: (
        "A go statement, or a defer in a loop, needs its closure on the heap.",
        "Move the loop body into a function so the defer runs once per call.",
    ),
    Cause.PANIC: (
        "The value is passed to panic, whose argument always escapes.",
        "Build the panic value only on the failing path.",
    ),
    Cause.TOO_LARGE: (
        "The value is too large (or too aligned) for the stack.",
        "Reuse a buffer (sync.Pool) or make the value smaller.",
    ),
    Cause.UNKNOWN_SIZE: (
        "The size is not known at compile time (make with a variable length).",
        "Use a constant size when an upper bound is known.",
    ),
    Cause.OUTLIVES_SCOPE: (
        "The address is assigned to a variable that lives longer than the value's scope.",
        "Narrow the variable's scope, or copy the value instead of taking its address.",
    ),
    Cause.UNSAFE: (
        "A uintptr or unsafe.Pointer conversion makes the compiler keep the value on the heap.",
        "Avoid the conversion, or confine it to the smallest scope.",
    ),
    Cause.UNKNOWN: (
        "escape-bot did not recognise the compiler's explanation.",
        "Read the compiler's explanation (go build -gcflags=-m=2) for this line.",
    ),
}


def _rule(cause: Cause) -> dict[str, Any]:
    why, fix = HELP[cause]
    return {
        "id": cause.value,
        "name": _rule_name(cause),
        "shortDescription": {"text": f"Heap escape: {cause.label}"},
        "fullDescription": {
            "text": f"The Go compiler's escape analysis moves a value to the heap: {cause.label}."
        },
        "help": {
            "text": f"{why} {fix} See `go build -gcflags=-m=2` for the compiler's own explanation.",
            "markdown": f"{why}\n\n**Fix:** {fix}\n\nThe compiler's own explanation: "
            "`go build -gcflags=-m=2`.",
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["performance", "heap-escape"], "precision": "high"},
    }


def uri(path: str) -> str:
    """A relative file path as a URI reference, percent-encoded (spaces, `#`, `%`, `:`, non-ASCII
    names stay one path)."""
    return safe.url_path(path)


def _column(e: Escape) -> int | None:
    """The compiler's byte column as a code-point column (SARIF counts characters)."""
    if e.column <= 0:
        return None
    if not e.line_text:
        return e.column
    prefix = e.line_text.encode("utf-8")[: e.column - 1]
    return len(prefix.decode("utf-8", errors="ignore")) + 1


def partial_fingerprint(identity: str, ordinal: int) -> str:
    """A fixed-size hash of the identity and the ordinal among escapes with that identity."""
    return hashlib.sha256(f"{identity}#{ordinal}".encode()).hexdigest()


def line_hash(identity: str, ordinal: int) -> str:
    """`primaryLocationLineHash` in code scanning's shape (`16 hex digits:occurrence`), from the
    line-free identity: the alert does not move to another escape when lines are inserted."""
    return f"{hashlib.sha256(identity.encode()).hexdigest()[:16]}:{ordinal + 1}"


def _result(e: Escape, index: int, level: str, ordinal: int, state: str = "new") -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(e.line, 1)}
    column = _column(e)
    if column is not None:
        region["startColumn"] = column
    identity = fingerprint(e)
    times = f" ({e.count} allocations)" if e.count > 1 else ""
    return {
        "ruleId": e.cause.value,
        "ruleIndex": index,
        "level": level,
        "message": {"text": safe.visible(f"{e.message}{times}: {e.cause.label}, in {e.function}")},
        "locations": [
            {
                "physicalLocation": {
                    # a relative URI: `a.go:9` would read as a scheme, a newline as anything
                    "artifactLocation": {"uri": uri(e.file), "uriBaseId": "%SRCROOT%"},
                    "region": region,
                },
                "logicalLocations": [
                    {
                        "name": e.function,
                        "fullyQualifiedName": f"{e.package}.{e.function}",
                        "kind": "function",
                    }
                ],
            }
        ],
        "partialFingerprints": {
            "primaryLocationLineHash": line_hash(identity, ordinal),
            FINGERPRINT_KEY: partial_fingerprint(identity, ordinal),
        },
        "baselineState": state,
        "properties": {
            "kind": e.kind.value,
            "expression": e.expression,
            "count": e.count,
            "fingerprint": identity,
        },
    }


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log of a pull request: its new heap escapes, then the unchanged ones (leaking-param
    records and constants boxed into interfaces, which allocate nothing, are not alerts)."""
    blocking = {id(e) for e in report.decision.blocking}
    failing = report.decision.verdict is Verdict.FAIL
    entries = [
        (e, "error" if failing and id(e) in blocking else "warning", "new")
        for e in report.result.counted(report.result.new)  # no leaks, no constants (unless counted)
    ]
    entries += [(e, "note", "unchanged") for e in report.result.counted(report.result.unchanged)]
    properties = {
        "baseCommit": report.base.commit,
        "goVersion": report.head.toolchain.go_version,
        "baseGoVersion": report.base.toolchain.go_version,
    }
    return _log(entries, report.name, report.links, report.head.commit, properties)


def snapshot_log(snapshot: Snapshot, name: str = DEFAULT_NAME, links: Links | None = None) -> dict[str, Any]:
    """The SARIF log of a commit's heap escapes: the default branch's baseline for code scanning."""
    entries = [(e, "note", "unchanged") for e in snapshot.escapes if e.kind.allocates]
    return _log(entries, name, links, snapshot.commit, {"goVersion": snapshot.toolchain.go_version})


def _log(
    entries: list[tuple[Escape, str, str]],
    name: str,
    links: Links | None,
    commit: str,
    properties: dict[str, Any],
) -> dict[str, Any]:
    causes = list(Cause)
    index = {c: i for i, c in enumerate(causes)}
    seen: Counter[str] = Counter()
    results = []
    for e, level, state in entries:
        if in_goroot(e.file):
            continue  # the Go distribution's file: no location in the repository to alert on
        identity = fingerprint(e)
        results.append(_result(e, index[e.cause], level, seen[identity], state))
        seen[identity] += 1
    left_out = max(len(results) - SARIF_RESULTS_PER_RUN.size, 0)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "escape-bot",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(c) for c in causes],
            }
        },
        "automationDetails": {"id": f"escape-bot/{name}/"},
        "columnKind": "unicodeCodePoints",
        "results": results[: SARIF_RESULTS_PER_RUN.size],  # the new ones come first
        "properties": properties,
    }
    if left_out:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning",
                        "message": {
                            "text": f"{left_out:,} heap escapes left out: code scanning keeps "
                            f"{SARIF_RESULTS_PER_RUN} per run; the JSON report (output report-path) "
                            "has all of them"
                        },
                    }
                ],
            }
        ]
    if links and commit:
        run["versionControlProvenance"] = [
            {
                "repositoryUri": f"{links.server_url.rstrip('/')}/{links.repository}",
                "revisionId": commit,
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
