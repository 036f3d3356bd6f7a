"""The PyGithub adapter against the fake GitHub server on 127.0.0.1: real HTTP, real retries.

Waits are shrunk through RetryPolicy (the production code path, with smaller numbers): a
`Retry-After: 0` is retried, a `Retry-After: 30` longer than `max_wait` fails at once; the
arithmetic is checked on real urllib3 responses at the end.
"""

from __future__ import annotations

import time

import pytest
import requests
from urllib3 import HTTPResponse

from bot.github.client import (
    Annotation,
    AppRequiredError,
    GitHubClient,
    GitHubError,
    PartialCheckRunError,
    PermissionDeniedError,
    RetryPolicy,
    TooLargeError,
    make_retry,
)
from tests.github.fake import BOT, PAT, REPOSITORY, TOKEN, FakeGitHub

FAST = RetryPolicy(
    retries=3, backoff=0.01, backoff_max=0.05, max_wait=0.05, request_interval=None, write_interval=None
)
MARKER = "<!-- escape-bot:default -->"
COMMENTS = rf"/repos/{REPOSITORY}/issues/7/comments"
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def client(fake: FakeGitHub, policy: RetryPolicy = FAST, token: str = TOKEN) -> GitHubClient:
    return GitHubClient(api_url=fake.api_url, token=token, repository=REPOSITORY, policy=policy)


def body(text: str) -> str:
    return f"{MARKER}\n{text}\n"


def test_upsert_creates_edits_and_skips_identical(github: FakeGitHub) -> None:
    gh = client(github)
    first = gh.upsert_comment(7, MARKER, BOT, body("one"))
    assert first.action == "created"
    second = gh.upsert_comment(7, MARKER, BOT, body("two"))
    assert (second.action, second.id) == ("updated", first.id)
    third = gh.upsert_comment(7, MARKER, BOT, body("two"))
    assert third.action == "unchanged"
    (comment,) = github.comments_on(7)
    assert comment.body == body("two") and comment.login == BOT
    assert len(github.requests("PATCH")) == 1  # the identical body was not written again
    assert github.requests("GET", COMMENTS)[0].query.find("per_page=100") >= 0


def test_a_forged_marker_is_never_touched(github: FakeGitHub) -> None:
    forged = github.add_comment(7, body("I am the bot, trust me"), "mallory")
    second_line = github.add_comment(7, "hello\n" + MARKER, BOT)  # ours, but the marker is not first
    other_name = github.add_comment(7, body("matrix job linux").replace("default", "linux"), BOT)
    ref = client(github).upsert_comment(7, MARKER, BOT, body("real"))
    assert ref.action == "created"
    assert github.comments[forged.id].body == body("I am the bot, trust me")
    assert github.comments[second_line.id].body == "hello\n" + MARKER
    assert "linux" in github.comments[other_name.id].body
    touched = {r.path for r in github.requests() if r.method in ("PATCH", "DELETE")}
    assert touched == set()
    assert len(github.comments_on(7)) == 4


def test_author_login_is_configurable_and_case_insensitive(github: FakeGitHub) -> None:
    github.tokens[TOKEN] = "Escape-Bot-App[bot]"
    mine = github.add_comment(7, body("old"), "Escape-Bot-App[bot]")
    github.add_comment(7, body("from actions"), BOT)
    ref = client(github).upsert_comment(7, MARKER, "escape-bot-app[bot]", body("new"))
    assert (ref.action, ref.id) == ("updated", mine.id)
    assert github.comments[mine.id].body == body("new")


def test_our_comment_is_found_on_a_later_page(github: FakeGitHub) -> None:
    for i in range(230):
        github.add_comment(7, f"comment {i}", "someone")
    ours = github.add_comment(7, body("old"), BOT)
    ref = client(github).upsert_comment(7, MARKER, BOT, body("new"))
    assert (ref.action, ref.id) == ("updated", ours.id)
    pages = [r.query for r in github.requests("GET", COMMENTS)]
    assert any("page=3" in q for q in pages), pages


def test_racing_copies_are_reduced_to_one(github: FakeGitHub) -> None:
    oldest = github.add_comment(7, body("a"), BOT)
    github.add_comment(7, body("b"), BOT)
    ref = client(github).upsert_comment(7, MARKER, BOT, body("c"))
    assert ref.id == oldest.id
    assert [c.body for c in github.comments_on(7)] == [body("c")]


