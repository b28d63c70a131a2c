"""The built website in Chromium: every page loads offline and cleanly, with math, images, links
and no serious accessibility violation; the search works; screenshots in light and dark mode."""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
from browsing import AXE, AXE_VERSION, SCREENSHOTS, SITE, Recorder, failed_responses

# Every page of the build (not the theme's assets or the downloadable sources), so new chapters
# are covered without touching this file.
PAGES = sorted(
    path.relative_to(SITE).as_posix()
    for path in SITE.rglob("*.html")
    if not any(part.startswith("_") for part in path.relative_to(SITE).parts)
)
# A page built from a notebook offers that notebook for download.
NOTEBOOK_PAGES = [
    page for page in PAGES if (SITE / "_sources" / page).with_suffix(".ipynb").is_file()
]


def by_page(names):
    """``names`` as parameters whose tests run on one xdist worker per page (`--dist loadgroup`),
    so that each worker loads its share of the pages once (the ``visit`` cache is per worker)."""
    return [pytest.param(name, marks=pytest.mark.xdist_group(name)) for name in names]


REFRESH = re.compile(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', re.IGNORECASE)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Text a reader should never see: TeX that MathJax did not typeset, or MyST that did not render.
RAW_MARKUP = re.compile(
    r"\\[A-Za-z]+|\$\$|\\[(\[]|\$[^\s$][^$]{0,60}\$"  # TeX
    r"|\{(?:cite|eq|doc|term|ref)\}`|:::\{"  # MyST roles and directives
)

# Visible text outside code, and whether the page's math was typeset.
PAGE_TEXT_JS = """() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.checkVisibility()) continue;
    parts.push(node.textContent);
  }
  const math = [...document.querySelectorAll('.math')];
  return {
    text: parts.join(' '),
    math: math.length,
    untypeset: math.filter(el => !el.querySelector('mjx-container'))
      .map(el => el.textContent.slice(0, 80)),
  };
}"""

# Load every image now (none is left lazy), then list those that did not decode.
BROKEN_IMAGES_JS = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
}"""

AXE_JS = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return {
    version: axe.version,
    violations: results.violations
      .filter(v => v.impact === 'critical' || v.impact === 'serious')
      .map(v => `${v.impact} ${v.id} (${v.help}): `
                + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join('; ')),
  };
}"""


class _Anchors(HTMLParser):
    """Collects the id and name attributes of a page, the targets of #fragment links, and the
    href of each of its links."""

    def __init__(self):
        super().__init__()
        self.anchors, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)
            if tag == "a" and key == "href" and value:
                self.links.append(value)


def redirect_target(name):
    """The page a redirect stub (a bare <meta> refresh) sends the reader to, or None."""
    match = REFRESH.search((SITE / name).read_text(encoding="utf-8"))
    return match and urljoin(name, match.group(1))


def wait_for_math(page):
    """Wait until MathJax has typeset the page, if the page has math."""
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax?.startup?.promise")
        page.evaluate("() => MathJax.startup.promise")


@pytest.fixture(scope="session")
def fetch(site_url):
    """GET a URL of the local site once: (status, body bytes)."""
    cache = {}

    def get(url):
        if url not in cache:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    cache[url] = (response.status, response.read())
            except urllib.error.HTTPError as error:
                cache[url] = (error.code, b"")
        return cache[url]

    return get


@pytest.fixture(scope="session")
def anchors_of(fetch):
    cache = {}

    def anchors(url):
        if url not in cache:
            parser = _Anchors()
            parser.feed(fetch(url)[1].decode("utf-8", "replace"))
            cache[url] = parser.anchors
        return cache[url]

    return anchors


@pytest.fixture(scope="session")
def visit(browser, site_url, site_server):
    """Load a page once in light mode and record what every test below checks."""
    context = browser.new_context(viewport=DESKTOP)
    recorder = Recorder(context)
    reports = {}

    def load(name):
        if name in reports:
            return reports[name]
        page = context.new_page()
        report = {"console": [], "failed": [], "offsite_before": len(recorder.offsite)}
        served_before = len(site_server.responses)
        page.on("console", lambda msg: msg.type == "error" and report["console"].append(msg.text))
        page.on("pageerror", lambda error: report["console"].append(f"uncaught: {error}"))
        # A request to the site that got no response at all (one that got a 4xx or 5xx is in the
        # server's record below; requests that would leave 127.0.0.1 are the Recorder's).
        page.on(
            "requestfailed",
            lambda request: request.url.startswith(site_url)
            and report["failed"].append(f"{request.failure} {request.url}"),
        )
        # A redirect stub (index.html) is only a <meta> refresh: the browser checks its target.
        response = page.goto(site_url + (redirect_target(name) or name), wait_until="load")
        report["status"] = response.status
        wait_for_math(page)
        report.update(page.evaluate(PAGE_TEXT_JS))
        report["broken_images"] = page.evaluate(BROKEN_IMAGES_JS)
        report["links"] = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
        report["icon"] = page.evaluate("() => document.querySelector('link[rel~=icon]')?.href")
        page.add_script_tag(path=AXE)
        report["axe"] = page.evaluate(AXE_JS)
        page.wait_for_load_state("networkidle")
        report["offsite"] = recorder.offsite[report.pop("offsite_before"):]
        # Every failed response the server sent meanwhile, the browser's own requests (such as
        # /favicon.ico, which Playwright does not report) included.
        report["failed"] += failed_responses(site_server, served_before)
        page.close()
        reports[name] = report
        return report

    yield load
    context.close()


