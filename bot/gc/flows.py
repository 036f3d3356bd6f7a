"""An explanation's `flow:` and `from` lines -> Flow records, each distinct one parsed once. Pure.

A package's flows repeat a lot (the standard library prints 493 k flow lines, 89 k distinct, and
623 k `from` lines, 134 k distinct): each distinct flow and step is parsed once per package and
its record shared. Lines it does not know go to `unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.gc.lines import split_flow, split_step
from bot.gc.model import Flow, Position, Step


class FlowReader:
    """Reads explanations; `clear()` when a package ends (positions rarely repeat across)."""

    def __init__(self, unknown: Callable[[str], None]) -> None:
        self._unknown = unknown
        self.unknown = 0  # lines not understood so far
        self._positions: dict[str, Position | None] = {}
        self._steps: dict[str, Step] = {}  # `from` line -> its Step
        self._flows: dict[tuple[str, ...], Flow] = {}  # a flow's lines -> its Flow
        self._words: dict[str, str] = {}  # one copy of each repeated string (reasons, roots)

    def clear(self) -> None:
        self._positions.clear()
        self._steps.clear()
        self._flows.clear()
        if len(self._words) > 100_000:
            self._words.clear()

    def flows(self, raw: list[str]) -> list[Flow]:
        """Parse an explanation's `flow:` and `from` lines (fixed indentation: 2 and 4 spaces)."""
        starts = [i for i, text in enumerate(raw) if text.startswith("  flow: ")]
        if not starts or starts[0]:
            self._segment(raw[: starts[0]] if starts else raw)  # steps without a flow: dropped
        if not starts:
            return []
        cache = self._flows
        flows = []
        ends = [*starts[1:], len(raw)]
        for start, end in zip(starts, ends, strict=True):
            key = tuple(raw[start:end])
            flow = cache.get(key)
            if flow is None:
                before = self.unknown
                flow = self._segment(key)
                if self.unknown == before:  # a segment with unknown lines counts them each time
                    cache[key] = flow
            flows.append(flow)
        return flows

    def _segment(self, lines: Sequence[str]) -> Flow:
        """One `flow:` line and its `from` lines (or `from` lines alone: an empty Flow)."""
        dst, src = "", ""
        steps: list[Step] = []
        known = self._steps
        for text in lines:
            if text.startswith("    from "):
                step = known.get(text)
                if step is None:
                    step = split_step(text[9:].rstrip("\r\n"), self._positions, self._words)
                    if step is None:
                        self._not_known(text)
                        continue
                    known[text] = step
                steps.append(step)
            elif text.startswith("  flow: "):
                dst, src = split_flow(text[8:].rstrip("\r\n"))
                dst = self._words.setdefault(dst, dst)
                src = self._words.setdefault(src, src)
            elif "warning: " not in text:  # `warning: truncated explanation due to ...`
                self._not_known(text)
        return Flow(dst, src, tuple(steps))

    def _not_known(self, text: str) -> None:
        self.unknown += 1
        self._unknown(text)
