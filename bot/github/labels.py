"""The acceptance label of a pull request, read from the event payload (pure).

A label that turns a failing gate into a pass must say who put it there. A `labeled` event names
its sender; on any other event (a new push to a labelled PR) the payload only lists the labels,
and the GitHub layer asks the issue's events who added it (`GitHubClient.label_actor`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The acceptance label is on the pull request; `by` is the login that added it, when known."""

    label: str
    by: str | None


def acceptance(payload: Mapping[str, Any], label: str | None) -> Acceptance | None:
    """The acceptance label on the PR of a `pull_request` payload, or None."""
    if not label:
        return None
    pr = payload.get("pull_request")
    labels = pr.get("labels") if isinstance(pr, Mapping) else None
    names = (
        {item.get("name") for item in labels if isinstance(item, Mapping)}
        if isinstance(labels, list)
        else set()
    )
    if label not in names:
        return None
    by = None
    event_label = payload.get("label")
    if (
        payload.get("action") == "labeled"
        and isinstance(event_label, Mapping)
        and event_label.get("name") == label
    ):
        sender = payload.get("sender")
        login = sender.get("login") if isinstance(sender, Mapping) else None
        by = login if isinstance(login, str) and login else None
    return Acceptance(label, by)