def test_every_page_is_found():
    assert "intro.html" in PAGES, f"intro.html not among the built pages {PAGES}"
    assert NOTEBOOK_PAGES, "no page was built from a notebook"
    stubs = {name: redirect_target(name) for name in PAGES if redirect_target(name)}
    assert all(target in PAGES for target in stubs.values()), f"redirects to nowhere: {stubs}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_page_loads_offline_without_errors(visit, name):
    report = visit(name)
    assert report["status"] == 200, f"{name}: HTTP {report['status']}"
    assert not report["offsite"], f"{name} requested other hosts: {report['offsite']}"
    assert not report["failed"], f"{name}: failed requests {report['failed']}"
    assert not report["console"], f"{name}: console errors {report['console']}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_page_declares_an_icon_that_loads(visit, fetch, name):
    """Without a <link rel="icon">, a browser requests /favicon.ico, a 404. Whether headless
    Chromium makes that request at all varies from run to run, so the declaration is checked
    here, and the server's record (checked when the ``site_server`` fixture ends) catches the
    request."""
    icon = visit(name)["icon"]
    assert icon, f"{name} declares no icon (<link rel=\"icon\">)"
    status, _ = fetch(icon)
    assert status == 200, f"{name}: its icon {icon} gave HTTP {status}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_math_is_typeset_and_no_raw_markup_shows(visit, name):
    report = visit(name)
    assert not report["untypeset"], f"{name}: math left as TeX: {report['untypeset'][:5]}"
    raw = sorted({match.group(0) for match in RAW_MARKUP.finditer(report["text"])})
    assert not raw, f"{name}: raw TeX or MyST visible: {raw[:10]}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_every_image_loads(visit, name):
    broken = visit(name)["broken_images"]
    assert not broken, f"{name}: images that did not load {broken}"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_every_internal_link_and_anchor_resolves(visit, fetch, anchors_of, site_url, name):
    broken = []
    for link in visit(name)["links"]:
        target, fragment = urldefrag(link)
        if urlsplit(target).scheme not in ("http", "https") or not target.startswith(site_url):
            continue  # external (never loaded: see the offline check) or mailto:
        status, _ = fetch(target)
        if status != 200:
            broken.append(f"{link} (HTTP {status})")
        elif fragment and target.endswith(".html") and unquote(fragment) not in anchors_of(target):
            broken.append(f"{link} (no such anchor)")
    assert not broken, f"{name}: broken links {broken}"


def test_every_page_is_reachable_from_the_intro(fetch, site_url):
    """Following links from intro.html reaches every page (the glossary, the references...).

    The links are read from each page's HTML as served (the theme writes its navigation into
    the page, not with scripts), so this needs no browser and no other worker's visits. The
    search page is the one exception: the search field on every page leads to it.
    """
    seen, todo = {"intro.html", "search.html"}, ["intro.html"]
    while todo:
        page = todo.pop()
        parser = _Anchors()
        parser.feed(fetch(site_url + page)[1].decode("utf-8", "replace"))
        for link in parser.links:
            target = urldefrag(urljoin(site_url + page, link))[0].removeprefix(site_url)
            if target in PAGES and target not in seen:
                seen.add(target)
                todo.append(target)
    unreached = sorted(name for name in set(PAGES) - seen if not redirect_target(name))
    assert not unreached, f"pages that no link leads to: {unreached}"


@pytest.mark.parametrize("name", by_page(NOTEBOOK_PAGES))
def test_chapter_offers_its_notebook_for_download(visit, fetch, site_url, name):
    source = urljoin(site_url, "_sources/" + name.removesuffix(".html") + ".ipynb")
    assert source in visit(name)["links"], f"{name} has no download link to {source}"
    status, body = fetch(source)
    assert status == 200, f"{source}: HTTP {status}"
    notebook = json.loads(body)
    assert notebook["nbformat"] == 4 and notebook["cells"], f"{source} is not a notebook"


