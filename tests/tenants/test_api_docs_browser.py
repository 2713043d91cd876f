"""The API docs page in headless Chromium: Swagger UI loads from our static files, fetches the
schema with the session, renders every operation, and breaks no CSP rule (no CDN, no inline
script or style). Skips locally without Debian's chromium; fails in CI without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from apps.tenants.models import Role
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture
def chromium():
    if not os.path.exists(CHROMIUM):
        reason = f"Debian's chromium is not installed ({CHROMIUM})"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--disable-gpu", "--no-first-run", "--disable-background-networking"],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_docs_render_every_operation_offline(live_server, chromium):
    tenant = make_tenant("Docs", geo="eu")
    reader = member(tenant, Role.SECURITY_READER, username="reader@docs.test")
    session = Client()
    session.force_login(reader)
    cookie = session.cookies[settings.SESSION_COOKIE_NAME]

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    external: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(live_server.url)
            else (external.append(route.request.url), route.abort())
        ),
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.on("pageerror", lambda exc: errors.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        response = page.goto(f"{live_server.url}/api/v1/docs/", wait_until="load")
        assert response is not None and response.status == 200
        page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
        operations = page.locator(".swagger-ui .opblock").count()
        assert operations >= 8, f"only {operations} operations rendered"
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("CASB API")
        violations = page.evaluate("window.__cspViolations")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "api-docs.png"), full_page=False)
        assert violations == [], violations
        assert errors == [], errors
        assert external == [], f"the docs page reached out to {external}"
    finally:
        context.close()
