"""Checks every request to a tenant passes before its view runs, console and API alike:
tenant status, the portal access policy (networks, countries) and the tenant's MFA requirement.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .models import Tenant, TenantStatus
from .netaddr import client_ip, country_of


@dataclass(frozen=True)
class Denial:
    code: str  # machine-readable: tenant_inactive, network_not_allowed, country_not_allowed
    message: str


def networks_allow(networks: list[str], ip: str | None) -> bool:
    if not networks:
        return True
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for cidr in networks:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except (TypeError, ValueError):
            continue  # a malformed stored entry allows nothing (and must not turn into a 500)
        if address.version == network.version and address in network:
            return True
    return False


def countries_allow(countries: list[str], ip: str | None) -> bool:
    if not countries:
        return True
    return country_of(ip) in {c.upper() for c in countries}


class CollectionStopped(Exception):
    """New data was offered for a tenant whose subscription does not run (a 409 in the API)."""


def collection_stopped(tenant: Tenant) -> str | None:
    """Why no new data is taken for `tenant` (its subscription does not run), or None.

    The status is read from the database, not from `tenant`: long-running work (the syslog
    collector, a poll, a file scan, a queued task) holds a Tenant loaded before a cancellation.
    """
    status = (
        Tenant.objects.using("default")
        .filter(pk=tenant.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status == TenantStatus.ACTIVE:
        return None
    if status is None:
        return f"{tenant.name} no longer exists: no new data is collected."
    return (
        f"The subscription of {tenant.name} is {TenantStatus(status).label.lower()}: "
        "no new data is collected."
    )


def refuse_when_collection_stopped(tenant: Tenant) -> None:
    """Raise `CollectionStopped` (with the reason) unless `tenant` takes new data."""
    stopped = collection_stopped(tenant)
    if stopped:
        raise CollectionStopped(stopped)


def access_denial(tenant: Tenant, ip: str | None) -> Denial | None:
    """Why a request from `ip` may not use `tenant`, or None when it may."""
    # A cancelled tenant stays reachable through its grace period, so its admins can take their
    # data away or reactivate; a suspended one is closed.
    if tenant.status == TenantStatus.SUSPENDED:
        return Denial("tenant_inactive", f"This tenant is {tenant.get_status_display().lower()}.")
    if not networks_allow(tenant.allowed_networks, ip):
        return Denial(
            "network_not_allowed",
            f"Your address {ip or 'unknown'} is outside the networks this tenant allows.",
        )
    if not countries_allow(tenant.allowed_countries, ip):
        country = country_of(ip) or "an unknown country"
        return Denial(
            "country_not_allowed",
            f"Sign-ins from {country} (address {ip}) are not allowed for this tenant.",
        )
    return None


def request_denial(request, tenant: Tenant) -> Denial | None:
    """`access_denial` for a request; a refusal is written to the tenant's audit log."""
    ip = client_ip(request)
    denial = access_denial(tenant, ip)
    if denial is not None and denial.code != "tenant_inactive":
        from . import audit

        audit.record(
            tenant,
            "access.denied",
            request=request,
            details={"reason": denial.code, "path": request.path[:200]},
        )
    return denial


def mfa_satisfied(request, tenant: Tenant) -> bool:
    """True unless the tenant requires MFA and this session has not passed a second factor."""
    if not tenant.require_mfa:
        return True
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())
