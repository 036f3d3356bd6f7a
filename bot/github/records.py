"""What the GitHub layer hands the use case: its errors, annotations and the references of what
it posted. Kept apart from bot/github/client.py so `ci` imports PyGithub (and requests) only when
it talks to GitHub, not to analyze a pull request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.errors import BotError
from bot.report import limits

ANNOTATIONS_PER_REQUEST = limits.ANNOTATIONS_PER_REQUEST.size  # each PATCH appends
MAX_ANNOTATIONS = 1000  # 20 requests: bounded against the 1,000 requests/hour of GITHUB_TOKEN
STATUS_DESCRIPTION_LIMIT = limits.STATUS_DESCRIPTION.size


class GitHubError(BotError):
    """A GitHub API call failed; `unavailable` when GitHub did not answer usefully (5xx after the
    retries, timeouts, rate limits): asking again at once is pointless."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class AppRequiredError(GitHubError):
    """Check runs can only be created with a GitHub App's token (GITHUB_TOKEN is one; a PAT is not)."""


class PartialCheckRunError(GitHubError):
    """The check run exists but not all of its annotations could be added."""

    def __init__(self, message: str, run: CheckRunRef) -> None:
        super().__init__(message)
        self.run = run


class TooLargeError(GitHubError):
    """A file larger than the contents API returns inline (1 MB)."""


class PermissionDeniedError(GitHubError):
    """The token may not do this (fork PR, or a missing `permissions:` entry)."""

    def __init__(self, action: str, permission: str) -> None:
        super().__init__(f"cannot {action}: the token lacks `{permission}` (403 Resource not accessible)")
        self.action = action
        self.permission = permission


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation:
    """A check-run annotation on one line (columns are left out: ours are byte offsets)."""

    path: str
    line: int
    level: Literal["notice", "warning", "failure"]
    title: str
    message: str
    raw_details: str = ""

    def payload(self) -> dict[str, str | int]:
        """The REST shape; long texts cut to what the API takes (bot/report/limits.py)."""
        data: dict[str, str | int] = {
            "path": self.path,
            "start_line": self.line,
            "end_line": self.line,
            "annotation_level": self.level,
            "title": limits.ANNOTATION_TITLE.cut(self.title),
            "message": limits.ANNOTATION_MESSAGE.cut(self.message),
        }
        if self.raw_details:
            data["raw_details"] = limits.ANNOTATION_RAW_DETAILS.cut(self.raw_details)
        return data


@dataclass(frozen=True, slots=True)
class CommentRef:
    """The sticky comment after the upsert."""

    id: int
    url: str | None
    action: Literal["created", "updated", "unchanged", "reposted"]
    posted_as: str | None = None  # the login a new comment got: not --author-login means a wrong one


@dataclass(frozen=True, slots=True)
class CheckRunRef:
    """The check run we created."""

    id: int
    url: str | None
    annotations: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestHead:
    """A pull request as the API shows it now: the publish job's trusted view of it."""

    number: int
    head_sha: str
    head_repository: str  # empty when the fork was deleted (`head.repo: null`)
    state: str
    base_sha: str = ""  # the base branch's commit: its configuration is the policy
    base_ref: str = ""
    labels: tuple[str, ...] = ()
