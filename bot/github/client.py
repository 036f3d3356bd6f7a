"""The GitHub REST API through PyGithub: the sticky comment, check runs and commit statuses.

`base_url` is `GITHUB_API_URL`, so GitHub Enterprise Server (`https://HOST/api/v3`) works as is.
Retries (shared/docs/github.md, "PyGithub 2.10"):
- GET and PATCH are retried on 5xx, 429 and rate-limit 403s, waiting as long as `Retry-After` or
  `x-ratelimit-reset` asks (at most `RetryPolicy.max_wait`), else with exponential backoff;
- a POST is retried on rate limits only (GitHub rejected it before doing anything). After a 5xx
  the POST may have been applied, so the caller decides: the comment is looked up again before
  it is posted again (no duplicate); check runs and statuses are simply posted again, since
  GitHub shows the latest one of a name.
Errors become `GitHubError` (exit 3) with one line that never holds the token; a 403 "Resource not
accessible by integration" becomes `PermissionDeniedError` naming the permission, which the
caller degrades to workflow-command output.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait, UnknownObjectException
from github.Issue import Issue
from github.IssueComment import IssueComment
from urllib3.response import BaseHTTPResponse

from bot.errors import BotError

T = TypeVar("T")

ANNOTATIONS_PER_REQUEST = 50  # the Checks API takes at most 50 per request; each PATCH appends
MAX_ANNOTATIONS = 1000  # 20 requests: bounded against the 1,000 requests/hour of GITHUB_TOKEN
STATUS_DESCRIPTION_LIMIT = 140
_NOT_ACCESSIBLE = "resource not accessible by integration"


class GitHubError(BotError):
    """A GitHub API call failed."""


class TooLargeError(GitHubError):
    """A file larger than the contents API returns inline (1 MB)."""


class PermissionDeniedError(GitHubError):
    """The token may not do this (fork PR, or a missing `permissions:` entry)."""

    def __init__(self, action: str, permission: str) -> None:
        super().__init__(f"cannot {action}: the token lacks `{permission}` (403 Resource not accessible)")
        self.action = action
        self.permission = permission


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    retries: int = 5
    backoff: float = 1.0  # seconds before the 2nd retry, doubling (urllib3 backoff_factor)
    backoff_max: float = 60.0
    max_wait: float = 600.0  # the longest Retry-After / rate-limit reset we wait for
    # PyGithub's pacing between requests; GitHub asks for 1 s between writes (secondary limits)
    request_interval: float | None = 0.25
    write_interval: float | None = 1.0

    def delay(self, attempt: int) -> float:
        """Backoff before retry number `attempt` (0-based) of a POST we retry ourselves."""
        return float(min(self.backoff * 2.0**attempt, self.backoff_max))


class _Retry(GithubRetry):
    """GithubRetry that leaves POST 5xx to the caller and reads x-ratelimit-reset on 429 too."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code >= 500:
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        after: float | None = super().get_retry_after(response)  # Retry-After, capped by retry_after_max
        if after is not None:
            return after
        reset = response.headers.get("x-ratelimit-reset", "")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return min(max(int(reset) - time.time(), 0.0) + 1.0, self.retry_after_max)
        return None


def make_retry(policy: RetryPolicy) -> GithubRetry:
    """The urllib3 Retry PyGithub uses for every request."""
    return _Retry(
        total=policy.retries,
        backoff_factor=policy.backoff,
        backoff_max=policy.backoff_max,
        retry_after_max=policy.max_wait,
        secondary_rate_wait=min(60.0, policy.max_wait),
        max_rate_limit_wait=policy.max_wait,
        # 5xx, and 429 (GithubRetry adds 403 and looks at its message)
        status_forcelist=[429, *range(500, 600)],
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"}),
    )


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
        """The REST shape; long texts cut to what the API takes."""
        data: dict[str, str | int] = {
            "path": self.path,
            "start_line": self.line,
            "end_line": self.line,
            "annotation_level": self.level,
            "title": self.title[:255],
            "message": self.message[:4000],
        }
        if self.raw_details:
            data["raw_details"] = self.raw_details[:8000]
        return data


@dataclass(frozen=True, slots=True)
class CommentRef:
    """The sticky comment after the upsert."""

    id: int
    url: str | None
    action: Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class CheckRunRef:
    """The check run we created."""

    id: int
    url: str | None
    annotations: int


def first_line(body: str | None) -> str:
    """The first line of a comment body, without CR."""
    return (body or "").split("\n", 1)[0].rstrip("\r").strip()


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return exc.message or ""


