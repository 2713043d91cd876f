"""Demo data of control: policies, the built-in detections, alerts in every state, governance.

Runs after the activity demo. It creates the tenant's policies (activity policies from the
documented templates' thresholds, plus every built-in detection), ingests a handful of
incidents on top of the history (a burst of downloads, failed sign-ins, a forwarding rule to a
personal mailbox, a sign-in from a Tor exit), evaluates everything queued, then triages a few
alerts the way a security team would and records a governance history. Idempotent: policies are
matched by name, incidents by their event ids (duplicates on a re-run), triage and governance
only happen once.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.activities.categories import ActivityType as T
from apps.activities.events import EventIn
from apps.tenants.scoping import tenant_context

from .models import Alert, AlertStatus, Category, MatchMode, Policy, Resolution, Severity

POLICIES = (
    {
        "name": "Administrative activity from a non-corporate IP address",
        "template": "admin_non_corporate_ip",
        "severity": Severity.MEDIUM,
        "category": Category.PRIVILEGED_ACCOUNTS,
        "filters": {"activity.type": {"eq": True}, "ip.category": {"neq": [1, 4]}},
    },
    {
        "name": "Log on from a risky IP address",
        "template": "risky_ip_logon",
        "severity": Severity.HIGH,
        "filters": {"activity.eventType": {"eq": ["login"]}, "ip.category": {"eq": [3]}},
        "governance": ["notify_user"],
    },
    {
        "name": "Mass download by a single user",
        "template": "mass_download",
        "severity": Severity.MEDIUM,
        "filters": {"activity.eventType": {"eq": ["download"]}},
        "mode": MatchMode.REPEATED,
        "repeat_count": 51,
        "repeat_window_minutes": 1,
    },
    {
        "name": "Multiple failed user sign-in attempts to an app",
        "template": "failed_signins",
        "severity": Severity.MEDIUM,
        "filters": {"activity.eventType": {"eq": ["failed_login"]}},
        "mode": MatchMode.REPEATED,
        "repeat_count": 11,
        "repeat_window_minutes": 5,
        "repeat_per_app": True,
    },
    {
        "name": "Sharing from outside the office",
        "severity": Severity.LOW,
        "category": Category.SHARING_CONTROL,
        "filters": {"activity.eventType": {"eq": ["share"]}, "ip.category": {"neq": [1, 4]}},
        "enabled": False,
    },
)


def _incidents(first: str, second: str, now) -> list[EventIn]:
    """Events that should raise alerts (by two of the staff), the day before the anchor."""
    base = (now - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    lena = first
    events: list[EventIn] = []
    for n in range(60):  # 60 downloads within a minute
        events.append(
            EventIn(
                source_event_id=f"demo-incident-dl-{n}",
                occurred_at=base + timedelta(seconds=n),
                action_type="FileDownloaded",
                activity_type=T.DOWNLOAD,
                actor=lena,
                ip="200.160.2.3",
                succeeded=True,
                object_name=f"/sites/finance/Shared Documents/ledger-{n:02d}.xlsx",
                object_type="File",
                object_id=f"obj-ledger-{n}",
            )
        )
    omar = second
    for n in range(12):  # 12 failed sign-ins within three minutes
        events.append(
            EventIn(
                source_event_id=f"demo-incident-fail-{n}",
                occurred_at=base + timedelta(hours=2, seconds=15 * n),
                action_type="UserLoginFailed",
                activity_type=T.FAILED_LOGIN,
                actor=omar,
                ip="41.0.0.1",
                succeeded=False,
            )
        )
    events.append(
        EventIn(
            source_event_id="demo-incident-rule",
            occurred_at=base + timedelta(hours=3),
            action_type="New-InboxRule",
            activity_type=T.MAIL_FORWARDING,
            actor=omar,
            ip="41.0.0.1",
            succeeded=True,
            object_name="Forward everything",
            raw={
                "Operation": "New-InboxRule",
                "Parameters": [
                    {"Name": "Name", "Value": "Forward everything"},
                    {"Name": "ForwardTo", "Value": "omar.backup@gmail.com"},
                ],
            },
        )
    )
    events.append(
        EventIn(
            source_event_id="demo-incident-tor",
            occurred_at=base + timedelta(hours=4),
            action_type="UserLoggedIn",
            activity_type=T.LOGIN,
            actor=omar,
            ip="185.220.101.7",
            succeeded=True,
        )
    )
    return events


def _seed_tenant(demo, tenant, *, incidents: bool) -> None:
    from apps.accounts.models import Account, AccountStatus
    from apps.activities.ingestion import ingest
    from apps.connectors.models import AppInstance

    from .evaluation import ensure_detection_policies, evaluate_pending

    with tenant_context(tenant):
        ensure_detection_policies(tenant)
        for spec in POLICIES:
            if not Policy.objects.filter(name=spec["name"]).exists():
                Policy.objects.create(**spec)
        app = AppInstance.objects.filter(vendor="office365").order_by("created_at").first()
        staff = []
        if app is not None:
            staff = list(
                Account.objects.filter(app_instance=app, status=AccountStatus.ACTIVE)
                .exclude(username="")
                .order_by("username")
                .values_list("username", flat=True)[:2]
            )
        if incidents and len(staff) == 2:
            anchor = AppInstance.objects.order_by("created_at").first().created_at
            ingest(
                tenant=tenant,
                app_instance=app,
                events=_incidents(staff[0], staff[1], anchor),
                source="connector",
            )
        stats = evaluate_pending(tenant, max_seconds=600)
        demo.log(
            f"{tenant.name}: evaluated {stats.activities} activities, "
            f"{stats.alerts_created} alerts raised"
        )
        _triage(demo, tenant)
        _governance_history(tenant)


def _triage(demo, tenant) -> None:
    """Put some alerts in each state, as a team working the queue would (once)."""
    if Alert.objects.exclude(status=AlertStatus.OPEN).exists():
        return
    admin, secadmin = demo.users.get("admin"), demo.users.get("secadmin")
    alerts = list(Alert.objects.order_by("number")[:40])
    now = timezone.now()
    plan = [
        (AlertStatus.IN_PROGRESS, Resolution.NONE, "", secadmin, "Checking with the user."),
        (
            AlertStatus.RESOLVED,
            Resolution.TRUE_POSITIVE,
            "confirmed_malicious",
            admin,
            "Password reset and sessions revoked.",
        ),
        (
            AlertStatus.RESOLVED,
            Resolution.BENIGN_TRUE_POSITIVE,
            "confirmed_with_user",
            secadmin,
            "Travelling to the Sao Paulo office this week.",
        ),
        (
            AlertStatus.DISMISSED,
            Resolution.FALSE_POSITIVE,
            "not_accurate",
            admin,
            "The address is our new VPN egress; IP ranges updated.",
        ),
        (AlertStatus.DISMISSED, Resolution.FALSE_POSITIVE, "too_many", secadmin, ""),
    ]
    for index, alert in enumerate(alerts):
        status, resolution, reason, who, comment = plan[index % len(plan)]
        if index % 3 == 2:
            continue  # a third stay open and unread
        alert.read = True
        alert.status = status
        alert.resolution = resolution
        alert.resolution_reason = reason
        alert.comment = comment
        if who is not None:
            alert.assignee_id, alert.assignee_label = who.pk, who.get_username()
        if status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED):
            alert.resolved_at = now
            if who is not None:
                alert.resolved_by_id, alert.resolved_by_label = who.pk, who.get_username()
        alert.save()


def _governance_history(tenant) -> None:
    """A governance log with every outcome (recorded, not sent: demo apps are not real)."""
    from apps.accounts.models import Account
    from apps.governance.models import (
        GovernanceAction,
        GovernanceKind,
        GovernanceStatus,
        Source,
        TargetType,
    )

    if GovernanceAction.objects.filter(comment__startswith="[demo]").exists():
        return
    # Microsoft 365 accounts: every action below is one Microsoft Graph carries out.
    accounts = list(
        Account.objects.select_related("app_instance")
        .filter(app_instance__vendor="office365")
        .order_by("username")[:6]
    )
    alerts = list(Alert.objects.order_by("number")[:6])
    if len(accounts) < 6:
        return
    now = timezone.now()
    history = [
        (GovernanceKind.SUSPEND_USER, GovernanceStatus.SUCCEEDED, "", "Account disabled."),
        (GovernanceKind.REQUIRE_SIGN_IN, GovernanceStatus.SUCCEEDED, "", "Sessions revoked."),
        (
            GovernanceKind.CONFIRM_COMPROMISED,
            GovernanceStatus.FAILED,
            "the app refused: Insufficient privileges to complete the operation "
            "(IdentityRiskyUser.ReadWrite.All is not granted)",
            "",
        ),
        (
            GovernanceKind.SUSPEND_USER,
            GovernanceStatus.RETRYING,
            "the app is unavailable (HTTP 503); next attempt in 4 minutes",
            "",
        ),
        (GovernanceKind.UNSUSPEND_USER, GovernanceStatus.SUCCEEDED, "", "Account enabled."),
        (GovernanceKind.NOTIFY_USER, GovernanceStatus.SUCCEEDED, "", "Email sent."),
    ]
    for n, ((kind, status, error, result), account) in enumerate(
        zip(history, accounts, strict=True)
    ):
        finished = status in (GovernanceStatus.SUCCEEDED, GovernanceStatus.FAILED)
        GovernanceAction.objects.create(
            kind=kind,
            status=status,
            source=Source.POLICY if n % 2 else Source.MANUAL,
            initiated_by_label="Policy: Log on from a risky IP address"
            if n % 2
            else "admin@contoso.test",
            alert=alerts[n] if n < len(alerts) else None,
            app_instance=account.app_instance,
            target_type=TargetType.ACCOUNT,
            account=account,
            user_id=account.user_id,
            target_ref=account.external_id,
            target_label=account.email or account.username,
            comment="[demo] recorded history",
            attempts=3 if status == GovernanceStatus.RETRYING else 1,
            error=error,
            result=result,
            started_at=now - timedelta(hours=6 - n),
            finished_at=now - timedelta(hours=6 - n) if finished else None,
            next_attempt_at=now + timedelta(minutes=4)
            if status == GovernanceStatus.RETRYING
            else None,
        )


def seed(demo) -> None:
    _seed_tenant(demo, demo.tenants["contoso"], incidents=True)
    _seed_tenant(demo, demo.tenants["fabrikam"], incidents=False)
