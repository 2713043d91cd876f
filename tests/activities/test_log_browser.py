"""The activity log, one activity and a person's page in headless Chromium: filters through the
real form, "show similar", no CSP violation, nothing from the apps runs (XSS payloads stay
text). Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.activities import partitions
from apps.activities.models import IpCategory
from apps.tenants.models import Role
from tests.activities import logdata
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.factories import make_tenant, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_filters_detail_and_person(live_server, chromium):  # noqa: F811
    partitions.forget()
    tenant = make_tenant("Logs", geo="eu")
    admin = member(tenant, Role.SECURITY_ADMIN, username="sam@logs.test")
    crm = logdata.app(tenant, "Contoso CRM")
    mail = logdata.app(tenant, "Contoso Mail", vendor="google_workspace")
    ann = logdata.person(tenant, "ann@logs.test", "Ann Smith", department="Finance")
    ann_crm = logdata.account(tenant, crm, ann, is_admin=True, username="ann.smith")
    logdata.account(tenant, mail, ann, username="ann@logs.test")
    logdata.group(tenant, "Finance team", [ann_crm])
    now = logdata.base_time()
    kinds = [
        ("download", "FileDownloaded", "Q3 budget.xlsx"),
        ("login", "UserLoggedIn", ""),
        ("share", "SharingSet", "Board deck.pptx"),
        ("failed_login", "UserLoginFailed", ""),
    ]
    rows = [
        logdata.activity_row(
            [crm, mail][i % 2],
            now - dt.timedelta(minutes=7 * i),
            user=ann if i % 3 else None,
            account=ann_crm if i % 3 else None,
            actor="ann@logs.test" if i % 3 else logdata.XSS,
            activity_type=kinds[i % 4][0],
            action_type=kinds[i % 4][1],
            object_name=kinds[i % 4][2] if i != 5 else logdata.XSS,
            succeeded=kinds[i % 4][0] != "failed_login",
            ip=["198.51.100.7", "203.0.113.20", "2001:db8::42"][i % 3],
            country=["FR", "US", "DE"][i % 3],
            city=["Paris", "Seattle", "Berlin"][i % 3],
            ip_category=IpCategory.RISKY if i % 5 == 0 else None,
            ip_tags=["Tor"] if i % 5 == 0 else [],
            user_agent=logdata.XSS if i == 5 else "Mozilla/5.0 (Windows NT 10.0)",
            device_type="pc",
            os="Windows",
            browser="Chrome",
            raw={"Operation": kinds[i % 4][1], "evil": logdata.XSS},
        )
        for i in range(60)
    ]
    logdata.add(tenant, rows)

    context = signed_in_context(chromium, live_server, admin)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{live_server.url}/t/{tenant.slug}/activities/")
        assert page.locator("table.activity-table tbody tr").count() == 50
        screenshot(page, "activity-log", full_page=False)

        page.select_option("select[name=activity_type]", "share")
        with page.expect_navigation():
            page.click("button:has-text('Filter')")
        assert "activity_type=share" in page.url
        assert page.locator("table.activity-table tbody tr").count() == 15

        with page.expect_navigation():
            page.locator("table.activity-table tbody tr a").first.click()
        assert page.locator("h1").inner_text().startswith("Share: SharingSet")
        assert "&quot;" not in page.locator("pre.raw").inner_text()  # shown as text
        screenshot(page, "activity-detail")
        with page.expect_navigation():
            page.click("a:has-text('Same IP address')")
        assert "ip=" in page.url and page.locator("table.activity-table tbody tr").count() > 0

        page.goto(f"{live_server.url}/t/{tenant.slug}/users/{ann.id}/")
        assert page.locator("text=Finance team").count() == 1
        assert page.locator("text=No alerts").count() == 1
        screenshot(page, "person-page")
        page.goto(f"{live_server.url}/t/{tenant.slug}/users/")
        screenshot(page, "users-list", full_page=False)

        assert page.evaluate("window.__cspViolations") == []
        assert dialogs == [], "an app's value ran as script"
    finally:
        context.close()
