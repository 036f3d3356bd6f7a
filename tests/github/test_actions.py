"""Workflow commands, step outputs and the job summary (the runner's stdout and file protocols)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.github.actions import (
    WorkflowCommands,
    append_summary,
    command,
    escape_data,
    escape_property,
    write_outputs,
)


def test_escaping_follows_actions_toolkit() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert escape_data("a:b,c") == "a:b,c"  # messages keep `:` and `,`


def test_a_compiler_message_cannot_issue_a_command() -> None:
    hostile = "x\n::warning::pwned\n::set-output name=a::b"
    line = command("error", hostile, file="p/a,b.go", line=3, title="t: x")
    assert (
        line == "::error file=p/a%2Cb.go,line=3,title=t%3A x::x%0A::warning::pwned%0A::set-output name=a::b"
    )
    assert "\n" not in line


def test_annotations_groups_and_stop_commands() -> None:
    out = io.StringIO()
    commands = WorkflowCommands(out)
    with commands.group("build"), commands.untrusted():
        out.write("::warning::from the compiler\n")
    commands.annotate("notice", "done")
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::build"
    stop = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[1])
    assert stop is not None
    assert lines[2:] == [
        "::warning::from the compiler",
        f"::{stop.group(1)}::",
        "::endgroup::",
        "::notice::done",
    ]
    with commands.untrusted():
        pass
    assert (
        re.findall(r"::stop-commands::(\w+)", out.getvalue())[0]
        != re.findall(r"::stop-commands::(\w+)", out.getvalue())[1]
    )


def test_outputs_single_and_multi_line(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    write_outputs(path, {"new-count": 3, "report-path": "/tmp/r.json", "text": "a\nb"})
    text = path.read_text()
    assert text.startswith("earlier=1\nnew-count=3\nreport-path=/tmp/r.json\ntext<<ghadelimiter_")
    m = re.search(r"text<<(ghadelimiter_[0-9a-f]{32})\na\nb\n\1\n$", text)
    assert m is not None


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    append_summary(path, "# one")
    append_summary(path, "two\n")
    assert path.read_text() == "# one\ntwo\n"
