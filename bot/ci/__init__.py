"""The `ci` use case: what `escape-bot ci` does in a GitHub Actions job.

- `pull_request`: build the PR's base (`pull_request.base.sha`, fetched when the checkout is
  shallow) and the checked-out merge commit (`GITHUB_SHA`), diff them, gate, write the reports
  (JSON, SARIF, job summary, step outputs), then publish: the sticky comment and a check run or
  commit status on the PR's head commit. Without permission to publish (fork PRs), the job
  summary and at most 10 annotations carry the result; the exit code still follows the gate.
- `merge_group` (a merge queue asks for the required checks): build `merge_group.base_sha` and
  `merge_group.head_sha`, diff, gate, write the reports, and post the check run or status on
  `merge_group.head_sha`; no comment (there is no pull request to comment on).
- `push` to the default branch: build the commit and record it in the store; nothing is posted.

A required check must never be left waiting: on `pull_request` and `merge_group` the check run is
opened `in_progress` (a `pending` status) before anything is built, and completed whatever
happens: with the gate's verdict, or `failure` with the reason (the compiler's error lines for a
broken build), which the job summary shows too. A store that cannot be written does not stop the
result: it is reported and published first, then a warning says the snapshot was not recorded.

Modes (`Settings.mode`, docs/action.md): `auto` does the above in one job. The fork-safe pair
splits a pull request in two: `analyze` (on `pull_request`, read-only token) builds, gates and
writes the reports plus a results artifact, and posts nothing; `publish` (on `workflow_run`,
write token) reads that artifact as untrusted data (bot/github/artifact.py), confirms with the
API that the PR's head is still the commit it was made for, recomputes the gate from it and
posts exactly what `auto` would have posted.

Rooms: flows.py (the events: pull_request, merge_group, push), publish.py (the `publish` mode),
check.py (the check run or status, the comment), outputs.py (report files, step outputs, job
summary), text.py (status and annotation text), stores.py (the store as a PR uses it), settings.py
(Settings, the Protocols, Outcome).

Adapters come in as parameters (`publisher`, `store`, `commands`), so this module is tested with
the real compiler and git, a fake GitHub server on loopback, and an in-memory store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.ci.flows import run_ci
    from bot.ci.outputs import report_directory
    from bot.ci.settings import (
        DEFAULT_AUTHOR,
        MAX_COMMAND_ANNOTATIONS,
        ArtifactPublisher,
        CheckMode,
        Mode,
        Outcome,
        Progress,
        Publisher,
        Settings,
    )
    from bot.ci.stores import LazyStore, TolerantStore, UnavailableStore
    from bot.ci.text import check_annotations, status_description

# Each name's room, imported at first use: `diff` and `collect` use only stores.py, and the
# rest (flows, reports, Jinja2's templates) would cost them ~45 ms of start-up.
_ROOMS = {
    "run_ci": "flows",
    "report_directory": "outputs",
    **dict.fromkeys(
        (
            "DEFAULT_AUTHOR",
            "MAX_COMMAND_ANNOTATIONS",
            "ArtifactPublisher",
            "CheckMode",
            "Mode",
            "Outcome",
            "Progress",
            "Publisher",
            "Settings",
        ),
        "settings",
    ),
    **dict.fromkeys(("LazyStore", "TolerantStore", "UnavailableStore"), "stores"),
    **dict.fromkeys(("check_annotations", "status_description"), "text"),
}


def __getattr__(name: str) -> Any:
    room = _ROOMS.get(name)
    if room is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"bot.ci.{room}"), name)


__all__ = [
    "DEFAULT_AUTHOR",
    "MAX_COMMAND_ANNOTATIONS",
    "ArtifactPublisher",
    "CheckMode",
    "LazyStore",
    "Mode",
    "Outcome",
    "Progress",
    "Publisher",
    "Settings",
    "TolerantStore",
    "UnavailableStore",
    "check_annotations",
    "report_directory",
    "run_ci",
    "status_description",
]
