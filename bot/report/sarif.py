"""SARIF 2.1.0 for code-scanning upload (pure): one rule per cause id, one result per new heap escape.

`partialFingerprints` come from the escape's line-free identity (`bot.diff.fingerprint`) plus its
ordinal among identical ones, so code scanning follows an alert when lines move, as our own
matching does. `automationDetails.id` carries the configuration name, so matrix jobs upload
separate analyses instead of closing each other's alerts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from bot import __version__
from bot.diff import fingerprint
from bot.gate import Verdict
from bot.gc.model import Cause, Escape
from bot.report import safe
from bot.report.render import Report

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "escapeIdentity/v1"


def _rule_name(cause: Cause) -> str:
    """`stored-in-heap` -> `StoredInHeap` (SARIF rule names are identifiers)."""
    return "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", cause.value))


def _rule(cause: Cause) -> dict[str, Any]:
    return {
        "id": cause.value,
        "name": _rule_name(cause),
        "shortDescription": {"text": f"Heap escape: {cause.label}"},
        "fullDescription": {
            "text": f"The Go compiler's escape analysis moves a value to the heap: {cause.label}."
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["performance", "heap-escape"], "precision": "high"},
    }


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


def _result(e: Escape, index: int, level: str, ordinal: int) -> dict[str, Any]:
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
                    "artifactLocation": {"uri": safe.url_path(e.file), "uriBaseId": "%SRCROOT%"},
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
        "partialFingerprints": {FINGERPRINT_KEY: partial_fingerprint(identity, ordinal)},
        "baselineState": "new",
        "properties": {
            "kind": e.kind.value,
            "expression": e.expression,
            "count": e.count,
            "fingerprint": identity,
        },
    }


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log of the new heap escapes of `report` (leaking-param records and constants boxed
    into interfaces, which allocate nothing, are not alerts)."""
    causes = list(Cause)
    index = {c: i for i, c in enumerate(causes)}
    blocking = {id(e) for e in report.decision.blocking}
    seen: Counter[str] = Counter()
    results = []
    for e in report.result.counted(report.result.new):  # no leaks, no constants (unless counted)
        level = "error" if report.decision.verdict is Verdict.FAIL and id(e) in blocking else "warning"
        identity = fingerprint(e)
        results.append(_result(e, index[e.cause], level, seen[identity]))
        seen[identity] += 1
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "escape-bot",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(c) for c in causes],
            }
        },
        "automationDetails": {"id": f"escape-bot/{report.name}/"},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "baseCommit": report.base.commit,
            "goVersion": report.head.toolchain.go_version,
            "baseGoVersion": report.base.toolchain.go_version,
        },
    }
    if report.links and report.head.commit:
        run["versionControlProvenance"] = [
            {
                "repositoryUri": f"{report.links.server_url.rstrip('/')}/{report.links.repository}",
                "revisionId": report.head.commit,
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
