"""Demo data for the visibility half: connected apps, a few hundred people with their accounts
and groups, IP ranges, and tens of thousands of activities spread over four months.

Everything is generated from a fixed random seed and anchored on the day the demo apps were
first created, so running seed_demo again produces the same events, which ingestion then counts
as duplicates: nothing changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.categories import ActivityType as T
from apps.activities.events import EventIn
from apps.activities.models import IpCategory, IpRange
from apps.connectors.models import AppInstance, InstanceStatus, Vendor
from apps.tenants.scoping import tenant_context

FIRST = [
    "Adele",
    "Alex",
    "Allan",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Dana",
    "Diego",
    "Eva",
    "Farah",
    "Finn",
    "Grace",
    "Hana",
    "Isaac",
    "Ivy",
    "Jamal",
    "Jana",
    "Jonas",
    "Kai",
    "Lara",
    "Leo",
    "Lina",
    "Lukas",
    "Maya",
    "Megan",
    "Mia",
    "Nadia",
    "Nina",
    "Noah",
    "Omar",
    "Oscar",
    "Paula",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tariq",
    "Tom",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Zoe",
]
LAST = [
    "Adams",
    "Bauer",
    "Bowen",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Gu",
    "Hansen",
    "Ito",
    "Jensen",
    "Kaur",
    "Khan",
    "Kim",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Silva",
    "Smith",
    "Tanaka",
    "Vance",
    "Weber",
    "Wilson",
    "Young",
    "Zhang",
]
DEPARTMENTS = ("Finance", "Engineering", "Sales", "Marketing", "HR", "Legal", "IT", "Support")
# Public addresses whose country the shipped geo database knows; offices and travel.
OFFICES = {"London": "81.2.69.142", "Berlin": "5.9.0.1", "New York": "8.8.8.8"}
TRAVEL = ("200.160.2.3", "1.1.1.1", "41.0.0.1", "185.220.101.1", "103.4.96.1", "177.11.0.1")
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
)
# (vendor, app name, operations: (action_type, activity_type, object_type, weight))
APPS = (
    (
        Vendor.OFFICE365,
        "Microsoft 365",
        (
            ("UserLoggedIn", T.LOGIN, "", 30),
            ("UserLoginFailed", T.FAILED_LOGIN, "", 3),
            ("FileDownloaded", T.DOWNLOAD, "File", 14),
            ("FileUploaded", T.UPLOAD, "File", 8),
            ("FileAccessed", T.VIEW, "File", 20),
            ("FileModified", T.EDIT, "File", 10),
            ("FileDeleted", T.DELETE, "File", 2),
            ("SharingSet", T.SHARE, "File", 3),
            ("AnonymousLinkCreated", T.SHARE, "File", 1),
            ("New-InboxRule", T.MAIL_FORWARDING, "Mailbox", 0.2),
            ("Add member to role.", T.ADMIN, "Role", 0.3),
        ),
    ),
    (
        Vendor.GOOGLE_WORKSPACE,
        "Google Workspace",
        (
            ("login_success", T.LOGIN, "", 20),
            ("login_failure", T.FAILED_LOGIN, "", 2),
            ("download", T.DOWNLOAD, "Document", 8),
            ("view", T.VIEW, "Document", 14),
            ("edit", T.EDIT, "Document", 8),
            ("change_user_access", T.SHARE, "Document", 2),
            ("password_edit", T.PASSWORD_CHANGE, "", 0.3),
        ),
    ),
    (
        Vendor.OKTA,
        "Okta",
        (
            ("user.session.start", T.LOGIN, "", 25),
            ("user.authentication.auth_via_mfa", T.LOGIN, "", 10),
            ("user.session.end", T.LOGOUT, "", 6),
            ("user.account.update_password", T.PASSWORD_CHANGE, "", 0.5),
            ("user.lifecycle.create", T.CREATE_USER, "User", 0.2),
        ),
    ),
    (
        Vendor.GITHUB,
        "GitHub",
        (
            ("git.clone", T.DOWNLOAD, "Repository", 10),
            ("repo.create", T.ADMIN, "Repository", 0.3),
            ("repo.access", T.PERMISSION_CHANGE, "Repository", 0.5),
            ("org.add_member", T.ADMIN, "Organization", 0.2),
        ),
    ),
)
FILES = (
    "Q3 forecast.xlsx",
    "Board deck.pptx",
    "Customer list.csv",
    "Payroll 2026.xlsx",
    "Roadmap.docx",
    "Contract - Northwind.pdf",
    "Architecture.vsdx",
    "Pricing.xlsx",
    "Incident report.docx",
    "casb-core",
    "billing-service",
)
DAYS = 120


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    department: str
    office: str
    apps: frozenset[str]
    status: str
    admin: bool


def people(domain: str, count: int, rng: random.Random) -> list[Person]:
    result, seen = [], set()
    while len(result) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}@{domain}".lower()
        if email in seen:
            continue
        seen.add(email)
        department = rng.choice(DEPARTMENTS)
        apps = {"Microsoft 365", "Okta"}
        if rng.random() < 0.6:
            apps.add("Google Workspace")
        if department in ("Engineering", "IT"):
            apps.add("GitHub")
        roll = rng.random()
        status = "deleted" if roll < 0.02 else "suspended" if roll < 0.04 else "active"
        result.append(
            Person(
                email=email,
                name=f"{first} {last}",
                department=department,
                office=rng.choice(tuple(OFFICES)),
                apps=frozenset(apps),
                status=status,
                admin=department == "IT" and rng.random() < 0.5,
            )
        )
    return result


def directory(staff: list[Person], app_name: str) -> tuple[list[AccountIn], list[GroupIn]]:
    groups = [GroupIn(external_id=f"grp-{d.lower()}", name=d) for d in DEPARTMENTS]
    groups.append(GroupIn(external_id="grp-admins", name="IT admins"))
    accounts = [
        AccountIn(
            external_id=f"{app_name[:3].lower()}-{p.email}",
            username=p.email,
            email=p.email,
            display_name=p.name,
            department=p.department,
            status=p.status,
            is_admin=p.admin,
            group_ids=[f"grp-{p.department.lower()}"] + (["grp-admins"] if p.admin else []),
        )
        for p in staff
        if app_name in p.apps
    ]
    return accounts, groups


def events(
    staff: list[Person], app_name: str, operations, start: datetime, rng: random.Random
) -> list[EventIn]:
    users = [p for p in staff if app_name in p.apps and p.status != "deleted"]
    names = [op[0] for op in operations]
    weights = [op[3] for op in operations]
    by_name = {op[0]: op for op in operations}
    result = []
    for day in range(DAYS):
        date = start + timedelta(days=day)
        busy = 1.0 if date.weekday() < 5 else 0.15
        for person in users:
            if rng.random() > 0.35 * busy:
                continue
            travelling = rng.random() < 0.04
            ip = rng.choice(TRAVEL) if travelling else OFFICES[person.office]
            agent = rng.choice(AGENTS)
            for n in range(rng.randint(1, 3)):
                action, category, object_type, _ = by_name[rng.choices(names, weights)[0]]
                when = date + timedelta(hours=rng.randint(7, 19), seconds=rng.randint(0, 3599))
                result.append(
                    EventIn(
                        source_event_id=f"{app_name[:3]}-{person.email}-{day}-{n}",
                        occurred_at=when,
                        action_type=action,
                        activity_type=category,
                        actor=person.email,
                        actor_external_id=f"{app_name[:3].lower()}-{person.email}",
                        actor_display_name=person.name,
                        ip=ip,
                        user_agent=agent,
                        succeeded=category != T.FAILED_LOGIN,
                        is_admin=category == T.ADMIN,
                        object_name=rng.choice(FILES) if object_type else "",
                        object_type=object_type,
                        object_id=f"obj-{rng.randint(1, 5000)}" if object_type else "",
                        raw={"Operation": action, "UserId": person.email, "ClientIP": ip},
                    )
                )
    return result


IP_RANGES = (
    ("London office", ["81.2.69.0/24"], IpCategory.CORPORATE, ["HQ"]),
    ("Berlin office", ["5.9.0.0/24"], IpCategory.CORPORATE, ["Branch"]),
    ("Remote access VPN", ["8.8.8.0/24", "2001:db8:100::/48"], IpCategory.VPN, ["VPN"]),
    ("Known Tor exits", ["185.220.101.0/24"], IpCategory.RISKY, ["Tor"]),
)


def seed_tenant(demo, tenant, domain: str, headcount: int, seed: int) -> None:
    from apps.accounts.services import sync_directory
    from apps.activities.ingestion import ingest
    from apps.activities.iprange_services import create_range

    rng = random.Random(seed)
    staff = people(domain, headcount, rng)
    with tenant_context(tenant):
        for name, cidrs, category, tags in IP_RANGES:
            if not IpRange.objects.filter(name=name).exists():
                create_range(
                    tenant=tenant, name=name, cidrs=cidrs, category=category, tags=tags, actor=None
                )
        total = 0
        for vendor, app_name, operations in APPS:
            instance, created = AppInstance.objects.get_or_create(
                name=f"{tenant.name} {app_name}",
                defaults={
                    "vendor": vendor,
                    "enabled": False,
                    "status": InstanceStatus.HEALTHY,
                    "status_detail": "Demo connection: imported once, not polled.",
                },
            )
            if created:
                instance.set_credentials({"demo": "not a real secret"})
                instance.save(update_fields=["credentials_sealed"])
            # Anchor on the first demo app's creation day so a re-run yields the same events.
            anchor = AppInstance.objects.order_by("created_at").first().created_at
            start = (anchor - timedelta(days=DAYS)).replace(
                hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC
            )
            accounts, groups = directory(staff, app_name)
            sync_directory(
                app_instance=instance, accounts=accounts, groups=groups, complete=True, now=anchor
            )
            if not created:  # imported by an earlier run (ingestion would only find duplicates)
                continue
            batch = events(staff, app_name, operations, start, random.Random(f"{seed}-{app_name}"))
            result = ingest(tenant=tenant, app_instance=instance, events=batch, source="connector")
            instance.last_success_at = anchor
            instance.save(update_fields=["last_success_at"])
            total += result.accepted
        demo.log(f"{tenant.name}: {len(staff)} people, {total} new activities")


def seed(demo) -> None:
    scale = settings.DEMO_SCALE
    seed_tenant(demo, demo.tenants["contoso"], "contoso.test", round(250 * scale), seed=2026)
    seed_tenant(demo, demo.tenants["fabrikam"], "fabrikam.test", round(40 * scale), seed=7)