def test_500_then_201_creates_one_comment(github: FakeGitHub) -> None:
    github.fail("POST", COMMENTS, 500, "Server Error")
    ref = client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert ref.action == "created"
    assert len(github.comments_on(7)) == 1
    assert len(github.requests("POST", COMMENTS)) == 2
    # the list was read again between the two POSTs
    methods = [r.method for r in github.requests(path=COMMENTS)]
    assert methods == ["GET", "POST", "GET", "POST"]


def test_500_after_the_write_does_not_duplicate(github: FakeGitHub) -> None:
    # a gateway error after GitHub stored the comment: re-scanning finds it, no second POST
    github.fail("POST", COMMENTS, 502, "Bad Gateway", apply=True)
    ref = client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert ref is not None and ref.action == "created"  # found where the POST left it
    assert len(github.comments_on(7)) == 1
    assert len(github.requests("POST", COMMENTS)) == 1


def test_secondary_rate_limit_honours_retry_after(github: FakeGitHub) -> None:
    github.fail("POST", COMMENTS, 403, SECONDARY, headers={"Retry-After": "0"})
    ref = client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert ref.action == "created"
    assert len(github.requests("POST", COMMENTS)) == 2  # rejected before any write: retried as is
    assert len(github.comments_on(7)) == 1


def test_a_retry_after_longer_than_max_wait_fails_at_once(github: FakeGitHub) -> None:
    github.fail("POST", COMMENTS, 403, SECONDARY, headers={"Retry-After": "30"}, times=10)
    with pytest.raises(GitHubError) as info:
        client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert str(info.value) == (
        "cannot update the pull request comment: GitHub asks to wait 30 s (Retry-After or rate-limit "
        "reset), longer than --max-wait 0.05 s; not retried"
    )
    assert len(github.requests("POST", COMMENTS)) == 1  # not retried at a shorter wait
    assert github.comments_on(7) == []


def test_5xx_on_reads_and_edits_is_retried(github: FakeGitHub) -> None:
    ours = github.add_comment(7, body("old"), BOT)
    github.fail("GET", COMMENTS, 502, "Bad Gateway", times=2)
    github.fail("PATCH", rf"/repos/{REPOSITORY}/issues/comments/\d+", 503, "Unavailable")
    ref = client(github).upsert_comment(7, MARKER, BOT, body("new"))
    assert (ref.action, ref.id) == ("updated", ours.id)
    assert len(github.requests("GET", COMMENTS)) == 3
    assert len(github.requests("PATCH")) == 2


def test_429_with_a_rate_limit_reset_is_retried(github: FakeGitHub) -> None:
    reset = str(int(time.time()) - 1)  # already passed: wait the 1 s margin
    github.fail(
        "GET",
        COMMENTS,
        429,
        "API rate limit exceeded",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )
    gh = client(github, policy=RetryPolicy(max_wait=2, request_interval=None, write_interval=None))
    assert gh.upsert_comment(7, MARKER, BOT, body("x")).action == "created"
    assert [r.method for r in github.requests(path=COMMENTS)] == ["GET", "GET", "POST"]  # 429, retried


def test_a_primary_rate_limit_longer_than_max_wait_is_a_clear_error(github: FakeGitHub) -> None:
    reset = str(int(time.time()) + 3600)
    github.fail(
        "GET",
        COMMENTS,
        403,
        "API rate limit exceeded for installation ID 1.",
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
    )
    with pytest.raises(GitHubError, match=r"GitHub asks to wait 36\d\d s .*longer than --max-wait 0.05 s"):
        client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert len(github.requests("GET", COMMENTS)) == 1


def test_retries_run_out(github: FakeGitHub) -> None:
    github.fail("GET", COMMENTS, 500, "Server Error", times=100)
    with pytest.raises(GitHubError) as info:
        client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert str(info.value) == "cannot update the pull request comment: GitHub kept failing after 3 retries"
    assert len(github.requests("GET", COMMENTS)) == 4


def test_integration_not_accessible_names_the_permission(github: FakeGitHub) -> None:
    github.fail("POST", COMMENTS, 403, "Resource not accessible by integration", times=10)
    with pytest.raises(PermissionDeniedError) as info:
        client(github).upsert_comment(7, MARKER, BOT, body("x"))
    assert info.value.permission == "pull-requests: write"
    assert len(github.requests("POST", COMMENTS)) == 1  # a permission error is not retried


