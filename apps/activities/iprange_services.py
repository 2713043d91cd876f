"""Writes of the tenant's named IP ranges (Settings > IP ranges, and /api/v1/ip-ranges/).

Rules enforced here, whichever form or endpoint calls in:
- each CIDR is an IPv4 or IPv6 network ("192.0.2.0/24", "2001:db8::/32"; a bare address is a
  /32 or /128; host bits are cleared; an IPv4-mapped IPv6 network is stored as IPv4);
- names are unique per tenant (case-insensitive);
- ranges never overlap: a CIDR that holds, or lies inside, a CIDR of another range is refused
  with a message naming that range (spec 9.2); CIDRs of one range may not overlap either;
- every change is written to the audit log and drops the tenant's compiled range table.

Changing a range does not rewrite activities already stored: their IP category and tags are
what was true when they were ingested. New activities use the new ranges at once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connections, transaction

from apps.tenants import audit
from apps.tenants.models import Tenant

from . import enrichment
from .models import IpCategory, IpRange

MAX_CIDRS = 500
MAX_TAGS = 20
MAX_TAG_LENGTH = 60

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_cidr(value: str) -> Network:
    """One CIDR, normalised; raises ValueError with a readable message."""
    text = str(value).strip()
    if not text:
        raise ValueError("An empty CIDR.")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise ValueError(f"“{text[:60]}” is not an IPv4 or IPv6 CIDR (e.g. 192.0.2.0/24).") from exc
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


def clean_cidrs(values: Iterable[str]) -> list[Network]:
    """Parse and check a range's own CIDRs; errors name each bad entry."""
    networks: list[Network] = []
    errors: list[str] = []
    for value in values:
        try:
            network = parse_cidr(value)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        clash = next((n for n in networks if _overlap(n, network)), None)
        if clash is not None:
            errors.append(f"{network} overlaps {clash} in this list.")
            continue
        networks.append(network)
    if errors:
        raise ValidationError({"cidrs": errors})
    if not networks:
        raise ValidationError({"cidrs": ["Give at least one CIDR."]})
    if len(networks) > MAX_CIDRS:
        raise ValidationError({"cidrs": [f"At most {MAX_CIDRS} CIDRs per range."]})
    return networks


def clean_tags(values: Iterable[str]) -> list[str]:
    tags: list[str] = []
    seen: set[str] = set()
    for value in values:
        tag = " ".join(str(value).split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError({"tags": [f"A tag has at most {MAX_TAG_LENGTH} characters."]})
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": [f"At most {MAX_TAGS} tags per range."]})
    return tags


def _overlap(a: Network, b: Network) -> bool:
    return a.version == b.version and a.overlaps(b)


def _lock_ranges(tenant: Tenant) -> None:
    """Serialise range changes of one tenant, so two overlapping saves cannot both pass."""
    connection = connections[tenant.db_alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"ip-ranges:{tenant.id}"],
            )


def _check(
    *,
    name: str,
    cidrs: Iterable[str],
    category: int,
    tags: Iterable[str],
    isp_override: str,
    exclude: IpRange | None = None,
) -> dict:
    """Validated, normalised fields; raises ValidationError({field: [messages]})."""
    errors: dict[str, list[str]] = {}
    name = " ".join(str(name or "").split())
    if not name:
        errors["name"] = ["Give the range a name."]
    elif len(name) > 120:
        errors["name"] = ["A name has at most 120 characters."]
    try:
        category = int(category)
    except (TypeError, ValueError):
        category = None
    if category not in IpCategory.values:
        errors["category"] = ["Pick a category."]
    isp_override = " ".join(str(isp_override or "").split())
    if len(isp_override) > 200:
        errors["isp_override"] = ["At most 200 characters."]
    networks: list[Network] = []
    clean: list[str] = []
    try:
        networks = clean_cidrs(cidrs)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        clean = clean_tags(tags)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    others = IpRange.objects.all()
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if name and "name" not in errors and others.filter(name__iexact=name).exists():
        errors["name"] = [f"A range named “{name}” already exists."]
    if networks:
        clashes = []
        for other in others.only("name", "cidrs"):
            for raw in other.cidrs or []:
                try:
                    theirs = parse_cidr(raw)
                except ValueError:
                    continue
                for mine in networks:
                    if _overlap(mine, theirs):
                        clashes.append(f"{mine} overlaps {theirs} of the range “{other.name}”.")
        if clashes:
            errors.setdefault("cidrs", []).extend(clashes)
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "cidrs": [str(n) for n in networks],
        "category": category,
        "tags": clean,
        "isp_override": isp_override,
    }


