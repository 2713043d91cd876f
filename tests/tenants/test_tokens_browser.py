"""Creating and revoking an API token in headless Chromium, through the real form: the key is
shown once in the `.secret` box, works against the API, and the list shows it revoked."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from apps.tenants.models import ApiToken, Role
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_use_and_revoke_a_token(live_server, chromium):  # noqa: F811
    tenant = make_tenant("Tokens", geo="eu")
    admin = member(tenant, Role.GLOBAL_ADMIN, username="admin@tokens.test")
    context = signed_in_context(chromium, live_server, admin)
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
        screenshot(page, "api-token-created", full_page=False)

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api.get("/api/v1/tenant/").json()["slug"] == tenant.slug

        page.click("text=I have copied it")
        page.wait_for_selector("td:has-text('SIEM export')")
        assert key not in page.content()
        with page.expect_navigation():
            page.click("button:has-text('Revoke')")
        assert page.locator(".badge.bad", has_text="revoked").count() == 1
        screenshot(page, "api-tokens-list", full_page=False)
        assert page.evaluate("window.__cspViolations") == []
        assert ApiToken.objects.get().revoked_at is not None
        assert api.get("/api/v1/tenant/").status_code == 401
    finally:
        context.close()
