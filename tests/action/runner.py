"""Runs a composite action's steps the way GitHub's runner does, for the tests of action.yml.

What the runner does and this module does too, for each step of `runs.steps`:
- evaluates the `${{ ... }}` expressions of `env:`, `with:`, `working-directory:` and the
  outputs' `value:`. Only the contexts action.yml may use are known (`inputs.*`,
  `github.action_path`, `github.token`, `runner.temp`, `steps.<id>.outputs.*`); any other
  expression, an operator, a function, or an input the action does not declare fails the test,
  since this evaluator would give it a meaning GitHub's might not;
- runs a `run:` step as `bash --noprofile --norc -eo pipefail SCRIPT` (GitHub's `shell: bash`)
  with the job's environment, the step's `env:`, `GITHUB_ACTION_PATH`, and fresh
  `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` files, whose outputs become `steps.<id>.outputs`;
- after a failed step skips the rest (no step has an `if:`; one would fail the test).

`uses:` steps cannot run here (no network to github.com, no Node runtime for actions): the
test passes a stand-in per action that returns the step's outputs, e.g. for setup-python the
current interpreter. Which action is stood in for, and how, is the test's to say.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_CONTEXT = re.compile(
    rf"^(?:inputs\.(?P<input>{_IDENT})"
    r"|github\.(?P<github>action_path|token)"
    r"|runner\.(?P<runner>temp)"
    rf"|steps\.(?P<step>{_IDENT})\.outputs\.(?P<output>{_IDENT}))$"
)
_SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")

StandIn = Callable[[Mapping[str, str]], dict[str, str]]
"""A `uses:` step's replacement: its evaluated `with:` in, its outputs out."""


class UnsupportedExpression(AssertionError):
    """An expression this evaluator does not know: the test fails rather than guess."""


@dataclass
class Contexts:
    """The values expressions can reach."""

    inputs: dict[str, str]
    action_path: str
    token: str
    runner_temp: str
    steps: dict[str, dict[str, str]] = field(default_factory=dict)


def evaluate(text: str, ctx: Contexts) -> str:
    """`text` with each `${{ context.path }}` replaced by its value (missing step outputs are '')."""
    if "${{" in _EXPRESSION.sub("", text):
        raise UnsupportedExpression(f"unterminated expression in {text!r}")

    def value(m: re.Match[str]) -> str:
        expression = m.group(1).strip()
        found = _CONTEXT.match(expression)
        if found is None:
            raise UnsupportedExpression(f"${{{{ {expression} }}}} is not an expression this runner knows")
        if found["input"]:
            if found["input"] not in ctx.inputs:
                raise UnsupportedExpression(f"inputs.{found['input']} is not declared by the action")
            return ctx.inputs[found["input"]]
        if found["github"]:
            return ctx.action_path if found["github"] == "action_path" else ctx.token
        if found["runner"]:
            return ctx.runner_temp
        return ctx.steps.get(found["step"], {}).get(found["output"], "")

    return _EXPRESSION.sub(value, text)


def scalar(value: Any) -> str:
    """A YAML scalar as the runner passes it on: booleans as `true`/`false`, null as ''."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def parse_outputs(text: str) -> dict[str, str]:
    """A GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs


@dataclass
class StepRun:
    """One step as it ran."""

    id: str
    kind: str  # "run" or the `uses:` reference
    returncode: int
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    """The action as it ran: exit code of the failed step (0 if none), outputs, logs."""

    returncode: int
    outputs: dict[str, str]
    steps: list[StepRun]
    summary: str

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)


def load_action(action_dir: Path) -> dict[str, Any]:
    """action.yml, checked to be a composite action."""
    action: dict[str, Any] = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    return action


def run_action(
    action_dir: Path,
    *,
    inputs: Mapping[str, str],
    env: Mapping[str, str],
    workspace: Path,
    token: str,
    stand_ins: Mapping[str, StandIn],
) -> ActionRun:
    """Run the composite action in `action_dir` with `with: inputs` in a job whose environment
    is `env` (it must hold RUNNER_TEMP and the GITHUB_* variables)."""
    action = load_action(action_dir)
    declared: dict[str, Any] = action.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    assert not unknown, f"the action has no input {sorted(unknown)}"
    runner_temp = env["RUNNER_TEMP"]
    ctx = Contexts(inputs={}, action_path=str(action_dir), token=token, runner_temp=runner_temp)
    # defaults may hold expressions themselves (`${{ github.token }}`)
    ctx.inputs = {
        name: inputs[name] if name in inputs else evaluate(scalar(spec.get("default")), ctx)
        for name, spec in declared.items()
    }
    steps: list[StepRun] = []
    summary = ""
    failed = 0
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = str(step.get("id", f"__{number}"))
        if "if" in step:
            raise UnsupportedExpression(f"step {step_id} has an `if:` this runner does not evaluate")
        if "uses" in step:
            ref = str(step["uses"])
            assert _SHA_PIN.match(ref), f"{ref} is not pinned to a full commit sha"
            name = ref.split("@", 1)[0]
            assert name in stand_ins, f"no stand-in for {name}: the test must say what it provides"
            with_ = {k: evaluate(scalar(v), ctx) for k, v in (step.get("with") or {}).items()}
            outputs = stand_ins[name](with_)
            ctx.steps[step_id] = outputs
            steps.append(StepRun(step_id, ref, 0, outputs=outputs))
            continue
        assert step.get("shell") == "bash", f"step {step_id}: only `shell: bash` is run here"
        run = _run_step(action_dir, step, step_id, ctx, env, workspace, Path(runner_temp) / f"step-{number}")
        ctx.steps[step_id] = run.outputs
        steps.append(run)
        summary += (Path(runner_temp) / f"step-{number}" / "summary.md").read_text(encoding="utf-8")
        if run.returncode != 0:
            failed = run.returncode
            break
    outputs = {
        name: evaluate(scalar(spec["value"]), ctx) for name, spec in (action.get("outputs") or {}).items()
    }
    return ActionRun(failed, outputs, steps, summary)


def _run_step(
    action_dir: Path,
    step: Mapping[str, Any],
    step_id: str,
    ctx: Contexts,
    job_env: Mapping[str, str],
    workspace: Path,
    files: Path,
) -> StepRun:
    files.mkdir(parents=True, exist_ok=True)
    script = files / "script.sh"
    script.write_text(str(step["run"]), encoding="utf-8")
    output, summary = files / "output.txt", files / "summary.md"
    output.write_text("")
    summary.write_text("")
    env = {
        **job_env,
        "GITHUB_ACTION_PATH": str(action_dir),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        **{str(k): evaluate(scalar(v), ctx) for k, v in (step.get("env") or {}).items()},
    }
    cwd = workspace / evaluate(scalar(step.get("working-directory", ".")), ctx)
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outputs = parse_outputs(output.read_text(encoding="utf-8"))
    return StepRun(step_id, "run", proc.returncode, proc.stdout, proc.stderr, outputs)
