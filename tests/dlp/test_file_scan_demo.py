"""The content inspection demo: file policies first, then files of the demo's connected apps with
matches, every sharing level, and two not scanned; seeding again changes nothing."""

from __future__ import annotations

import pytest

from apps.accounts.models import Account, CloudUser
from apps.alerts.models import Alert, Policy, PolicyKind
from apps.connectors.models import AppInstance, Vendor
from apps.dlp import demo as dlp_demo
from apps.dlp.models import AccessLevel, FileRecord, Match, ScanStatus, Verdict
from apps.tenants.management.commands.seed_demo import Demo
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db(databases="__all__")


def _tenant(name: str, geo: str, domain: str):
    tenant = make_tenant(name, geo=geo, slug=name.lower())
    with tenant_context(tenant):
        for vendor, label in (
            (Vendor.OFFICE365, "Microsoft 365"),
            (Vendor.GOOGLE_WORKSPACE, "Drive"),
        ):
            app = AppInstance.objects.create(vendor=vendor, name=f"{name} {label}")
            for person in ("ann.lee", "bob.kim", "cat.diaz"):
                user, _ = CloudUser.objects.get_or_create(
                    identity=f"{person}@{domain}",
                    defaults={"email": f"{person}@{domain}", "display_name": person},
                )
                Account.objects.create(
                    app_instance=app,
                    external_id=f"{vendor}-{person}",
                    email=f"{person}@{domain}",
                    username=f"{person}@{domain}",
                    user=user,
                )
    return tenant


def _rows(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(
            FileRecord.objects.order_by("external_id").values_list(
                "external_id",
                "name",
                "size",
                "sha256",
                "verdict",
                "scan_status",
                "scan_reason",
                "match_count",
                "matched_types",
                "access_level",
                "external_domains",
                "owner",
                "scanned_at",
                "modified_in_app_at",
            )
        )


def test_the_demo_scans_files_with_matches_and_a_second_run_changes_nothing():
    contoso = _tenant("Contoso", "eu", "contoso.test")
    fabrikam = _tenant("Fabrikam", "us", "fabrikam.test")
    lines: list[str] = []
    demo = Demo(tenants={"contoso": contoso, "fabrikam": fabrikam}, log=lines.append)
    dlp_demo.seed(demo)
    first = (_rows(contoso), _rows(fabrikam))
    dlp_demo.seed(demo)
    assert (_rows(contoso), _rows(fabrikam)) == first
    assert len(first[0]) == len(dlp_demo.FILES) and len(first[1]) == len(dlp_demo.FABRIKAM_FILES)
    assert lines[-2:] == [
        "Contoso: 0 files scanned in the connected apps",
        "Fabrikam: 0 files scanned in the connected apps",
    ]

    with tenant_context(contoso):
        policies = Policy.objects.filter(kind=PolicyKind.FILE)
        assert policies.count() == 2
        card_policy = policies.get(name=dlp_demo.POLICIES[0]["name"])
        assert card_policy.filters["sensitive_types"] == ["payment_card"]
        assert card_policy.tuning == {"alert": True, "block": True}
        assert card_policy.category == "dlp" and card_policy.governance == []
        records = {r.name: r for r in FileRecord.objects.all()}
        found = {t for r in records.values() for t in r.matched_types}
        assert {"payment_card", "iban", "us_ssn", "aws_access_key"} <= found
        assert {r.access_level for r in records.values()} == set(AccessLevel.values)
        assert sum(r.verdict == Verdict.CLEAN for r in records.values()) >= 10
        assert records["Customer refunds March.csv"].matched_types == ["payment_card"]
        assert records["Customer refunds March.csv"].external_domains == ["northwind.example"]
        # The policies existed before the scans: the shared card files matched and alerted.
        assert records["Customer refunds March.csv"].matched_policies == [str(card_policy.pk)]
        assert records["Travel booking.docx"].matched_policies == []  # private
        assert Alert.objects.filter(policy=card_policy).count() >= 2
        big = records["Video recordings archive.zip"]
        assert big.status_text == "not scanned: too large" and big.size == 80 * 1024 * 1024
        locked = records["Salaries 2026.xlsx"]
        assert locked.status_text == "not scanned: encrypted"
        assert all(r.owner_account_id and r.owner_user_id for r in records.values())
        assert {r.app_instance.vendor for r in records.values()} == {
            Vendor.GOOGLE_WORKSPACE,
            Vendor.OFFICE365,
        }
        assert Match.objects.count() == sum(len(r.matched_types) for r in records.values())
        assert not FileRecord.objects.filter(scan_status=ScanStatus.PENDING).exists()
    # Fabrikam's files stay in its geo (US).
    assert FileRecord.unscoped_objects.using("geo_us").filter(tenant_id=fabrikam.id).count() == 8


def test_the_demo_files_are_the_same_bytes_every_time():
    for spec in dlp_demo.FILES:
        assert dlp_demo.content(spec) == dlp_demo.content(spec), spec.name
