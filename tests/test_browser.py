"""The console in a real browser: headless Chromium (Debian's package) driven by Playwright.

Signs in through the real form, opens every top-level page of the navigation and every Settings
tab, and saves a screenshot of each into test-artifacts/screenshots/. Each page must answer 200,
show its heading, and raise no console error, script error or CSP violation.

See tests/browser_kit.py for how Chromium is found and started.
"""

from __future__ import annotations

import re

import pytest

from apps.tenants import services
from apps.tenants.models import Role
from tests.browser_kit import CSP_LISTENER, chromium, screenshot  # noqa: F401
from tests.factories import PASSWORD, make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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
        screenshot(self.page, name)
        assert violations == [], f"{name}: CSP violations {violations}"
        assert self.errors == [], f"{name}: {self.errors}"
        return text


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def test_sign_in_and_every_top_level_page_renders(live_server, chromium):  # noqa: F811
    contoso = make_tenant("Contoso", geo="eu")
    fabrikam = make_tenant("Fabrikam", geo="uk")
    # A global admin of two tenants (so the tenant switcher shows) with no MFA device.
    admin = member(contoso, Role.GLOBAL_ADMIN, username="admin@contoso.test")
    services.set_role(tenant=fabrikam, user=admin, role=Role.GLOBAL_ADMIN, actor=None)

    context = chromium.new_context(viewport={"width": 1280, "height": 860})
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
