"""Custom apps (spec 5.5, 5.6): line-of-business or uncatalogued apps a tenant wants
discovered, named by their domains or addresses. Their domains win over the catalog's in the
matcher (`pipeline.matcher_for_tenant`), for uploads from the change on.

Domains are tenant input that ends up in appliance block scripts, so `clean_host` lets through
only host names (letters, digits, dots, hyphens) and IP addresses. Every change is audited;
refusals raise `DiscoveryRefused` naming the field before anything is written.
"""

from __future__ import annotations

import ipaddress
import re

from django.db import transaction

from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from .catalog.attributes import CATEGORIES
from .models import AppOverride, AppTagging, CustomApp
from .services import DiscoveryRefused

MAX_DOMAINS = 100
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def clean_host(value: str) -> str | None:
    """`value` as a lower-case host name or IP address, or None when it is neither.

    Only letters, digits, dots and hyphens (or an IP address) pass: domains end up in
    appliance scripts, so nothing else may ever reach them (no spaces, quotes, newlines,
    wildcards or brackets)."""
    text = (value or "").strip().lower().rstrip(".")
    if not text or len(text) > 253:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():  # "1.2.3.999" is a broken address, not a name
        return None
    return text


def clean_domains(values, *, exclude: CustomApp | None = None) -> list[str]:
    """Host names or IP addresses, lower case, deduplicated, none another custom app has."""
    if isinstance(values, str):
        values = re.split(r"[\s,;]+", values)
    items = [str(value) for value in (values or []) if str(value).strip()]
    if not items:
        raise DiscoveryRefused("Give at least one domain.", "domains")
    if len(items) > MAX_DOMAINS:
        raise DiscoveryRefused(f"At most {MAX_DOMAINS} domains.", "domains")
    cleaned: list[str] = []
    for item in items:
        host = clean_host(item)
        if host is None:
            raise DiscoveryRefused(
                f"{item.strip()[:80]!r} is not a host name (letters, digits, dots, hyphens) "
                "or an IP address.",
                "domains",
            )
        if host not in cleaned:
            cleaned.append(host)
    others = CustomApp.objects.all()
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    for other in others.only("name", "domains"):
        clash = set(cleaned) & {str(d).lower() for d in other.domains}
        if clash:
            raise DiscoveryRefused(
                f"{sorted(clash)[0]} already belongs to the custom app {other.name}.", "domains"
            )
    return cleaned


def _clean_custom(name: str, category: str, domains, exclude=None) -> tuple[str, str, list]:
    text = " ".join((name or "").split())
    if not text:
        raise DiscoveryRefused("Give the app a name.", "name")
    if len(text) > 100 or not text.isprintable():
        raise DiscoveryRefused("At most 100 printable characters.", "name")
    taken = CustomApp.objects.filter(name__iexact=text)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise DiscoveryRefused("A custom app with this name exists.", "name")
    if category not in CATEGORIES:
        raise DiscoveryRefused("Choose a category of the list.", "category")
    return text, category, clean_domains(domains, exclude=exclude)


def create_custom_app(
    *, name: str, domains, category: str = "unclassified", actor, request=None
) -> CustomApp:
    """A custom app; its domains win over the catalog's in uploads from now on."""
    tenant = current_tenant()
    name, category, cleaned = _clean_custom(name, category, domains)
    with transaction.atomic(using=tenant.db_alias):
        app = CustomApp.objects.create(name=name, category=category, domains=cleaned)
        audit.record(
            tenant,
            "discovery.custom_app_created",
            actor=actor,
            request=request,
            target=app,
            details={"name": name, "category": category, "domains": cleaned},
        )
    return app


def update_custom_app(
    *, app: CustomApp, actor, request=None, name=None, category=None, domains=None
) -> CustomApp:
    """Change a custom app (arguments left as None keep their value)."""
    tenant = current_tenant()
    name, category, cleaned = _clean_custom(
        app.name if name is None else name,
        app.category if category is None else category,
        app.domains if domains is None else domains,
        exclude=app,
    )
    before = {"name": app.name, "category": app.category, "domains": list(app.domains)}
    after = {"name": name, "category": category, "domains": cleaned}
    changes = {key: value for key, value in after.items() if before[key] != value}
    if not changes:
        return app
    with transaction.atomic(using=tenant.db_alias):
        for key, value in changes.items():
            setattr(app, key, value)
        app.save(update_fields=list(changes))
        audit.record(
            tenant,
            "discovery.custom_app_changed",
            actor=actor,
            request=request,
            target=app,
            details={"from": {k: before[k] for k in changes}, "to": changes},
        )
    return app


def delete_custom_app(*, app: CustomApp, actor, request=None) -> None:
    """Delete a custom app with its tags and override (traffic already counted stays)."""
    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        AppTagging.objects.filter(app=app.key).delete()
        AppOverride.objects.filter(app=app.key).delete()
        audit.record(
            tenant,
            "discovery.custom_app_deleted",
            actor=actor,
            request=request,
            target=app,
            details={"name": app.name, "domains": list(app.domains)},
        )
        app.delete()
