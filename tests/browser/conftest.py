"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the site on 127.0.0.1.

Chromium is the system package (`apt-get install chromium`, which `make test` runs as root:
scripts/system_deps.sh), not Playwright's download, which needs the network; CHROMIUM=/path/to/it
picks another. Where it is missing the browser tests are skipped with a loud warning, except
under CI=true, where that is a failure. Each test is stopped after TEST_TIMEOUT seconds.
"""

import os

import pytest
from browsing import (
    SITE,
    Recorder,
    chromium_args,
    chromium_path,
    failed_responses,
    serve,
)

# Seconds a browser test may take (pytest-timeout): above the sum of the Lab test's own waits
# (about 1,100 s at most, 600 of them for its chapter to run), so that a hung browser or server
# fails its test instead of hanging the run.
TEST_TIMEOUT = 1200


def in_ci():
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))
    if chromium_path():
        return
    if os.environ.get("CHROMIUM"):
        raise pytest.UsageError(f"CHROMIUM={os.environ['CHROMIUM']} is not an executable file")
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
            "Install it with `apt-get install -y chromium` (scripts/system_deps.sh does so as\n"
            "root), or point CHROMIUM=/path/to/chromium at one.",
            red=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def site_server():
    """The built website (`make book`), served on 127.0.0.1 at a free port; ``.responses`` lists
    (status, path) of every response sent, in order."""
    if not (SITE / "intro.html").is_file():
        pytest.fail(f"{SITE} has no built book: run `make book` first", pytrace=False)
    with serve(SITE) as server:
        yield server
    # Every response of the session, the browser's own requests included (such as /favicon.ico,
    # which Playwright does not report and which may arrive while the next page loads): a 4xx or
    # 5xx fails the session, as an error at the teardown of its last test.
    if failed := failed_responses(server):
        pytest.fail(f"requests to the site that failed during the browser tests: {failed}",
                    pytrace=False)


@pytest.fixture(scope="session")
def site_url(site_server):
    """The address of the served website."""
    return site_server.url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium. Playwright gives each launch a new, empty profile directory."""
    from playwright.sync_api import sync_playwright

    args = chromium_args()
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
