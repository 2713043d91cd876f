"""Bulk resolution of activity actors to Accounts and CloudUsers, for ingestion.

An event names its actor by the app's account id (`actor_external_id`) and/or a user name
(UPN, email, login). Per app instance, an actor is the account with that external id; failing
that, the account whose user name, email or external id equals the name (case-insensitive).
An actor seen in activities but not (yet) in the directory becomes an account of that app
(spec 1.7, status "N/A" until the directory sync says more) and, when its name is an address,
joins the person (CloudUser) with that identity, created if need be.

Everything is done per batch with a handful of queries, never one per event, and remembered
for the rest of the ingestion call. Rows created for a batch only enter that memory once the
batch is committed (`commit()`); a batch that rolls back calls `discard()`, so a retry never
points at an account that no longer exists.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connections
from django.db.models import Q
from django.db.models.functions import Lower

from apps.tenants.scoping import current_tenant

from .identity import identity_key
from .models import Account, AccountStatus, CloudUser

# (external id as sent, user name lower-cased): what identifies an actor within one app.
ActorKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Resolved:
    account_id: uuid.UUID | None
    user_id: uuid.UUID | None


NOBODY = Resolved(None, None)


@dataclass(slots=True)
class ActorIn:
    external_id: str
    name: str
    display_name: str = ""


def actor_key(external_id: str, name: str) -> ActorKey:
    return (external_id.strip(), name.strip().lower())


class ActorResolver:
    """Actors of one app instance -> (account id, person id), for one ingestion call.

    Runs inside the tenant's context (the managers are tenant-scoped and geo-routed).
    Last-seen times are kept in memory and written back by `flush_last_seen()` now and then
    rather than once per batch: they are a summary, not the record, and rewriting thousands of
    account rows per batch would cost more than the batch itself.
    """

    def __init__(self, app_instance):
        self.app_instance = app_instance
        self._known: dict[ActorKey, Resolved] = {}
        self._pending: dict[ActorKey, Resolved] = {}
        self._seen_accounts: dict[uuid.UUID, datetime] = {}
        self._seen_users: dict[uuid.UUID, datetime] = {}
        self._pending_seen: list[tuple[Resolved, datetime]] = []

    # --- Resolution --------------------------------------------------------------------------

    def get(self, key: ActorKey) -> Resolved:
        found = self._known.get(key)
        if found is None:
            found = self._pending.get(key, NOBODY)
        return found

    def resolve(self, actors: dict[ActorKey, ActorIn]) -> None:
        """Make `get()` answer for every key of `actors`, creating what is missing."""
        missing = {
            key: actor
            for key, actor in actors.items()
            if key not in self._known and key not in self._pending and (key[0] or key[1])
        }
        if not missing:
            return
        found = self._find_accounts(missing)
        to_create = {key: actor for key, actor in missing.items() if key not in found}
        users = self._users_for(
            {identity_key(a.name): a for a in missing.values() if identity_key(a.name)}
        )
        for key, (account_id, account_user_id) in found.items():
            user_id = account_user_id or users.get(identity_key(missing[key].name))
            self._pending[key] = Resolved(account_id, user_id)
        if to_create:
            created = self._create_accounts(to_create, users)
            for key, resolved in created.items():
                self._pending[key] = resolved

    def _find_accounts(
        self, missing: dict[ActorKey, ActorIn]
    ) -> dict[ActorKey, tuple[uuid.UUID, uuid.UUID | None]]:
        base = Account.objects.filter(app_instance=self.app_instance)
        found: dict[ActorKey, tuple[uuid.UUID, uuid.UUID | None]] = {}
        by_id = {key[0]: key for key in missing if key[0]}
        if by_id:
            for pk, external_id, user_id in base.filter(external_id__in=list(by_id)).values_list(
                "id", "external_id", "user_id"
            ):
                found[by_id[external_id]] = (pk, user_id)
        by_name: dict[str, list[ActorKey]] = {}
        for key in missing:
            if key not in found and key[1]:
                by_name.setdefault(key[1], []).append(key)
        if by_name:
            names = list(by_name)
            rows = (
                base.annotate(u=Lower("username"), e=Lower("email"), x=Lower("external_id"))
                .filter(Q(u__in=names) | Q(e__in=names) | Q(x__in=names))
                .order_by("created_at")
                .values_list("id", "user_id", "u", "e", "x")
            )
            for pk, user_id, *spellings in rows:
                for spelling in spellings:
                    for key in by_name.get(spelling, ()):
                        found.setdefault(key, (pk, user_id))
        return found

    def _users_for(self, by_identity: dict[str, ActorIn]) -> dict[str, uuid.UUID]:
        """Person ids for these identities, creating the missing people."""
        if not by_identity:
            return {}
        wanted = list(by_identity)
        users = dict(CloudUser.objects.filter(identity__in=wanted).values_list("identity", "id"))
        new = [
            CloudUser(
                identity=identity,
                email=identity,
                display_name=(by_identity[identity].display_name or "")[:200],
            )
            for identity in wanted
            if identity not in users
        ]
        if new:
            # A concurrent ingestion may create the same person: ignore, then read back.
            insert_ignoring_conflicts(CloudUser, new)
            users.update(
                CloudUser.objects.filter(identity__in=[u.identity for u in new]).values_list(
                    "identity", "id"
                )
            )
        return users

    def _create_accounts(
        self, to_create: dict[ActorKey, ActorIn], users: dict[str, uuid.UUID]
    ) -> dict[ActorKey, Resolved]:
        # One account per external id; actors known only by a name share the account of an
        # actor with the same name in this batch (the app sent its id on some events only).
        by_external: dict[str, Account] = {}
        key_to_external: dict[ActorKey, str] = {}
        named: dict[str, str] = {}
        for key in sorted(to_create, key=lambda k: not k[0]):  # keys with an id first
            actor = to_create[key]
            external_id = key[0] or named.get(key[1]) or actor.name.strip()
            key_to_external[key] = external_id
            if key[1]:
                named.setdefault(key[1], external_id)
            if external_id in by_external:
                continue
            identity = identity_key(actor.name)
            by_external[external_id] = Account(
                app_instance=self.app_instance,
                external_id=external_id[:200],
                username=actor.name.strip()[:254],
                email=identity,
                display_name=(actor.display_name or "")[:200],
                status=AccountStatus.NA,
                user_id=users.get(identity),
            )
        insert_ignoring_conflicts(Account, list(by_external.values()))
        stored = {
            external_id: (pk, user_id)
            for pk, external_id, user_id in Account.objects.filter(
                app_instance=self.app_instance,
                external_id__in=[a.external_id for a in by_external.values()],
            ).values_list("id", "external_id", "user_id")
        }
        resolved = {}
        for key, external_id in key_to_external.items():
            pk, user_id = stored[external_id[:200]]
            resolved[key] = Resolved(pk, user_id or users.get(identity_key(to_create[key].name)))
        return resolved

    # --- Batch outcome -----------------------------------------------------------------------

    def saw(self, resolved: Resolved, when: datetime) -> None:
        """Remember that the actor acted at `when` (kept only if the batch commits)."""
        self._pending_seen.append((resolved, when))

    def commit(self) -> None:
        self._known.update(self._pending)
        self._pending.clear()
        for resolved, when in self._pending_seen:
            _keep_newest(self._seen_accounts, resolved.account_id, when)
            _keep_newest(self._seen_users, resolved.user_id, when)
        self._pending_seen.clear()

    def discard(self) -> None:
        self._pending.clear()
        self._pending_seen.clear()

    def flush_last_seen(self, alias: str) -> None:
        """Write the remembered last-seen times (only ever moving them forward)."""
        _advance(alias, Account, self._seen_accounts, first_seen=False)
        _advance(alias, CloudUser, self._seen_users, first_seen=True)
        self._seen_accounts.clear()
        self._seen_users.clear()

    @property
    def unflushed(self) -> int:
        return len(self._seen_accounts) + len(self._seen_users)


# Field types psycopg adapts as they are; others go through the field's own conversion.
_NATIVE = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
    "UUIDField",
}


def insert_ignoring_conflicts(model, objs: list) -> None:
    """`bulk_create(objs, ignore_conflicts=True)` for tenant-owned rows, fast on PostgreSQL.

    Django's bulk_create binds one parameter per field per row, and quoting tens of thousands
    of them costs more than the insert itself. On PostgreSQL this sends one array per column
    instead: `INSERT ... SELECT * FROM unnest(...) ON CONFLICT DO NOTHING`. Columns come from
    the model, so a field added later is written too (with its default if left unset).
    """
    if not objs:
        return
    tenant = current_tenant()
    connection = connections[tenant.db_alias]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, ignore_conflicts=True)
        return
    fields = model._meta.concrete_fields
    for obj in objs:
        obj.tenant_id = tenant.id
        for field in fields:
            field.pre_save(obj, add=True)  # auto_now(_add) times
    columns, arrays, casts = [], [], []
    for field in fields:
        values = [getattr(obj, field.attname) for obj in objs]
        if field.get_internal_type() not in _NATIVE:
            values = [field.get_db_prep_save(value, connection) for value in values]
        columns.append(connection.ops.quote_name(field.column))
        casts.append(f"%s::{field.db_type(connection)}[]")
        arrays.append(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(columns)}) SELECT * FROM unnest({', '.join(casts)}) "
            "ON CONFLICT DO NOTHING",
            arrays,
        )


def _keep_newest(seen: dict[uuid.UUID, datetime], pk: uuid.UUID | None, when: datetime) -> None:
    if pk is not None:
        current = seen.get(pk)
        if current is None or when > current:
            seen[pk] = when


def _advance(alias: str, model, seen: dict[uuid.UUID, datetime], *, first_seen: bool) -> None:
    if not seen:
        return
    table = model._meta.db_table
    items = list(seen.items())
    if connections[alias].vendor == "postgresql":
        first = ", first_seen = COALESCE(t.first_seen, v.ts)" if first_seen else ""
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET last_seen = v.ts{first} "  # noqa: S608 (our names)
                "FROM unnest(%s::uuid[], %s::timestamptz[]) AS v(id, ts) "
                "WHERE t.id = v.id AND (t.last_seen IS NULL OR t.last_seen < v.ts)",
                [[pk for pk, _ in items], [when for _, when in items]],
            )
        return
    # SQLite (the demo): small volumes, plain ORM updates.
    for pk, when in items:
        rows = model.objects.filter(pk=pk).filter(Q(last_seen__isnull=True) | Q(last_seen__lt=when))
        rows.update(last_seen=when)
        if first_seen:
            model.objects.filter(pk=pk, first_seen__isnull=True).update(first_seen=when)
