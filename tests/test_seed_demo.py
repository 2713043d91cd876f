"""`manage.py seed_demo` (idempotent, refuses outside DEBUG) and `manage.py rundemo` (starts the
console and a worker on the embedded default; SIGTERM leaves nothing running)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from guardian.models import UserObjectPermission

from apps.accounts.models import Account, CloudUser
from apps.activities.models import Activity, IpRange
from apps.alerts.models import Alert, AlertStatus, Policy, PolicyKind, Resolution
from apps.compliance.models import PrivacySettings, ScopeRule
from apps.connectors.models import AppInstance
from apps.dlp.models import FileRecord, Match
from apps.governance.models import GovernanceAction, GovernanceStatus
from apps.tenants.management.commands.seed_demo import DEMO_TENANTS, DEMO_USERS, app_steps
from apps.tenants.models import AuditEvent, Membership, Role, Tenant
from apps.tenants.permissions import Action, may
from apps.tenants.scoping import tenant_context

User = get_user_model()


def snapshot() -> dict[str, list]:
    """Every row seed_demo may write, in a comparable form."""
    rows: dict[str, list] = {
        "tenants": sorted(Tenant.objects.values_list("slug", "name", "geo", "status")),
        "users": sorted(
            User.objects.values_list("username", "email", "password", "first_name", "is_active")
        ),
        "memberships": sorted(
            Membership.objects.values_list("tenant__slug", "user__username", "role")
        ),
        "permissions": sorted(
            UserObjectPermission.objects.values_list(
                "user__username", "permission__codename", "object_pk"
            )
        ),
    }
    for tenant in Tenant.objects.all():
        with tenant_context(tenant):
            rows[f"audit:{tenant.slug}"] = list(
                AuditEvent.objects.order_by("seq").values_list("seq", "action", "hash")
            )
            rows[f"data:{tenant.slug}"] = {
                model.__name__: model.objects.count()
                for model in (
                    AppInstance,
                    CloudUser,
                    Account,
                    IpRange,
                    Activity,
                    Policy,
                    Alert,
                    GovernanceAction,
                    FileRecord,
                    Match,
                )
            }
            rows[f"privacy:{tenant.slug}"] = (
                Activity.objects.filter(is_private=True).count(),
                sorted(ScopeRule.objects.values_list("name", "kind")),
                list(PrivacySettings.objects.values_list("private_groups", flat=True)),
            )
            rows[f"alerts:{tenant.slug}"] = sorted(
                Alert.objects.values_list("number", "status", "resolution", "trigger_count")
            )
    return rows


@pytest.mark.django_db(databases="__all__")
@override_settings(DEMO_SCALE=1.0)
def test_seed_demo_twice_gives_the_same_rows():
    call_command("seed_demo", force=True, verbosity=0)
    first = snapshot()
    call_command("seed_demo", force=True, verbosity=0)
    assert snapshot() == first

    tenants = {t.slug: t for t in Tenant.objects.all()}
    assert {(t.slug, t.geo) for t in tenants.values()} == {("contoso", "eu"), ("fabrikam", "us")}
    assert tenants["fabrikam"].db_alias == "geo_us"
    roles = set(Membership.objects.values_list("user__username", "tenant__slug", "role"))
    assert roles == {
        ("admin@contoso.test", "contoso", Role.GLOBAL_ADMIN),
        ("admin@contoso.test", "fabrikam", Role.GLOBAL_ADMIN),
        ("secadmin@contoso.test", "contoso", Role.SECURITY_ADMIN),
        ("reader@contoso.test", "contoso", Role.SECURITY_READER),
    }
    # The audit log tells the story of the set-up, in each tenant's own geo.
    assert [a for (_s, a, _h) in first["audit:contoso"]].count("member.added") == 3
    actions = [a for (_s, a, _h) in first["audit:fabrikam"]]
    assert actions[0] == "member.added" and set(actions[1:]) == {"ip_range.created"}
    # The visibility demo: connected apps, a few hundred people, tens of thousands of events.
    assert first["data:contoso"]["AppInstance"] >= 4
    assert first["data:contoso"]["CloudUser"] >= 200
    assert first["data:contoso"]["Activity"] >= 20_000
    # The control demo: policies of both kinds, alerts in every state, a governance history.
    with tenant_context(tenants["contoso"]):
        kinds = set(Policy.objects.values_list("kind", flat=True))
        assert kinds == {PolicyKind.ACTIVITY, PolicyKind.ANOMALY, PolicyKind.FILE}
        assert set(Alert.objects.values_list("status", flat=True)) == set(AlertStatus.values)
        resolutions = set(Alert.objects.values_list("resolution", flat=True))
        assert resolutions == set(Resolution.values)
        titles = set(Alert.objects.values_list("policy_name", flat=True))
        for fired in (
            "Mass download by a single user",
            "Multiple failed user sign-in attempts to an app",
            "Log on from a risky IP address",
            "Suspicious inbox forwarding",
            "Impossible travel",
        ):
            assert fired in titles, fired
        outcomes = set(GovernanceAction.objects.values_list("status", flat=True))
        assert {
            GovernanceStatus.SUCCEEDED,
            GovernanceStatus.FAILED,
            GovernanceStatus.RETRYING,
            GovernanceStatus.PENDING,
        } <= outcomes
    # The privacy demo: HR's newest activities are private, Legal is out of scope in GitHub.
    private, rules, _groups = first["privacy:contoso"]
    assert private == 40
    assert rules == [("Legal is not monitored in GitHub (works council agreement)", "exclude")]


@pytest.mark.django_db(databases="__all__")
def test_demo_accounts_sign_in_with_the_printed_passwords_and_roles_hold(client):
    call_command("seed_demo", force=True, verbosity=0)
    contoso = Tenant.objects.get(slug="contoso")
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(spec.password)
    reader = User.objects.get(username="reader@contoso.test")
    admin = User.objects.get(username="admin@contoso.test")
    assert may(reader, Action.VIEW, contoso)
    assert not may(reader, Action.MANAGE_MEMBERS, contoso)
    assert may(admin, Action.MANAGE_MEMBERS, contoso)

    # Through the real sign-in form, as a newcomer would (no MFA device, so no second step).
    response = client.post(
        "/accounts/login/",
        {"username": "reader@contoso.test", "password": "reader-demo-password"},
    )
    assert response.status_code == 302
    assert client.get(f"/t/{contoso.slug}/").status_code == 200


@pytest.mark.django_db(databases="__all__")
def test_seed_demo_repairs_a_changed_password():
    call_command("seed_demo", force=True, verbosity=0)
    admin = User.objects.get(username="admin@contoso.test")
    admin.set_password("something-else-entirely")
    admin.save()
    call_command("seed_demo", force=True, verbosity=0)
    admin.refresh_from_db()
    assert admin.check_password("admin-demo-password")


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off():
    assert settings.DEBUG is False  # pytest-django runs tests with DEBUG off
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", verbosity=0)
    assert not Tenant.objects.exists()


def test_app_steps_are_callables_of_apps_packages():
    for label, step in app_steps():
        assert callable(step), label


def test_demo_constants_match_the_brief():
    assert [(t.slug, t.geo) for t in DEMO_TENANTS] == [("contoso", "eu"), ("fabrikam", "us")]
    for spec in DEMO_USERS:
        assert len(spec.password) >= 12  # the console's own minimum


# --- rundemo, end to end on the embedded default --------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status
    except OSError:
        return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _demo_env(var_dir: Path) -> dict[str, str]:
    """The embedded default, spelled out so neither the test run's variables nor a developer's
    .env file can point the demo at a real database or broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casb.settings",
        "DEBUG": "1",
        "CASB_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "GEO_DATABASES": "eu=default,uk=default,us=default",
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "locmemcache://demo",
    }


