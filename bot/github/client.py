"""The GitHub REST API through PyGithub: the sticky comment, check runs and commit statuses.

`base_url` is `GITHUB_API_URL`, so GitHub Enterprise Server (`https://HOST/api/v3`) works as is.
Retries (bot/github/retry.py):
- GET and PATCH are retried on 5xx, 429 and rate-limit 403s, waiting as long as `Retry-After` or
  `x-ratelimit-reset` asks (at most `RetryPolicy.max_wait`), else with exponential backoff;
- a `Retry-After` or rate-limit reset longer than `max_wait` fails at once (RateLimitTooLongError)
  instead of being retried at a shorter wait;
- a POST is retried on rate limits only (GitHub rejected it before doing anything). After a 5xx
  or a timeout the POST may have been applied, so it is looked up again before it is posted
  again: the comment (no duplicate) and the in-progress check run (no second run that never
  completes); completed check runs and statuses are posted again, GitHub shows the latest one.
Errors become `GitHubError` (exit 3) with one line that never holds the token and keeps a 422's
`errors[]` detail; a 403 "Resource not accessible by integration" becomes `PermissionDeniedError`
naming the permission, which the caller degrades to workflow-command output; a 403 "You must
authenticate via a GitHub App" on check runs (a personal access token) becomes `AppRequiredError`,
which the caller answers with a commit status.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, TypeVar

import requests
from github import Auth, Github, GithubException
from github.CheckRun import CheckRun
from github.GithubException import RateLimitExceededExceedsMaxWait, UnknownObjectException
from github.Issue import Issue
from github.IssueComment import IssueComment

from bot.github.records import (  # noqa: F401  (re-exported: the client's vocabulary)
    ANNOTATIONS_PER_REQUEST,
    MAX_ANNOTATIONS,
    STATUS_DESCRIPTION_LIMIT,
    Annotation,
    AppRequiredError,
    CheckRunRef,
    CommentRef,
    GitHubError,
    PartialCheckRunError,
    PermissionDeniedError,
    PullRequestHead,
    TooLargeError,
)
from bot.github.retry import RetryPolicy, make_retry, maybe_applied
from bot.report import limits

T = TypeVar("T")

_NOT_ACCESSIBLE = "resource not accessible by integration"
_APP_ONLY = "you must authenticate via a github app"
_OUTDATED = "<!-- escape-bot: an outdated report, minimized -->"


def first_line(body: str | None) -> str:
    """The first line of a comment body, without CR."""
    return (body or "").split("\n", 1)[0].rstrip("\r").strip()


def _message(exc: GithubException) -> str:
    """GitHub's message, with the detail of a 422's `errors[]` (which field, and why)."""
    data = exc.data
    message = exc.message or ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message = str(data["message"])
    details = []
    errors = data.get("errors") if isinstance(data, dict) else None
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, str):
            details.append(error)
        elif isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k)
            )
            details.append(str(text))
    text = " ".join(message.split())  # GitHub's messages can hold blank lines
    return f"{text}: {'; '.join(' '.join(d.split()) for d in details)}" if details else text


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
            timeout=self.policy.timeout,
            per_page=100,
            lazy=True,
            seconds_between_requests=self.policy.request_interval,
            seconds_between_writes=self.policy.write_interval,
        )
        self._repo = self._github.get_repo(repository)
        self._check_runs: dict[int, CheckRun] = {}

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
                f"cannot {action}: GitHub asks to wait {exc.wait or 0:.0f} s (Retry-After or rate-limit "
                f"reset), longer than --max-wait {self.policy.max_wait:g} s; not retried",
                unavailable=True,
            ) from exc
        except GithubException as exc:
            message = _message(exc)
            if exc.status == 403 and _NOT_ACCESSIBLE in message.lower():
                raise PermissionDeniedError(action, permission) from exc
            if exc.status == 403 and _APP_ONLY in message.lower():
                raise AppRequiredError(
                    f"cannot {action}: check runs need a GitHub App token such as GITHUB_TOKEN "
                    f"(403 {message})"
                ) from exc
            if exc.status == 401:
                raise GitHubError(f"cannot {action}: GitHub rejected the token (401 {message})") from exc
            answered = f"cannot {action}: GitHub answered {exc.status} {message}".rstrip()
            raise GitHubError(answered, unavailable=exc.status >= 500) from exc
        except requests.exceptions.Timeout as exc:
            raise GitHubError(
                f"cannot {action}: {self.api_url} did not answer within {self.policy.timeout} s",
                unavailable=True,
            ) from exc
        except requests.exceptions.RetryError as exc:
            raise GitHubError(
                f"cannot {action}: GitHub kept failing after {self.policy.retries} retries", unavailable=True
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise GitHubError(
                f"cannot {action}: {self.api_url} unreachable ({type(exc).__name__})", unavailable=True
            ) from exc

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

    # ---- pull requests and repository contents ----

    def pull_request(self, number: int) -> PullRequestHead:
        """`GET /repos/{owner}/{repo}/pulls/{number}`: the publish job confirms the head with it."""
        with self._api(f"read pull request #{number}", "pull-requests: read"):
            pull = self._repo.get_pull(number)
            repo = pull.head.repo
            return PullRequestHead(
                number=pull.number,
                head_sha=pull.head.sha,
                head_repository=repo.full_name if repo is not None else "",
                state=pull.state,
                base_sha=pull.base.sha,
                base_ref=pull.base.ref,
                labels=tuple(label.name for label in pull.labels),
            )

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
        """Edit our comment on PR `number`, or create it (None when there is none and `create` is
        False); extra copies of ours are deleted. With `minimize-and-repost` a changed report is
        posted as a new comment, and the old one loses its marker and is minimized as outdated."""
        if first_line(body) != marker:
            raise ValueError("the comment body must start with its marker")
        issue = self._repo.get_issue(number)
        with self._api("update the pull request comment", "pull-requests: write"):
            ours = self._ours(issue, marker, author)
            if not ours:
                if not create:
                    return None
                created = self._create(issue, marker, body, skip=set())
                return CommentRef(created.id, created.html_url, "created", _login(created))
            first, *copies = ours
            for copy in copies:  # two runs raced; keep the oldest
                copy.delete()
            if first.body == body:
                return CommentRef(first.id, first.html_url, "unchanged")
            if outdated == "edit":
                first.edit(body)
                return CommentRef(first.id, first.html_url, "updated")
            created = self._create(issue, marker, body, skip={first.id})
            # no longer ours: the next run must not edit or delete it
            first.edit(_OUTDATED + "\n" + (first.body or "").split("\n", 1)[-1])
        with self._api("minimize the outdated comment (GraphQL minimizeComment)", "pull-requests: write"):
            first.minimize("OUTDATED")
        return CommentRef(created.id, created.html_url, "reposted", _login(created))

    def _create(self, issue: Issue, marker: str, body: str, skip: set[int]) -> IssueComment:
        """POST the comment; after a 5xx or a timeout the POST may have been applied, so the
        comments are read again (whoever the token posts as) before posting again."""
        for attempt in range(self.policy.retries + 1):
            try:
                return issue.create_comment(body)
            except (GithubException, requests.exceptions.Timeout) as exc:
                if not maybe_applied(exc) or attempt == self.policy.retries:
                    raise
                self._sleep(self.policy.delay(attempt))
                found = [
                    c
                    for c in issue.get_comments()
                    if c.id not in skip and first_line(c.body) == marker and c.body == body
                ]
                if found:
                    return found[-1]
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- checks and statuses ----

    def start_check_run(self, *, name: str, head_sha: str, details_url: str | None = None) -> CheckRunRef:
        """An `in_progress` check run on `head_sha`, to be completed by `complete_check_run`.

        After a 5xx or a timeout the POST may have been applied: the commit's in-progress runs of
        this name are looked at before posting again, so no second run is left in progress forever.
        """
        extra: dict[str, Any] = {"details_url": details_url} if details_url else {}
        with self._api("create the check run", "checks: write"):
            for attempt in range(self.policy.retries + 1):
                try:
                    run = self._repo.create_check_run(
                        name=name, head_sha=head_sha, status="in_progress", **extra
                    )
                except (GithubException, requests.exceptions.Timeout) as exc:
                    if not maybe_applied(exc) or attempt == self.policy.retries:
                        raise
                    self._sleep(self.policy.delay(attempt))
                    found = [
                        r
                        for r in self._repo.get_commit(head_sha).get_check_runs(
                            check_name=name, status="in_progress"
                        )
                    ]
                    if not found:
                        continue
                    run = max(found, key=lambda r: r.id)
                self._check_runs[run.id] = run
                return CheckRunRef(run.id, run.html_url, 0)
        raise AssertionError("unreachable")  # pragma: no cover

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
        """Complete a check run from `start_check_run`; annotations go 50 per request (PATCH appends)."""
        run = self._check_runs.get(run_id) or self._repo.get_check_run(run_id)
        batches = _batches(annotations)
        output = _output(title, summary, batches[0])
        extra: dict[str, Any] = {"details_url": details_url} if details_url else {}
        with self._api("complete the check run", "checks: write"):
            run.edit(status="completed", conclusion=conclusion, output=output, **extra)
        return self._rest_of(run, title, summary, batches)

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
        batches = _batches(annotations)
        output = _output(title, summary, batches[0])
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
        return self._rest_of(run, title, summary, batches)

    def _rest_of(
        self, run: CheckRun, title: str, summary: str, batches: list[list[dict[str, Any]]]
    ) -> CheckRunRef:
        """The annotations after the first 50; a failure says how many the run has."""
        posted = len(batches[0])
        total = sum(len(b) for b in batches)
        try:
            with self._api("add the check run's annotations", "checks: write"):
                for batch in batches[1:]:
                    run.edit(output=_output(title, summary, batch))
                    posted += len(batch)
        except GitHubError as exc:
            ref = CheckRunRef(run.id, run.html_url, posted)
            raise PartialCheckRunError(
                f"the check run was posted with {posted} of its {total} annotations: {exc.message}", ref
            ) from exc
        return CheckRunRef(run.id, run.html_url, posted)

    def create_status(
        self, *, sha: str, state: str, description: str, context: str, target_url: str | None = None
    ) -> None:
        """A commit status on `sha`; the description is cut to 140 characters."""
        description = limits.STATUS_DESCRIPTION.cut(description)
        extra = {"target_url": target_url} if target_url else {}
        commit = self._repo.get_commit(sha)
        with self._api("set the commit status", "statuses: write"):
            self._post(
                lambda: commit.create_status(state=state, description=description, context=context, **extra)
            )


def _batches(annotations: Sequence[Annotation]) -> list[list[dict[str, Any]]]:
    """At most MAX_ANNOTATIONS payloads in requests of 50 (at least one, maybe empty, request)."""
    payloads = [a.payload() for a in annotations[:MAX_ANNOTATIONS]]
    step = ANNOTATIONS_PER_REQUEST
    return [payloads[i : i + step] for i in range(0, len(payloads), step)] or [[]]


def _output(title: str, summary: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """A check run's `output`, its texts within GitHub's byte limits."""
    return {
        "title": title,
        "summary": limits.CHECK_SUMMARY.cut(summary),
        "annotations": annotations,
    }


def _login(comment: IssueComment) -> str | None:
    return comment.user.login if comment.user is not None else None
