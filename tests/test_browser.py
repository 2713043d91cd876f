"""The console in a real browser: headless Chromium (Debian's package) driven by Playwright.

Signs in through the real form, opens every top-level page of the navigation and every Settings
tab, and saves a screenshot of each into test-artifacts/screenshots/. Each page must answer 200,
show its heading, and raise no console error, script error or CSP violation.

Playwright's own browser download does not work here; the test uses Debian's chromium, which
.ci/run installs. Without it the test skips locally, and fails in CI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from apps.tenants import services
from apps.tenants.models import Role
from tests.factories import PASSWORD, make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# The top-level pages every global admin must find in the navigation.
TOP_LEVEL = [
    "Overview",
    "Activities",
    "Users and accounts",
    "Files",
    "Cloud Discovery",
    "Alerts",
    "Policies",
    "Governance log",
    "Settings",
    "Audit",
]
# Flags from the machine notes: no background traffic to hosts that this network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        reason = f"Debian's chromium is not installed ({CHROMIUM}); apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are
    # still synchronous, so Django's async-safety guard would refuse them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageWatch:
    """Collects console errors and uncaught script errors of one browser page."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.add_init_script(CSP_LISTENER)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def open(self, url: str, name: str) -> str:
        """Go to `url`, check it rendered cleanly, save a screenshot; return the heading."""
        self.errors.clear()
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, f"{name}: {url} answered " + (
            str(response.status) if response else "nothing"
        )
        heading = self.page.locator("main h1, .card h1").first
        assert heading.is_visible(), f"{name}: no visible <h1>"
        text = heading.inner_text().strip()
        assert text, f"{name}: empty <h1>"
        violations = self.page.evaluate("window.__cspViolations || []")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert violations == [], f"{name}: CSP violations {violations}"
        assert self.errors == [], f"{name}: {self.errors}"
        return text


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def test_sign_in_and_every_top_level_page_renders(live_server, browser):
    contoso = make_tenant("Contoso", geo="eu")
    fabrikam = make_tenant("Fabrikam", geo="uk")
    # A global admin of two tenants (so the tenant switcher shows) with no MFA device.
    admin = member(contoso, Role.GLOBAL_ADMIN, username="admin@contoso.test")
    services.set_role(tenant=fabrikam, user=admin, role=Role.GLOBAL_ADMIN, actor=None)

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        watch = PageWatch(page)

        assert watch.open(f"{live_server.url}/accounts/login/", "00-sign-in") == "Sign in"
        page.fill("input[name=username]", "admin@contoso.test")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.click()
        assert "/accounts/login/" not in page.url, "sign-in failed: " + page.inner_text("body")

        dashboard = f"{live_server.url}/t/{contoso.slug}/"
        watch.open(dashboard, "01-overview")
        nav = {
            link.inner_text().strip(): link.get_attribute("href")
            for link in page.locator("nav.sidenav a").all()
        }
        missing = [label for label in TOP_LEVEL if label not in nav]
        assert missing == [], f"navigation lacks {missing}; it has {list(nav)}"
        assert page.locator(".tenant-switcher").is_visible()

        visited = []
        for number, (label, href) in enumerate(nav.items(), start=1):
            name = f"{number:02d}-{_slug(label)}"
            visited.append((label, watch.open(live_server.url + href, name)))
            if label == "Settings":
                tabs = [
                    (tab.inner_text().strip(), tab.get_attribute("href"))
                    for tab in page.locator("nav.tabs a").all()
                ]
                assert len(tabs) >= 4, f"Settings shows tabs {tabs}"
                for tab_label, tab_href in tabs:
                    tab_name = f"{name}-{_slug(tab_label)}"
                    visited.append((tab_label, watch.open(live_server.url + tab_href, tab_name)))
        assert len(visited) >= len(TOP_LEVEL) + 3
    finally:
        context.close()
