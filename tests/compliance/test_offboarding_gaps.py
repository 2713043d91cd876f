"""Offboarding and encryption promises the other tests do not pin down: a cancelled tenant takes
no new data by any path (push, poll, file scan, syslog, ICAP), no task works for a tenant being
deleted and a row written meanwhile stops the key destruction, no table of any database keeps a
deleted tenant (sign-in records and sessions included), the export carries the tenant's settings,
members and tokens, and a data key destroyed elsewhere stops opening here."""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import tracemalloc
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.activities.models import Activity
from apps.compliance import crypto, keys, offboarding, tenant_export
from apps.compliance.models import TenantDeletion, TenantKey
from apps.connectors.models import Vendor
from apps.dlp import services as dlp_services
from apps.dlp.icap import services as icap_services
from apps.dlp.models import FileRecord, FileSource
from apps.integrations import services as integration_services
from apps.integrations.models import SECRET_PURPOSE, Destination
from apps.tenants.gate import CollectionStopped
from apps.tenants.models import ApiToken, Role, Tenant, TenantStatus
from apps.tenants.routing import geo_aliases
from apps.tenants.scoping import tenant_context
from tests import role_matrix as rm
from tests.activities import logdata
from tests.compliance.offboarding_kit import fill_tenant
from tests.connectors.conftest import connect, okta, tls_files, trust_fakes  # noqa: F401
from tests.dlp.test_file_scan import CARD_TEXT, CLEAN, google, trust  # noqa: F401
from tests.dlp.test_file_scan import connect as connect_files
from tests.dlp.test_file_scan_tasks import broker, queued  # noqa: F401
from tests.factories import make_tenant, member

ALL = ["default", "geo_us"]


def _api(user, tenant, role=Role.GLOBAL_ADMIN) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {rm.token_key(user, tenant, role)}")
    return client


def _cancel(tenant: Tenant) -> None:
    offboarding.cancel(tenant=tenant, actor=None, confirm_slug=tenant.slug)


