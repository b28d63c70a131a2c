"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the site on 127.0.0.1.

Chromium is the system package (`apt-get install chromium`), not Playwright's download, which
needs the network. Where it is missing the browser tests are skipped with a loud warning, except
under CI=true, where that is a failure.
"""

import functools
import http.server
import os
import threading

import pytest
from browsing import CHROMIUM_ARGS, SITE, Recorder, chromium_path, free_port


def in_ci():
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    if chromium_path():
        return
    message = "Chromium not found: install Debian's `chromium` package to run the browser tests"
    if in_ci():
        raise pytest.UsageError(f"{message} (CI=true: a missing Chromium is a failure)")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=message))


def pytest_terminal_summary(terminalreporter):
    if not chromium_path():
        terminalreporter.section("CHROMIUM MISSING", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            "Chromium is not installed, so every browser and JupyterLab test was SKIPPED.\n"
            "Install it with `apt-get install -y chromium` (.ci/run does so).",
            red=True,
            bold=True,
        )


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site_url():
    """The built website (`make book`), served on 127.0.0.1 at a free port."""
    if not (SITE / "intro.html").is_file():
        pytest.fail(f"{SITE} has no built book: run `make book` first", pytrace=False)
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium. Playwright gives each launch a new, empty profile directory."""
    from playwright.sync_api import sync_playwright

    args = CHROMIUM_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=args
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """Factory of browser contexts whose off-machine requests are recorded and aborted."""
    contexts = []

    def make(**kwargs):
        context = browser.new_context(**kwargs)
        context.recorder = Recorder(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
