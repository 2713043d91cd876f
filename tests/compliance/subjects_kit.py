"""Test kit of the data-subject and account-cleanup tests: two people seeded into every model
that can hold personal data, and a scan of every tenant model for what identifies one of them.

Zedediah Quux (the subject) and Bob Builder (who must survive untouched) share a group, a
policy, an alert and a report; Zed alone used 203.0.113.77.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field

from django.db import models

from apps.accounts.models import Account, AccountStatus, CloudUser, GroupMembership
from apps.alerts.models import (
    AlertAccount,
    AlertActivity,
    AlertUser,
    DetectorState,
    MatchWindow,
    Policy,
)
from apps.compliance import crypto
from apps.compliance.inventory import tenant_models
from apps.discovery import anonymize
from apps.discovery.models import AppIpDay, AppUserDay, Report, Upload
from apps.dlp.models import SAMPLES_PURPOSE, FileRecord, Match
from apps.governance.models import GovernanceAction
from apps.tenants.routing import geo_aliases
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts.alertdata import default_policy, make_alert

ZED = "zed.quux@contoso.test"
ZED_NAME = "Zedediah Quux"
ZED_OKTA = "zquux-okta"
ZED_IP = "203.0.113.77"
BOB = "bob.builder@contoso.test"
BOB_IP = "198.51.100.5"


@dataclass
class World:
    zed: CloudUser
    bob: CloudUser
    zed_accounts: list[Account]
    bob_account: Account
    markers: list[str] = field(default_factory=list)  # what must not remain anywhere
    zed_files: list[FileRecord] = field(default_factory=list)
    bob_rows: dict[str, set] = field(default_factory=dict)  # "app.Model" -> ids to survive


def _activity(tenant, app, *, person, account, ip, **extra):
    [row] = logdata.add(
        tenant,
        [
            logdata.activity_row(
                app,
                logdata.base_time() - dt.timedelta(minutes=len(extra) + 1),
                user=person,
                account=account,
                actor=(account.username if account else extra.pop("actor", "")),
                ip=ip,
                user_agent=f"Agent of {account.username if account else 'nobody'}",
                raw={"UserId": account.username if account else "", **extra.pop("raw", {})},
                **extra,
            )
        ],
    )
    return row


def seed(tenant, *, zed_deleted_at: dt.datetime | None = None) -> World:
    """Both people everywhere; `zed_deleted_at`: Zed's Okta account was seen deleted then."""
    o365 = logdata.app(tenant, "Contoso 365")
    okta = logdata.app(tenant, "Okta", vendor="okta")
    zed = logdata.person(tenant, ZED, ZED_NAME, department="Finance")
    bob = logdata.person(tenant, BOB, "Bob Builder", department="Finance")
    zed_main = logdata.account(
        tenant, o365, zed, username=ZED, external_id="zq-ext-0001", display_name=ZED_NAME
    )
    deleted = {"status": AccountStatus.DELETED, "deleted_seen_at": zed_deleted_at}
    zed_okta = logdata.account(
        tenant,
        okta,
        zed,
        username=ZED_OKTA,
        external_id="zq-ext-0002",
        email=ZED,
        **(deleted if zed_deleted_at else {}),
    )
    bob_acc = logdata.account(tenant, o365, bob, username=BOB, external_id="bob-ext-1")
    group = logdata.group(tenant, "Finance team", [zed_main, zed_okta, bob_acc])
    world = World(zed=zed, bob=bob, zed_accounts=[zed_main, zed_okta], bob_account=bob_acc)

    zed_acts = [
        _activity(tenant, o365, person=zed, account=zed_main, ip=ZED_IP),
        _activity(tenant, o365, person=zed, account=zed_main, ip=ZED_IP, is_private=True),
        _activity(tenant, okta, person=zed, account=zed_okta, ip=ZED_IP, raw={"by": ZED_NAME}),
        _activity(tenant, okta, person=None, account=None, ip=ZED_IP, actor=ZED_OKTA),
    ]
    bob_acts = [_activity(tenant, o365, person=bob, account=bob_acc, ip=BOB_IP)]

    policy = default_policy(tenant)
    only_zed = make_alert(
        tenant, app=o365, person=zed, account=zed_main, ip=ZED_IP, title=f"Download by {ZED_NAME}"
    )
    shared = make_alert(
        tenant, app=o365, person=bob, account=bob_acc, ip=BOB_IP, title="Mass download"
    )
    bob_only = make_alert(tenant, app=o365, person=bob, account=bob_acc, ip=BOB_IP)
    with tenant_context(tenant):
        AlertUser.objects.create(alert=shared, user=zed)
        AlertAccount.objects.create(alert=shared, account=zed_okta)
        AlertActivity.objects.create(
            alert=shared, activity_id=zed_acts[2].id, occurred_at=zed_acts[2].occurred_at
        )
        shared.title = f"Mass download by {ZED_NAME} and Bob Builder"
        shared.description = f"{ZED} and {BOB} downloaded 900 files."
        shared.evidence = [f"{ZED_OKTA} from {ZED_IP}", f"{BOB} from {BOB_IP}"]
        shared.ips = [ZED_IP, BOB_IP]
        shared.comment = f"Asked {ZED_NAME} about it."
        shared.save()

        def action(account, person, label, ref):
            return GovernanceAction.objects.create(
                kind="suspend_user",
                source="manual",
                target_type="account",
                app_instance=account.app_instance,
                account=account,
                user=person,
                target_label=label,
                target_ref=ref,
                params={"notify": label},
                comment=f"Suspend {label}",
                initiated_by_label="alice",
            )

        zed_gov = action(zed_okta, zed, ZED, "zq-ext-0002")
        bob_gov = action(bob_acc, bob, BOB, "bob-ext-1")
        states = [
            DetectorState.objects.create(detector="travel", subject=f"u:{zed.pk}", data={"c": 1}),
            DetectorState.objects.create(detector="travel", subject=f"n:{ZED_OKTA}", data={}),
            DetectorState.objects.create(detector="bursts", subject=f"a:{zed_okta.pk}", data={}),
        ]
        bob_state = DetectorState.objects.create(
            detector="travel", subject=f"u:{bob.pk}", data={"c": 2}
        )
        MatchWindow.objects.create(
            policy=policy,
            subject="",
            times={f"u:{zed.pk}": [1.0], f"a:{zed_okta.pk}@{okta.pk}": [2.0], f"u:{bob.pk}": [3.0]},
        )
        Policy.objects.create(
            name="Watch one person",
            description=f"Raised for {ZED}",
            filters={"user": {"eq": [ZED]}},
        )
        report = Report.objects.create(name="Proxy", kind="snapshot", log_format="squid")
        Upload.objects.create(
            report=report,
            source="console",
            skip_samples=[{"file": "a.log", "line": f"garbled {ZED_OKTA} GET", "reason": "time"}],
        )
        pseudo = anonymize.Pseudonymizer(tenant)
        day = dt.datetime.now(dt.UTC).date()
        usage = [
            AppUserDay.objects.create(report=report, day=day, app="dropbox", user=ZED),
            AppUserDay.objects.create(
                report=report, day=day, app="box", user=pseudo.pseudonym(ZED_OKTA)
            ),
            AppIpDay.objects.create(report=report, day=day, app="dropbox", ip=ZED_IP),
        ]
        bob_usage = [
            AppUserDay.objects.create(report=report, day=day, app="dropbox", user=BOB),
            AppUserDay.objects.create(
                report=report, day=day, app="box", user=pseudo.pseudonym(BOB)
            ),
            AppIpDay.objects.create(report=report, day=day, app="dropbox", ip=BOB_IP),
        ]
        zed_files, bob_file = _files(tenant, o365, okta, zed, zed_main, zed_okta, bob, bob_acc)
        world.zed_files = zed_files
        world.markers = [
            "zed.quux",
            "zq-file",
            ZED_NAME.lower(),
            "zq-ext-",
            ZED_OKTA,
            ZED_IP,
            pseudo.pseudonym(ZED_OKTA),
            pseudo.pseudonym(ZED),
            str(zed.pk),
            *(str(a.pk) for a in world.zed_accounts),
            *(str(a.id) for a in zed_acts),
            str(only_zed.pk),
        ]
        del states, usage, zed_gov
        world.bob_rows = {
            "accounts.CloudUser": {bob.pk},
            "accounts.Account": {bob_acc.pk},
            "accounts.GroupMembership": set(
                GroupMembership.objects.filter(account=bob_acc).values_list("pk", flat=True)
            ),
            "accounts.UserGroup": {group.pk},
            "activities.Activity": {a.id for a in bob_acts},
            "alerts.Alert": {shared.pk, bob_only.pk},
            "alerts.AlertUser": set(
                AlertUser.objects.filter(user=bob).values_list("pk", flat=True)
            ),
            "governance.GovernanceAction": {bob_gov.pk},
            "alerts.DetectorState": {bob_state.pk},
            "discovery.AppUserDay": {u.pk for u in bob_usage[:2]},
            "discovery.AppIpDay": {bob_usage[2].pk},
            "dlp.FileRecord": {bob_file.pk},
            "dlp.Match": set(Match.objects.filter(file=bob_file).values_list("pk", flat=True)),
        }
    return world


