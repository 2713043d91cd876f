"""Helpers of the file policy tests: policies made through the service, files through the scan."""

from __future__ import annotations

from apps.accounts.models import Account, CloudUser, GroupMembership, UserGroup
from apps.connectors.models import AppInstance
from apps.dlp import policy_services
from apps.dlp.models import FileSource
from apps.dlp.services import FileMeta, scan_file
from apps.tenants.scoping import tenant_context

CARD = "4111 1111 1111 1111"
CARDS = "Payment run. Cards: " + ", ".join([CARD, "5555 5555 5555 4444", "4012888888881881"])
AWS = "deploy key AKIAIOSFODNN7EXAMPLE for the build\n"


def make(tenant, **values):
    values.setdefault("name", "Cards anywhere")
    values.setdefault("filters", {"sensitive_types": ["payment_card"]})
    return policy_services.create_policy(tenant=tenant, actor=None, **values)


def scan(tenant, name="invoice.txt", text=CARDS, source=FileSource.API, now=None, **meta):
    with tenant_context(tenant):
        return scan_file(
            name=name, data=text.encode(), source=source, meta=FileMeta(**meta), now=now
        )


def app(tenant, name="Drive", vendor="google_workspace") -> AppInstance:
    with tenant_context(tenant):
        return AppInstance.objects.create(vendor=vendor, name=name)


def owner(tenant, instance, email: str) -> Account:
    with tenant_context(tenant):
        person = CloudUser.objects.create(identity=email, email=email)
        return Account.objects.create(
            app_instance=instance, user=person, external_id=email, username=email, email=email
        )


def group(tenant, instance, name: str, *accounts) -> UserGroup:
    with tenant_context(tenant):
        made = UserGroup.objects.create(app_instance=instance, external_id=name, name=name)
        for account in accounts:
            GroupMembership.objects.create(group=made, account=account)
        return made
