"""The BotError hierarchy: expected failures with one-line messages and exit codes.

Nothing below the CLI calls `sys.exit`; the CLI turns these into a line on stderr and the
documented exit code (docs/usage.md#exit-codes).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3
EXIT_UNEXPECTED = 4


class BotError(Exception):
    """An expected failure: the message is shown to the user as one line."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details  # extra lines (compiler output), shown indented under the message

    def __str__(self) -> str:
        return self.message

    def detail_lines(self, limit: int = 40) -> list[str]:
        """The details worth printing under the message: not the lines the message already quotes
        (go's first error, git's last line), nor headers (`module m:`, `# pkg`) left with nothing
        under them."""
        lines = [line for line in self.details.strip().splitlines() if line.strip()]
        new = [line for line in lines if line.strip() not in self.message]
        if all(line.rstrip().endswith(":") or line.lstrip().startswith("# ") for line in new):
            return []
        return _without_empty_headers(new)[:limit]


def _rank(line: str) -> int:
    """0 for a `module m:` header (app.failure_details), 1 for a `# pkg` header, 2 for the rest."""
    if line.lstrip().startswith("# "):
        return 1
    return 0 if line.startswith("module ") and line.rstrip().endswith(":") else 2


def _without_empty_headers(lines: list[str]) -> list[str]:
    """The lines without the headers that nothing is left under: once the message quotes go's
    first error, its `# pkg` would otherwise sit over the next package's header, as if empty."""
    kept: list[str] = []
    below: int | None = None  # the rank of the line kept just below, None at the end
    for line in reversed(lines):
        rank = _rank(line)
        if rank == 2 or (below is not None and below > rank):
            kept.append(line)
            below = rank
    return kept[::-1]


class UsageError(BotError):
    """Bad options or configuration (exit 2)."""

    exit_code = EXIT_USAGE


class GitError(BotError):
    """Not a git repository, unknown revision, worktree failure."""


class BuildError(BotError):
    """The Go build failed: never to be mistaken for 'no escapes'."""


class ToolchainError(BotError):
    """No usable Go toolchain."""


class ParseError(BotError):
    """A compiler log could not be read (with --strict: unknown lines)."""


class NotStoredError(BotError):
    """A history command found nothing stored for what it was asked (exit 3)."""


class StoreError(BotError):
    """The database cannot be used as it is."""


class SchemaOutdatedError(StoreError):
    """The database is at an older schema revision."""