def _tables(alias: str) -> list[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        return [row[0] for row in cursor.fetchall()]


def _rows_mentioning(alias: str, needles: list[str], skip: set[str]) -> dict[str, int]:
    """table -> rows whose text form holds one of `needles` (every table of `alias`)."""
    found = {}
    with connections[alias].cursor() as cursor:
        for table in _tables(alias):
            if table in skip:
                continue
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 (catalogue names)
            hits = sum(
                1 for (text,) in cursor.fetchall() if any(n in text.lower() for n in needles)
            )
            if hits:
                found[table] = hits
    return found


def _sessions_of(user_id) -> int:
    return sum(
        str(session.get_decoded().get("_auth_user_id")) == str(user_id)
        for session in Session.objects.all()
    )


# --- Offboarding: a cancelled tenant takes no new data -----------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_a_cancelled_tenants_connector_poll_stores_no_new_activities(tenant_a, okta, alice):  # noqa: F811
    """ "Poll now" answers 409, and a poll queued before the cancellation stores nothing."""
    from apps.connectors import services

    app = connect(tenant_a, "okta", okta, {"api_token": okta.api_token})
    okta.add_event(timezone.now() - dt.timedelta(minutes=5))
    _cancel(tenant_a)
    tenant_a.refresh_from_db()
    response = _api(alice, tenant_a).post(reverse("api-apps-poll", args=[app.pk]))
    services.poll_instance(app)  # what the queued poll_instance_task runs
    with tenant_context(tenant_a):
        stored = Activity.objects.count()
    assert (response.status_code, stored) == (409, 0)


@pytest.mark.django_db(databases=ALL)
def test_a_cancelled_tenants_file_scan_api_stores_nothing(tenant_a, alice):
    """POST /api/v1/files/scan/ of a cancelled tenant answers 409 and records no file."""
    _cancel(tenant_a)
    response = _api(alice, tenant_a).post(
        reverse("api-files-scan") + "?name=card.txt",
        data=b"paid with card 4111 1111 1111 1111",
        content_type="application/octet-stream",
    )
    with tenant_context(tenant_a):
        records = FileRecord.objects.count()
    assert (response.status_code, records) == (409, 0)


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_running_collector_drops_the_logs_of_a_tenant_cancelled_since(tenant_a):
    """The syslog collector loads its tenants once, at start; the cancellation is read from the
    database at the next upload, not from the (stale, active) Tenant object it holds."""
    from apps.discovery.collector import Collector, load_feeds
    from apps.discovery.models import Receiver, Upload
    from tests.discovery.helpers import squid_line
    from tests.discovery.ingest.helpers import make_source

    make_source(tenant_a, "UDP proxy", receiver=Receiver.SYSLOG_UDP, port=45514)
    collector = Collector(load_feeds(), bind="127.0.0.1", batch_lines=10, batch_seconds=60)
    (feed,) = collector.feeds
    _cancel(Tenant.objects.get(pk=tenant_a.pk))  # another process (the console) cancels
    feed.lines = [squid_line(url="https://slack.com/").encode()]
    collector.flush(feed)
    with tenant_context(tenant_a):
        assert Upload.objects.count() == 0


# --- Offboarding: the walk over every table of every database ----------------------------------


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_no_table_of_any_database_mentions_a_deleted_tenant(tenant_a, tenant_b, client):
    """Generic over the database catalogue, not over tenant_models(): after the deletion no row
    of any table of any alias holds the tenant's id or its members' sign-in names (only the
    deletion record, kept on purpose), sign-in records (axes) and sessions included. The tenant
    has a webhook, ICAP settings, DLP rows."""
    assert {"default", "geo_us"} <= geo_aliases() | {"default"}
    fill_tenant(tenant_a)
    fill_tenant(tenant_b)
    with tenant_context(tenant_a):
        integration_services.add_destination(
            kind="webhook",
            name="Hook",
            data_kinds=["alert"],
            config={"url": "https://hooks.example.test/casb"},
        )
    icap_services.rotate_secret(tenant=tenant_a, actor=None)
    member(tenant_a, Role.GLOBAL_ADMIN, username="gone@alpha.test", password="pw-Alpha-1234")
    # A sign-in (session, access log) and a failed one, as real use leaves them.
    client.post(reverse("login"), {"username": "gone@alpha.test", "password": "pw-Alpha-1234"})
    client.post(reverse("login"), {"username": "gone@alpha.test", "password": "wrong"})
    needles = [str(tenant_a.id), tenant_a.id.hex, "gone@alpha.test"]
    before = {a: _rows_mentioning(a, needles, set()) for a in ALL}
    assert before["default"] and sum(before["default"].values()) > 20  # the scan sees them

    gone = get_user_model().objects.get(username="gone@alpha.test")
    assert _sessions_of(gone.pk) == 1

    record = offboarding.delete_tenant(tenant_id=tenant_a.id)

    after = {a: _rows_mentioning(a, needles, {"compliance_tenantdeletion"}) for a in ALL}
    assert after == {"default": {}, "geo_us": {}}
    # Sessions hold the user id only inside their encoded data, which the walk cannot read.
    assert _sessions_of(gone.pk) == 0
    assert record.counts["sessions.Session"] == 1
    assert record.counts["axes.AccessLog"] == record.counts["axes.AccessAttempt"] == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_us_tenants_dlp_and_integration_rows_go_from_the_us_database(tenant_b):
    tenant_us = make_tenant("Yankee", geo="us", slug="yankee")
    fill_tenant(tenant_us)
    with tenant_context(tenant_us):
        _, _ = integration_services.add_destination(
            kind="webhook", name="Hook", data_kinds=["alert"], config={"url": "https://h.test/x"}
        )
    with connections["geo_us"].cursor() as cursor:
        for table in ("dlp_filerecord", "dlp_match", "integrations_destination"):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [tenant_us.id])  # noqa: S608
            assert cursor.fetchone()[0] >= 1, table
    record = offboarding.delete_tenant(tenant_id=tenant_us.id)
    for label in (
        "dlp.FileRecord",
        "dlp.Match",
        "dlp.CustomSensitiveType",
        "dlp.DlpSettings",
        "dlp.IcapSettings",
        "integrations.Destination",
        "integrations.OutboxSequence",
        "integrations.OutboxEvent",
        "integrations.DeadLetter",
        "integrations.Delivery",
    ):
        assert record.counts[label] >= 1, label
    assert not Destination.unscoped_objects.using("geo_us").filter(tenant_id=tenant_us.id)


# --- Offboarding: the export --------------------------------------------------------------------


