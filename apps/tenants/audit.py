"""The tamper-evident audit log: append and verify per-tenant hash chains.

`hash = SHA-256(prev_hash || canonical JSON of the record)`; the first record of a tenant's
chain has `prev_hash` of 64 zeros. Appends take a per-tenant lock so the chain never forks.

What protects the log, and what does not:
- On PostgreSQL a trigger refuses UPDATE always and DELETE unless the transaction opted in with
  `purge_allowed()` (migration 0002). A database superuser can still switch triggers off.
- `verify_chain` finds any changed, removed, reordered or inserted record *inside* the chain.
- A chain cannot show that its newest records were cut off, or that someone rebuilt it end to
  end with fresh hashes (there is no secret in the hash). The nightly task therefore anchors the
  verified head (`AuditAnchor` in the control-plane database, plus a log line meant for the
  SIEM); `verify_chain` checks the chain still holds every anchored head. Records written after
  the last anchor stay exposed to those two attacks until the next anchor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from .models import AuditAnchor, AuditEvent, Tenant
from .netaddr import client_ip
from .scoping import tenant_context

GENESIS = "0" * 64
PURGE_SETTING = "casb.audit_purge"

log = logging.getLogger(__name__)
anchor_log = logging.getLogger("casb.audit.anchor")


def _canonical_ip(value: str | None) -> str | None:
    """One spelling per address, so the hash does not depend on how the database prints it
    (PostgreSQL writes '::ffff:1.2.3.4' where Python 3.11 writes '::ffff:102:304')."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return str(value)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def canonical(event: AuditEvent) -> str:
    payload = {
        "tenant": str(event.tenant_id),
        "seq": event.seq,
        "created_at": event.created_at.astimezone(dt.UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "ip": _canonical_ip(event.ip),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


def _storable(value: Any) -> Any:
    """`value` as JSON the database keeps verbatim: PostgreSQL refuses NUL in text and jsonb,
    and an attacker-chosen string (a typed username, a path) must never make auditing fail."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def actor_fields(actor) -> tuple[int | None, str]:
    """(user id, label) of an actor: a user, an API token (for its creator), a label or None."""
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
    actor_id, actor_label = actor_fields(actor)
    if request is not None and ip is None:
        ip = client_ip(request)
        user = getattr(request, "user", None)
        if actor is None and user is not None and user.is_authenticated:
            actor_id, actor_label = actor_fields(user)
    object_type = object_id = ""
    if target is not None:
        object_type = target._meta.label_lower
        object_id = str(target.pk)
    # Round-trip details through JSON so the hash covers what the database stores.
    stored_details = _storable(json.loads(json.dumps(details or {}, default=str)))
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
                    actor_label=_storable(actor_label)[:254],
                    ip=_canonical_ip(ip),
                    action=action,
                    object_type=object_type,
                    object_id=object_id,
                    details=stored_details,
                    prev_hash=prev_hash,
                )
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
    head_seq: int = 0  # the last record read (the chain's head when `ok`)
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(tenant: Tenant) -> ChainReport:
    """Walk `tenant`'s chain in order; report the first record whose link or hash is wrong,
    or the first anchored head the chain no longer holds."""
    anchors = dict(
        AuditAnchor.objects.using("default").filter(tenant_id=tenant.id).values_list("seq", "hash")
    )
    tenant_id = str(tenant.id)
    prev_hash, expected_seq, count = GENESIS, 1, 0

    def broken(seq: int, reason: str) -> ChainReport:
        return ChainReport(tenant_id, count, seq, reason, expected_seq - 1, prev_hash)

    with tenant_context(tenant):
        for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
            count += 1
            if event.seq != expected_seq:
                return broken(expected_seq, f"record #{expected_seq} is missing")
            if event.prev_hash != prev_hash:
                return broken(event.seq, "link to previous broken")
            if chain_hash(prev_hash, event) != event.hash:
                return broken(event.seq, "content does not match hash")
            anchored = anchors.get(event.seq)
            if anchored is not None and anchored != event.hash:
                return broken(event.seq, "differs from the anchored head (chain rewritten)")
            prev_hash, expected_seq = event.hash, expected_seq + 1
    beyond = [seq for seq in anchors if seq >= expected_seq]
    if beyond:
        return broken(
            expected_seq,
            f"records #{expected_seq}..#{max(beyond)} are missing (anchored earlier)",
        )
    return ChainReport(tenant_id, count, None, "", expected_seq - 1, prev_hash)


def anchor_head(tenant: Tenant, report: ChainReport) -> AuditAnchor | None:
    """Remember the head of a chain that `report` found intact, in the control-plane database
    and in the log (`casb.audit.anchor`, to be shipped off the host). Idempotent."""
    if not report.ok or report.head_seq == 0:
        return None
    anchor_log.info(
        "audit head tenant=%s seq=%d hash=%s", tenant.id, report.head_seq, report.head_hash
    )
    existing = (
        AuditAnchor.objects.using("default")
        .filter(tenant_id=tenant.id, seq=report.head_seq)
        .first()
    )
    if existing is not None:
        return existing
    return AuditAnchor.objects.using("default").create(
        tenant_id=tenant.id, seq=report.head_seq, hash=report.head_hash
    )


@contextmanager
def purge_allowed(using: str) -> Iterator[None]:
    """Let the block DELETE audit rows (events, anchors) on database `using`.

    Only for tenant offboarding and retention. It runs the block in a transaction (a savepoint
    when nested) with `SET LOCAL casb.audit_purge = 'on'`, the one thing the append-only trigger
    accepts for a DELETE, and switches it off again on leaving; UPDATE stays refused. A purge
    that removes the oldest records of a chain must also keep a checkpoint of where the chain
    now starts, or `verify_chain` reports the purged records as missing. No-op on SQLite.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        postgres = connection.vendor == "postgresql"
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        yield
        # Not reached when the block raised: rolling the transaction back undoes the setting.
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [PURGE_SETTING])


def summarize_details(details: Any, limit: int = 160) -> str:
    """A one-line `key: value, ...` digest of an event's details for tables."""
    if not details:
        return ""
    if isinstance(details, dict):
        parts = []
        for key in sorted(details):
            value = details[key]
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True, default=str)
            parts.append(f"{key}: {value}")
        text = ", ".join(parts)
    else:
        text = json.dumps(details, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
