"""The browser suite's fixtures: Debian's Chromium driven by Playwright against the local stack,
one signed-in user for the whole journey, screenshots of each page at 375 and 1440 px, and an
axe-core check of each page."""

import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
from playwright.sync_api import Locator, expect, sync_playwright

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AXE = os.path.join(ROOT, ".tools", "node", "node_modules", "axe-core", "axe.min.js")
SHOTS = os.environ.get("LATCHKEY_SCREENSHOTS", os.path.join(ROOT, ".local", "screenshots"))
CHROMIUM = os.environ.get("LATCHKEY_CHROMIUM", "/usr/bin/chromium")
# The machine's network is closed: Chromium must not try to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"mobile": 375, "desktop": 1440}
# On CI's two loaded cores a navigation can take longer than Playwright's 5 s for assertions; an
# assertion waits as long as an action does (set_default_timeout below), so only a page that never
# comes fails.
expect.set_options(timeout=20_000)
# cargo lambda watch's own 500 (no function writes it; see the README's Decisions): a page GET so
# answered is loaded again, at most twice and noted on stderr, as tests/support/lib.rs does
# (load_again_after_emulator_500, after every navigation and click).
EMULATOR_500 = '"type":"https://httpstatuses.com/500"'
EMULATOR_RETRIES = 2


def emulator_500(response):
    return response is not None and response.status == 500 and EMULATOR_500 in response.text()


def track_documents(page):
    """Keeps the main frame's last document response on the page (a redirect's target too)."""
    page.latchkey_document = None

    def seen(response):
        if response.frame == page.main_frame and response.request.is_navigation_request():
            page.latchkey_document = response

    page.on("response", seen)


def load_again_after_emulator_500(page):
    """When the page the browser landed on (by a link, a form's redirect, the sign-in's redirect
    chain) came from a GET the emulator answered with its own 500, loads it again (at most twice,
    noted on stderr). A form's POST so answered is left as it is: sent again, it could apply twice.
    (A route handler cannot do this: Playwright routes a redirect's first request only.)"""
    for _ in range(EMULATOR_RETRIES):
        page.wait_for_load_state()
        document = page.latchkey_document
        if document is None or document.request.method != "GET" or not emulator_500(document):
            return
        print(f"cargo lambda watch answered GET {document.url} with its own 500; loading it again", file=sys.stderr)
        page.latchkey_document = None
        page.goto(document.url)


_click = Locator.click


def click_and_settle(self, *args, **kwargs):
    """Locator.click, then the page it lands on loaded again if the emulator failed it."""
    _click(self, *args, **kwargs)
    load_again_after_emulator_500(self.page)


Locator.click = click_and_settle


def base_url():
    """The console's origin: localhost, as a person would type it (the allowed callback host)."""
    port = os.environ["LATCHKEY_API_URL"].rsplit(":", 1)[1]
    return f"http://localhost:{port}"


class Console:
    """A signed-in browser tab, with the checks every page gets."""

    def __init__(self, page, base):
        self.page = page
        self.base = base
        self.timings = {}
        os.makedirs(SHOTS, exist_ok=True)

    def go(self, path):
        self.page.goto(self.base + path)
        load_again_after_emulator_500(self.page)
        return self.page

    def check(self, name):
        """Screenshots of the page at both widths, and no serious or critical axe violation."""
        page = self.page
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{label}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways at {width} px by {overflow} px"
        page.set_viewport_size({"width": 1440, "height": 900})
        page.add_script_tag(path=AXE)
        violations = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.map(n => n.target.join(" "))}))"""
        )
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name}: accessibility violations {json.dumps(bad, indent=1)}"

    def time_page(self, name, path, runs=10):
        """The server's time and size for `path` with this session: the median of `runs` GETs."""
        durations, size = [], 0
        retries = EMULATOR_RETRIES
        while len(durations) < runs:
            started = time.perf_counter()
            response = self.page.request.get(self.base + path)
            body = response.body()
            elapsed = (time.perf_counter() - started) * 1000
            if retries and emulator_500(response):
                retries -= 1
                print(f"cargo lambda watch answered GET {path} with its own 500; sending it again", file=sys.stderr)
                continue
            assert response.status == 200, f"{path}: {response.status} {body[:200]!r}"
            durations.append(elapsed)
            size = len(body)
        self.timings[name] = (statistics.median(durations), size)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's chromium (infra/local/test does)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console(browser):
    """A new user, signed in through the local provider's sign-in form."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1440, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url())
    page = context.new_page()
    track_documents(page)
    page.set_default_timeout(20_000)
    console = Console(page, base_url())
    console.user = f"browser-{uuid.uuid4().hex[:12]}"
    yield console
    if console.timings:
        lines = ["| page | server time (median of 10) | size |", "| --- | --- | --- |"]
        lines += [f"| {n} | {t:.1f} ms | {s / 1024:.1f} KiB |" for n, (t, s) in console.timings.items()]
        report = "\n".join(lines)
        with open(os.path.join(SHOTS, "timings.md"), "w") as out:
            out.write(report + "\n")
        print("\nconsole pages, server time and size:\n" + report)
    context.close()


def past_the_cache_bound():
    """Waits out the stack's key cache bound, after which every instance has seen a key change
    (the contract's bound; the test stack keeps it at 2 s)."""
    time.sleep(float(os.environ.get("LATCHKEY_KEY_CACHE_TTL_SECONDS", "30")) + 0.5)


def verify(key, permissions=None):
    """Verifies `key` through the API, as a SaaS team's edge does; returns the outcome's code."""
    body = {"key": key}
    if permissions:
        body["permissions"] = permissions
    request = urllib.request.Request(
        os.environ["LATCHKEY_API_URL"] + "/api/v1/keys/verify",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # The contract's 503 `unavailable` (a stalled dependency on a loaded machine) says when to
    # ask again; an edge does, once or twice, and so does this.
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)["code"]
        except urllib.error.HTTPError as err:
            if err.code != 503 or attempt == 2:
                raise
            wait = float(err.headers.get("Retry-After", "1"))
            print(f"verify answered 503 unavailable; asking again after {wait} s", file=sys.stderr)
            time.sleep(wait)
