"""Creating and revoking an API token in headless Chromium, through the real form: the key is
shown once in the `.secret` box, works against the API, and the list shows it revoked."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from apps.tenants.models import ApiToken, Role
from tests.factories import make_tenant, member
from tests.tenants.test_api_docs_browser import CSP_LISTENER, SCREENSHOTS, chromium  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_use_and_revoke_a_token(live_server, chromium):  # noqa: F811
    tenant = make_tenant("Tokens", geo="eu")
    admin = member(tenant, Role.GLOBAL_ADMIN, username="admin@tokens.test")
    session = Client()
    session.force_login(admin)
    cookie = session.cookies[settings.SESSION_COOKIE_NAME]
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(f"{live_server.url}/t/{tenant.slug}/settings/tokens/")
        assert page.locator("select[name=role]").input_value() == Role.SECURITY_READER
        page.fill("input[name=name]", "SIEM export")
        page.select_option("select[name=role]", Role.SECURITY_ADMIN)
        with page.expect_navigation():
            page.click("button:has-text('Create token')")
        key = page.locator(".secret").inner_text().strip()
        assert re.fullmatch(r"casb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "api-token-created.png"))

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api.get("/api/v1/tenant/").json()["slug"] == tenant.slug

        page.click("text=I have copied it")
        page.wait_for_selector("td:has-text('SIEM export')")
        assert key not in page.content()
        with page.expect_navigation():
            page.click("button:has-text('Revoke')")
        assert page.locator(".badge.bad", has_text="revoked").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "api-tokens-list.png"))
        assert page.evaluate("window.__cspViolations") == []
        assert ApiToken.objects.get().revoked_at is not None
        assert api.get("/api/v1/tenant/").status_code == 401
    finally:
        context.close()
