"""`escape-bot diff`: new and fixed heap escapes between two revisions, and the gate's verdict;
also the printers `demo` shares."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from bot.commands import (
    FORMATS,
    GateExit,
    build_flags,
    config_option,
    configuration_options,
    db_option,
    format_option,
    name_option,
    open_store,
    profile_option,
    progress_reporter,
    repo_option,
    shard_option,
)


@click.command("diff", short_help="New and fixed heap escapes between two revisions, and the gate.")
@repo_option
@click.option("--base", "base_rev", required=True, metavar="REV", help="Base revision (e.g. origin/main).")
@click.option("--head", "head_rev", default="HEAD", show_default=True, metavar="REV", help="Head revision.")
@format_option(FORMATS, "text", "markdown: the verdict, a table per cause (as the PR comment).")
@click.option(
    "--fail-on-new", is_flag=True, help="Exit 1 when the gate fails (by default: any new heap escape)."
)
@config_option
@db_option
@click.option(
    "--store/--no-store",
    "use_store",
    default=True,
    show_default=True,
    help="Take stored snapshots instead of building, and store what was built.",
)
@name_option
@profile_option
@shard_option
@build_flags
def diff_command(
    repo: Path,
    base_rev: str,
    head_rev: str,
    fmt: str,
    fail_on_new: bool,
    config_path: Path | None,
    db_url: str | None,
    use_store: bool,
    name: str | None,
    profiles: tuple[Path, ...],
    modules: tuple[str, ...],
    packages: tuple[str, ...],
    tags: str,
    goos: str | None,
    goarch: str | None,
    tests: bool,
    go: str | None,
    shard: str | None,
) -> None:
    """New and fixed heap escapes between two revisions (each built in a temporary worktree).

    Each build configuration of the configuration file is compared and reported on its own;
    --tags/--goos/--goarch replace them with one.
    """
    from bot import app, git
    from bot.config import BuildConfig, load_config
    from bot.gate import GatePolicy

    root = git.repo_root(repo)
    config = load_config(config_path, root)
    builds = config.builds
    if tags or goos or goarch:
        builds = (
            BuildConfig(
                name="command-line", tags=tuple(t for t in tags.split(",") if t), goos=goos, goarch=goarch
            ),
        )
    policy = GatePolicy.from_config(config)
    outputs = []
    failed = False
    with contextlib.ExitStack() as stack:
        store = None
        if use_store:
            from bot.ci.stores import NotRecording

            opened = stack.enter_context(open_store(db_url, root, "auto"))
            store = NotRecording(opened) if opened.read_only else opened
            if opened.read_only:
                click.echo(
                    f"escape-bot: warning: {opened.url} is read-only: nothing built is recorded", err=True
                )
        progress = stack.enter_context(progress_reporter(True))
        for build in builds:
            options = configuration_options(build, config, packages, tests, go, modules, shard)
            gated = app.compare_and_gate(
                root,
                base_rev,
                head_rev,
                options,
                config=config,
                policy=policy,
                store=store,
                progress=progress,
                profiles=profiles,
                repository=name,
            )
            failed = failed or not gated.decision.passed
            outputs.append((build.name, gated.comparison, gated.decision))
    print_comparisons(outputs, fmt, enforced=fail_on_new)
    if fail_on_new and failed:
        raise GateExit


def print_comparisons(outputs: list[tuple[str, Any, Any]], fmt: str, *, enforced: bool = True) -> None:
    """One comparison as before; several (build configurations) each under its name."""
    if fmt == "json":
        docs = [comparison_json(c, d) | {"build": name} for name, c, d in outputs]
        _echo_json(docs[0] if len(docs) == 1 else {"builds": docs})
        return
    for name, comparison, decision in outputs:
        if len(outputs) > 1:
            click.echo(f"## build {name}\n" if fmt == "markdown" else f"== build {name} ==")
        print_comparison(comparison, fmt, decision, enforced=enforced)


def _echo_json(data: dict[str, Any]) -> None:
    """Indented JSON on stdout, encoded by msgspec (bot/report/stream.py)."""
    from bot.report.stream import encode

    sys.stdout.flush()
    sys.stdout.buffer.write(encode(data, pretty=True))
    sys.stdout.buffer.flush()


def comparison_json(comparison: Any, decision: Any) -> dict[str, Any]:
    from bot.report.serialize import comparison_dict, escape_dict

    extra = {"base_source": comparison.base_source, "head_source": comparison.head_source}
    if decision is not None:
        extra["gate"] = {
            "verdict": decision.verdict.value,
            "reason": decision.reason,
            "allowed": [escape_dict(w.escape) | {"reason": w.reason} for w in decision.waived],
            "broken_annotations": [escape_dict(e) for e in decision.broken],
            "exceeded": list(decision.exceeded),
        }
    return comparison_dict(
        comparison.base, comparison.head, comparison.result, insight=comparison.insight, **extra
    )


def print_comparison(comparison: Any, fmt: str, decision: Any = None, *, enforced: bool = True) -> None:
    from bot.report.markdown import comparison_markdown
    from bot.report.text import comparison_text

    base, head, result = comparison.base, comparison.head, comparison.result
    if fmt == "json":
        _echo_json(comparison_json(comparison, decision))
    elif fmt == "markdown":
        markdown = comparison_markdown(
            base, head, result, decision, insight=comparison.insight, enforced=enforced
        )
        click.echo(markdown, nl=False)
    else:
        click.echo(comparison_text(base, head, result))
        for side, snap, source in (
            ("base", base, comparison.base_source),
            ("head", head, comparison.head_source),
        ):
            how = "taken from the store" if source == "store" else "built"
            click.echo(f"{side} {snap.commit[:12]}: {how}")
        if decision is not None:
            for w in decision.waived:
                click.echo(f"allowed: {w.escape.file}:{w.escape.line}: {w.escape.message}: {w.reason}")
            would = decision.verdict.value == "fail" and not enforced
            verdict = "would fail (--fail-on-new exits 1)" if would else decision.verdict.value
            click.echo(f"gate: {verdict}: {decision.reason}")
