"""Settings > IP ranges in headless Chromium: add a range through the form, see it listed with
its category badge and tags, and get the overlap refusal naming the other range."""

from __future__ import annotations

import pytest

from apps.activities.models import IpRange
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_range_and_see_an_overlap_refused(live_server, chromium):  # noqa: F811
    tenant = make_tenant("Ranges", geo="eu")
    admin = member(tenant, Role.SECURITY_ADMIN, username="sam@ranges.test")
    context = signed_in_context(chromium, live_server, admin)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto(f"{live_server.url}/t/{tenant.slug}/settings/ip-ranges/")
        assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "IP ranges"
        page.fill("input[name=name]", "London office")
        page.fill("textarea[name=cidrs]", "81.2.69.0/24\n2a02:c7f:1234::/48")
        page.select_option("select[name=category]", "1")
        page.fill("input[name=tags]", "HQ, Guest Wi-Fi")
        with page.expect_navigation():
            page.click("button:has-text('Add range')")
        row = page.locator("tr", has_text="London office")
        assert row.locator(".badge.ok").inner_text() == "Corporate"
        assert row.locator("code").all_inner_texts() == ["81.2.69.0/24", "2a02:c7f:1234::/48"]
        assert "Guest Wi-Fi" in row.inner_text()

        page.fill("input[name=name]", "VPN")
        page.fill("textarea[name=cidrs]", "81.2.69.128/25")
        page.select_option("select[name=category]", "4")
        with page.expect_navigation():
            page.click("button:has-text('Add range')")
        error = page.locator(".field.has-error .error").inner_text()
        assert error == "81.2.69.128/25 overlaps 81.2.69.0/24 of the range “London office”."
        screenshot(page, "ip-ranges", full_page=True)
        assert page.evaluate("window.__cspViolations") == []
        with tenant_context(tenant):
            assert list(IpRange.objects.values_list("name", flat=True)) == ["London office"]
    finally:
        context.close()