def _export_peak(tenant) -> tuple[int, int]:
    """(peak traced bytes, archive bytes) while the archive is read and thrown away."""
    gc.collect()
    tracemalloc.start()
    size = 0
    for chunk in tenant_export.stream_tenant_archive(tenant):
        size += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, size


@pytest.mark.django_db(databases=ALL)
def test_the_export_memory_does_not_grow_with_the_row_count(tenant_a, tenant_b):
    for tenant, rows in ((tenant_a, 3000), (tenant_b, 12000)):
        app = logdata.app(tenant)
        when = logdata.base_time()
        logdata.add(
            tenant,
            [
                logdata.activity_row(app, when, object_name=f"f-{n}-" + "y" * 150)
                for n in range(rows)
            ],
        )
    _export_peak(tenant_a)  # warm-up: imports, caches
    small_peak, small_size = _export_peak(tenant_a)
    big_peak, big_size = _export_peak(tenant_b)
    assert big_size > 3 * small_size
    assert big_peak < 1.5 * small_peak, (small_peak, big_peak)


@pytest.mark.django_db(databases=ALL)
def test_the_export_withholds_the_webhook_secret(tenant_a):
    with tenant_context(tenant_a):
        _, secret = integration_services.add_destination(
            kind="webhook", name="Hook", data_kinds=["alert"], config={"url": "https://h.test/x"}
        )
    data = b"".join(tenant_export.stream_tenant_archive(tenant_a))
    archive = zipfile.ZipFile(io.BytesIO(data))
    text = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert secret not in text
    (row,) = [json.loads(x) for x in archive.read("integrations/destination.jsonl").splitlines()]
    assert row["secret_sealed"] == tenant_export.WITHHELD
    assert (
        "integrations.Destination.secret_sealed"
        in json.loads(archive.read("manifest.json"))["withheld"]
    )


# --- Encryption ---------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize("geo, alias", [("eu", "default"), ("us", "geo_us")])
def test_webhook_and_icap_secrets_are_not_readable_in_the_database(geo, alias, settings):
    settings.CASB_KEY_CACHE_SECONDS = 0
    tenant = make_tenant(f"Hooked {geo}", geo=geo, slug=f"hooked-{geo}")
    with tenant_context(tenant):
        destination, secret = integration_services.add_destination(
            kind="webhook", name="Hook", data_kinds=["alert"], config={"url": "https://h.test/x"}
        )
    icap_secret = icap_services.rotate_secret(tenant=tenant, actor=None).secret
    needles = [secret.lower(), secret.encode().hex(), icap_secret.lower()]
    assert _rows_mentioning(alias, [str(destination.pk)], set())  # the scan sees the row
    for scanned in ALL:
        assert _rows_mentioning(scanned, needles, set()) == {}, scanned
    # Tenant key rotation re-seals the webhook secret and the old version is destroyed.
    old = bytes(destination.secret_sealed)
    result = keys.rotate_tenant_key(tenant=tenant)
    assert result.resealed["integrations.Destination.secret_sealed"] == 1
    assert result.deleted_versions == [1]
    with tenant_context(tenant):
        fresh = Destination.objects.get(pk=destination.pk)
    assert keys.sealed_version(fresh.secret_sealed) == 2
    assert crypto.open_text(fresh.secret_sealed, SECRET_PURPOSE, tenant.id) == secret
    crypto.forget()
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(old, SECRET_PURPOSE, tenant.id)


@pytest.mark.django_db(databases=ALL)
def test_a_data_key_destroyed_by_another_process_stops_opening_here(tenant_a, settings):
    """Unwrapped data keys are cached for CASB_KEY_CACHE_SECONDS only: a process that once
    opened a tenant's value stops opening it once another process (the deletion sweep, a
    rotation's prune) destroyed the key."""
    settings.CASB_KEY_CACHE_SECONDS = 0
    blob = crypto.seal(tenant_a.id, b"evidence", "audit.probe")
    assert crypto.open_sealed(blob, "audit.probe", tenant_a.id) == b"evidence"
    # Another process destroys the keys (its own crypto.forget() cannot reach this process).
    TenantKey.objects.filter(tenant_id=tenant_a.id).delete()
    with pytest.raises(crypto.DecryptionError):
        crypto.open_sealed(blob, "audit.probe", tenant_a.id)


