"""The file scan's Celery wiring: the beat entry, which app instances it queues (real Redis
broker queue), and the per-instance task against a fake Google Drive."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from apps.connectors.models import AppInstance, Vendor
from apps.dlp import file_scan
from apps.dlp.models import FileRecord, Verdict
from apps.dlp.tasks import scan_app_files_task, scan_files_due
from apps.tenants.scoping import tenant_context
from casb.celery import BEAT_SCHEDULE, TASK_TIME_LIMIT, app
from tests.factories import make_tenant

from .test_file_scan import CARD_TEXT, CLEAN, connect, google, tls_files, trust  # noqa: F401

ALL = ["default", "geo_us"]


@pytest.fixture
def broker():
    """The test broker's default queue, emptied (this suite's own Redis database)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    yield client
    client.delete("celery")


def queued(client) -> list[tuple[str, list]]:
    messages = []
    for raw in client.lrange("celery", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], args))
    return messages


def test_beat_queues_file_scans_every_15_minutes_and_expires_before_the_next():
    entry = BEAT_SCHEDULE["dlp.scan-files"]
    assert entry["task"] == "dlp.scan_files_due" == scan_files_due.name
    assert entry["schedule"].minute == {0, 15, 30, 45}
    assert entry["options"]["expires"] < 15 * 60
    assert "dlp.scan_files_due" in app.tasks and "dlp.scan_app_files" in app.tasks
    # The per-instance task keeps the default limits (15 minutes hard).
    assert app.tasks["dlp.scan_app_files"].time_limit in (None, TASK_TIME_LIMIT)


@pytest.mark.django_db(databases=ALL)
def test_only_enabled_file_apps_of_active_tenants_are_queued(tenant_a, tenant_b, broker):
    def make(tenant, vendor, name, **fields):
        with tenant_context(tenant):
            return AppInstance.objects.create(vendor=vendor, name=name, **fields)

    drive = make(tenant_a, Vendor.GOOGLE_WORKSPACE, "Drive")
    onedrive = make(tenant_a, Vendor.OFFICE365, "OneDrive")
    make(tenant_a, Vendor.OKTA, "Okta")  # no files
    make(tenant_a, Vendor.GITHUB, "GitHub")  # no files
    make(tenant_a, Vendor.OFFICE365, "Paused", enabled=False)
    later = timezone.now() + dt.timedelta(minutes=30)
    make(tenant_a, Vendor.GOOGLE_WORKSPACE, "Rate limited", retry_at=later)
    make(tenant_b, Vendor.GOOGLE_WORKSPACE, "B's drive")
    tenant_b.status = "cancelled"
    tenant_b.save(update_fields=["status"])
    us = make_tenant("Yankee", geo="us")
    us_drive = make(us, Vendor.GOOGLE_WORKSPACE, "US drive")

    assert scan_files_due.apply().get() == 3
    assert sorted(queued(broker)) == sorted(
        [
            ("dlp.scan_app_files", [str(tenant_a.id), str(drive.pk)]),
            ("dlp.scan_app_files", [str(tenant_a.id), str(onedrive.pk)]),
            ("dlp.scan_app_files", [str(us.id), str(us_drive.pk)]),
        ]
    )


@pytest.mark.django_db(databases=ALL)
def test_the_task_scans_and_carries_on_when_it_stops_at_its_budget(
    tenant_a,
    google,  # noqa: F811 (the fixture imported above)
    broker,
    monkeypatch,
):
    for n in range(3):
        google.add_drive_file(f"clean{n}", f"note-{n}.txt", CLEAN)
    google.add_drive_file("card1", "refund.txt", CARD_TEXT)
    instance = connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    monkeypatch.setattr(file_scan, "MAX_PAGES_PER_RUN", 1)

    result = scan_app_files_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert result["pages"] == 1 and result["scanned"] == 2 and result["more"] is True
    # It sent itself again, to carry on from the saved cursor.
    assert queued(broker) == [("dlp.scan_app_files", [str(tenant_a.id), str(instance.pk)])]
    result = scan_app_files_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert result["scanned"] == 2 and result["error"] == ""
    with tenant_context(tenant_a):
        assert FileRecord.objects.count() == 4
        assert FileRecord.objects.get(name="refund.txt").verdict == Verdict.MATCHED

    with tenant_context(tenant_a):
        AppInstance.objects.filter(pk=instance.pk).delete()
    gone = scan_app_files_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert gone == {"skipped": "no such app instance"}
