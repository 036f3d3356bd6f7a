"""The test runner's expression evaluator refuses what it does not know (tests/action/runner.py)."""

from __future__ import annotations

import pytest

from tests.action.runner import Contexts, UnsupportedExpression, evaluate, parse_outputs, scalar

CTX = Contexts(
    inputs={"name": "linux", "token": "t0k"},
    action_path="/actions/escape-bot",
    token="ghs_x",
    runner_temp="/tmp/runner",
    steps={"install": {"escape-bot": "/venv/bin/escape-bot"}},
)


def test_the_known_contexts() -> None:
    assert evaluate("${{ inputs.name }}", CTX) == "linux"
    assert evaluate("${{github.action_path}}/x", CTX) == "/actions/escape-bot/x"
    assert evaluate("${{ github.token }}", CTX) == "ghs_x"
    assert evaluate("${{ runner.temp }}/venv", CTX) == "/tmp/runner/venv"
    assert evaluate("${{ steps.install.outputs.escape-bot }}", CTX) == "/venv/bin/escape-bot"
    assert evaluate("${{ steps.missing.outputs.x }}", CTX) == ""  # as the runner: empty
    assert evaluate("a ${{ inputs.name }} b ${{ inputs.token }}", CTX) == "a linux b t0k"


@pytest.mark.parametrize(
    "text",
    [
        "${{ inputs.missing }}",
        "${{ github.event.pull_request.title }}",
        "${{ secrets.TOKEN }}",
        "${{ inputs.name || 'x' }}",
        "${{ format('{0}', inputs.name) }}",
        "${{ env.HOME }}",
        "${{ inputs.name",
    ],
)
def test_anything_else_fails(text: str) -> None:
    with pytest.raises(UnsupportedExpression):
        evaluate(text, CTX)


def test_outputs_file_and_scalars() -> None:
    text = "a=1\nb<<ghadelimiter_x\nline 1\nline=2\nghadelimiter_x\nc=x=y\n"
    assert parse_outputs(text) == {"a": "1", "b": "line 1\nline=2", "c": "x=y"}
    assert (scalar(True), scalar(False), scalar(None), scalar(3)) == ("true", "false", "", "3")