# --- Offboarding: work for a tenant being deleted -----------------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_tenant_tasks_are_skipped_once_the_deletion_has_started(tenant_a):
    """While delete_tenant runs (the tenant SUSPENDED) queued pushes, polls, scans and
    evaluations are skipped; a cancelled tenant's tasks still run (its grace period)."""
    from apps.tenants.tasking import tenant_task

    @tenant_task("audit_off.probe")
    def probe(tenant):
        return tenant.status

    _cancel(tenant_a)
    assert probe.apply(args=[str(tenant_a.id)]).get() == TenantStatus.CANCELLED
    assert offboarding._start(tenant_a.id, None) is not None  # what delete_tenant does first
    assert probe.apply(args=[str(tenant_a.id)]).get() is None


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_row_written_during_the_deletion_keeps_the_keys_until_the_next_run(tenant_a, monkeypatch):
    """The last pass before the keys go finds a row written after its table's pass (a task
    that was already running): the run stops with the keys kept, the next one finishes."""
    from apps.discovery.models import DiscoverySettings

    fill_tenant(tenant_a)
    _cancel(tenant_a)
    real = offboarding._delete_control_plane

    def with_a_late_writer(record, tenant_id):
        real(record, tenant_id)
        with tenant_context(tenant_a):  # what a worker still busy for the tenant might write
            DiscoverySettings.objects.create()

    monkeypatch.setattr(offboarding, "_delete_control_plane", with_a_late_writer)
    with pytest.raises(offboarding.DeletionIncomplete, match=r"discovery\.DiscoverySettings"):
        offboarding.delete_tenant(tenant_id=tenant_a.id)
    assert TenantKey.objects.filter(tenant_id=tenant_a.id).exists()
    assert TenantDeletion.objects.get(tenant_id=tenant_a.id).finished_at is None
    monkeypatch.setattr(offboarding, "_delete_control_plane", real)

    assert offboarding.delete_due_tenants() == 1
    assert TenantDeletion.objects.get(tenant_id=tenant_a.id).finished_at is not None
    assert not TenantKey.objects.filter(tenant_id=tenant_a.id).exists()
    assert not DiscoverySettings.unscoped_objects.filter(tenant_id=tenant_a.id).exists()


# --- A cancelled tenant takes no new data: the other paths --------------------------------------


@pytest.mark.django_db(databases=ALL)
def test_ingest_itself_refuses_a_cancelled_tenant(tenant_a):
    from apps.activities.ingestion import ingest
    from tests.activities.ingest_factories import event, make_app

    app = make_app(tenant_a)
    _cancel(tenant_a)
    with pytest.raises(CollectionStopped, match="no new data is collected"):
        ingest(tenant=tenant_a, app_instance=app, events=[event(1)], source="push")
    with tenant_context(tenant_a):
        assert not Activity.objects.exists()


@pytest.mark.django_db(databases=ALL)
def test_the_console_poll_now_refuses_a_cancelled_tenant(tenant_a, okta):  # noqa: F811
    from apps.connectors import services

    app = connect(tenant_a, "okta", okta, {"api_token": okta.api_token})
    _cancel(tenant_a)
    with pytest.raises(services.InstanceRefused, match="no new data is collected"):
        services.request_poll(instance=app)


