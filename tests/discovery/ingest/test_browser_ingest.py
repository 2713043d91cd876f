"""The ingest pages in a real browser: upload a snapshot through the form, watch its progress
page, add a syslog source, try a custom parser; no CSP violation or script error anywhere."""

from __future__ import annotations

import gzip

from apps.discovery import pipeline
from apps.discovery.models import Upload
from apps.tenants.models import Role
from apps.tenants.scoping import tenant_context
from tests.browser_kit import CSP_LISTENER, chromium, screenshot, signed_in_context  # noqa: F401
from tests.discovery.ingest.helpers import squid_body
from tests.factories import make_tenant, member


def _check(page, name: str, errors: list[str]) -> None:
    screenshot(page, f"discovery-ingest-{name}")
    assert page.evaluate("window.__cspViolations || []") == [], name
    assert errors == [], f"{name}: {errors}"


def test_snapshot_upload_progress_source_and_parser(live_server, chromium, tmp_path):  # noqa: F811
    contoso = make_tenant("Contoso", geo="eu")
    admin = member(contoso, Role.GLOBAL_ADMIN, username="admin@contoso.test")
    plain = tmp_path / "access.log"
    plain.write_bytes(squid_body(5))
    packed = tmp_path / "older.log.gz"
    packed.write_bytes(gzip.compress(squid_body(3, url="https://www.dropbox.com/")))
    base = f"{live_server.url}/t/{contoso.slug}/discovery"

    context = signed_in_context(chromium, live_server, admin)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{base}/snapshots/")
        page.fill("input[name=name]", "Browser snapshot")
        page.select_option("select[name=log_format]", "squid_native")
        page.set_input_files("input[name=files]", [str(plain), str(packed)])
        with page.expect_navigation():
            page.click("text=Upload and create")
        assert "/uploads/" in page.url and "Queued" in page.inner_text("main")
        _check(page, "upload-queued", errors)

        with tenant_context(contoso):
            pipeline.process(Upload.objects.get().pk)
        page.reload()
        main = page.inner_text("main")
        assert "Done" in main and "Open the report" in main
        _check(page, "upload-done", errors)

        page.goto(f"{base}/sources/")
        page.fill("input[name=name]", "Branch firewall")
        page.select_option("select[name=log_format]", "squid_native")
        page.select_option("select[name=receiver]", "syslog_udp")
        page.fill("input[name=port]", "5514")
        with page.expect_navigation():
            page.click("text=Add data source")
        assert ":5514" in page.inner_text("main")
        _check(page, "source", errors)

        page.goto(f"{base}/parsers/")
        page.fill("input[name=name]", "Gateway CSV")
        page.fill("input[name=timestamp_column]", "time")
        page.fill("input[name=timestamp_format]", "epoch")
        page.fill("input[name=src_ip_column]", "src")
        page.fill("input[name=host_column]", "host")
        page.fill("textarea[name=sample]", "time,src,host\n1764300000,10.0.0.1,slack.com\nx,y,z\n")
        with page.expect_navigation():
            page.click("button[name=try]")
        main = page.inner_text("main")
        assert "slack.com" in main and "Skipped:" in main
        _check(page, "parser-try", errors)
    finally:
        context.close()
