"""Data-subject requests in the background and on the demo's SQLite: preview, export, erase and
the audit search run on SQLite; the mentions scan reads the activities once; the background run
audits who asked and takes the accounts the person has when it runs; a resend never reopens a
claimed request; a second request about a busy person is refused."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Account, CloudUser
from apps.compliance import erasure, subjects
from apps.compliance.models import SubjectRequest, SubjectRequestStatus
from apps.compliance.tasks import run_subject_request
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata

pytestmark = pytest.mark.django_db(databases=["default", "geo_us"])

ZED = "zed.quux@contoso.test"


SEED = f"""
import uuid
from tests.factories import make_tenant
from tests.activities import logdata
from apps.tenants import audit
from apps.tenants.scoping import tenant_context
from apps.compliance import personal, subjects
t = make_tenant("rva" + uuid.uuid4().hex[:6])
p = logdata.person(t, "{ZED}", "Zed Quux")
logdata.account(t, logdata.app(t), p)
audit.record(t, "policies.created", actor="x", details={{"filters": {{"user": "{ZED}"}}}})
"""


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory):
    """The demo's database engine: a migrated SQLite file (casb.settings, DEBUG)."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "casb.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('rva') / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
    }
    env.pop("DATABASE_URL_GEO_US", None)
    env.pop("GEO_DATABASES", None)
    _manage(env, "migrate", "-v0")
    return env


def _manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def _on_sqlite(env, code: str) -> subprocess.CompletedProcess:
    return _manage(env, "shell", "-c", SEED + textwrap.dedent(code))


def test_preview_and_export_run_on_sqlite_the_demo_database(sqlite_env):
    """`personal.file_alert_ids` (new this session) calls split_part, which SQLite lacks: on the
    demo (`make demo`, SQLite) the erase preview, every export and every erase fail with
    OperationalError before doing anything."""
    done = _on_sqlite(
        sqlite_env,
        f"""
        with tenant_context(t):
            print(subjects.preview(subjects.find_subject(tenant=t, query="{ZED}")))
            print(subjects.export(tenant=t, actor=None, query="{ZED}").status)
        """,
    )
    assert done.returncode == 0, done.stderr[-600:]
    assert "'profile': 1" in done.stdout and "done" in done.stdout


def test_audit_events_naming_the_person_are_found_on_sqlite(sqlite_env):
    """`personal._sql_regex` uses POSIX classes (`[^[:alnum:]_]`); Django's SQLite REGEXP is
    Python's `re`, which reads them as a literal set followed by `_]`: on the demo the export
    and the erase receipt miss every audit event naming the person (0, not 1)."""
    done = _on_sqlite(
        sqlite_env,
        f"""
        with tenant_context(t):
            s = subjects.find_subject(tenant=t, query="{ZED}")
            print("found", personal.audit_rows(s).count())
        """,
    )
    assert "found 1" in done.stdout, done.stdout[-300:] + done.stderr[-600:]


def test_erase_runs_on_sqlite_the_demo_database(sqlite_env):
    """The activities steps of the erase are raw PostgreSQL SQL (`%s::uuid[]`, `= ANY`,
    `'{}'::jsonb`, and new this session `regexp_replace`, `LIKE ANY`, `FOR UPDATE`): an erase
    in the demo always ends FAILED."""
    done = _on_sqlite(
        sqlite_env,
        f"""
        with tenant_context(t):
            personal.file_alert_ids = lambda subject: set()  # past the split_part failure
            print(subjects.erase(tenant=t, actor=None, query="{ZED}").counts)
        """,
    )
    assert done.returncode == 0, done.stderr[-400:]


def _mentions(tenant, count: int):
    """`count` activities of Bob (an admin) about Zed: object name = Zed's email."""
    app = logdata.app(tenant)
    zed = logdata.person(tenant, ZED, "Zed Quux")
    logdata.account(tenant, app, zed)
    bob = logdata.person(tenant, "bob@contoso.test", "Bob Admin")
    bob_account = logdata.account(tenant, app, bob)
    base = logdata.base_time()
    logdata.add(
        tenant,
        [
            logdata.activity_row(
                app,
                base - dt.timedelta(days=n % 5, minutes=n),
                user=bob,
                account=bob_account,
                actor=bob_account.username,
                object_name=ZED,
            )
            for n in range(count)
        ],
    )


