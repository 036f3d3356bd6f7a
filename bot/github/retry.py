"""How the GitHub client retries: rate limits and 5xx with backoff (Retry-After honoured, bounded),
never a request that may have been applied."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from github import GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry


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
    timeout: int = 30  # seconds per request (PyGithub takes an int)

    def delay(self, attempt: int) -> float:
        """Backoff before retry number `attempt` (0-based) of a POST we retry ourselves."""
        return float(min(self.backoff * 2.0**attempt, self.backoff_max))


class _Retry(GithubRetry):
    """GithubRetry that leaves POST 5xx and timeouts to the caller, reads x-ratelimit-reset on 429
    too, and gives up at once when GitHub asks for a wait longer than `max_rate_limit_wait`."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code >= 500:
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if (
            error is not None
            and method is not None
            and method.upper() == "POST"
            and self._is_read_error(error)
        ):
            raise error  # the POST may have been applied: the caller looks before posting again
        if response is not None and response.status in (403, 429):
            wait = self._asked_wait(response)
            if wait is not None and self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
                response.drain_conn()  # the connection goes back to the pool, not to the garbage
                response.release_conn()
                raise RateLimitExceededExceedsMaxWait(
                    response.status, {"message": "rate limited"}, dict(response.headers), wait=wait
                )
        return super().increment(method, url, response, error, _pool, _stacktrace)  # type: ignore[arg-type]

    @staticmethod
    def _asked_wait(response: BaseHTTPResponse) -> float | None:
        """The seconds GitHub asks us to wait: Retry-After, else the reset of an exhausted limit."""
        after = response.headers.get("Retry-After", "").strip()
        if after.isdigit():
            return float(after)
        reset = response.headers.get("x-ratelimit-reset", "")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(int(reset) - time.time(), 0.0) + 1.0
        return None

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


def maybe_applied(exc: Exception) -> bool:
    """A POST that failed this way may still have been applied (a 5xx, or no answer in time)."""
    return isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(exc, GithubException) and exc.status >= 500
    )
