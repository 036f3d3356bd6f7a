"""GitHub's size limits, each in the unit GitHub counts it in (pure): the one place they are defined.

Characters and bytes differ as soon as a Go identifier is not ASCII: a check-run summary of 65,208
characters can be 70,080 bytes, and GitHub answers 422 to it. Sources: the REST API description
(check runs, statuses, issue comments), the Actions job-summary documentation, and code scanning's
SARIF limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["characters", "bytes", "results", "annotations"]


@dataclass(frozen=True, slots=True)
class Limit:
    """A size limit and how GitHub counts it."""

    size: int
    unit: Unit = "characters"

    def measure(self, text: str) -> int:
        """The size of `text` in this limit's unit (characters or UTF-8 bytes)."""
        if self.unit == "bytes":
            return len(text.encode("utf-8"))
        if self.unit == "characters":
            return len(text)
        raise TypeError(f"a limit in {self.unit} does not measure text")

    def fits(self, text: str) -> bool:
        """True when `text` is within the limit."""
        return self.measure(text) <= self.size

    def cut(self, text: str, suffix: str = "…") -> str:
        """`text` unchanged when it fits, else its longest prefix (whole characters) plus `suffix`."""
        if self.fits(text):
            return text
        room = self.size - self.measure(suffix)
        if room <= 0:
            return ""
        if self.unit == "characters":
            return text[:room] + suffix
        # whole characters only: a cut inside a multi-byte character would be invalid UTF-8
        return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + suffix

    def __str__(self) -> str:
        return f"{self.size:,} {self.unit}"


# the sticky comment: POST/PATCH issues/comments answer 422 above it
COMMENT_BODY = Limit(65_536, "characters")
# check run output.summary and output.text
CHECK_SUMMARY = Limit(65_535, "bytes")
CHECK_TEXT = Limit(65_535, "bytes")
# one check-run annotation: message and raw_details 64 KB, title 255 characters
ANNOTATION_MESSAGE = Limit(64 * 1024, "bytes")
ANNOTATION_RAW_DETAILS = Limit(64 * 1024, "bytes")
ANNOTATION_TITLE = Limit(255, "characters")
# annotations in one create/update request (each PATCH appends)
ANNOTATIONS_PER_REQUEST = Limit(50, "annotations")
# commit status description
STATUS_DESCRIPTION = Limit(140, "characters")
# GITHUB_STEP_SUMMARY: 1 MiB for the whole step, shared by every build configuration it runs
STEP_SUMMARY = Limit(1024 * 1024, "bytes")
# code scanning keeps at most 25,000 results of one SARIF run
SARIF_RESULTS_PER_RUN = Limit(25_000, "results")
