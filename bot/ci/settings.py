"""What `escape-bot ci` was told (Settings), what it needs from GitHub and the store (Protocols), and
what it returns (Outcome).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from bot import app
from bot.config import Config
from bot.errors import UsageError
from bot.gate import GateDecision, GatePolicy
from bot.gc.model import Snapshot
from bot.gc.run import BuildOptions
from bot.github.labels import Acceptance
from bot.github.positions import Positions
from bot.github.records import (
    Annotation,
    CheckRunRef,
    CommentRef,
    PullRequestHead,
)
from bot.report import safe
from bot.report.render import (
    DEFAULT_NAME,
)

CheckMode = Literal["check-run", "status", "none"]


Mode = Literal["auto", "analyze", "publish"]


DEFAULT_AUTHOR = "github-actions[bot]"


MAX_COMMAND_ANNOTATIONS = 10  # the runner shows 10 errors + 10 warnings per step


Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything `escape-bot ci` was told, besides the Actions environment."""

    repo: Path
    name: str = DEFAULT_NAME  # configuration name: matrix jobs get one comment and check each
    repository: str | None = None  # its name in the database (--name); None: $GITHUB_REPOSITORY
    comment: bool = True
    check: CheckMode = "check-run"
    author_login: str = DEFAULT_AUTHOR
    build: BuildOptions = field(default_factory=BuildOptions)
    gate: GatePolicy = field(default_factory=GatePolicy)
    report_dir: Path | None = (
        None  # default: $RUNNER_TEMP/escape-bot/NAME, else REPO/.escape-bot/reports/NAME
    )
    token: str | None = field(default=None, repr=False)
    mode: Mode = "auto"
    artifact: Path | None = None  # analyze: where the results go (default REPORT_DIR/artifact); publish: read
    config: Config = field(default_factory=Config)  # include/exclude globs (the gate is in `gate`)
    acceptance: Acceptance | None = None  # the PR carries the acceptance label
    profiles: tuple[Path, ...] = ()  # --profile: rank new escapes (default: [rank] of the configuration)
    # publish: the configuration of the workflow's own checkout of the default branch (--config);
    # None: the base branch's `.escape-bot.toml`, read through the API. Never the artifact's.
    trusted_config: Config | None = None
    summary_share: int = 1  # build configurations still to write the step's job summary, this one included

    def __post_init__(self) -> None:
        if not safe.valid_name(self.name):
            raise UsageError(
                f"invalid --config-name {self.name!r}: use letters, digits, '.', '_' and '-' (max 100)"
            )

    @property
    def publishes(self) -> bool:
        """True when the run talks to the GitHub API (and so needs a token)."""
        if self.mode == "analyze":
            return False
        return self.mode == "publish" or self.comment or self.check != "none"

    @property
    def check_name(self) -> str:
        """The check run's name: one per configuration."""
        return "escape-bot" if self.name == DEFAULT_NAME else f"escape-bot ({self.name})"

    @property
    def status_context(self) -> str:
        """The commit status context: one per configuration."""
        return "escape-bot" if self.name == DEFAULT_NAME else f"escape-bot/{self.name}"


class Publisher(Protocol):
    """What the use case needs from GitHub (bot/github/client.py)."""

    def upsert_comment(
        self,
        number: int,
        marker: str,
        author: str,
        body: str,
        *,
        create: bool = True,
        outdated: Literal["edit", "minimize-and-repost"] = "edit",
    ) -> CommentRef | None:
        """Create or edit the sticky comment (None: none to edit, and `create` was False)."""

    def label_actor(self, number: int, label: str) -> str | None:
        """Who added `label` to the PR."""

    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        conclusion: str,
        title: str,
        summary: str,
        annotations: Sequence[Annotation] = (),
        details_url: str | None = None,
    ) -> CheckRunRef:
        """A completed check run with annotations."""

    def create_status(
        self, *, sha: str, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        """A commit status."""

    def start_check_run(self, *, name: str, head_sha: str, details_url: str | None = None) -> CheckRunRef:
        """An in-progress check run."""

    def complete_check_run(
        self,
        run_id: int,
        *,
        conclusion: str,
        title: str,
        summary: str,
        annotations: Sequence[Annotation] = (),
        details_url: str | None = None,
    ) -> CheckRunRef:
        """Complete a check run opened by `start_check_run`."""


class ArtifactPublisher(Publisher, Protocol):
    """The publish job also reads the pull request (its head, base and labels) and the base
    branch's files (the configuration, the lines inline suppressions cover)."""

    def pull_request(self, number: int) -> PullRequestHead:
        """The pull request as it is now."""

    def file_at(self, path: str, ref: str) -> str | None:
        """The text of `path` at commit `ref`; None when there is no such file."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened; `exit_code` is 0 or 1 (failures raise)."""

    exit_code: int
    event: str
    decision: GateDecision | None = None
    comparison: app.Comparison | None = None
    snapshot: Snapshot | None = None
    report_path: Path | None = None
    sarif_path: Path | None = None
    recorded: bool | None = None
    degraded: tuple[str, ...] = ()  # permissions that were missing
    comment: CommentRef | None = None
    check_run: CheckRunRef | None = None
    artifact_path: Path | None = None  # --mode analyze: the directory to upload
    store_error: str | None = None  # the snapshot could not be recorded (the result stands)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a pull request's result goes: its comment thread and its head commit."""

    number: int | None  # None: a merge group, which has no comment thread
    head_sha: str
    from_fork: bool
    # where the built commit's lines are in head_sha (annotations are placed by head_sha's lines)
    positions: Positions = field(default_factory=dict)
    closed: bool = False  # a closed pull request gets no comment


@dataclass(frozen=True, slots=True)
class Published:
    comment: CommentRef | None
    check_run: CheckRunRef | None
    denied: tuple[str, ...]


def quiet(_: str) -> None:
    pass
