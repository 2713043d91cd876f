"""The portal access policy of a tenant: parsing, the self-lock-out check and the save service.

The policy (require MFA, allowed networks, allowed countries) is enforced per request by
`gate.py`; this module decides what may be stored. Console forms and any future API both call
`save_portal_policy`, so the lock-out rule cannot be skipped by choosing another entry point.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import pycountry
from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit
from .gate import countries_allow, networks_allow
from .models import Tenant
from .netaddr import country_of

MAX_NETWORKS = 500
MAX_COUNTRIES = 250
_SEPARATORS = re.compile(r"[\s,;]+")


def country_name(code: str) -> str:
    """The English short name of an ISO 3166-1 alpha-2 code ('GB' -> 'United Kingdom')."""
    country = pycountry.countries.get(alpha_2=code.upper())
    return country.name if country is not None else code


def country_choices() -> list[tuple[str, str]]:
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


def parse_networks(text: str) -> list[str]:
    """One CIDR network or single address per line (v4 or v6) -> normalised, deduplicated list.

    Host bits are cleared ('10.1.2.3/8' -> '10.0.0.0/8'); a bare address becomes a /32 or /128.
    Raises ValidationError naming every bad line.
    """
    networks: list[str] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            network = ipaddress.ip_network(line, strict=False)
        except ValueError:
            errors.append(f"Line {number}: “{line[:60]}” is not a network (CIDR) or address.")
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(
            ipaddress.IPv6Network("::ffff:0:0/96")
        ):
            # Requests from IPv4-mapped addresses are matched as IPv4 (see gate.networks_allow).
            errors.append(f"Line {number}: write IPv4-mapped “{line[:60]}” as an IPv4 network.")
            continue
        if str(network) not in networks:
            networks.append(str(network))
    if errors:
        raise ValidationError(errors)
    if len(networks) > MAX_NETWORKS:
        raise ValidationError(f"At most {MAX_NETWORKS} networks; merge some into wider ranges.")
    return networks


def parse_countries(text: str) -> list[str]:
    """ISO 3166-1 alpha-2 codes separated by commas, spaces or lines -> upper-case list.

    Raises ValidationError naming every code that is not a country.
    """
    codes: list[str] = []
    bad: list[str] = []
    for token in _SEPARATORS.split(text.strip()):
        if not token:
            continue
        code = token.upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            bad.append(token[:20])
        elif code not in codes:
            codes.append(code)
    if bad:
        listed = ", ".join(f"“{b}”" for b in bad)
        raise ValidationError(
            f"Not ISO 3166 two-letter country codes: {listed}. Use codes such as GB, DE, US."
        )
    if len(codes) > MAX_COUNTRIES:
        raise ValidationError(f"At most {MAX_COUNTRIES} countries.")
    return sorted(codes)


@dataclass(frozen=True)
class Policy:
    require_mfa: bool
    allowed_networks: list[str]
    allowed_countries: list[str]

    @classmethod
    def of(cls, tenant: Tenant) -> Policy:
        return cls(
            bool(tenant.require_mfa),
            list(tenant.allowed_networks or []),
            list(tenant.allowed_countries or []),
        )

    def as_dict(self) -> dict:
        return {
            "require_mfa": self.require_mfa,
            "allowed_networks": self.allowed_networks,
            "allowed_countries": self.allowed_countries,
        }


def lockout_reason(policy: Policy, ip: str | None) -> str | None:
    """Why `policy` would refuse a request from `ip` (the admin's own address), or None."""
    reasons = []
    if not networks_allow(policy.allowed_networks, ip):
        reasons.append("it is outside the allowed networks")
    if not countries_allow(policy.allowed_countries, ip):
        country = country_of(ip)
        reasons.append(
            f"its country ({country_name(country)}) is not allowed"
            if country
            else "its country is unknown, so no country rule can allow it"
        )
    if not reasons:
        return None
    return (
        f"This policy would refuse your current address {ip or 'unknown'}: {' and '.join(reasons)}."
    )


class SelfLockoutError(ValidationError):
    """Refused: the policy would lock the saving admin out, and they did not confirm it."""


@transaction.atomic
def save_portal_policy(
    *,
    tenant: Tenant,
    policy: Policy,
    actor,
    current_ip: str | None,
    confirm_lockout: bool = False,
    request=None,
) -> bool:
    """Store `policy` as `tenant`'s portal access policy; audit the change with before/after.

    Refuses (SelfLockoutError) a policy that would refuse `current_ip`, the saving admin's own
    address, unless `confirm_lockout`. Returns False when nothing changed (nothing is written).
    """
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = Policy.of(tenant)
    if policy == before:
        return False
    reason = lockout_reason(policy, current_ip)
    if reason is not None and not confirm_lockout:
        raise SelfLockoutError(reason, code="self_lockout")
    tenant.require_mfa = policy.require_mfa
    tenant.allowed_networks = policy.allowed_networks
    tenant.allowed_countries = policy.allowed_countries
    tenant.save(update_fields=["require_mfa", "allowed_networks", "allowed_countries"])
    changed = [key for key, value in policy.as_dict().items() if before.as_dict()[key] != value]
    details: dict = {"changed": changed, "before": before.as_dict(), "after": policy.as_dict()}
    if reason is not None:
        details["self_lockout_confirmed"] = True
    audit.record(
        tenant,
        "settings.portal_security_changed",
        actor=actor,
        request=request,
        target=tenant,
        details=details,
        ip=current_ip,
    )
    return True