def test_bad_token_never_shows_the_token(github: FakeGitHub) -> None:
    secret = "ghs_wrongtoken_abcdef"
    gh = client(github, token=secret)
    with pytest.raises(GitHubError) as info:
        gh.upsert_comment(7, MARKER, BOT, body("x"))
    assert "rejected the token (401 Bad credentials)" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(gh)
    assert github.requests()[0].authorization == f"token {secret}"


def _annotations(n: int) -> list[Annotation]:
    return [
        Annotation(
            path="p/p.go",
            line=i + 1,
            level="failure",
            title="New heap escape",
            message=f"moved to heap: v{i}",
        )
        for i in range(n)
    ]


def test_check_run_annotations_go_50_per_request(github: FakeGitHub) -> None:
    ref = client(github).create_check_run(
        name="escape-bot", head_sha="ab" * 20, conclusion="failure", title="120 new", summary="s",
        annotations=_annotations(120),
    )  # fmt: skip
    run = github.check_runs[ref.id]
    assert (run.status, run.conclusion, run.head_sha) == ("completed", "failure", "ab" * 20)
    assert [a["message"] for a in run.annotations] == [f"moved to heap: v{i}" for i in range(120)]
    sizes = [len(r.json["output"]["annotations"]) for r in github.requests(path="check-runs")]
    assert sizes == [50, 50, 20]
    assert [r.method for r in github.requests(path="check-runs")] == ["POST", "PATCH", "PATCH"]


def test_check_run_post_is_retried_on_5xx(github: FakeGitHub) -> None:
    github.fail("POST", rf"/repos/{REPOSITORY}/check-runs", 500, "Server Error")
    ref = client(github).create_check_run(
        name="escape-bot", head_sha="ab" * 20, conclusion="success", title="t", summary="s"
    )
    assert github.check_runs[ref.id].conclusion == "success"


def test_status_description_is_cut_to_140(github: FakeGitHub) -> None:
    client(github).create_status(sha="cd" * 20, state="failure", description="x" * 300, context="escape-bot")
    (status,) = github.statuses
    assert len(status.description) == 140 and status.description.endswith("…")
    assert (status.sha, status.state, status.context) == ("cd" * 20, "failure", "escape-bot")


def test_github_enterprise_prefix(ghes: FakeGitHub) -> None:
    assert ghes.api_url.endswith("/api/v3")
    for i in range(120):  # pagination links must carry the prefix too
        ghes.add_comment(7, f"c{i}", "someone")
    gh = client(ghes)
    assert gh.upsert_comment(7, MARKER, BOT, body("x")).action == "created"
    gh.create_check_run(name="escape-bot", head_sha="ab" * 20, conclusion="success", title="t", summary="s")
    gh.create_status(sha="ab" * 20, state="success", description="ok", context="escape-bot")
    assert len(ghes.comments_on(7)) == 121 and len(ghes.check_runs) == 1 and len(ghes.statuses) == 1


# ---- the retry arithmetic, on real urllib3 responses ----


def _response(status: int, headers: dict[str, str]) -> HTTPResponse:
    return HTTPResponse(body=b"{}", headers=headers, status=status, preload_content=True)


def test_retry_after_and_reset_are_honoured_up_to_max_wait() -> None:
    retry = make_retry(RetryPolicy())
    assert retry.get_retry_after(_response(403, {"Retry-After": "7"})) == 7
    reset = str(int(time.time()) + 30)
    wait = retry.get_retry_after(_response(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}))
    assert wait is not None and 29 <= wait <= 32
    assert retry.get_retry_after(_response(500, {})) is None
    capped = make_retry(RetryPolicy(max_wait=3))
    assert capped.get_retry_after(_response(403, {"Retry-After": "7"})) == 3


def test_which_requests_urllib3_retries() -> None:
    retry = make_retry(RetryPolicy())
    assert retry.is_retry("GET", 502) and retry.is_retry("PATCH", 503) and retry.is_retry("GET", 429)
    assert retry.is_retry("POST", 403)  # rate limits: rejected before anything was written
    assert not retry.is_retry("POST", 500)  # may have been applied: the caller decides
    assert not retry.is_retry("GET", 404)


# ---- as strict as GitHub (issue 12) ----


