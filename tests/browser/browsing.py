"""Shared by the browser tests: paths, the vendored axe-core, Chromium's flags, request records."""

import os
import shutil
import socket
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


class Recorder:
    """Records every request of a browser context and aborts those that would leave 127.0.0.1."""

    def __init__(self, context):
        self.offsite = []
        context.route("**/*", self._route)

    def _route(self, route):
        host = route.request.url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        if host == "127.0.0.1":
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()
