"""The PyGithub adapter against the fake GitHub server on 127.0.0.1: real HTTP, real retries.

Waits are shrunk through RetryPolicy (the production code path, with smaller numbers): a
`Retry-After: 0` is retried, a `Retry-After: 30` longer than `max_wait` fails at once; the
arithmetic is checked on real urllib3 responses at the end.
"""

from __future__ import annotations

import time

import pytest
from urllib3 import HTTPResponse

from bot.github.client import (
    Annotation,
    GitHubClient,
    GitHubError,
    PermissionDeniedError,
    RetryPolicy,
    make_retry,
)
from tests.github.fake import BOT, REPOSITORY, TOKEN, FakeGitHub

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
    assert ref.action == "unchanged"
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