def test_a_comment_post_applied_then_timed_out_is_not_posted_twice(github: FakeGitHub) -> None:
    # GitHub stores the comment, then the answer comes after the client's 1 s timeout
    github.fail("POST", COMMENTS, 201, "late", apply=True, delay=2.0)
    policy = RetryPolicy(retries=3, backoff=0.01, request_interval=None, write_interval=None, timeout=1)
    ref = client(github, policy=policy).upsert_comment(7, MARKER, BOT, body("x"))
    assert len(github.requests("POST", COMMENTS)) == 1  # looked again instead of posting again
    (comment,) = github.comments_on(7)
    assert ref is not None and (ref.action, ref.id, comment.body) == ("created", comment.id, body("x"))
    assert [r.method for r in github.requests(path=COMMENTS)] == ["GET", "POST", "GET"]


def test_an_in_progress_check_run_applied_then_timed_out_is_found_again(github: FakeGitHub) -> None:
    github.fail("POST", rf"/repos/{REPOSITORY}/check-runs", 201, "late", apply=True, delay=2.0)
    policy = RetryPolicy(retries=3, backoff=0.01, request_interval=None, write_interval=None, timeout=1)
    gh = client(github, policy=policy)
    ref = gh.start_check_run(name="escape-bot", head_sha="ab" * 20)
    (run,) = github.check_runs.values()  # one run, not a second one left in progress forever
    assert (ref.id, run.status) == (run.id, "in_progress")
    done = gh.complete_check_run(ref.id, conclusion="success", title="ok", summary="s")
    assert (done.id, run.status, run.conclusion) == (run.id, "completed", "success")


def test_a_422_keeps_githubs_errors_detail(github: FakeGitHub) -> None:
    github.comment_limit = 10
    with pytest.raises(GitHubError) as info:
        client(github).upsert_comment(7, MARKER, BOT, body("a comment longer than ten characters"))
    assert str(info.value) == (
        "cannot update the pull request comment: GitHub answered 422 Validation Failed: "
        "body is too long (maximum is 10 characters)"
    )


def test_a_personal_access_token_cannot_create_check_runs(github: FakeGitHub) -> None:
    with pytest.raises(AppRequiredError, match="check runs need a GitHub App token such as GITHUB_TOKEN"):
        client(github, token=PAT).start_check_run(name="escape-bot", head_sha="ab" * 20)
    assert len(github.requests("POST", "check-runs")) == 1 and github.check_runs == {}


def test_a_partly_posted_check_run_is_reported_as_such(github: FakeGitHub) -> None:
    github.fail("PATCH", rf"/repos/{REPOSITORY}/check-runs/\d+", 404, "Not Found", times=1)
    with pytest.raises(PartialCheckRunError) as info:
        client(github).create_check_run(
            name="escape-bot", head_sha="ab" * 20, conclusion="failure", title="t", summary="s",
            annotations=_annotations(120),
        )  # fmt: skip
    assert str(info.value).startswith("the check run was posted with 50 of its 120 annotations: ")
    (run,) = github.check_runs.values()
    assert (info.value.run.id, info.value.run.annotations, len(run.annotations)) == (run.id, 50, 50)


def test_annotation_and_summary_texts_are_cut_in_githubs_units(github: FakeGitHub) -> None:
    long = Annotation(path="p/p.go", line=1, level="failure", title="τ" * 300, message="λ" * 40_000,
                      raw_details="μ" * 40_000)  # fmt: skip
    client(github).create_check_run(
        name="escape-bot", head_sha="ab" * 20, conclusion="failure", title="t", summary="ω" * 40_000,
        annotations=[long],
    )  # fmt: skip
    (run,) = github.check_runs.values()
    (a,) = run.annotations
    assert len(a["title"]) == 255 and len(a["message"].encode()) <= 65_536 < len(long.message.encode())
    assert len(a["raw_details"].encode()) <= 65_536 and a["message"].endswith("…")
    assert 65_000 < len(run.summary.encode()) <= 65_535


