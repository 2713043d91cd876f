"""The report pages in a real browser (Debian's Chromium): each renders its heading and charts
with no script error and no CSP violation; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser_kit import chromium, screenshot, signed_in_context  # noqa: F401
from tests.discovery.helpers import squid_line
from tests.discovery.reports import data
from tests.test_browser import PageWatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_pages_render_cleanly(live_server, chromium, tenant_a, alice):  # noqa: F811
    lines = [
        squid_line(user=f"user{n % 4}@a.test", src=f"10.0.0.{n % 5}", url=url, size=size)
        for n, (url, size) in enumerate(
            [
                ("https://www.dropbox.com/x", 4_000_000),
                ("https://app.box.com/", 2_500_000),
                ("https://mega.nz/file", 1_800_000),
                ("https://slack.com/api", 900_000),
                ("https://unknown-thing.example.org/", 50_000),
            ]
            * 3
        )
    ]
    feed = data.continuous(tenant_a, "\n".join(lines) + "\n")
    for days_ago in range(2, 13, 2):
        data.write(
            tenant_a,
            feed,
            app="dropbox",
            days_ago=days_ago,
            up=days_ago * 100_000,
            down=300_000,
            user="user1@a.test",
            domain="dropboxapi.com",
        )
    data.tag(tenant_a, "box", "Sanctioned", "sanctioned")
    data.tag(tenant_a, "mega", "Unsanctioned", "unsanctioned")
    context = signed_in_context(chromium, live_server, alice)
    try:
        watch = PageWatch(context.new_page())
        base = f"{live_server.url}/t/{tenant_a.slug}/discovery/"
        for path, name in [
            ("", "discovery-reports-dashboard"),
            ("apps/", "discovery-reports-apps"),
            ("apps/dropbox/", "discovery-reports-app"),
            ("unrecognised/", "discovery-reports-unrecognised"),
            ("users/", "discovery-reports-users"),
            ("ips/", "discovery-reports-ips"),
            ("executive/", "discovery-reports-executive"),
        ]:
            watch.open(base + path, name)
            if path in ("", "apps/dropbox/"):
                assert watch.page.locator("svg.chart rect").count() > 0
        # The executive summary prints without the console's chrome.
        watch.page.emulate_media(media="print")
        assert not watch.page.locator("nav.sidenav").is_visible()
        assert not watch.page.locator("form.report-bar").is_visible()
        assert watch.page.locator("h1").is_visible()
        screenshot(watch.page, "discovery-reports-executive-print")
    finally:
        context.close()
