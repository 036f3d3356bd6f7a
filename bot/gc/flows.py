"""An explanation's `flow:` and `from` lines -> Flow records, each distinct one parsed once. Pure.

A package's flows repeat a lot (the standard library prints 493 k flow lines, 89 k distinct, and
623 k `from` lines, 134 k distinct): each distinct flow and step is parsed once per package and
its record shared. Lines it does not know go to `unknown`.

The hot loop hands an explanation's lines over as printed (`POS:   flow: ...`, all with the
header's position) and `compact` makes them one string as soon as the header is finished, the
repeated `POS: ` cut with one `replace`; the flows are cut apart with one `split` and each flow's
text looked up whole. Anything else (lines of another position or with their `POS: ` cut
already, `\\r`, lines it does not know) is read line by line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.gc.lines import Header, split_flow, split_step
from bot.gc.model import Flow, Position, Step

FLOW = "  flow: "
FROM = "    from "


def compact(header: Header) -> None:
    """A finished header's explanation lines as one string with `POS: ` cut, each line after a
    newline (`\\n  flow: A:\\n    from ...`): one object per explanation instead of one per line,
    cut with one `replace`. Only when every line is as printed with the first one's position
    and they end alike (a text log's lines with their newline, events' without); else the lines
    stay."""
    raw = header.raw
    if not raw:
        return
    first = raw[0]
    cut = first.find(": ")
    if first[:1] == " " or cut <= 0:
        return
    ended = first[-1:] == "\n"
    text = "\n" + ("" if ended else "\n").join(raw)
    if text.count("\n") != len(raw) + ended or "\r" in text:
        return
    short = text.replace("\n" + first[: cut + 2], "\n")
    if len(text) - len(short) != len(raw) * (cut + 2):  # a line of another position
        return
    header.text = short[:-1] if ended else short
    header.ended = ended
    header.raw = []


class FlowReader:
    """Reads explanations; `clear()` when a package ends (positions rarely repeat across)."""

    def __init__(self, unknown: Callable[[str], None]) -> None:
        self._unknown = unknown
        self.unknown = 0  # lines not understood so far
        self._positions: dict[str, Position | None] = {}
        self._steps: dict[str, Step] = {}  # `from` line -> its Step
        self._step_texts: dict[str, Step] = {}  # a `from` line's text after `from ` -> its Step
        self._texts: dict[str, Flow] = {}  # a flow's text (its lines, `POS: ` cut) -> its Flow
        self._flows: dict[tuple[str, ...], Flow] = {}  # a flow's lines -> its Flow
        self._words: dict[str, str] = {}  # one copy of each repeated string (reasons, roots)

    def clear(self) -> None:
        self._positions.clear()
        self._steps.clear()
        self._step_texts.clear()
        self._texts.clear()
        self._flows.clear()
        if len(self._words) > 100_000:
            self._words.clear()

    def flows(self, header: Header) -> list[Flow]:
        """Parse a header's explanation: its text (see `compact`) or else its lines, each as
        printed (`POS:   flow: ...`) or with its `POS: ` cut already (it then starts with a space)."""
        if header.text is None:
            compact(header)
        text = header.text
        if text is None:
            raw = header.raw
            return self._by_line([line if line[:1] == " " else line[line.find(": ") + 2 :] for line in raw])
        found = self._from_text(text)
        if found is not None:
            return found
        end = "\n" if header.ended else ""  # the lines as they came, for the unknown ones
        return self._by_line([line + end for line in text[1:].split("\n")])

    def _from_text(self, text: str) -> list[Flow] | None:
        """`flows` of a compacted explanation; None when it has a line that is neither a
        `flow:` nor a `from` line, or steps before its first flow (read line by line then)."""
        pieces = text.split("\n" + FLOW)
        if pieces[0]:  # steps before the first flow
            return None
        cache = self._texts
        flows = []
        for piece in pieces[1:]:
            flow = cache.get(piece)
            if flow is None:
                flow = self._flow_text(piece)
                if flow is None:
                    return None
                cache[piece] = flow
            flows.append(flow)
        return flows

    def _flow_text(self, piece: str) -> Flow | None:
        """One flow's text (its `flow:` line after `  flow: `, then its `from` lines, each after
        a newline); None when it holds a line that is not a `from` line."""
        parts = piece.split("\n" + FROM)
        if piece.count("\n") != len(parts) - 1:
            return None
        known = self._step_texts
        steps = []
        for part in parts[1:]:
            step = known.get(part)
            if step is None:
                step = split_step(part, self._positions, self._words)
                if step is None:
                    return None
                known[part] = step
            steps.append(step)
        dst, src = split_flow(parts[0])
        return Flow(self._words.setdefault(dst, dst), self._words.setdefault(src, src), tuple(steps))

    def _by_line(self, raw: list[str]) -> list[Flow]:
        """`flows` of lines with their `POS: ` cut (fixed indentation: 2 and 4 spaces)."""
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
