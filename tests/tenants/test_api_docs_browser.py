"""The API docs page in headless Chromium: Swagger UI loads from our static files, fetches the
schema with the session, renders every operation, and breaks no CSP rule (no CDN, no inline
script or style). Skips locally without Debian's chromium; fails in CI without it."""

from __future__ import annotations

import pytest

from apps.tenants.models import Role
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_docs_render_every_operation_offline(live_server, chromium):  # noqa: F811
    tenant = make_tenant("Docs", geo="eu")
    reader = member(tenant, Role.SECURITY_READER, username="reader@docs.test")
    context = signed_in_context(chromium, live_server, reader)
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
        screenshot(page, "api-docs", full_page=False)
        assert violations == [], violations
        assert errors == [], errors
        assert external == [], f"the docs page reached out to {external}"
    finally:
        context.close()
