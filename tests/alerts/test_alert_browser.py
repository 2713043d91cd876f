"""The alert queue and an alert in headless Chromium: bulk resolve through the real form, triage
on the alert page, no CSP violation, app data stays text. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest

from apps.activities import partitions
from apps.alerts.models import Alert, AlertStatus
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

from .alertdata import make_alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_queue_bulk_and_triage(live_server, chromium):  # noqa: F811
    partitions.forget()
    tenant = make_tenant("Alarms", geo="eu")
    admin = member(tenant, Role.SECURITY_ADMIN, username="sam@alarms.test")
    crm = logdata.app(tenant, "Contoso CRM")
    ann = logdata.person(tenant, "ann@alarms.test", "Ann Smith")
    account = logdata.account(tenant, crm, ann, username="ann.smith")
    made = [
        make_alert(
            tenant,
            app=crm,
            person=ann,
            account=account,
            title=title,
            severity=severity,
            activities=2,
            evidence=(logdata.XSS,),
        )
        for title, severity in (
            ("Mass download by Ann", 3),
            ("Impossible travel: FR to AU", 2),
            (f"Odd share {logdata.XSS}", 1),
        )
    ]
    context = signed_in_context(chromium, live_server, admin)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{live_server.url}/t/{tenant.slug}/alerts/")
        assert page.locator("table.alert-table tbody tr").count() == 3
        screenshot(page, "alert-queue", full_page=False)

        page.check(f"input[name=ids][value='{made[0].pk}']")
        page.check(f"input[name=ids][value='{made[1].pk}']")
        page.select_option("select[name=operation]", "resolve")
        page.select_option("select[name=close_as]", "benign_true_positive:test")
        with page.expect_navigation():
            page.click("button:has-text('Apply')")
        assert page.locator("text=2 alerts changed").count() == 1
        assert page.locator("table.alert-table tbody tr").count() == 1  # the open ones left

        with page.expect_navigation():
            page.locator("table.alert-table tbody tr a").first.click()
        assert page.locator("h1").inner_text().endswith(f"Odd share {logdata.XSS}")
        page.select_option("select[name=close_as]", "false_positive:not_accurate")
        with page.expect_navigation():
            page.click("button:has-text('Resolve')")
        assert page.locator("text=Alert resolved.").count() == 1
        assert page.locator("text=alert.resolved").count() == 1  # the history
        screenshot(page, "alert-detail")

        page.goto(f"{live_server.url}/t/{tenant.slug}/users/{ann.id}/")
        screenshot(page, "person-page-alerts")
        assert page.evaluate("window.__cspViolations") == []
        assert dialogs == [], "an app's value ran as script"
    finally:
        context.close()
    with tenant_context(tenant):
        statuses = set(Alert.objects.values_list("status", flat=True))
    assert statuses == {AlertStatus.RESOLVED}
