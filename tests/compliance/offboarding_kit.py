"""Test kit of the offboarding tests: a tenant with at least one row in every tenant model.

`fill_tenant` builds minimal rows generically (required fields get a value of their type,
foreign keys point at rows built first), so a model added later is covered without touching
this file; the walk test asserts that every model of `tenant_models()` got a row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from django.db import models
from django.utils import timezone

from apps.activities import partitions
from apps.compliance import crypto
from apps.compliance.inventory import tenant_models
from apps.compliance.offboarding import deletion_order
from apps.connectors.models import AppInstance
from apps.discovery import anonymize
from apps.discovery.models import AnonymizationKey
from apps.dlp.models import SAMPLES_PURPOSE, Match
from apps.tenants import audit
from apps.tenants.models import AuditEvent, Tenant
from apps.tenants.scoping import tenant_context

SECRET = "s3cr3t-api-token-"  # + tenant slug: each tenant's connector credential


def _value(field: models.Field, n: int):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now() - dt.timedelta(hours=1)
    if isinstance(field, models.DateField):
        return timezone.now().date()
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return n
    if isinstance(field, models.GenericIPAddressField):
        return "192.0.2.1"
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"\x00"
    if isinstance(field, models.EmailField):
        return f"p{n}@example.test"
    if isinstance(field, models.URLField):
        return "https://example.test/"
    if isinstance(field, models.CharField | models.TextField):
        return f"v{n}"[: field.max_length or 20]
    raise TypeError(f"no test value for {field!r}")


def _build(model: type[models.Model], built: dict, n: int) -> models.Model:
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name == "tenant_id":
            continue
        if field.is_relation:
            if field.related_model is model:
                continue
            parent = built.get(field.related_model)
            if parent is not None:
                values[field.name] = parent
            continue
        if field.has_default() or field.null or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False):
            continue
        values[field.name] = _value(field, n)
    return model.objects.create(**values)


def fill_tenant(tenant: Tenant) -> dict[type[models.Model], models.Model]:
    """One row (at least) of every tenant model for `tenant`; returns model -> a row."""
    built: dict[type[models.Model], models.Model] = {}
    audit.record(tenant, "test.fill", details={"probe": tenant.slug})
    with tenant_context(tenant):
        built[AuditEvent] = AuditEvent.objects.first()
        app = AppInstance(vendor="okta", name=f"Okta of {tenant.slug}")
        app.tenant_id = tenant.id
        app.set_credentials({"api_token": SECRET + tenant.slug})
        app.save()
        built[AppInstance] = app
        anonymize.Pseudonymizer(tenant)  # makes the sealed pseudonymisation key
        built[AnonymizationKey] = AnonymizationKey.objects.get()
        partitions.forget()
        partitions.ensure_days(tenant.db_alias, [(timezone.now() - dt.timedelta(hours=1)).date()])
        for n, model in enumerate(reversed(deletion_order(tenant_models()))):
            if model not in built:
                built[model] = _build(model, built, n)
        # Match samples are sealed with the tenant key (like the credentials above).
        match = built[Match]
        match.samples_sealed = crypto.seal(tenant.id, b'[{"evidence": "####"}]', SAMPLES_PURPOSE)
        match.save(update_fields=["samples_sealed"])
    return built


def rows_of(tenant_id: uuid.UUID, aliases) -> dict[str, int]:
    """Rows with this tenant id, per "alias:app.Model", over every tenant model."""
    return {
        f"{alias}:{model._meta.label}": model.unscoped_objects.using(alias)
        .filter(tenant_id=tenant_id)
        .count()
        for alias in sorted(aliases)
        for model in tenant_models()
    }
