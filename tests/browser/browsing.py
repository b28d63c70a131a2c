"""Shared by the browser tests: paths, the vendored axe-core, Chromium's flags, request records."""

import contextlib
import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The built website: `make book`'s, or another build's html folder (RNN_BOOK_SITE=/path/to/html,
# e.g. a `jupyter-book build --path-output` elsewhere). Screenshots go next to it.
SITE = Path(os.environ.get("RNN_BOOK_SITE", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = SITE.parent / "screenshots"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
AXE_VERSION = "4.14.1"

# Quiet, offline Chromium: no background updates, sync, first-run pages or QUIC probing.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_args():
    """CHROMIUM_ARGS, plus --no-sandbox as root (Chromium's sandbox refuses root; no geteuid on
    Windows)."""
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return CHROMIUM_ARGS + (["--no-sandbox"] if as_root else [])


def chromium_path():
    """The Chromium to drive: CHROMIUM (a path or a command) if set, else the system's; or None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port():
    """A TCP port free on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging, and records (status, path) of every response in the
    server's ``responses``: the browser's own requests too, such as /favicon.ico, which
    Playwright does not report, so that a failed load of any kind can fail a test."""

    def log_message(self, format, *args):
        pass

    def log_request(self, code="-", size="-"):
        self.server.responses.append((int(code), self.path))


@contextlib.contextmanager
def serve(folder):
    """Serve ``folder`` on 127.0.0.1 at a free port; yields the server, whose ``url`` is its
    address and ``responses`` the record of :class:`RecordingHandler`."""
    handler = functools.partial(RecordingHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.responses, server.url = [], f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def failed_responses(server, start=0):
    """The responses with a 4xx or 5xx status that ``server`` sent, from ``start`` on."""
    return [f"{status} {path}" for status, path in server.responses[start:] if status >= 400]


def is_local(url):
    """True when ``url`` is on 127.0.0.1, the only host the book's pages may load from."""
    return url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] == "127.0.0.1"


class Recorder:
    """Records every request of a browser context and aborts those that would leave 127.0.0.1."""

    def __init__(self, context):
        self.offsite = []
        context.route("**/*", self._route)

    def _route(self, route):
        if is_local(route.request.url):
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()
