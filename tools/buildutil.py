"""Build the book, or a part of it, strictly into a fresh folder.

Used by tests/test_book.py and tests/test_teaching.py, and by authors to check one chapter
before it joins the table of contents::

    .venv/bin/python -m tools.buildutil book/03_spectra.ipynb [more chapters]

prints the build log and exits with the build's status. Every build here is full
(``--all``), strict (``-W --keep-going``) and goes to a new folder, so that it can never
pass by reusing an earlier build.

It also holds what the browser test needs to look at a build: :func:`serve` (the HTML
over http on 127.0.0.1, every request logged) and :class:`Chromium` (headless Chromium
driven through the Chrome DevTools Protocol, with the ``websocket-client`` package).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def build(
    output: Path, chapters: list[str] | None = None, root: Path = ROOT, timeout: int = 1800
) -> subprocess.CompletedProcess:
    """Build ``root`` into ``output`` (full, strict); with ``chapters``, only the
    preface and those."""
    command = [
        str(JUPYTER_BOOK),
        "build",
        str(root),
        "--all",
        "-W",
        "--keep-going",
        "--path-output",
        str(output),
    ]
    if chapters is not None:
        toc = output / "_toc.yml"
        output.mkdir(parents=True, exist_ok=True)
        entries = "\n".join(f"      - file: {Path(c).with_suffix('').as_posix()}" for c in chapters)
        toc.write_text(
            "format: jb-book\nroot: book/preface\nparts:\n  - caption: Chapters\n"
            f"    numbered: true\n    chapters:\n{entries}\n"
            "  - caption: Back matter\n    chapters:\n      - file: book/bibliography\n"
        )
        command += ["--toc", str(toc)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout)


def glued_values(notebook: Path) -> dict[str, str]:
    """The values glued in ``notebook``'s stored outputs: name -> text (the markdown
    when glued as such)."""
    import nbformat

    values = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            data = output.get("data", {})
            text = data.get("application/papermill.record/text/markdown") or data.get(
                "application/papermill.record/text/plain"
            )
            if name and text:
                values[name] = text
    return values


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` over http on 127.0.0.1 (a free port); yield its base URL, e.g. ``http://127.0.0.1:PORT``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: Flags for a headless Chromium that talks to nobody but the page it is given: without the
#: background-networking flags it tries to reach Google's hosts on its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
)


class Chromium:
    """Headless Chromium with one tab, driven over the Chrome DevTools Protocol (CDP).

    ``with Chromium(binary, profile) as browser:`` starts it with a fresh profile folder
    and opens a tab; :meth:`call` sends a CDP command to the tab and returns its result;
    every event the tab sends meanwhile is kept in :attr:`events` (``(method, params)``).
    """

    def __init__(self, binary: str, profile: Path, timeout: float = 30.0):
        self.binary, self.profile, self.timeout = binary, Path(profile), timeout
        self.events: list[tuple[str, dict]] = []
        self._next_id = 0

    def __enter__(self) -> Chromium:
        import websocket

        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + self.timeout
            while not (port_file.exists() and len(port_file.read_text().split()) == 2):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "Chromium did not open its DevTools port (exit status "
                        f"{self.process.poll()})"
                    )
                time.sleep(0.05)
            port, path = port_file.read_text().split()
            self.socket = websocket.create_connection(
                f"ws://127.0.0.1:{port}{path}", timeout=self.timeout, suppress_origin=True
            )
            target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self._send(
                "Target.attachToTarget", {"targetId": target, "flatten": True}
            )["sessionId"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(Exception):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _receive(self) -> dict:
        message = json.loads(self.socket.recv())
        if "method" in message and message.get("sessionId") == getattr(self, "session", None):
            self.events.append((message["method"], message.get("params", {})))
        return message

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def call(self, method: str, params: dict | None = None) -> dict:
        """Send the CDP command ``method`` to the tab; return its result."""
        return self._send(method, params, self.session)

    def wait_for(self, method: str, since: int = 0, timeout: float | None = None) -> dict:
        """Wait for the tab's event ``method`` (counting from ``events[since]``);
        return its params."""
        import websocket

        deadline = time.monotonic() + (timeout or self.timeout)
        checked = since
        try:
            while True:
                for name, params in self.events[checked:]:
                    if name == method:
                        return params
                checked = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method} event within {timeout or self.timeout} s")
                self.socket.settimeout(left)
                with contextlib.suppress(websocket.WebSocketTimeoutException):
                    self._receive()
        finally:
            self.socket.settimeout(self.timeout)

    def evaluate(self, expression: str):
        """Evaluate JavaScript in the page (awaiting a promise); return its value (JSON)."""
        result = self.call(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
                "timeout": self.timeout * 1000,
            },
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path):
        """Save the visible part of the page as a PNG."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(
            base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        )


if __name__ == "__main__":
    out = Path(tempfile.mkdtemp(prefix="jb-check-"))
    result = build(out, sys.argv[1:] or None)
    print(result.stdout[-20000:], result.stderr[-20000:], sep="\n")
    print(f"exit status {result.returncode}; HTML in {out}/_build/html")
    sys.exit(result.returncode)