def _snapshot(ip_range: IpRange) -> dict:
    return {
        "name": ip_range.name,
        "cidrs": list(ip_range.cidrs),
        "category": ip_range.category,
        "tags": list(ip_range.tags),
        "isp_override": ip_range.isp_override,
    }


def _invalidate_on_commit(tenant: Tenant) -> None:
    enrichment.invalidate(tenant.id)
    transaction.on_commit(lambda: enrichment.invalidate(tenant.id), using=tenant.db_alias)


def create_range(
    *,
    tenant: Tenant,
    actor,
    name: str,
    cidrs: Iterable[str],
    category: int,
    tags: Iterable[str] = (),
    isp_override: str = "",
    request=None,
) -> IpRange:
    """Create a named range in the current tenant (inside `tenant_context(tenant)`)."""
    with transaction.atomic(using=tenant.db_alias):
        _lock_ranges(tenant)
        fields = _check(
            name=name,
            cidrs=cidrs,
            category=category,
            tags=tags,
            isp_override=isp_override,
        )
        ip_range = IpRange.objects.create(**fields)
        audit.record(
            tenant,
            "ip_range.created",
            actor=actor,
            request=request,
            target=ip_range,
            details=fields,
        )
        _invalidate_on_commit(tenant)
    return ip_range


def update_range(
    *,
    tenant: Tenant,
    ip_range: IpRange,
    actor,
    request=None,
    **changes,
) -> IpRange:
    """Change any of name, cidrs, category, tags, isp_override; audited when something changed."""
    unknown = set(changes) - {"name", "cidrs", "category", "tags", "isp_override"}
    if unknown:
        raise TypeError(f"Unknown fields: {sorted(unknown)}")
    with transaction.atomic(using=tenant.db_alias):
        _lock_ranges(tenant)
        ip_range = IpRange.objects.select_for_update().get(pk=ip_range.pk)
        before = _snapshot(ip_range)
        fields = _check(**{**before, **changes}, exclude=ip_range)
        if fields == before:
            return ip_range
        for key, value in fields.items():
            setattr(ip_range, key, value)
        ip_range.save(update_fields=[*fields, "updated_at"])
        changed = {key: {"from": before[key], "to": value} for key, value in fields.items()}
        audit.record(
            tenant,
            "ip_range.updated",
            actor=actor,
            request=request,
            target=ip_range,
            details={
                "name": ip_range.name,
                "changes": {k: v for k, v in changed.items() if v["from"] != v["to"]},
            },
        )
        _invalidate_on_commit(tenant)
    return ip_range


def delete_range(*, tenant: Tenant, ip_range: IpRange, actor, request=None) -> None:
    """Delete a range; activities already tagged with it keep their category and tags."""
    with transaction.atomic(using=tenant.db_alias):
        _lock_ranges(tenant)
        details = _snapshot(ip_range)
        audit.record(
            tenant,
            "ip_range.deleted",
            actor=actor,
            request=request,
            target=ip_range,
            details=details,
        )
        IpRange.objects.filter(pk=ip_range.pk).delete()
        _invalidate_on_commit(tenant)


def ranges_of(tenant: Tenant):
    """The tenant's ranges by name (reads; call inside the tenant's context)."""
    return IpRange.objects.order_by("name")