@pytest.mark.parametrize("name", by_page(PAGES))
def test_no_serious_accessibility_violations(visit, name):
    axe = visit(name)["axe"]
    assert axe["version"] == AXE_VERSION, f"injected axe {axe['version']}, vendored {AXE_VERSION}"
    assert not axe["violations"], f"{name}: axe-core violations:\n" + "\n".join(axe["violations"])


def test_search_finds_lstm(new_context, site_url):
    page = new_context(viewport=DESKTOP).new_page()
    page.goto(site_url + "search.html?q=LSTM")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=60_000)
    hrefs = results.evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert any("lstm" in href for href in hrefs), f"searching LSTM found only {hrefs}"


@pytest.mark.parametrize("message", [
    "input.size(-1) must be equal to input_size",
    "Expected hidden size",
    "dropout option adds dropout after all but last recurrent layer",
    "Trying to backward through the graph a second time",
])
def test_search_finds_an_error_message_in_the_errors_appendix(new_context, site_url, message):
    """A reader who pastes torch's message into the search box lands on its entry."""
    page = new_context(viewport=DESKTOP).new_page()
    page.goto(site_url + "search.html?q=" + urllib.parse.quote(message))
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=60_000)
    hrefs = results.evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert any("appendix_errors" in href for href in hrefs), (
        f"searching {message!r} found only {hrefs}")


def test_copy_buttons_leave_out_prompts_and_output(new_context, site_url):
    """The copy button of an example copies its code without the >>> prompts and the output."""
    context = new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url.rstrip("/"))
    page = context.new_page()
    page.goto(site_url + "api.html", wait_until="load")
    example = page.locator("div.highlight", has_text=">>> lstm = LSTM(10, 20, 2)")
    example.hover()
    example.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines() == [
        "lstm = LSTM(10, 20, 2)",
        "out, (h_n, c_n) = lstm(np.zeros((5, 3, 10), np.float32))",
        "out.shape, h_n.shape, c_n.shape",
    ], f"the copy button copied {copied!r}"


def _pages_with_most_figures(count=2):
    """The two notebook pages with the most images: the screenshots show them."""
    def images(name):
        return (SITE / name).read_text(encoding="utf-8").count("<img ")

    return sorted(NOTEBOOK_PAGES, key=lambda name: (-images(name), name))[:count]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("name", _pages_with_most_figures())
def test_screenshot(new_context, site_url, name, viewport, theme):
    """Full-page screenshots, and in dark mode one per figure, under _build/screenshots/.

    In dark mode every image must sit on a white backing (the diagrams and plots are drawn for a
    white page), which _static/custom.css provides, and axe-core must find nothing serious.
    """
    if viewport == "desktop":
        context = new_context(viewport=DESKTOP, color_scheme=theme)
    else:
        context = new_context(viewport=PHONE, device_scale_factor=2, color_scheme=theme)
    # pydata-sphinx-theme keeps the reader's choice in localStorage: "mode" (light, dark or auto)
    # and "theme" (the one applied).
    context.add_init_script(f"localStorage.setItem('mode', '{theme}'); "
                            f"localStorage.setItem('theme', '{theme}')")
    page = context.new_page()
    page.goto(site_url + name, wait_until="load")
    page.evaluate(BROKEN_IMAGES_JS)
    wait_for_math(page)
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    stem = SCREENSHOTS / f"{name.removesuffix('.html').replace('/', '_')}-{viewport}-{theme}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=f"{stem}.png", full_page=True)
    if theme == "dark":
        images = page.locator(".bd-content img")
        backings = images.evaluate_all(
            "els => els.map(img => [img.src, getComputedStyle(img).backgroundColor])"
        )
        unbacked = [src for src, colour in backings if colour != "rgb(255, 255, 255)"]
        assert backings and not unbacked, f"{name}: images without a white backing {unbacked}"
        for index in range(images.count()):
            images.nth(index).screenshot(path=f"{stem}-figure{index + 1}.png")
        if viewport == "desktop":  # every page is checked in light mode; these also in dark
            page.add_script_tag(path=AXE)
            violations = page.evaluate(AXE_JS)["violations"]
            assert not violations, f"{name} in dark mode, axe-core:\n" + "\n".join(violations)
    assert not context.recorder.offsite, f"{name} requested other hosts: {context.recorder.offsite}"