def test_the_fake_is_as_strict_as_github(github: FakeGitHub) -> None:
    """What escape-bot must never send: the fake answers it as GitHub does."""
    url = f"{github.api_url}/repos/{REPOSITORY}"
    headers = {"Authorization": f"token {TOKEN}"}
    github.commits = {"ab" * 20}

    def post(path: str, data: dict[str, object]) -> requests.Response:
        return requests.post(f"{url}/{path}", json=data, headers=headers, timeout=10)

    run = {"name": "escape-bot", "head_sha": "ab" * 20}
    assert post("check-runs", {**run, "status": "completed"}).status_code == 422  # no conclusion
    assert post("check-runs", {**run, "status": "done"}).status_code == 422
    assert post("check-runs", {**run, "conclusion": "passed"}).status_code == 422
    assert post("check-runs", {**run, "head_sha": "cd" * 20, "status": "queued"}).status_code == 422
    big = {"title": "t", "summary": "é" * 33_000}  # 33,000 characters, 66,000 bytes
    assert post("check-runs", {**run, "status": "in_progress", "output": big}).status_code == 422
    many = {"title": "t", "summary": "s", "annotations": [_annotations(1)[0].payload()] * 51}
    assert post("check-runs", {**run, "status": "in_progress", "output": many}).status_code == 422
    assert post(f"statuses/{'ab' * 20}", {"state": "passed", "context": "c"}).status_code == 422
    assert post(f"statuses/{'cd' * 20}", {"state": "success", "context": "c"}).status_code == 422
    pat = requests.post(f"{url}/check-runs", json=run, headers={"Authorization": f"token {PAT}"}, timeout=10)
    assert (pat.status_code, pat.json()["message"]) == (403, "You must authenticate via a GitHub App.")
    created = post("check-runs", {**run, "conclusion": "success"})
    assert created.status_code == 201 and created.json()["status"] == "completed"
    assert github.check_runs and len(github.check_runs) == 1


def test_completing_an_opened_check_run_sends_50_annotations_per_request(github: FakeGitHub) -> None:
    gh = client(github)
    ref = gh.start_check_run(name="escape-bot", head_sha="ab" * 20, details_url="https://example.invalid/run")
    done = gh.complete_check_run(
        ref.id, conclusion="failure", title="120 new", summary="s", annotations=_annotations(120)
    )
    writes = github.requests(path="check-runs")
    assert [(r.method, r.json.get("status"), r.json.get("conclusion")) for r in writes] == [
        ("POST", "in_progress", None),
        ("PATCH", "completed", "failure"),
        ("PATCH", None, None),
        ("PATCH", None, None),
    ]
    assert [len(r.json.get("output", {}).get("annotations", [])) for r in writes] == [0, 50, 50, 20]
    (run,) = github.check_runs.values()
    assert (done.annotations, len(run.annotations), run.status) == (120, 120, "completed")
    assert run.details_url == "https://example.invalid/run"


def test_file_at_reads_a_commits_file_through_the_contents_api(github: FakeGitHub) -> None:
    sha = "a" * 40
    github.add_file(sha, ".escape-bot.toml", "[gate]\nmax-new = 2\n")
    github.add_file(sha, "p/a b+ü.go", "package p\n")
    github.add_file(sha, "big.go", b"x" * 1_000_001)
    gh = client(github)
    assert gh.file_at(".escape-bot.toml", sha) == "[gate]\nmax-new = 2\n"
    assert gh.file_at("p/a b+ü.go", sha) == "package p\n"  # the path is percent-encoded
    assert gh.file_at("missing.go", sha) is None  # 404 Not Found: no such file at that commit
    with pytest.raises(
        GitHubError,
        match=r"^cannot read x.go at bbbbbbbbbbbb: GitHub answered 404 No commit found for the ref b{40}$",
    ):
        gh.file_at("x.go", "b" * 40)  # 404 "No commit found for the ref": never "no file"
    with pytest.raises(TooLargeError, match="larger than the 1 MB the contents API returns"):
        gh.file_at("big.go", sha)
    (read,) = github.requests("GET", r"/contents/p/")
    assert read.path == "/repos/octo/demo/contents/p/a b+ü.go" and read.query == f"ref={sha}"
    github.fail("GET", r"/repos/octo/demo/contents/.*", 403, "Resource not accessible by integration")
    with pytest.raises(PermissionDeniedError, match="contents: read"):
        gh.file_at(".escape-bot.toml", sha)


def test_the_publish_client_reads_labels_and_a_deleted_fork(github: FakeGitHub) -> None:
    from bot.github.artifact import PublishClient

    github.add_pull(7, "c" * 40, head_repo="forker/demo", base_sha="d" * 40, labels=("escape-bot/accept",))
    github.add_pull(8, "e" * 40, fork_deleted=True)
    gh = PublishClient(api_url=github.api_url, token=TOKEN, repository=REPOSITORY, policy=FAST)
    seven = gh.pull_request(7)
    assert (seven.head_repository, seven.base_sha, seven.base_ref, seven.labels) == (
        "forker/demo",
        "d" * 40,
        "main",
        ("escape-bot/accept",),
    )
    assert gh.pull_request(8).head_repository == ""