def test_rundemo_serves_consumes_tasks_and_sigterm_stops_everything(tmp_path):
    """The demo on SQLite + filesystem broker: the console answers, the worker runs a task from
    the embedded broker, and SIGTERM to rundemo leaves no process behind."""
    port = _free_port()
    env = _demo_env(tmp_path)
    stray = settings.BASE_DIR / "control"  # kombu's default exchange folder, relative to cwd
    stray_before = stray.exists()
    log_path = tmp_path / "rundemo.log"
    manage = str(settings.BASE_DIR / "manage.py")
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, manage, "rundemo", "--port", str(port)],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while _get(f"http://127.0.0.1:{port}/healthz") != 200:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        output = log_path.read_text()
        children = [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", output)]
        assert len(children) == 2, output
        for spec in DEMO_USERS:
            assert spec.username in output and spec.password in output
        assert _get(f"http://127.0.0.1:{port}/accounts/login/") == 200

        # A real task through the filesystem broker: verify_audit_chains anchors each chain.
        subprocess.run(
            [
                sys.executable,
                manage,
                "shell",
                "-c",
                "from casb.celery import app; app.send_task('tenants.verify_audit_chains')",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            check=True,
            timeout=60,
        )
        anchored = 0
        deadline = time.monotonic() + 60
        while anchored < len(DEMO_TENANTS) and time.monotonic() < deadline:
            time.sleep(0.5)
            with sqlite3.connect(tmp_path / "db.sqlite3", timeout=10) as db:
                (anchored,) = db.execute(
                    "SELECT COUNT(DISTINCT tenant_id) FROM tenants_auditanchor"
                ).fetchone()
        assert anchored == len(DEMO_TENANTS), log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        leftovers = [pgid for pgid in children if _group_alive(pgid)]
        for pgid in leftovers:  # never leave a worker behind, even when the test fails
            os.killpg(pgid, signal.SIGKILL)
    assert code == 0, log_path.read_text()
    assert "Demo stopped." in log_path.read_text()
    assert leftovers == [], f"process groups still running after SIGTERM: {leftovers}"
    assert stray_before or not stray.exists(), "the broker must keep its state under CASB_VAR_DIR"
    assert (tmp_path / "celery-broker" / "control").is_dir()
