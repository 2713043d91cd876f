"""The tamper-evident audit log: append and verify per-tenant hash chains.

`hash = SHA-256(prev_hash || canonical JSON of the record)`; the first record of a tenant's
chain has `prev_hash` of 64 zeros. Appends take a per-tenant lock so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from .models import AuditEvent, Tenant
from .netaddr import client_ip
from .scoping import tenant_context

GENESIS = "0" * 64


def canonical(event: AuditEvent) -> str:
    payload = {
        "tenant": str(event.tenant_id),
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "ip": event.ip,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def _actor_fields(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    created_by = getattr(actor, "created_by", None)
    if created_by is not None:  # an API token acts for its creator
        return created_by.pk, f"{created_by.get_username()} (token {actor.name})"
    return actor.pk, actor.get_username()


def _lock_chain(alias: str, tenant: Tenant) -> None:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [str(tenant.id)]
            )


def record(
    tenant: Tenant,
    action: str,
    *,
    actor=None,
    request=None,
    target=None,
    details: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event to `tenant`'s chain. `actor` is a user, an ApiToken, a label or None."""
    actor_id, actor_label = _actor_fields(actor)
    if request is not None and ip is None:
        ip = client_ip(request)
        user = getattr(request, "user", None)
        if actor is None and user is not None and user.is_authenticated:
            actor_id, actor_label = _actor_fields(user)
    object_type = object_id = ""
    if target is not None:
        object_type = target._meta.label_lower
        object_id = str(target.pk)
    for attempt in range(5):
        try:
            with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
                _lock_chain(tenant.db_alias, tenant)
                last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
                seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
                event = AuditEvent(
                    tenant_id=tenant.id,
                    seq=seq,
                    created_at=timezone.now(),
                    actor_id=actor_id,
                    actor_label=actor_label[:254],
                    ip=ip,
                    action=action,
                    object_type=object_type,
                    object_id=object_id,
                    details=details or {},
                    prev_hash=prev_hash,
                )
                # Round-trip details through JSON so the hash covers what the database stores.
                event.details = json.loads(json.dumps(event.details, default=str))
                event.hash = chain_hash(prev_hash, event)
                event.save(force_insert=True)
                return event
        except IntegrityError:  # a concurrent append took this seq (SQLite has no advisory lock)
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ChainReport:
    tenant_id: str
    records: int
    first_broken_seq: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(tenant: Tenant) -> ChainReport:
    """Walk `tenant`'s chain in order; report the first record whose link or hash is wrong."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    with tenant_context(tenant):
        for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
            count += 1
            if event.seq != expected_seq:
                return ChainReport(
                    str(tenant.id), count, expected_seq, f"record #{expected_seq} is missing"
                )
            if event.prev_hash != prev_hash:
                return ChainReport(str(tenant.id), count, event.seq, "link to previous broken")
            if chain_hash(prev_hash, event) != event.hash:
                return ChainReport(str(tenant.id), count, event.seq, "content does not match hash")
            prev_hash, expected_seq = event.hash, expected_seq + 1
    return ChainReport(str(tenant.id), count, None)