def _files(tenant, o365, okta, zed, zed_main, zed_okta, bob, bob_acc):
    """Zed's files: linked to him and his main account, to his Okta account, and named only by
    his Okta username (a proxy's user, other case); Bob's: linked to him. Two with a match."""

    def record(name, app, owner, user=None, account=None, matched=True):
        row = FileRecord.objects.create(
            source="app" if app else "icap",
            app_instance=app,
            external_id=f"ext-{uid()}" if app else "",
            name=name,
            owner=owner,
            owner_user=user,
            owner_account=account,
            location=f"/drive/{owner}/" if app else "https://files.example.test/upload",
            scanned_at=dt.datetime.now(dt.UTC),
            match_count=2 if matched else 0,
            matched_types=["payment_card"] if matched else [],
        )
        if matched:
            samples = [{"evidence": "#### #### #### ####", "context": f"card of {owner}"}]
            Match.objects.create(
                file=row,
                type_key="payment_card",
                type_label="Credit card number",
                count=2,
                confidence="high",
                samples_sealed=crypto.seal(
                    tenant.id, json.dumps(samples).encode(), SAMPLES_PURPOSE
                ),
            )
        return row

    zed_files = [
        record("zq-file budget.xlsx", o365, ZED, zed, zed_main),
        record("zq-file users.csv", okta, ZED_OKTA, None, zed_okta),
        record("zq-file upload.txt", None, ZED_OKTA.upper(), matched=False),
    ]
    return zed_files, record("plan of bob.docx", o365, BOB, bob, bob_acc)


