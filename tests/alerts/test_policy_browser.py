"""Policies in headless Chromium: create a policy from a template (preview, then save), see it
listed and switch it off; open a detection's settings. No CSP violation on any page."""

from __future__ import annotations

import pytest

from apps.alerts.models import Policy, PolicyKind
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_from_template_preview_save_and_switch_off(live_server, chromium):  # noqa: F811
    tenant = make_tenant("Policies", geo="eu")
    admin = member(tenant, Role.SECURITY_ADMIN, username="sam@policies.test")
    app = logdata.app(tenant, name="Okta")
    logdata.many(tenant, app, 4, activity_type="failed_login")
    logdata.group(tenant, "Engineering", app_instance=app)
    context = signed_in_context(chromium, live_server, admin)
    base = f"{live_server.url}/t/{tenant.slug}/policies"
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(f"{base}/templates/")
        assert "arrives with Cloud Discovery" in page.content()
        with page.expect_navigation():
            page.click(
                "a[aria-label='Create from Multiple failed user sign-in attempts to an app']"
            )
        assert page.input_value("input[name=repeat_count]") == "11"
        with page.expect_navigation():
            page.click("button[name=preview]")
        assert (
            "4 activities of the last 7 days match" in page.locator(".policy-preview").inner_text()
        )
        screenshot(page, "policy-form", full_page=True)
        page.fill("input[name=name]", "Failed sign-ins to Okta")
        page.select_option("select[name=include_groups]", label="Engineering (Okta)")
        page.check("input[name=governance][value=require_sign_in]")
        with page.expect_navigation():
            page.click("button:has-text('Create policy')")
        assert page.locator("h1").inner_text() == "Failed sign-ins to Okta"
        assert "11 within 5 min, per user, per app" in page.content()
        page.goto(f"{base}/")
        row = page.locator("tr", has_text="Failed sign-ins to Okta")
        assert row.locator(".badge.ok").inner_text() == "On"
        with page.expect_navigation():
            row.locator("button", has_text="Switch off").click()
        screenshot(page, "policy-list", full_page=True)
        with tenant_context(tenant):
            policy = Policy.objects.get(name="Failed sign-ins to Okta")
        assert not policy.enabled and policy.template == "multiple_failed_signins"
        page.goto(f"{base}/detections/")
        detections = page.locator("tbody tr a[href*='/detections/']")
        if detections.count():
            with page.expect_navigation():
                detections.first.click()
            assert page.locator("button", has_text="Save settings").count() == 1
            screenshot(page, "policy-detection", full_page=True)
        assert page.evaluate("window.__cspViolations") == []
        with tenant_context(tenant):
            assert Policy.objects.filter(kind=PolicyKind.ACTIVITY).count() == 1
    finally:
        context.close()
