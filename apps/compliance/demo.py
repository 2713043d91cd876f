"""Demo data of the privacy settings: Contoso keeps HR's activities private and does not monitor
Legal in GitHub (a works-council agreement, say). Runs after the activities demo (INSTALLED_APPS
order), so the groups exist; running it again changes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

from apps.accounts.models import Account, UserGroup
from apps.activities.categories import ActivityType as T
from apps.activities.events import EventIn
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.scoping import tenant_context

from .models import PrivacySettings, ScopeRule, ScopeRuleKind

LEGAL_RULE = "Legal is not monitored in GitHub (works council agreement)"
PRIVATE_EVENTS = 40


def _private_hr_activities(tenant, m365: AppInstance, hr: UserGroup, when) -> int:
    """HR's Microsoft 365 activities after the privacy group was set: stored as private."""
    from apps.activities.ingestion import ingest

    people = list(
        Account.objects.filter(app_instance=m365, memberships__group=hr).order_by("email")[:8]
    )
    rng = random.Random(f"{tenant.slug}-private")
    events = []
    for n in range(PRIVATE_EVENTS if people else 0):
        account = people[n % len(people)]
        action, category = rng.choice(
            (("FileAccessed", T.VIEW), ("FileDownloaded", T.DOWNLOAD), ("UserLoggedIn", T.LOGIN))
        )
        events.append(
            EventIn(
                source_event_id=f"demo-private-{n}",
                occurred_at=when - timedelta(minutes=17 * (n + 1)),
                action_type=action,
                activity_type=category,
                actor=account.email or account.username,
                actor_external_id=account.external_id,
                actor_display_name=account.display_name,
                ip="81.2.69.142",
                succeeded=True,
                object_name="Salary review 2026.xlsx" if category != T.LOGIN else "",
                object_type="File" if category != T.LOGIN else "",
                raw={"Operation": action, "Workload": "SharePoint"},
            )
        )
    return ingest(tenant=tenant, app_instance=m365, events=events, source="connector").accepted


def seed(demo) -> None:
    tenant = demo.tenants["contoso"]
    with tenant_context(tenant):
        m365 = AppInstance.objects.filter(vendor=Vendor.OFFICE365).order_by("created_at").first()
        github = AppInstance.objects.filter(vendor=Vendor.GITHUB).order_by("created_at").first()
        if m365 is None:
            return
        hr = UserGroup.objects.filter(app_instance=m365, name="HR").first()
        legal = UserGroup.objects.filter(app_instance=m365, name="Legal").first()
        if legal is not None and github is not None:
            ScopeRule.objects.get_or_create(
                name=LEGAL_RULE,
                defaults={
                    "kind": ScopeRuleKind.EXCLUDE,
                    "groups": [str(legal.pk)],
                    "apps": [str(github.pk)],
                },
            )
        if hr is None:
            return
        privacy, _ = PrivacySettings.objects.get_or_create()
        if str(hr.pk) not in privacy.private_groups:
            privacy.private_groups = [*privacy.private_groups, str(hr.pk)]
            privacy.save(update_fields=["private_groups", "updated_at"])
        anchor = AppInstance.objects.order_by("created_at").first().created_at
        stored = _private_hr_activities(tenant, m365, hr, anchor)
    demo.log(f"{tenant.name}: HR's activities private ({stored} new), Legal out of scope in GitHub")
