"""An explanation's `flow:` and `from` lines -> Flow records, each distinct one parsed once. Pure.

A package's flows repeat a lot (the standard library prints 493 k flow lines, 89 k distinct, and
623 k `from` lines, 134 k distinct): each distinct flow and step is parsed once per package and
its record shared. Lines it does not know go to `unknown`.

The hot loop hands an explanation's lines over as printed (`POS:   flow: ...`, all with the
header's position) and `compact` makes them one string as soon as the header is finished, the
repeated `POS: ` cut with one `replace` (lines of another position or with their `POS: ` cut
already are cut one by one); the flows are cut apart with one `split` and each flow's text
looked up whole. `FlowReader.flows` runs in C (bot/gc/_flows.c) where it was built, with the
same caches and the same records; the Python code below is the reference and the fallback.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.gc import native
from bot.gc.lines import Header, split_flow, split_step
from bot.gc.model import Flow, Position, Step

FLOW = "  flow: "
FROM = "    from "


def compact(header: Header) -> None:
    """A finished header's explanation lines as one string with `POS: ` cut, each line after a
    newline (`\\n  flow: A:\\n    from ...`): one object per explanation instead of one per line.
    `ended`: its lines ended with a newline (a text log's, not events'), given back to the
    unknown ones. Lines are those of a log: no newline but the one ending them."""
    raw = header.raw
    first = raw[0] if raw else ""
    ended = first[-1:] == "\n"
    header.ended = ended
    header.raw = []
    cut = first.find(": ")
    if first[:1] != " " and cut > 0:  # as printed: one `replace` cuts the first line's position
        text = "\n" + ("" if ended else "\n").join(raw)
        if text.count("\n") == len(raw) + ended:  # every line ends alike
            short = text.replace("\n" + first[: cut + 2], "\n")
            if len(text) - len(short) == len(raw) * (cut + 2):  # all of them with that position
                header.text = short[:-1] if ended else short
                return
    # another position, a `POS: ` cut already, an unended last line: each line cut alone
    cut_lines = (line if line[:1] == " " else line[line.find(": ") + 2 :] for line in raw)
    header.text = "".join("\n" + line.removesuffix("\n") for line in cut_lines)


class FlowReader:
    """Reads explanations; `clear()` when a package ends (positions rarely repeat across).

    `native_flows=False`: the pure-Python path even where bot/gc/_flows.c was built.
    """

    def __init__(self, unknown: Callable[[str], None], *, native_flows: bool = True) -> None:
        self._unknown = unknown
        self._native = native.flows if native_flows else None
        self._positions: dict[str, Position | None] = {}
        self._flows: dict[str, Flow] = {}  # a flow's text (its lines, `POS: ` cut) -> its Flow
        self._steps: dict[str, Step] = {}  # a `from` line's text after `from ` -> its Step
        self._words: dict[str, str] = {}  # one copy of each repeated string (reasons, roots)

    def clear(self) -> None:
        self._positions.clear()
        self._flows.clear()
        self._steps.clear()
        if len(self._words) > 100_000:
            self._words.clear()

    def flows(self, header: Header) -> list[Flow]:
        """Parse a header's explanation (compacted first if it is not yet, see `compact`).
        Steps before the first flow are dropped; a `warning: truncated explanation ...` line
        is skipped; any other line that is neither a `flow:` nor a `from` line goes to
        `unknown` as it came (`POS: ` cut), each time it is met."""
        if header.text is None:
            compact(header)
        text = header.text or ""
        if self._native is not None:
            flows: list[Flow] = self._native.read(
                text, header.ended, self._flows, self._steps, self._positions, self._words, self._unknown
            )
            return flows
        end = "\n" if header.ended else ""
        pieces = text.split("\n" + FLOW)
        if pieces[0]:  # steps (or unknown lines) before the first flow
            self._flow_text(pieces[0], end)
        cache = self._flows
        flows = []
        for piece in pieces[1:]:
            flow = cache.get(piece)
            if flow is None:
                flow, known = self._flow_text(piece, end)
                if known:  # a flow with unknown lines counts them each time it is met
                    cache[piece] = flow
            flows.append(flow)
        return flows

    def _flow_text(self, piece: str, end: str) -> tuple[Flow, bool]:
        """One flow's text (its `flow:` line after `  flow: `, "" before the first flow, then
        each of its lines after a newline) and whether every line of it was known."""
        head, *lines = piece.split("\n")  # a `\r\n` line's `\r` stays: cut before parsing
        known = True
        steps = []
        cache = self._steps
        for line in lines:
            if line.startswith(FROM):
                text = line[9:]
                step = cache.get(text)
                if step is None:
                    step = split_step(text.rstrip("\r"), self._positions, self._words)
                    if step is not None:
                        cache[text] = step
                if step is not None:
                    steps.append(step)
                    continue
            elif "warning: " in line:  # `warning: truncated explanation due to ...`
                continue
            known = False
            self._unknown(line + end)
        dst, src = split_flow(head.rstrip("\r"))
        words = self._words
        return Flow(words.setdefault(dst, dst), words.setdefault(src, src), tuple(steps)), known