@pytest.mark.django_db(databases=ALL)
def test_a_file_scan_cancelled_while_it_ran_does_not_send_itself_again(
    tenant_a,
    google,  # noqa: F811
    broker,  # noqa: F811
    monkeypatch,
):
    from apps.dlp import file_scan
    from apps.dlp.tasks import scan_app_files_task

    for n in range(4):
        google.add_drive_file(f"clean{n}", f"note-{n}.txt", CLEAN)
    instance = connect_files(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    monkeypatch.setattr(file_scan, "MAX_PAGES_PER_RUN", 1)
    real = file_scan.scan_app_files

    def cancelled_meanwhile(app_instance):
        outcome = real(app_instance)
        _cancel(Tenant.objects.get(pk=tenant_a.pk))  # the console, while the scan ran
        return outcome

    monkeypatch.setattr(file_scan, "scan_app_files", cancelled_meanwhile)
    result = scan_app_files_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert result["more"] is True and queued(broker) == []  # stopped at its budget, not re-sent
    # A scan queued before the cancellation records nothing.
    monkeypatch.setattr(file_scan, "scan_app_files", real)
    again = scan_app_files_task.apply(args=[str(tenant_a.id), str(instance.pk)]).get()
    assert "no new data is collected" in again["skipped"]
    with tenant_context(tenant_a):
        assert FileRecord.objects.count() == result["scanned"]
        with pytest.raises(CollectionStopped):
            dlp_services.scan_file(name="card.txt", data=CARD_TEXT, source=FileSource.API)
        assert FileRecord.objects.count() == result["scanned"]


@pytest.mark.django_db(databases=ALL)
def test_the_icap_service_of_a_cancelled_tenant_refuses_callers(tenant_a):
    """Checked per request: a cancelled tenant's proxy gets 403 and no file is recorded."""
    secret = icap_services.rotate_secret(tenant=tenant_a, actor=None).secret
    icap_services.update_settings(
        tenant=tenant_a, actor=None, enabled=True, mode="monitor", block_message="Stop."
    )
    service = icap_services.parse_service(f"icap://127.0.0.1/{tenant_a.slug}/reqmod")
    assert icap_services.authenticate(service, secret) is not None
    _cancel(tenant_a)
    assert icap_services.authenticate(service, secret) is None


# --- Offboarding: the export of the tenant's settings and people --------------------------------


@pytest.mark.django_db(databases=ALL)
def test_the_export_holds_the_tenants_settings_members_and_tokens_without_secrets(
    tenant_a, tenant_b, alice, rita
):
    tenant_a.require_mfa = True
    tenant_a.allowed_networks, tenant_a.allowed_countries = ["10.0.0.0/8"], ["DE"]
    tenant_a.save(update_fields=["require_mfa", "allowed_networks", "allowed_countries"])
    key = rm.token_key(alice, tenant_a, Role.SECURITY_READER)
    token = ApiToken.objects.get(tenant=tenant_a)
    other = member(tenant_b, Role.GLOBAL_ADMIN, username="bob@bravo.test")

    data = b"".join(tenant_export.stream_tenant_archive(tenant_a))
    archive = zipfile.ZipFile(io.BytesIO(data))
    settings_row = json.loads(archive.read("tenants/tenant.json"))
    assert settings_row["require_mfa"] is True and settings_row["geo"] == tenant_a.geo
    assert settings_row["name"] == tenant_a.name and settings_row["slug"] == tenant_a.slug
    assert settings_row["allowed_networks"] == ["10.0.0.0/8"]
    assert settings_row["allowed_countries"] == ["DE"]
    members = [json.loads(x) for x in archive.read("tenants/members.jsonl").splitlines()]
    roles = {row["username"]: row["role"] for row in members}
    assert roles[alice.username] == Role.GLOBAL_ADMIN
    assert roles[rita.username] == Role.SECURITY_READER
    assert other.username not in roles
    (exported,) = [json.loads(x) for x in archive.read("tenants/api_tokens.jsonl").splitlines()]
    assert exported["id"] == str(token.id) and exported["role"] == Role.SECURITY_READER
    assert exported["created_by"] == alice.username and "key_hash" not in exported
    text = b"".join(archive.read(n) for n in archive.namelist()).decode()
    assert key not in text and token.key_hash not in text
    assert alice.password not in text and "pbkdf2" not in text
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["tenants/tenant.json"] == 1
    assert manifest["files"]["tenants/members.jsonl"] == len(members) == manifest["members"]
    assert manifest["files"]["tenants/api_tokens.jsonl"] == 1 == manifest["api_tokens"]


def test_a_file_scan_that_meets_a_cancellation_stops_instead_of_failing_each_file(
    tenant_a,
    google,  # noqa: F811
):
    """The tenant was cancelled after the scan started (its task passed the gate): the first
    file refused ends the run with the reason, rather than every file counting as an error."""
    from apps.dlp import file_scan

    for n in range(3):
        google.add_drive_file(f"clean{n}", f"note-{n}.txt", CLEAN)
    instance = connect_files(tenant_a, Vendor.GOOGLE_WORKSPACE, google)
    _cancel(Tenant.objects.get(pk=tenant_a.pk))
    with tenant_context(tenant_a):
        outcome = file_scan.scan_app_files(instance)
        assert FileRecord.objects.count() == 0
    assert outcome.failed == 0 and "no new data is collected" in outcome.error