class GitHubClient:
    """One repository's REST API, as escape-bot uses it."""

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        repository: str,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url
        self.repository = repository
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._github = Github(
            base_url=api_url.rstrip("/"),
            auth=Auth.Token(token),
            retry=make_retry(self.policy),
            timeout=30,
            per_page=100,
            lazy=True,
            seconds_between_requests=self.policy.request_interval,
            seconds_between_writes=self.policy.write_interval,
        )
        self._repo = self._github.get_repo(repository)

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r}, repository={self.repository!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._github.close()

    @contextlib.contextmanager
    def _api(self, action: str, permission: str) -> Iterator[None]:
        """Turn PyGithub's and requests' exceptions into one-line GitHubErrors."""
        try:
            yield
        except RateLimitExceededExceedsMaxWait as exc:
            raise GitHubError(
                f"cannot {action}: rate limited for {exc.wait or 0:.0f} s, longer than the "
                f"{self.policy.max_wait:.0f} s escape-bot waits"
            ) from exc
        except GithubException as exc:
            message = _message(exc)
            if exc.status == 403 and _NOT_ACCESSIBLE in message.lower():
                raise PermissionDeniedError(action, permission) from exc
            if exc.status == 401:
                raise GitHubError(f"cannot {action}: GitHub rejected the token (401 {message})") from exc
            raise GitHubError(f"cannot {action}: GitHub answered {exc.status} {message}".rstrip()) from exc
        except requests.exceptions.RetryError as exc:
            raise GitHubError(
                f"cannot {action}: GitHub kept failing after {self.policy.retries} retries"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise GitHubError(f"cannot {action}: {self.api_url} unreachable ({type(exc).__name__})") from exc

    def _post(self, post: Callable[[], T]) -> T:
        """A POST whose repetition is harmless, retried on 5xx with backoff."""
        for attempt in range(self.policy.retries):
            try:
                return post()
            except GithubException as exc:
                if exc.status < 500:
                    raise
                self._sleep(self.policy.delay(attempt))
        return post()

    # ---- labels ----

    def label_actor(self, number: int, label: str) -> str | None:
        """Who last added `label` to PR `number` (the issue's timeline events), or None."""
        with self._api("read the pull request's events", "pull-requests: read"):
            actor = None
            for event in self._repo.get_issue(number).get_events():
                if event.event == "labeled" and event.label is not None and event.label.name == label:
                    actor = event.actor.login if event.actor is not None else None
            return actor

    # ---- repository contents ----

    def file_at(self, path: str, ref: str) -> str | None:
        """The text of `path` at commit `ref` (`GET /repos/{o}/{r}/contents/{path}?ref=`), or None
        when the commit has no such file. A missing commit, a directory, or a file over the 1 MB
        the API returns inline is a GitHubError: never mistaken for "no file"."""
        action = f"read {path} at {ref[:12]}"
        with self._api(action, "contents: read"):
            try:
                found = self._repo.get_contents(path, ref=ref)
            except UnknownObjectException:  # 404 "Not Found"; an unknown commit is another 404
                return None
        if isinstance(found, list) or found.type != "file":
            raise GitHubError(f"cannot {action}: it is not a file")
        if found.encoding != "base64":  # 1-100 MB: the API sends no content
            raise TooLargeError(f"cannot {action}: larger than the 1 MB the contents API returns")
        return found.decoded_content.decode("utf-8", errors="replace")

    # ---- the sticky comment ----

    def our_comments(self, number: int, marker: str, author: str) -> list[IssueComment]:
        """Comments on PR `number` whose first line is `marker` and whose author is `author`."""
        issue = self._repo.get_issue(number)
        return self._ours(issue, marker, author)

    @staticmethod
    def _ours(issue: Issue, marker: str, author: str) -> list[IssueComment]:
        # the marker alone proves nothing: anyone can paste it into a comment of their own
        return [
            c
            for c in issue.get_comments()
            if first_line(c.body) == marker and c.user is not None and c.user.login.lower() == author.lower()
        ]

    def upsert_comment(self, number: int, marker: str, author: str, body: str) -> CommentRef:
        """Edit our comment on PR `number`, or create it; extra copies of ours are deleted."""
        if first_line(body) != marker:
            raise ValueError("the comment body must start with its marker")
        issue = self._repo.get_issue(number)
        with self._api("update the pull request comment", "pull-requests: write"):
            for attempt in range(self.policy.retries + 1):
                ours = self._ours(issue, marker, author)
                if ours:
                    first, *copies = ours
                    for copy in copies:  # two runs raced; keep the oldest
                        copy.delete()
                    if first.body == body:
                        return CommentRef(first.id, first.html_url, "unchanged")
                    first.edit(body)
                    return CommentRef(first.id, first.html_url, "updated")
                try:
                    created = issue.create_comment(body)
                except GithubException as exc:
                    if exc.status < 500 or attempt == self.policy.retries:
                        raise
                    # the POST may have been applied before the error: look again before posting
                    self._sleep(self.policy.delay(attempt))
                    continue
                return CommentRef(created.id, created.html_url, "created")
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- checks and statuses ----

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
        """A completed check run on `head_sha`; annotations go 50 per request, appended by PATCH."""
        payloads = [a.payload() for a in annotations[:MAX_ANNOTATIONS]]
        batches = [payloads[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(payloads), 50)] or [[]]
        output: dict[str, Any] = {"title": title, "summary": summary, "annotations": batches[0]}
        extra: dict[str, Any] = {"details_url": details_url} if details_url else {}
        with self._api("create the check run", "checks: write"):
            run = self._post(
                lambda: self._repo.create_check_run(
                    name=name,
                    head_sha=head_sha,
                    status="completed",
                    conclusion=conclusion,
                    output=output,
                    **extra,
                )
            )
            for batch in batches[1:]:
                run.edit(output={"title": title, "summary": summary, "annotations": batch})
        return CheckRunRef(run.id, run.html_url, len(payloads))

    def create_status(
        self, *, sha: str, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        """A commit status on `sha`; the description is cut to 140 characters."""
        if len(description) > STATUS_DESCRIPTION_LIMIT:
            description = description[: STATUS_DESCRIPTION_LIMIT - 1] + "…"
        extra = {"target_url": target_url} if target_url else {}
        commit = self._repo.get_commit(sha)
        with self._api("set the commit status", "statuses: write"):
            self._post(
                lambda: commit.create_status(state=state, description=description, context=context, **extra)
            )
