"""Governance in a real browser: the log, an action page and its retry, and suspending an
account from the person's page; nothing breaks the console's strict CSP."""

from __future__ import annotations

import pytest

from apps.connectors.models import Vendor
from apps.governance.models import GovernanceAction, GovernanceStatus
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401

from .helpers import account, logged

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _clean(page) -> None:
    assert page.evaluate("window.__cspViolations || []") == []


def test_suspend_from_the_log_and_read_the_outcome(live_server, chromium, tenant_a, sam):  # noqa: F811
    okta = logdata.app(tenant_a, "Acme Okta", vendor=Vendor.OKTA)
    ann = account(tenant_a, okta, "00u1", "ann@alpha.test", display_name="Ann Lee")
    logged(
        tenant_a,
        okta,
        ann,
        kind="require_sign_in",
        status=GovernanceStatus.FAILED,
        attempts=3,
        error="gave up after 3 attempts: the app is unavailable (HTTP 503)",
    )
    context = signed_in_context(chromium, live_server, sam)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(CSP_LISTENER)
        base = f"{live_server.url}/t/{tenant_a.slug}"
        page.goto(f"{base}/governance/")
        assert page.locator("main h1").inner_text() == "Governance log"
        assert "gave up after 3 attempts" in page.inner_text("table")
        screenshot(page, "governance-log")
        _clean(page)
        page.locator("table a").first.click()
        page.wait_for_load_state()
        assert page.locator("main h1").inner_text() == "Require user to sign in again"
        screenshot(page, "governance-action")
        with page.expect_navigation():
            page.locator("button", has_text="Retry").click()
        assert "being tried again" in page.inner_text(".flashes")
        _clean(page)
        # The person's page carries the buttons (the partial); suspending comes back to it.
        person = f"{base}/users/{ann.user_id}/"
        page.goto(person)
        form = page.locator("form.gov-run-form")
        form.locator("input[name=comment]").fill("laptop stolen")
        with page.expect_navigation():
            form.locator("button[value=suspend_user]").click()
        assert page.url == person
        assert "Suspend user on ann@alpha.test was requested" in page.inner_text(".flashes")
        screenshot(page, "governance-person-buttons")
        _clean(page)
        assert errors == []
    finally:
        context.close()
    with tenant_context(tenant_a):
        retry = GovernanceAction.objects.get(retry_of__isnull=False)
        assert retry.initiated_by_label == "sam@alpha.test"
        suspend = GovernanceAction.objects.get(kind="suspend_user")
        assert (suspend.comment, suspend.status) == ("laptop stolen", GovernanceStatus.PENDING)
