"""Links to GitHub from a git remote URL, and pull-request numbers from commit subjects (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_MERGE = re.compile(r"^Merge pull request #(\d+)\b")
_SQUASH = re.compile(r"\(#(\d+)\)")
_HOST = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
# `git@host:owner/name.git`: git's scp-like syntax (no scheme, a colon before the first slash)
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!/)(.+)$")


def pr_number(subject: str) -> int | None:
    """The pull request a commit subject names: `Merge pull request #12 from ...` (merge button)
    or `Title (#12)` (squash and rebase merges; the last one when several)."""
    merge = _MERGE.match(subject)
    if merge:
        return int(merge.group(1))
    found = _SQUASH.findall(subject)
    return int(found[-1]) if found else None


@dataclass(frozen=True, slots=True)
class GitHubRepository:
    """A repository on github.com or a GitHub Enterprise Server."""

    server_url: str  # https://github.com
    repository: str  # owner/name

    @property
    def commit_prefix(self) -> str:
        """`{server}/{owner}/{name}/commit/`; the sha follows."""
        return f"{self._base()}/commit/"

    @property
    def pull_prefix(self) -> str:
        """`{server}/{owner}/{name}/pull/`; the number follows."""
        return f"{self._base()}/pull/"

    def _base(self) -> str:
        # bot.report.safe (html, unicodedata and its patterns) only for the links of the HTML
        # report: `pr_number` is on every history command's path (docs/performance.md)
        from bot.report.safe import url_path

        return f"{self.server_url}/{url_path(self.repository)}"


def _is_github(host: str, known: set[str]) -> bool:
    # A GitHub Enterprise Server is told apart from other forges only by its name: the
    # server the workflow runs against (GITHUB_SERVER_URL), or a host called github.* / ghe.*.
    host = host.lower()
    return host in known or host == "github.com" or host.split(".")[0] in ("github", "ghe")


def github_repository(remote: str, known_servers: Iterable[str] = ()) -> GitHubRepository | None:
    """The GitHub repository of a remote URL, or None when it is not on a GitHub server.

    Understands `https://[user[:token]@]host[:port]/owner/name[.git]` (credentials dropped),
    `ssh://git@host[:port]/owner/name.git`, `git://host/owner/name.git` and `git@host:owner/name.git`.
    """
    known = {(urlsplit(s).hostname or "").lower() for s in known_servers} - {""}
    remote = remote.strip()
    scheme, port = "https", None
    if "://" in remote:
        parts = urlsplit(remote)
        host, path = parts.hostname or "", parts.path
        if parts.scheme in ("http", "https"):
            scheme = parts.scheme
            try:
                port = parts.port
            except ValueError:
                return None
        elif parts.scheme not in ("ssh", "git", "git+ssh", "ssh+git"):
            return None
    else:
        scp = _SCP.match(remote)
        if not scp:
            return None
        host, path = scp.group(1), scp.group(2)
    if host.lower() == "ssh.github.com":  # ssh over port 443 (GitHub's documented fallback)
        host = "github.com"
    if not _HOST.match(host) or not _is_github(host, known):
        return None
    segments = [s for s in path.strip("/").split("/") if s]
    if len(segments) != 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not (_SEGMENT.match(owner) and _SEGMENT.match(name)) or name in (".", ".."):
        return None
    netloc = host.lower() + (f":{port}" if port and port not in (80, 443) else "")
    return GitHubRepository(f"{scheme}://{netloc}", f"{owner}/{name}")
