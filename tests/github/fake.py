"""A stateful fake of the GitHub REST endpoints escape-bot uses, on a real HTTP server (127.0.0.1).

It stands in for api.github.com, which tests cannot reach. It keeps comments, check runs and
statuses, pull requests (with labels; `head.repo: null` once a fork is deleted), issue events and
files by commit (`GET /contents/{path}?ref=`: base64 inline up to 1 MB, `"encoding": "none"`
above, 404 `Not Found` for a missing file and `No commit found for the ref` for an unknown
commit, as GitHub's REST description says); builds every URL it returns from its own address and
prefix (PyGithub asserts they share its host, port and base path); paginates with `Link` headers;
answers GraphQL `minimizeComment`; and injects faults on request, including a POST that is
applied and then not answered in time (`Fault.delay`).

It is as strict as GitHub's REST description on what escape-bot sends, and answers 422 where
GitHub does: `status`, `conclusion`, `annotation_level` and status `state` outside their enums; a
completed check run without a conclusion; a check `output` without title or summary, a summary
or text over 65,535 bytes, more than 50 annotations in one request, an annotation message or
raw_details over 64 KB or a title over 255 characters; a comment body over 65,536 characters; a
status description over 140; a `head_sha` or status sha that is not a commit of the repository
(when `commits` is set). A token that is not a GitHub App's (a PAT) gets 403 "You must
authenticate via a GitHub App" on check runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

REPOSITORY = "octo/demo"
BOT = "github-actions[bot]"
TOKEN = "ghs_faketoken0123456789"  # GITHUB_TOKEN: a GitHub App installation token
PAT = "ghp_fakepersonaltoken0123456789"  # a personal access token
PAT_USER = "octocat"
CHECK_STATUSES = ("queued", "in_progress", "completed")  # waiting/requested/pending: Actions only
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out")
STATES = ("error", "failure", "pending", "success")
LEVELS = ("notice", "warning", "failure")
TEXT_BYTES = 65_535  # output.summary and output.text
ANNOTATION_BYTES = 64 * 1024


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    login: str
    minimized: str | None = None  # the GraphQL minimizeComment classifier


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    title: str
    summary: str
    annotations: list[dict[str, Any]] = field(default_factory=list)
    details_url: str | None = None


@dataclass
class Status:
    sha: str
    state: str
    description: str
    context: str
    target_url: str | None


@dataclass
class Pull:
    number: int
    head_sha: str
    head_repo: str | None  # None: the fork was deleted
    base_sha: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` and `path` (a regex) with `status`.

    `apply`: do what the request asks first, then fail (a gateway timeout after the write).
    """

    method: str
    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    apply: bool = False
    delay: float = 0.0  # seconds to wait before answering (longer than the client's timeout: no answer)


@dataclass
class Logged:
    method: str
    path: str  # without the prefix
    query: str
    json: Any
    authorization: str


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers or {}, content_type="application/json")