def test_erase_scans_the_tenants_activities_once_for_mentions(tenant_a, monkeypatch):
    """`_erase_activity_mentions` re-runs its unindexed pick (`lower(raw::text) LIKE ANY`, every
    partition of the tenant) for each batch of MENTION_BATCH: n mentions cost n/1000 full scans
    of the activity table, not the one its docstring budgets."""
    monkeypatch.setattr(erasure, "MENTION_BATCH", 2)
    _mentions(tenant_a, 7)
    alias = tenant_a.db_alias
    with tenant_context(tenant_a), CaptureQueriesContext(connections[alias]) as seen:
        subject = subjects.find_subject(tenant=tenant_a, query=ZED)
        receipt = erasure.erase(subject)
    assert receipt["activity_mentions"] == 7
    scans = [q for q in seen.captured_queries if "raw::text" in q["sql"]]
    assert len(scans) == 1, f"{len(scans)} full scans for 7 mentions"


def test_background_erase_audit_names_the_requesting_user(alice, tenant_a):
    """The background run audits `subjects.erased` with the requester's label only
    (`actor = row.requested_by_label`): the event loses the actor id that `subjects.requested`
    and the synchronous erase recorded, so the audit log cannot tie the erase to the user."""
    _mentions(tenant_a, 1)
    with tenant_context(tenant_a):
        row = subjects.submit(
            tenant=tenant_a, kind="erase", actor=alice, query=ZED, reference="ticket 1"
        )
        assert subjects.run_request(tenant_a, str(row.pk)) == "done"
        events = {
            e.action: e.actor_id
            for e in AuditEvent.objects.filter(
                action__startswith="subjects.", object_id=str(row.pk)
            )
        }
    assert events["subjects.requested"] == alice.pk
    assert events["subjects.erased"] == alice.pk


def test_background_erase_takes_the_accounts_the_person_has_when_it_runs(alice, tenant_a):
    """`run_request` erases only the account ids stored at submit (`target`). An account joined
    to the person while the request waited (a sync of another app) survives the erase: the
    profile's delete sets its `user` to NULL, so a person-less account with the person's
    username and email remains."""
    _mentions(tenant_a, 1)
    with tenant_context(tenant_a):
        row = subjects.submit(tenant=tenant_a, kind="erase", actor=alice, query=ZED)
        zed = CloudUser.objects.get(identity=ZED)
    late = logdata.account(tenant_a, logdata.app(tenant_a, "Okta", vendor="okta"), zed)
    with tenant_context(tenant_a):
        assert subjects.run_request(tenant_a, str(row.pk)) == "done"
        left = list(Account.objects.filter(pk=late.pk).values_list("username", "user_id"))
    assert left == [], f"left behind: {left}"


def test_resend_does_not_reopen_a_request_a_worker_just_claimed(alice, tenant_a, monkeypatch):
    """`resend_stalled` lists the stalled requests, then flips each only while it is still
    stalled: a late message claimed in between (running, started now) is not set back to
    pending and sent again (two workers would run the same erase or export at once)."""
    _mentions(tenant_a, 1)
    with tenant_context(tenant_a):
        subject = subjects.find_subject(tenant=tenant_a, query=ZED)
        rows = [
            subjects._start(tenant_a, "export", subject, ZED, "", alice, status="pending")
            for _ in range(2)  # made directly: `submit` refuses a second one while busy
        ]
        SubjectRequest.objects.filter(pk__in=[r.pk for r in rows]).update(
            created_at=timezone.now() - dt.timedelta(minutes=10)
        )
    sent = []

    def delay(tenant_id, pk):
        sent.append(pk)
        # Meanwhile a worker took the other (late) message: the claim of `run_request`.
        SubjectRequest.unscoped_objects.using(tenant_a.db_alias).exclude(pk=pk).filter(
            status=SubjectRequestStatus.PENDING
        ).update(status=SubjectRequestStatus.RUNNING, started_at=timezone.now())

    monkeypatch.setattr(run_subject_request, "delay", delay)
    subjects.resend_stalled()
    assert len(sent) == 1, f"sent {len(sent)}: a running request was reopened and sent again"


def test_a_second_request_about_a_person_still_being_handled_is_refused(alice, tenant_a):
    with tenant_context(tenant_a):
        person = logdata.person(tenant_a, ZED, "Zed Quux")
        logdata.account(tenant_a, logdata.app(tenant_a), person)
        subjects.submit(tenant=tenant_a, kind="export", actor=alice, query=ZED)
        with pytest.raises(subjects.SubjectRefused, match="still running"):
            subjects.submit(tenant=tenant_a, kind="erase", actor=alice, query=ZED)
        assert SubjectRequest.objects.count() == 1
