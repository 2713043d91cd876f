"""Tenant offboarding: cancel, reactivate during the grace period, and delete for good.

Cancelling keeps everything for `TENANT_DELETION_GRACE_DAYS` (the tenant's admins can still sign
in, export the whole data set and reactivate). When the grace period is over, `delete_tenant`
removes every row of the tenant in every database and then destroys its data keys, so whatever
copy is left elsewhere (backups, old exports sealed with the tenant key, spool files) can no
longer be read (crypto-shredding).

The deletion is restartable: its `TenantDeletion` record is written first (with the tenant's
slug and geo, so a restart needs nothing else), counts are added after every batch, the keys go
last but one (the tenant row itself is the very last thing) and the record is finished at the
end. A run killed half-way is carried on by the next `delete_due_tenants` sweep, and so is a run
that finds, just before destroying the keys, a row written meanwhile (`DeletionIncomplete`).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable
from datetime import timedelta
from importlib import import_module

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.discovery import spool
from apps.tenants import audit
from apps.tenants.models import (
    ApiToken,
    AuditAnchor,
    AuditEvent,
    Membership,
    Tenant,
    TenantStatus,
)
from apps.tenants.routing import _alias_cache, geo_aliases
from apps.tenants.tasking import OutOfTime

from . import crypto
from .inventory import tenant_models
from .models import TenantDeletion

log = logging.getLogger(__name__)


class OffboardingError(ValueError):
    """The tenant is not in a state that allows this step (a 409 in the API)."""


class DeletionIncomplete(RuntimeError):
    """Rows of the tenant appeared during its deletion; the keys are kept for the next run."""


# --- Cancel and reactivate ---------------------------------------------------------------------


def cancel(*, tenant: Tenant, actor, confirm_slug: str, request=None) -> Tenant:
    """Cancel the subscription: the data and keys are deleted after the grace period.

    `confirm_slug` must be the tenant's slug, typed by the admin (a guard against a mistaken
    click on the wrong tenant).
    """
    if confirm_slug.strip() != tenant.slug:
        raise OffboardingError("Type the tenant's slug exactly to confirm the cancellation.")
    with transaction.atomic(using="default"):
        locked = Tenant.objects.using("default").select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.ACTIVE:
            raise OffboardingError(f"The tenant is {locked.get_status_display().lower()}.")
        now = timezone.now()
        locked.status = TenantStatus.CANCELLED
        locked.cancelled_at = now
        locked.delete_after = now + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
        locked.save(update_fields=["status", "cancelled_at", "delete_after"])
    tenant.status, tenant.cancelled_at = locked.status, locked.cancelled_at
    tenant.delete_after = locked.delete_after
    audit.record(
        tenant,
        "offboarding.cancel",
        actor=actor,
        request=request,
        target=tenant,
        details={
            "delete_after": tenant.delete_after.isoformat(),
            "grace_days": settings.TENANT_DELETION_GRACE_DAYS,
        },
    )
    return tenant


def reactivate(*, tenant: Tenant, actor, request=None) -> Tenant:
    """Undo a cancellation during the grace period: nothing will be deleted."""
    with transaction.atomic(using="default"):
        locked = Tenant.objects.using("default").select_for_update().get(pk=tenant.pk)
        if locked.status != TenantStatus.CANCELLED:
            raise OffboardingError("Only a cancelled tenant can be reactivated.")
        if TenantDeletion.objects.using("default").filter(tenant_id=tenant.pk).exists():
            raise OffboardingError("The deletion of this tenant has already started.")
        was_due = locked.delete_after
        locked.status = TenantStatus.ACTIVE
        locked.cancelled_at = locked.delete_after = None
        locked.save(update_fields=["status", "cancelled_at", "delete_after"])
    tenant.status, tenant.cancelled_at, tenant.delete_after = locked.status, None, None
    audit.record(
        tenant,
        "offboarding.reactivate",
        actor=actor,
        request=request,
        target=tenant,
        details={"was_due": was_due.isoformat() if was_due else None},
    )
    return tenant


# --- Deletion ----------------------------------------------------------------------------------


def deletion_order(candidates: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """`candidates` with every model before the models its database foreign keys point to.

    Each batch commits on its own, so a parent row may only go once no child refers to it.
    Self-references are cleared beforehand (`_clear_self_references`), so they do not count.
    """
    pending = list(candidates)
    parents = {
        model: {
            field.related_model
            for field in model._meta.concrete_fields
            if field.is_relation
            and field.db_constraint
            and field.related_model is not model
            and field.related_model in pending
        }
        for model in pending
    }
    ordered: list[type[models.Model]] = []
    while pending:
        # A model may go once no remaining model points at it.
        ready = [m for m in pending if not any(m in parents[o] for o in pending if o is not m)]
        if not ready:
            raise RuntimeError(f"foreign-key cycle among {[m._meta.label for m in pending]}")
        for model in sorted(ready, key=lambda m: m._meta.label):
            ordered.append(model)
            pending.remove(model)
    return ordered


def _clear_self_references(alias: str, model: type[models.Model], tenant_id: uuid.UUID) -> None:
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model is model and field.null:
            model.unscoped_objects.using(alias).filter(tenant_id=tenant_id).exclude(
                **{field.attname: None}
            ).update(**{field.attname: None})


def _leaves(alias: str, model: type[models.Model]) -> list[str]:
    """The PostgreSQL tables holding `model`'s rows: its leaf partitions, or its table."""
    connection = connections[alias]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) WHERE isleaf",
            [connection.ops.quote_name(table)],
        )
        leaves = [row[0] for row in cursor.fetchall()]  # regclass text: quoted as needed
    return leaves or [connection.ops.quote_name(table)]