class FakeGitHub:
    """The fake's state and its request handler."""

    def __init__(self, server: HTTPServer, prefix: str = "", repository: str = REPOSITORY) -> None:
        self.server = server
        self.prefix = prefix
        self.repository = repository
        self.tokens = {TOKEN: BOT, PAT: PAT_USER}
        self.app_tokens = {TOKEN}
        self.commits: set[str] | None = None  # when set, the shas check runs and statuses may name
        self.comments: dict[int, Comment] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.statuses: list[Status] = []
        self.pulls: dict[int, Pull] = {}
        self.label_events: dict[int, list[tuple[str, str, str]]] = {}  # issue -> (event, label, actor)
        self.files: dict[str, dict[str, bytes]] = {}  # commit sha -> path -> content
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.comment_limit = 65_536
        self._next_id = 1000
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    # ---- helpers for tests ----

    @property
    def api_url(self) -> str:
        return self.server.url_for(self.prefix or "/").rstrip("/")

    def add_comment(self, issue: int, body: str, login: str) -> Comment:
        comment = Comment(self._id(), issue, body, login)
        self.comments[comment.id] = comment
        return comment

    def add_pull(
        self,
        number: int,
        head_sha: str,
        *,
        head_repo: str | None = None,
        base_sha: str = "0" * 40,
        fork_deleted: bool = False,
        labels: tuple[str, ...] = (),
    ) -> Pull:
        """A pull request as `GET /pulls/{number}` shows it (its head moves with `pull.head_sha`)."""
        repo = None if fork_deleted else head_repo if head_repo is not None else self.repository
        pull = Pull(number, head_sha, repo, base_sha, labels=list(labels))
        self.pulls[number] = pull
        return pull

    def add_label_event(self, issue: int, label: str, actor: str, event: str = "labeled") -> None:
        """`actor` added (`labeled`) or removed (`unlabeled`) `label`, as `GET /issues/{n}/events`
        lists it; the pull request's labels follow."""
        self.label_events.setdefault(issue, []).append((event, label, actor))
        pull = self.pulls.get(issue)
        if pull is not None:
            if event == "labeled" and label not in pull.labels:
                pull.labels.append(label)
            elif event == "unlabeled" and label in pull.labels:
                pull.labels.remove(label)

    def add_file(self, sha: str, path: str, content: str | bytes) -> None:
        """`path` at commit `sha`, for `GET /repos/{o}/{r}/contents/{path}?ref={sha}`."""
        data = content.encode() if isinstance(content, str) else content
        self.files.setdefault(sha, {})[path] = data

    def comments_on(self, issue: int) -> list[Comment]:
        return [c for c in self.comments.values() if c.issue == issue]

    def fail(self, method: str, path: str, status: int, message: str, **kw: Any) -> Fault:
        fault = Fault(method, path, status, {"message": message}, **kw)
        self.faults.append(fault)
        return fault

    def requests(self, method: str | None = None, path: str = "") -> list[Logged]:
        return [r for r in self.log if (method is None or r.method == method) and re.search(path, r.path)]

    # ---- the server side ----

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(self, request: Request) -> Response:
        path = request.path
        graphql = self.prefix.removesuffix("/v3") + "/graphql"  # /graphql, or /api/graphql on GHES
        if path == graphql:
            path = "/graphql"
        elif self.prefix:
            if not path.startswith(self.prefix + "/"):
                return _json({"message": "Not Found"}, 404)
            path = path[len(self.prefix) :]
        payload = request.get_json(silent=True) if request.data else None
        auth = request.headers.get("Authorization", "")
        self.log.append(Logged(request.method, path, request.query_string.decode(), payload, auth))
        login = self.tokens.get(auth.split(" ", 1)[-1]) if auth.startswith(("token ", "Bearer ")) else None
        if login is None:
            return _json({"message": "Bad credentials"}, 401)
        if "/check-runs" in path and auth.split(" ", 1)[-1] not in self.app_tokens:
            return _json(
                {
                    "message": "You must authenticate via a GitHub App.",
                    "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
                },
                403,
            )
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and re.fullmatch(fault.path, path):
                fault.times -= 1
                if fault.apply:
                    self._route(request, path, payload, login)
                if fault.delay:
                    time.sleep(fault.delay)
                return _json(fault.body, fault.status, fault.headers)
        return self._route(request, path, payload, login)

    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/") + self.prefix

    def _route(self, request: Request, path: str, payload: Any, login: str) -> Response:
        repo = re.escape(self.repository)
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", rf"/repos/{repo}/issues/(\d+)/comments", self._list_comments),
            ("POST", rf"/repos/{repo}/issues/(\d+)/comments", self._create_comment),
            ("PATCH", rf"/repos/{repo}/issues/comments/(\d+)", self._edit_comment),
            ("DELETE", rf"/repos/{repo}/issues/comments/(\d+)", self._delete_comment),
            ("POST", rf"/repos/{repo}/check-runs", self._create_check_run),
            ("PATCH", rf"/repos/{repo}/check-runs/(\d+)", self._edit_check_run),
            ("GET", rf"/repos/{repo}/commits/([0-9a-f]+)/check-runs", self._list_check_runs),
            ("POST", rf"/repos/{repo}/statuses/([0-9a-f]+)", self._create_status),
            ("GET", rf"/repos/{repo}/pulls/(\d+)", self._get_pull),
            ("GET", rf"/repos/{repo}/issues/(\d+)/events", self._list_events),
            ("GET", rf"/repos/{repo}/contents/(.+)", self._get_contents),
        ]
        if path == "/graphql" and request.method == "POST":
            return self._graphql(payload)
        for method, pattern, handler in routes:
            m = re.fullmatch(pattern, path)
            if m and request.method == method:
                return handler(request, payload, login, *m.groups())
        return _json({"message": "Not Found"}, 404)

    def _comment_json(self, request: Request, c: Comment) -> dict[str, Any]:
        base = self._base(request)
        return {
            "id": c.id,
            "node_id": f"IC_{c.id}",
            "url": f"{base}/repos/{self.repository}/issues/comments/{c.id}",
            "html_url": f"{request.host_url}{self.repository}/pull/{c.issue}#issuecomment-{c.id}",
            "issue_url": f"{base}/repos/{self.repository}/issues/{c.issue}",
            "body": c.body,
            "user": {"login": c.login, "id": 1, "type": "Bot" if c.login.endswith("[bot]") else "User"},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def _too_long(self, body: str) -> Response | None:
        if len(body) > self.comment_limit:
            return _json(
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": f"body is too long (maximum is {self.comment_limit} characters)",
                        }
                    ],
                },
                422,
            )
        return None

    def _graphql(self, payload: Any) -> Response:
        """The one mutation escape-bot sends: minimizeComment(input: {subjectId, classifier})."""
        query = str(payload.get("query", ""))
        data = (payload.get("variables") or {}).get("input") or {}
        if "minimizeComment" not in query:
            return _json({"errors": [{"message": "this fake knows only minimizeComment"}]})
        classifier = data.get("classifier")
        if classifier not in ("ABUSE", "DUPLICATE", "OFF_TOPIC", "OUTDATED", "RESOLVED", "SPAM"):
            return _json(
                {"errors": [{"message": f"Argument 'classifier' has an invalid value ({classifier})"}]}
            )
        subject = str(data.get("subjectId", ""))
        comment = (
            self.comments.get(int(subject[3:]))
            if subject.startswith("IC_") and subject[3:].isdigit()
            else None
        )
        if comment is None:
            return _json(
                {
                    "errors": [
                        {
                            "type": "NOT_FOUND",
                            "message": f"Could not resolve to a node with the global id of '{subject}'",
                        }
                    ]
                }
            )
        comment.minimized = classifier
        return _json({"data": {"minimizeComment": {"minimizedComment": {"isMinimized": True}}}})

    def _list_comments(self, request: Request, payload: Any, login: str, issue: str) -> Response:
        per_page = int(request.args.get("per_page", "30"))
        page = int(request.args.get("page", "1"))
        everything = self.comments_on(int(issue))
        chunk = everything[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(everything):
            url = f"{self._base(request)}/repos/{self.repository}/issues/{issue}/comments"
            last = (len(everything) + per_page - 1) // per_page
            headers["Link"] = (
                f'<{url}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{url}?per_page={per_page}&page={last}>; rel="last"'
            )
        return _json([self._comment_json(request, c) for c in chunk], 200, headers)

    def _create_comment(self, request: Request, payload: Any, login: str, issue: str) -> Response:
        body = str(payload["body"])
        if (error := self._too_long(body)) is not None:
            return error
        comment = self.add_comment(int(issue), body, login)
        return _json(self._comment_json(request, comment), 201)

    def _edit_comment(self, request: Request, payload: Any, login: str, id_: str) -> Response:
        comment = self.comments.get(int(id_))
        if comment is None:
            return _json({"message": "Not Found"}, 404)
        body = str(payload["body"])
        if (error := self._too_long(body)) is not None:
            return error
        comment.body = body
        return _json(self._comment_json(request, comment))

    def _delete_comment(self, request: Request, payload: Any, login: str, id_: str) -> Response:
        if self.comments.pop(int(id_), None) is None:
            return _json({"message": "Not Found"}, 404)
        return Response(status=204)

    @staticmethod
    def _invalid(message: str) -> Response:
        return _json({"message": f"Invalid request.\n\n{message}"}, 422)

    def _unknown_sha(self, sha: str) -> Response | None:
        if self.commits is not None and sha not in self.commits:
            return _json({"message": f"No commit found for SHA: {sha}"}, 422)
        return None

    def _check_state(self, payload: dict[str, Any], completed_before: bool = False) -> Response | None:
        status, conclusion = payload.get("status"), payload.get("conclusion")
        if status is not None and status not in CHECK_STATUSES:
            return self._invalid(
                f"For 'properties/status', {json.dumps(status)} is not a member of the enum."
            )
        if conclusion is not None and conclusion not in CONCLUSIONS:
            return self._invalid(
                f"For 'properties/conclusion', {json.dumps(conclusion)} is not a member of the enum."
            )
        if status == "completed" and conclusion is None and not completed_before:
            return self._invalid("'conclusion' is required when 'status' is 'completed'.")
        return None

    def _check_output(self, output: Any) -> Response | None:
        if output is None:
            return None
        if not output.get("title") or "summary" not in output:
            return self._invalid('"title", "summary" weren\'t supplied.')
        for name in ("summary", "text"):
            if len(str(output.get(name) or "").encode()) > TEXT_BYTES:
                return self._invalid(f"Only {TEXT_BYTES} characters are allowed; '{name}' was too long.")
        annotations = output.get("annotations", [])
        if len(annotations) > 50:
            return self._invalid("No more than 50 annotations are allowed per request.")
        for a in annotations:
            missing = [
                k for k in ("path", "start_line", "end_line", "annotation_level", "message") if k not in a
            ]
            if missing:
                return self._invalid(f"annotation is missing {', '.join(missing)}")
            if a["annotation_level"] not in LEVELS:
                return self._invalid(f"annotation_level {json.dumps(a['annotation_level'])} is not a member")
            if len(str(a.get("title", ""))) > 255:
                return self._invalid("annotation title is longer than 255 characters")
            for name in ("message", "raw_details"):
                if len(str(a.get(name, "")).encode()) > ANNOTATION_BYTES:
                    return self._invalid(f"annotation {name} is larger than 64 KB")
        return None

    def _check_json(self, request: Request, run: CheckRun) -> dict[str, Any]:
        base = self._base(request)
        return {
            "id": run.id,
            "url": f"{base}/repos/{self.repository}/check-runs/{run.id}",
            "html_url": f"{request.host_url}{self.repository}/runs/{run.id}",
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "annotations_count": len(run.annotations),
            },
        }

    def _create_check_run(self, request: Request, payload: Any, login: str) -> Response:
        if not payload.get("name") or not payload.get("head_sha"):
            return _json({"message": "Invalid request."}, 422)
        error = (
            self._check_state(payload)
            or self._check_output(payload.get("output"))
            or self._unknown_sha(payload["head_sha"])
        )
        if error is not None:
            return error
        output = payload.get("output") or {}
        run = CheckRun(
            id=self._id(),
            name=payload["name"],
            head_sha=payload["head_sha"],
            # a conclusion completes the run, whatever `status` says
            status="completed" if payload.get("conclusion") else payload.get("status", "queued"),
            conclusion=payload.get("conclusion"),
            title=output.get("title", ""),
            summary=output.get("summary", ""),
            annotations=list(output.get("annotations", [])),
            details_url=payload.get("details_url"),
        )
        self.check_runs[run.id] = run
        return _json(self._check_json(request, run), 201)

    def _edit_check_run(self, request: Request, payload: Any, login: str, id_: str) -> Response:
        run = self.check_runs.get(int(id_))
        if run is None:
            return _json({"message": "Not Found"}, 404)
        error = self._check_state(payload, completed_before=run.conclusion is not None) or self._check_output(
            payload.get("output")
        )
        if error is not None:
            return error
        if "details_url" in payload:
            run.details_url = payload["details_url"]
        if "output" in payload:
            run.title = payload["output"]["title"]
            run.summary = payload["output"]["summary"]
            run.annotations.extend(payload["output"].get("annotations", []))  # PATCH appends
        run.conclusion = payload.get("conclusion", run.conclusion)
        run.status = "completed" if payload.get("conclusion") else payload.get("status", run.status)
        return _json(self._check_json(request, run))

    def _list_check_runs(self, request: Request, payload: Any, login: str, sha: str) -> Response:
        runs = [
            self._check_json(request, r)
            for r in self.check_runs.values()
            if r.head_sha == sha
            and request.args.get("check_name", r.name) == r.name
            and request.args.get("status", r.status) == r.status
        ]
        return _json({"total_count": len(runs), "check_runs": runs})

    def _create_status(self, request: Request, payload: Any, login: str, sha: str) -> Response:
        description = payload.get("description") or ""
        if len(description) > 140:
            return _json({"message": "Validation Failed", "errors": [{"field": "description"}]}, 422)
        if payload.get("state") not in STATES:
            return _json(
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Status", "code": "custom", "field": "state"}],
                },
                422,
            )
        if (error := self._unknown_sha(sha)) is not None:
            return error
        status = Status(
            sha, payload["state"], description, payload.get("context", "default"), payload.get("target_url")
        )
        self.statuses.append(status)
        return _json(
            {
                "id": self._id(),
                "url": f"{self._base(request)}/repos/{self.repository}/statuses/{sha}",
                "state": status.state,
                "description": status.description,
                "context": status.context,
                "target_url": status.target_url,
            },
            201,
        )

    def _list_events(self, request: Request, payload: Any, login: str, number: str) -> Response:
        base = self._base(request)
        events = [
            {
                "id": i + 1,
                "node_id": f"LE_{i + 1}",
                "url": f"{base}/repos/{self.repository}/issues/events/{i + 1}",
                "event": event,
                "label": {"name": label, "color": "ededed"},
                "actor": {"login": actor, "id": 7, "type": "User"},
                "commit_id": None,
                "commit_url": None,
                "created_at": "2026-01-01T00:00:00Z",
            }
            for i, (event, label, actor) in enumerate(self.label_events.get(int(number), []))
        ]
        return _json(events)

    def _get_contents(self, request: Request, payload: Any, login: str, path: str) -> Response:
        """`GET /repos/{o}/{r}/contents/{path}?ref=`: one file, base64 when at most 1 MB."""
        ref = request.args.get("ref", "")
        if ref not in self.files:
            return _json({"message": f"No commit found for the ref {ref}", "status": "404"}, 404)
        data = self.files[ref].get(path)
        if data is None:
            return _json(
                {
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
                    "status": "404",
                },
                404,
            )
        base = self._base(request)
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        inline = len(data) <= 1_000_000
        encoded = base64.encodebytes(data).decode() if inline else ""
        url = f"{base}/repos/{self.repository}/contents/{path}?ref={ref}"
        html = f"{request.host_url}{self.repository}/blob/{ref}/{path}"
        git = f"{base}/repos/{self.repository}/git/blobs/{blob}"
        return _json(
            {
                "type": "file",
                "encoding": "base64" if inline else "none",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": encoded,
                "sha": blob,
                "url": url,
                "git_url": git,
                "html_url": html,
                "download_url": None,
                "_links": {"self": url, "git": git, "html": html},
            }
        )

    def _get_pull(self, request: Request, payload: Any, login: str, number: str) -> Response:
        pull = self.pulls.get(int(number))
        if pull is None:
            return _json({"message": "Not Found"}, 404)
        base = self._base(request)

        def repo(full_name: str | None) -> dict[str, Any] | None:
            if full_name is None:
                return None
            return {
                "full_name": full_name,
                "name": full_name.split("/")[1],
                "url": f"{base}/repos/{full_name}",
            }

        return _json(
            {
                "number": pull.number,
                "state": pull.state,
                "url": f"{base}/repos/{self.repository}/pulls/{pull.number}",
                "html_url": f"{request.host_url}{self.repository}/pull/{pull.number}",
                "head": {"sha": pull.head_sha, "ref": "feature", "repo": repo(pull.head_repo)},
                "base": {"sha": pull.base_sha, "ref": "main", "repo": repo(self.repository)},
                "labels": [
                    {
                        "id": 100 + i,
                        "node_id": f"LA_{100 + i}",
                        "url": f"{base}/repos/{self.repository}/labels/{quote(name, safe='')}",
                        "name": name,
                        "color": "ededed",
                        "default": False,
                        "description": None,
                    }
                    for i, name in enumerate(pull.labels)
                ],
            }
        )
