"""Appending to the outbox: what producers call at the end of their transaction.

`append(kind, refs)` records one `OutboxEvent` numbered from the tenant's `OutboxSequence`. The
sequence row is bumped with an UPDATE, which locks it until the producer commits: two producers
of one tenant therefore commit their events in number order, and a destination's cursor (the
last number it received) can never pass a number that is still to commit. Callers make it the
last statement of their transaction so the lock is held for as short a time as possible.

Nothing is appended while the tenant has no enabled destination receiving that kind: the
outbox costs nothing to tenants without integrations, and a destination starts at the tenant's
current number when it is created (SIEM agents back-fill two days from the tables themselves).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F

from apps.tenants.scoping import current_tenant

from .models import Destination, OutboxEvent, OutboxSequence

MAX_REFS = 5000  # an ingestion chunk is smaller; a bigger list is split into several events


def receiving_kinds() -> set[str]:
    """The data kinds at least one enabled destination of the current tenant receives."""
    kinds: set[str] = set()
    for data_kinds in Destination.objects.filter(enabled=True).values_list("data_kinds", flat=True):
        kinds.update(data_kinds or ())
    return kinds


def current_seq() -> int:
    """The number of the current tenant's newest event (0 before the first)."""
    return OutboxSequence.objects.values_list("value", flat=True).first() or 0


def append(kind: str, refs: Iterable, *, receivers: set[str] | None = None) -> int:
    """Record the things a transaction produced (ids); returns the events written.

    `receivers` is `receiving_kinds()` when the caller already has it.
    """
    refs = [str(ref) for ref in refs]
    if not refs:
        return 0
    if kind not in (receivers if receivers is not None else receiving_kinds()):
        return 0
    tenant = current_tenant()
    chunks = [refs[i : i + MAX_REFS] for i in range(0, len(refs), MAX_REFS)]
    counter = OutboxSequence.objects.all()
    if not counter.update(value=F("value") + len(chunks)):
        # First event of the tenant (destination services create the row beforehand, so two
        # producers racing to create it is the rare case; the unique constraint settles it).
        OutboxSequence.objects.get_or_create(tenant_id=tenant.id)
        counter.update(value=F("value") + len(chunks))
    last = counter.values_list("value", flat=True).get()
    first = last - len(chunks) + 1
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(tenant_id=tenant.id, seq=first + offset, kind=kind, refs=chunk)
            for offset, chunk in enumerate(chunks)
        ]
    )
    return len(chunks)
