"""Report files and outputs: report.json, report.sarif, the step outputs and the job summary."""

from __future__ import annotations

from pathlib import Path

from bot.ci.settings import Settings, Target
from bot.ci.stores import TolerantStore
from bot.diff import DiffResult
from bot.gc.model import Escape, Snapshot
from bot.github.actions import WorkflowCommands, append_summary, write_outputs
from bot.github.context import ActionsEnvironment
from bot.report import limits, safe
from bot.report.limits import Limit
from bot.report.render import (
    Flavour,
    Report,
    render,
)
from bot.report.sarif import sarif_log
from bot.report.serialize import comparison_dict
from bot.report.stream import encode, write_snapshot


def report_directory(settings: Settings, environment: ActionsEnvironment, root: Path) -> Path:
    """Where report.json and report.sarif go (absolute: the path is a step output)."""
    if settings.report_dir is not None:
        return settings.report_dir.resolve()
    if environment.runner_temp is not None:
        return environment.runner_temp.resolve() / "escape-bot" / settings.name
    return root / ".escape-bot" / "reports" / settings.name


def write_json(path: Path, data: object) -> Path:
    """Indented JSON (msgspec's encoder, bot/report/stream.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(data, pretty=True))
    return path


def write_snapshot_json(path: Path, snapshot: Snapshot) -> Path:
    """A push's report.json, the `collect --format json` of the commit with its explanations,
    written escape by escape."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_snapshot(snapshot, f, pretty=True, explain=True)
    return path


def summary_budget(path: Path, share: int) -> Limit:
    """This configuration's part of the 1 MiB the step's job summary may hold: what is left, shared
    with the configurations still to come, less room for a failure note."""
    used = path.stat().st_size if path.exists() else 0
    left = max(limits.STEP_SUMMARY.size - used - 4096, 0)
    return Limit(max(left // max(share, 1) - 1, 0), "bytes")  # -1: append_summary's newline


def report_store_errors(
    store: TolerantStore | None, environment: ActionsEnvironment, commands: WorkflowCommands
) -> str | None:
    """After the result is out: say that the snapshots could not be recorded, and why."""
    if store is None or not store.errors:
        return None
    reason = store.errors[0]
    line = f"the snapshot could not be recorded (the result above stands): {reason}"
    commands.annotate("warning", f"escape-bot: {line}")
    if environment.step_summary is not None:
        append_summary(environment.step_summary, f"\n**escape-bot**: {safe.plain(line)}\n")
    return reason


def write_reports(
    environment: ActionsEnvironment,
    directory: Path,
    report: Report,
    target: Target,
    sources: tuple[str, str],
    extra_outputs: dict[str, str | int],
    summary_share: int = 1,
) -> tuple[Path, Path]:
    """report.json, report.sarif, the step outputs and the job summary."""
    data = comparison_dict(
        report.base,
        report.head,
        report.result,
        insight=report.insight,
        base_source=sources[0],
        head_source=sources[1],
        name=report.name,
        pull_request={"number": target.number, "head_sha": target.head_sha}
        if target.number is not None
        else None,
        gate={"verdict": report.decision.verdict.value, "reason": report.decision.reason},
    )
    report_path = write_json(directory / "report.json", data)
    sarif_path = write_json(directory / "report.sarif", sarif_log(report))
    if environment.output is not None:
        write_outputs(
            environment.output,
            {
                "new-count": units(report.result, report.result.new),
                "fixed-count": units(report.result, report.result.fixed),
                "verdict": report.decision.verdict.value,
                "report-path": str(report_path),
                "sarif-path": str(sarif_path),
                **extra_outputs,
            },
        )
    if environment.step_summary is not None:
        # the step's 1 MiB (STEP_SUMMARY_LIMIT) is shared with the configurations still to come
        budget = summary_budget(environment.step_summary, summary_share)
        append_summary(environment.step_summary, render(report, Flavour.SUMMARY, limit=budget))
    return report_path, sarif_path


def units(result: DiffResult, records: tuple[Escape, ...]) -> int:
    """Heap-allocation units that count (leaking-param records are contracts, constants boxed
    into interfaces allocate nothing unless `[gate] constants`)."""
    return sum(e.count for e in result.counted(records))