def _text_columns(model) -> list[str]:
    kinds = (
        models.CharField,
        models.TextField,
        models.JSONField,
        models.GenericIPAddressField,
        models.UUIDField,
        models.ForeignKey,
    )
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, kinds) and not f.primary_key and f.attname != "tenant_id"
    ]


def leftovers(tenant, markers: list[str]) -> list[str]:
    """Every "alias:app.Model.column = value" of the tenant holding one of `markers`."""
    found = []
    lowered = [m.lower() for m in markers]
    for alias in sorted(geo_aliases()):
        for model in tenant_models():
            columns = _text_columns(model)
            rows = model.unscoped_objects.using(alias).filter(tenant_id=tenant.id)
            for row in rows.values("pk", *columns):
                for column in columns:
                    text = str(row[column]).lower()
                    hits = [m for m in lowered if m in text]
                    if hits:
                        found.append(f"{alias}:{model._meta.label}.{column} ~ {hits[0]}")
    return found


def surviving(tenant, expected: dict[str, set]) -> dict[str, set]:
    """Of `expected` ("app.Model" -> ids), the ids that are gone (must be empty)."""
    missing = {}
    for model in tenant_models():
        ids = expected.get(model._meta.label)
        if not ids:
            continue
        there = set(
            model.unscoped_objects.using(tenant.db_alias)
            .filter(tenant_id=tenant.id, pk__in=ids)
            .values_list("pk", flat=True)
        )
        if ids - there:
            missing[model._meta.label] = ids - there
    return missing


def uid() -> str:
    return uuid.uuid4().hex[:8]


def work(tenant) -> list[str]:
    """What the worker does after a console or API request: run the tenant's pending
    data-subject requests (`compliance.run_subject_request`), oldest first; their statuses."""
    from apps.compliance import subjects
    from apps.compliance.models import SubjectRequest

    with tenant_context(tenant):
        pending = SubjectRequest.objects.filter(status="pending").order_by("created_at")
        return [
            subjects.run_request(tenant, str(pk)) for pk in pending.values_list("pk", flat=True)
        ]


def lone_person(tenant, who: str, deleted_at, *, with_file: bool = False):
    """A person whose only account (in an app of their own) was seen deleted at `deleted_at`,
    with one activity naming the account in its object (a OneDrive-like path) and, with
    `with_file`, one file record they own. Returns (person, account)."""
    app = logdata.app(tenant, f"Box {len(who)}")
    person = logdata.person(tenant, f"{who}@contoso.test", who.title())
    account = logdata.account(
        tenant,
        app,
        person,
        username=f"{who}-login",
        external_id=f"{who}-ext-9",
        status=AccountStatus.DELETED,
        deleted_seen_at=deleted_at,
    )
    logdata.add(
        tenant,
        [
            logdata.activity_row(
                app,
                logdata.base_time(),
                user=person,
                account=account,
                actor=f"{who}-login",
                ip="192.0.2.99",
                object_name=f"/personal/{who}-login/notes.txt",
            )
        ],
    )
    if with_file:
        with tenant_context(tenant):
            FileRecord.objects.create(
                source="app", app_instance=app, external_id=f"doc-{len(who)}", name="notes.txt",
                owner=f"{who}@contoso.test", owner_user=person, owner_account=account,
            )  # fmt: skip
    return person, account
