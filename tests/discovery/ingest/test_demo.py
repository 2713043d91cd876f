"""The discovery demo data: a snapshot and a continuous report with data; a re-run adds nothing."""

from __future__ import annotations

from apps.discovery import demo as discovery_demo
from apps.discovery.models import (
    AppDay,
    AppTagging,
    AppUserDay,
    DataSource,
    Report,
    TagKind,
    Upload,
)
from apps.tenants.management.commands.seed_demo import Demo
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant


def rows(tenant) -> dict:
    with tenant_context(tenant):
        return {
            model.__name__: sorted(str(pk) for pk in model.objects.values_list("pk", flat=True))
            for model in (Report, DataSource, Upload, AppDay, AppUserDay, AppTagging)
        }


def test_seed_twice_gives_the_same_rows_and_reports_have_data(db):
    contoso = make_tenant("Contoso")
    demo = Demo(tenants={"contoso": contoso}, log=lambda text: None)
    discovery_demo.seed(demo)
    first = rows(contoso)
    discovery_demo.seed(demo)
    assert rows(contoso) == first

    with tenant_context(contoso):
        snapshot = Report.objects.get(name=discovery_demo.SNAPSHOT_NAME)
        source = DataSource.objects.get(name=discovery_demo.SOURCE_NAME)
        assert source.anonymize and source.port == discovery_demo.SOURCE_PORT
        for report in (snapshot, source.report):
            (upload,) = report.uploads.all()
            assert upload.status == "done", upload.error
            assert upload.lines_parsed >= 300 and upload.lines_skipped == 0
            apps = set(AppDay.objects.filter(report=report).values_list("app", flat=True))
            assert {"box", "slack", "dropbox", ""} <= apps  # "" = unrecognised domains
            assert AppDay.objects.filter(report=report, blocked__gt=0).exists()
        users = set(AppUserDay.objects.filter(report=snapshot).values_list("user", flat=True))
        assert 30 <= len(users) <= 40 and all(u.endswith("@contoso.test") for u in users)
        branch_users = AppUserDay.objects.filter(report=source.report).values_list(
            "user", flat=True
        )
        assert not any("@" in u for u in branch_users)  # anonymised at ingest
        tagged = {(t.tag.kind, t.app) for t in AppTagging.objects.select_related("tag")}
        assert {(TagKind.SANCTIONED, "box"), (TagKind.UNSANCTIONED, "mega")} <= tagged
