"""Writes of the accounts app: the directory sync of a connected app.

`sync_directory` makes the app instance's accounts, groups and memberships what the app listed,
joins each account to its person (CloudUser, by `identity_key(email, username)`, created when
new), and copies the app's profile (name, email, department) onto the person, so a change made
in the app shows after the next sync. With a complete listing, accounts the app no longer lists
are marked deleted in the app, with the time that was first seen; an account listed again is
active again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.tenants.models import Tenant
from apps.tenants.scoping import current_tenant_or_none, tenant_context

from .directory import AccountIn, GroupIn
from .identity import identity_key
from .models import Account, AccountStatus, CloudUser, GroupMembership, UserGroup

ACCOUNT_FIELDS = ("username", "email", "display_name", "department", "status", "is_admin")
LIMITS = {"username": 254, "email": 254, "display_name": 200, "department": 200}


@dataclass
class SyncResult:
    """What one directory sync changed (counts)."""

    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_deleted: int = 0  # newly seen deleted in the app
    accounts_reactivated: int = 0
    people_created: int = 0
    people_updated: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    groups_removed: int = 0
    memberships_added: int = 0
    memberships_removed: int = 0


def _clean(account: AccountIn) -> dict:
    values = {
        "username": (account.username or "").strip(),
        "email": (account.email or "").strip(),
        "display_name": (account.display_name or "").strip(),
        "department": (account.department or "").strip(),
        "status": account.status if account.status in AccountStatus.values else "active",
        "is_admin": bool(account.is_admin),
    }
    for name, limit in LIMITS.items():
        values[name] = values[name][:limit]
    return values


def sync_directory(
    *,
    app_instance,
    accounts: Iterable[AccountIn],
    groups: Iterable[GroupIn],
    complete: bool,
    now: datetime | None = None,
) -> SyncResult:
    """Upsert what the app listed; see the module docstring. Idempotent."""
    current = current_tenant_or_none()
    if current is not None and current.id != app_instance.tenant_id:
        raise ValueError("sync_directory() called inside another tenant's context.")
    tenant = current or Tenant.objects.get(pk=app_instance.tenant_id)
    now = now or timezone.now()
    listed_accounts: dict[str, AccountIn] = {}
    for item in accounts:
        if item.external_id:
            listed_accounts[str(item.external_id)[:200]] = item
    listed_groups: dict[str, GroupIn] = {}
    for group in groups:
        if group.external_id:
            listed_groups[str(group.external_id)[:200]] = group
    result = SyncResult()
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        group_ids = _sync_groups(app_instance, listed_groups, complete, result)
        account_ids = _sync_accounts(app_instance, listed_accounts, complete, now, result)
        _sync_memberships(app_instance, listed_accounts, account_ids, group_ids, result)
    return result


def _sync_groups(app_instance, listed: dict[str, GroupIn], complete: bool, result) -> dict:
    existing = {g.external_id: g for g in UserGroup.objects.filter(app_instance=app_instance)}
    new, changed = [], []
    for external_id, item in listed.items():
        name = (item.name or external_id).strip()[:200]
        description = (item.description or "").strip()[:500]
        group = existing.get(external_id)
        if group is None:
            group = UserGroup(
                tenant_id=app_instance.tenant_id,
                app_instance=app_instance,
                external_id=external_id,
                name=name,
                description=description,
            )
            new.append(group)
            existing[external_id] = group
        elif (group.name, group.description) != (name, description):
            group.name, group.description = name, description
            changed.append(group)
    if new:
        UserGroup.objects.bulk_create(new)
    if changed:
        UserGroup.objects.bulk_update(changed, ["name", "description"])
    result.groups_created, result.groups_updated = len(new), len(changed)
    if complete:
        gone = [g.pk for key, g in existing.items() if key not in listed]
        if gone:
            UserGroup.objects.filter(pk__in=gone).delete()
            result.groups_removed = len(gone)
        existing = {k: g for k, g in existing.items() if k in listed}
    return {key: group.pk for key, group in existing.items()}


def _people(tenant_id, values_by_id: dict[str, dict], accounts: dict[str, Account], result):
    """identity -> CloudUser id for every listed account that has an address: the person is
    created if new, and gets the app's profile."""
    identities = {ext: identity_key(v["email"], v["username"]) for ext, v in values_by_id.items()}
    wanted = {i for i in identities.values() if i}
    people = {p.identity: p for p in CloudUser.objects.filter(identity__in=wanted)}
    dirty: dict[uuid.UUID, CloudUser] = {}
    # An address changed in the app: move the person to the new address when nobody holds it
    # and the person has no other account, so their history stays in one place.
    movable = {
        ext: identity
        for ext, identity in identities.items()
        if identity
        and identity not in people
        and accounts.get(ext) is not None
        and accounts[ext].user_id is not None
    }
    if movable:
        owners = {accounts[ext].user_id for ext in movable}
        lone = {
            p.pk: p
            for p in CloudUser.objects.filter(pk__in=owners)
            .annotate(n=Count("accounts"))
            .filter(n=1)
            .exclude(identity__in=wanted)
        }
        for ext, identity in movable.items():
            person = lone.pop(accounts[ext].user_id, None)
            if person is not None and identity not in people:
                person.identity = identity
                people[identity] = dirty[person.pk] = person
    missing = wanted - set(people)
    if missing:
        # ignore_conflicts: ingestion may create the same person at the same moment.
        CloudUser.objects.bulk_create(
            [CloudUser(tenant_id=tenant_id, identity=i, email=i) for i in missing],
            ignore_conflicts=True,
        )
        created = {p.identity: p for p in CloudUser.objects.filter(identity__in=missing)}
        people.update(created)
        result.people_created = len(created)
    for ext, identity in identities.items():
        if not identity:
            continue
        person, values = people[identity], values_by_id[ext]
        updates = {
            # Only what the app knows: an app without departments does not erase another's.
            "display_name": values["display_name"],
            "email": values["email"] or identity,
            "department": values["department"],
        }
        for field, value in updates.items():
            if value and getattr(person, field) != value:
                setattr(person, field, value)
                dirty[person.pk] = person
    if dirty:
        CloudUser.objects.bulk_update(
            list(dirty.values()), ["identity", "display_name", "email", "department"]
        )
    result.people_updated = len([p for p in dirty.values() if p.identity not in missing])
    return {ext: people[identity].pk for ext, identity in identities.items() if identity}