def _delete_in_batches(alias: str, model: type[models.Model], tenant_id: uuid.UUID) -> int:
    """DELETE the tenant's rows of `model` on `alias`, a bounded batch per transaction.

    Raw SQL by tenant_id, table by table (every day partition of the activities is a table of
    its own): no rows are loaded and no signals run.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        sql = f"DELETE FROM {table} WHERE {pk} IN (SELECT {pk} FROM {table} WHERE tenant_id = %s LIMIT %s)"  # noqa: E501, S608
        return _repeat(alias, model, sql, [tenant_id.hex, settings.RETENTION_BATCH_SIZE])
    return sum(_delete_leaf(alias, model, leaf, tenant_id) for leaf in _leaves(alias, model))


def _delete_leaf(alias: str, model, leaf: str, tenant_id: uuid.UUID) -> int:
    """Empty one PostgreSQL table of the tenant's rows.

    Few rows: batches picked through the tenant_id index and deleted by row id. Many rows: the
    table is walked in ranges of physical blocks (a TID range scan each), so the work stays
    linear; picking batches by index would re-read the dead rows of every earlier batch.
    """
    batch = settings.RETENTION_BATCH_SIZE
    # Only table names from the catalogue (regclass text, quoted as needed) are formatted in.
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {leaf} WHERE tenant_id = %s LIMIT %s) s",  # noqa: S608
            [tenant_id, batch * 20],
        )
        few = cursor.fetchone()[0] < batch * 20
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", [leaf]
        )
        blocks = cursor.fetchone()[0]
    if few:
        sql = f"DELETE FROM {leaf} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {leaf} WHERE tenant_id = %s LIMIT %s))"  # noqa: E501, S608
        return _repeat(alias, model, sql, [tenant_id, batch])
    step = max(1, batch // 50)  # ~50 rows per 8 kB block
    sql = f"DELETE FROM {leaf} WHERE tenant_id = %s AND ctid >= %s::tid AND ctid < %s::tid"  # noqa: S608
    removed = sum(
        _once(alias, model, sql, [tenant_id, f"({start},0)", f"({start + step},0)"])
        for start in range(0, blocks, step)
    )
    # Rows written past the end measured above (the tenant is closed, so hardly any).
    tail = f"DELETE FROM {leaf} WHERE tenant_id = %s AND ctid >= %s::tid"  # noqa: S608
    return removed + _once(alias, model, tail, [tenant_id, f"({blocks},0)"])


def _once(alias: str, model, sql: str, params: list) -> int:
    # Audit rows: the append-only trigger lets offboarding through, nobody else.
    guard = audit.purge_allowed(alias) if model is AuditEvent else transaction.atomic(using=alias)
    with guard, connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _repeat(alias: str, model, sql: str, params: list) -> int:
    """Run a LIMITed DELETE until a batch comes back short."""
    removed = 0
    while True:
        count = _once(alias, model, sql, params)
        removed += count
        if count < params[-1]:
            return removed


def _start(tenant_id: uuid.UUID, due_at) -> TenantDeletion | None:
    """The deletion's record: an unfinished one to carry on, or a new one (written first).

    With `due_at`, a tenant not cancelled or not due by then is left alone (None): it may have
    been reactivated since the sweep listed it.
    """
    with transaction.atomic(using="default"):
        record = (
            TenantDeletion.objects.using("default")
            .filter(tenant_id=tenant_id, finished_at__isnull=True)
            .first()
        )
        if record is not None:
            return record
        tenant = Tenant.objects.using("default").select_for_update().get(pk=tenant_id)
        if due_at is not None and not (
            tenant.status == TenantStatus.CANCELLED
            and tenant.delete_after is not None
            and tenant.delete_after <= due_at
        ):
            return None
        record = TenantDeletion.objects.using("default").create(
            tenant_id=tenant.pk,
            slug=tenant.slug,
            geo=tenant.geo,
            cancelled_at=tenant.cancelled_at,
            started_at=timezone.now(),
        )
        # Closed from now on: a half-deleted tenant must not be used (nor reactivated).
        tenant.status = TenantStatus.SUSPENDED
        tenant.save(update_fields=["status"])
    return record


def _remaining(
    aliases: list[str], ordered: list[type[models.Model]], tenant_id: uuid.UUID
) -> list[str]:
    """ "alias:label" of every tenant model that still holds a row of the tenant."""
    return [
        f"{alias}:{model._meta.label}"
        for alias in aliases
        for model in ordered
        if model.unscoped_objects.using(alias).filter(tenant_id=tenant_id).exists()
    ]


def _add(record: TenantDeletion, label: str, count: int) -> None:
    if count:
        record.counts[label] = record.counts.get(label, 0) + count
        record.save(update_fields=["counts"])


def _delete_control_plane(record: TenantDeletion, tenant_id: uuid.UUID) -> None:
    with audit.purge_allowed("default"):
        _delete(record, AuditAnchor, tenant_id=tenant_id)
    _delete(record, ApiToken, tenant_id=tenant_id)
    # Portal accounts that belonged to this tenant only go with it (they hold a name and an
    # email address and could sign in to nothing); staff accounts stay. Done while their
    # membership still exists, so a restart finds them again.
    User = get_user_model()
    members = Membership.objects.using("default").filter(tenant_id=tenant_id).values("user_id")
    elsewhere = Membership.objects.using("default").exclude(tenant_id=tenant_id).values("user_id")
    orphans = User.objects.using("default").filter(pk__in=members, is_staff=False)
    orphans = orphans.filter(is_superuser=False).exclude(pk__in=elsewhere)
    gone = list(orphans.values_list("pk", "username", "email"))
    # Their sign-in records (names typed, addresses) and sessions go first, while the
    # accounts still exist to name them (a restart finds them again).
    _delete_sign_ins(record, gone)
    _delete(record, User, pk__in=[pk for pk, _, _ in gone])
    _delete(record, Membership, tenant_id=tenant_id)
    tenant_type = ContentType.objects.db_manager("default").get_for_model(Tenant)
    for perm_model in (UserObjectPermission, GroupObjectPermission):
        _delete(record, perm_model, content_type=tenant_type, object_pk=str(tenant_id))


def _delete_sign_ins(record: TenantDeletion, users: list[tuple]) -> None:
    """Delete the sign-in records (django-axes) and the sessions of `users` (pk, username,
    email): a sign-in is logged under the name as typed, so names match in any case."""
    if not users:
        return
    names = {str(value).lower() for _, *values in users for value in values if value}
    # Never a name another (remaining) user signs in with: their lockout counter is theirs.
    gone = [pk for pk, _, _ in users]
    for values in (
        get_user_model()
        .objects.using("default")
        .exclude(pk__in=gone)
        .values_list("username", "email")
        .iterator()
    ):
        names -= {str(value).lower() for value in values if value}
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        typed = model.objects.using("default").alias(typed=Lower("username"))
        pks = list(typed.filter(typed__in=names).values_list("pk", flat=True))
        _delete(record, model, pk__in=pks)
    # A session holds its user's id only inside its encoded data: decode each one, live or
    # expired (those stay until `clearsessions`), as `end_other_sessions` does.
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    get_model = getattr(store_class, "get_model_class", None)
    if get_model is None:  # sessions not in the database: nothing stored to delete
        return
    ids = {str(pk) for pk, _, _ in users}
    ended = 0
    for session in get_model().objects.using("default").iterator():
        if str(session.get_decoded().get("_auth_user_id")) in ids:
            store_class(session_key=session.session_key).delete()
            ended += 1
    _add(record, get_model()._meta.label, ended)


def _delete(record: TenantDeletion, model: type[models.Model], **lookup) -> None:
    """Delete matching control-plane rows (with what cascades) and count them per model."""
    _, per_model = model._default_manager.using("default").filter(**lookup).delete()
    for label, count in per_model.items():
        if count:
            record.counts[label] = record.counts.get(label, 0) + count
    record.save(update_fields=["counts"])


def delete_tenant(*, tenant_id: uuid.UUID, due_at=None) -> TenantDeletion | None:
    """Delete every row of the tenant in every database, then destroy its keys. Restartable.

    With `due_at` (the sweep) only a tenant cancelled and due by then is deleted (else None);
    without it (the operator command) any tenant is. A run killed half-way is carried on by
    calling it again: the unfinished record says it was started.
    """
    record = _start(tenant_id, due_at)
    if record is None:
        return None
    aliases = sorted(geo_aliases() | {"default"})
    ordered = deletion_order(tenant_models())
    for alias in aliases:
        for model in ordered:
            _clear_self_references(alias, model, tenant_id)
            _add(record, model._meta.label, _delete_in_batches(alias, model, tenant_id))
    _delete_control_plane(record, tenant_id)
    shutil.rmtree(spool.tenant_dir(tenant_id), ignore_errors=True)
    # One more pass before the keys go: work that ran while this did (a task started before
    # the tenant was closed) may have written a row after its table's pass.
    left = _remaining(aliases, ordered, tenant_id)
    if left:
        raise DeletionIncomplete(
            f"rows of tenant {tenant_id} were written during its deletion ({', '.join(left)}); "
            "the next sweep carries on"
        )
    # Last but one: until here a restart could still need the keys (nothing does after this).
    record.keys_destroyed += crypto.destroy_tenant_keys(tenant_id)
    record.save(update_fields=["keys_destroyed"])
    _delete(record, Tenant, pk=tenant_id)
    _alias_cache.pop(tenant_id, None)  # this process's routing cache: the id is gone
    record.finished_at = timezone.now()
    record.save(update_fields=["finished_at"])
    log.info(
        "tenant %s (%s) deleted: %d rows, %d keys destroyed",
        record.slug,
        record.tenant_id,
        sum(record.counts.values()),
        record.keys_destroyed,
    )
    return record


def due_tenant_ids(now=None) -> list[uuid.UUID]:
    """Tenants to delete now: cancelled past their date, and deletions killed half-way."""
    now = now or timezone.now()
    due = set(
        Tenant.objects.using("default")
        .filter(status=TenantStatus.CANCELLED, delete_after__lte=now)
        .values_list("pk", flat=True)
    )
    due |= set(
        TenantDeletion.objects.using("default")
        .filter(finished_at__isnull=True)
        .values_list("tenant_id", flat=True)
    )
    return sorted(due)


def delete_due_tenants(now=None) -> int:
    """Beat: delete every tenant whose grace period is over; returns how many were deleted."""
    now = now or timezone.now()
    deleted = 0
    for tenant_id in due_tenant_ids(now):
        try:
            record = delete_tenant(tenant_id=tenant_id, due_at=now)
        except OutOfTime:
            raise  # the task's time is up: the deletion is restartable, the next run carries on
        except Exception:  # one tenant's failure must not stop the others; retried next run
            log.exception("deleting tenant %s failed; the next sweep carries on", tenant_id)
            continue
        deleted += record is not None
    return deleted
