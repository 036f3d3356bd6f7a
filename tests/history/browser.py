"""Load a page in real headless Chromium and report what it did, over the DevTools protocol.

Chromium runs with `--remote-debugging-pipe`: it reads protocol commands from fd 3 and writes
answers and events to fd 4, each JSON message ended by a NUL byte (what Puppeteer's `pipe: true`
uses). No port to find or race for and no websocket library: two pipes. The harness opens a
blank tab, enables the Runtime, Log, Network and Page domains *before* navigating (so nothing the
page does is missed), navigates, waits for the load event, evaluates an expression in the page
and collects every console error, uncaught exception, error log entry (CSP violations, failed
loads) and every request that is not for a `file:`, `data:` or `about:` URL.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",  # as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--remote-debugging-pipe",
]
LOCAL_SCHEMES = ("file:", "data:", "about:")


def chromium() -> str | None:
    """Debian's chromium (`apt-get install -y chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageReport:
    """What the page did."""

    value: Any = None  # the evaluated expression (JSON-compatible)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # non-local URLs the page asked for

    @property
    def errors(self) -> list[str]:
        """Everything that counts as a console error."""
        return self.console_errors + self.exceptions + self.log_errors


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.write_fd, self.read_fd = write_fd, read_fd
        self.buffer = b""
        self.next_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        return self.next_id

    def receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        result: dict[str, Any] = json.loads(message)
        return result


def _high_pipe() -> tuple[int, int]:
    """A pipe whose fds are 10 or more, so moving Chromium's ends to 3 and 4 cannot clobber them."""
    fds = []
    for fd in os.pipe():
        fds.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return fds[0], fds[1]


def _describe_console(params: dict[str, Any]) -> str:
    return " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))


def inspect_page(
    url: str, expression: str, *, timeout: float = 60.0, screenshot: Path | None = None
) -> PageReport:
    """Load `url` in headless Chromium, evaluate `expression` once it has loaded, report; with
    `screenshot`, also save the page as Chromium painted it (PNG)."""
    executable = chromium()
    if executable is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    report = PageReport()
    deadline = time.monotonic() + timeout
    # our ends, and Chromium's ends which the shell moves to fds 3 (commands) and 4 (answers)
    commands_read, commands_write = _high_pipe()
    answers_read, answers_write = _high_pipe()
    with tempfile.TemporaryDirectory(prefix="escape-bot-chromium-") as profile:
        shell = f'exec "$@" 3<&{commands_read} 4>&{answers_write} {commands_read}<&- {answers_write}>&-'
        proc = subprocess.Popen(
            ["bash", "-c", shell, "bash", executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(commands_read, answers_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # dbus and GPU chatter; the protocol reports what matters
        )
        os.close(commands_read)
        os.close(answers_write)
        pipe = _Pipe(commands_write, answers_read)
        try:
            _drive(pipe, url, expression, report, deadline, screenshot)
        finally:
            try:
                pipe.send("Browser.close")
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            os.close(commands_write)
            os.close(answers_read)
    return report


def _drive(
    pipe: _Pipe,
    url: str,
    expression: str,
    report: PageReport,
    deadline: float,
    screenshot: Path | None = None,
) -> None:
    session: str | None = None
    waiting: dict[int, str] = {}

    def call(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        id_ = pipe.send(method, params, session)
        waiting[id_] = method
        while True:
            message = pipe.receive(deadline)
            if message.get("id") == id_:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            handle(message)

    loaded = False

    def handle(message: dict[str, Any]) -> None:
        nonlocal loaded
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report.console_errors.append(_describe_console(params))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            report.exceptions.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            report.log_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            requested = params.get("request", {}).get("url", "")
            if not requested.startswith(LOCAL_SCHEMES):
                report.requests.append(requested)
        elif method == "Page.loadEventFired":
            loaded = True

    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        call(f"{domain}.enable")
    call("Page.navigate", {"url": url})
    while not loaded:
        handle(pipe.receive(deadline))
    # events the page sends right after load (a late console.error) arrive before this answer
    value = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
    if "exceptionDetails" in value:
        raise RuntimeError(f"the test expression failed: {value['exceptionDetails']}")
    report.value = value.get("result", {}).get("value")
    if screenshot is not None:
        shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        screenshot.write_bytes(base64.b64decode(shot["data"]))


def file_url(path: Path) -> str:
    """`file:///...` for a local file."""
    return path.resolve().as_uri()