def _sync_accounts(app_instance, listed: dict[str, AccountIn], complete: bool, now, result):
    existing = {a.external_id: a for a in Account.objects.filter(app_instance=app_instance)}
    values_by_id = {ext: _clean(item) for ext, item in listed.items()}
    _adopt_activity_accounts(existing, values_by_id)
    person_of = _people(app_instance.tenant_id, values_by_id, existing, result)
    new, changed = [], []
    for ext, values in values_by_id.items():
        account = existing.get(ext)
        user_id = person_of.get(ext)
        deleted = values["status"] == AccountStatus.DELETED
        if account is None:
            account = Account(
                tenant_id=app_instance.tenant_id,
                app_instance=app_instance,
                external_id=ext,
                user_id=user_id,
                synced_at=now,
                deleted_seen_at=now if deleted else None,
                **values,
            )
            new.append(account)
            existing[ext] = account
            continue
        before = [getattr(account, f) for f in (*ACCOUNT_FIELDS, "user_id", "external_id")]
        was_deleted = account.status == AccountStatus.DELETED
        for field in ACCOUNT_FIELDS:
            setattr(account, field, values[field])
        account.user_id = user_id if user_id is not None else account.user_id
        account.external_id = ext
        if deleted and account.deleted_seen_at is None:
            account.deleted_seen_at = now
            result.accounts_deleted += 1
        elif not deleted and was_deleted:
            account.deleted_seen_at = None
            result.accounts_reactivated += 1
        account.synced_at = now
        if before != [getattr(account, f) for f in (*ACCOUNT_FIELDS, "user_id", "external_id")]:
            result.accounts_updated += 1
        changed.append(account)
    if new:
        # ignore_conflicts: ingestion may create an account for the same actor meanwhile;
        # the next sync brings it up to date.
        Account.objects.bulk_create(new, ignore_conflicts=True)
        stored = dict(
            Account.objects.filter(
                app_instance=app_instance, external_id__in=[a.external_id for a in new]
            ).values_list("external_id", "pk")
        )
        for account in new:
            account.pk = stored.get(account.external_id, account.pk)
    if changed:
        Account.objects.bulk_update(
            changed, [*ACCOUNT_FIELDS, "user", "external_id", "synced_at", "deleted_seen_at"]
        )
    result.accounts_created = len(new)
    if complete:
        # Accounts first seen in activities (never synced) are not in any directory listing:
        # external collaborators, for one. Only accounts the directory listed before go.
        gone = (
            Account.objects.filter(app_instance=app_instance, synced_at__isnull=False)
            .exclude(external_id__in=list(listed))
            .exclude(status=AccountStatus.DELETED)
        )
        result.accounts_deleted += gone.update(
            status=AccountStatus.DELETED, deleted_seen_at=now, synced_at=now
        )
    return {ext: account.pk for ext, account in existing.items() if ext in listed}


def _adopt_activity_accounts(existing: dict[str, Account], values_by_id: dict[str, dict]) -> None:
    """Ingestion creates an account for an actor it meets before the directory does, keyed by
    whatever the event named (often the UPN). Give such an account the directory's id rather
    than creating a second account for the same person."""
    orphans: dict[str, Account] = {}
    for account in existing.values():
        if account.synced_at is None:
            for name in (account.external_id, account.username, account.email):
                if name:
                    orphans.setdefault(name.lower(), account)
    claimed: set[uuid.UUID] = set()
    for ext, values in values_by_id.items():
        if ext in existing or not orphans:
            continue
        for name in (values["username"], values["email"]):
            account = orphans.get(name.lower()) if name else None
            if account is not None and account.pk not in claimed:
                claimed.add(account.pk)
                existing.pop(account.external_id, None)
                existing[ext] = account
                break


def _sync_memberships(app_instance, listed, account_ids: dict, group_ids: dict, result) -> None:
    wanted = {
        (group_ids[gid], account_ids[ext])
        for ext, item in listed.items()
        if ext in account_ids
        for gid in dict.fromkeys(str(g)[:200] for g in item.group_ids)
        if gid in group_ids
    }
    current = {
        (g, a): pk
        for pk, g, a in GroupMembership.objects.filter(
            account_id__in=list(account_ids.values())
        ).values_list("pk", "group_id", "account_id")
    }
    stale = [pk for pair, pk in current.items() if pair not in wanted]
    if stale:
        GroupMembership.objects.filter(pk__in=stale).delete()
    added = [
        GroupMembership(tenant_id=app_instance.tenant_id, group_id=g, account_id=a)
        for g, a in wanted - set(current)
    ]
    GroupMembership.objects.bulk_create(added, ignore_conflicts=True)
    result.memberships_added, result.memberships_removed = len(added), len(stale)
