"""Tenants, memberships, API tokens (control plane) and the audit log (tenant data).

Control-plane rows live in the default database. Tenant data inherits `TenantOwnedModel`, lives
in the tenant's geo database and refers to the tenant by `tenant_id` only: there is no database
foreign key from tenant data to control-plane rows (they may sit in different databases).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .scoping import current_tenant, current_tenant_or_none


class Geo(models.TextChoices):
    EU = "eu", "European Union"
    UK = "uk", "United Kingdom"
    US = "us", "United States"


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled (grace period)"


class Tenant(models.Model):
    """A customer organisation. Its geo is chosen at creation and never changes.

    The portal access policy (require MFA, allowed networks and countries) is held here because
    it is checked on every request of the tenant.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    geo = models.CharField(max_length=2, choices=Geo.choices)
    status = models.CharField(
        max_length=12, choices=TenantStatus.choices, default=TenantStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    require_mfa = models.BooleanField(default=False)
    allowed_networks = models.JSONField(default=list, blank=True)
    allowed_countries = models.JSONField(default=list, blank=True)
    # Offboarding: when the subscription was cancelled and when its data and keys go for good.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delete_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        default_permissions = ()
        permissions = [
            ("view_tenant_data", "Read the tenant's data"),
            ("manage_alerts", "Triage and resolve alerts"),
            ("manage_policies", "Create and change policies"),
            ("run_governance", "Run governance actions"),
            ("manage_discovery", "Upload logs and manage Cloud Discovery"),
            ("deanonymize", "Resolve anonymised usernames"),
            ("manage_settings", "Change operational settings"),
            ("manage_tokens", "Create API tokens"),
            ("export_data", "Export data"),
            ("view_private_activities", "View private activities"),
            ("view_audit", "Read the audit log"),
            ("manage_members", "Manage members and roles"),
            ("manage_portal_security", "Change MFA and portal access restrictions"),
            ("manage_lifecycle", "Cancel, export and delete the tenant"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            stored = Tenant.objects.filter(pk=self.pk).values_list("geo", flat=True).first()
            if stored is not None and stored != self.geo:
                raise ValidationError("A tenant's geo is fixed at creation and cannot change.")
        super().save(*args, **kwargs)

    @property
    def db_alias(self) -> str:
        from .routing import alias_for_geo

        return alias_for_geo(self.geo)


class Role(models.TextChoices):
    GLOBAL_ADMIN = "global_admin", "Global admin"
    SECURITY_ADMIN = "security_admin", "Security admin"
    SECURITY_READER = "security_reader", "Security reader"


class Membership(models.Model):
    """A portal user's role in one tenant. The role's permissions are held by guardian."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    # "Activity privacy permissions" (spec 1.6): a list of admins apart from the roles. Global
    # admins are on it when they join; a global admin may add security admins or take anyone
    # off. Readers are never on it.
    may_view_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.get_role_display()}"


class ApiToken(models.Model):
    """A per-tenant API token. Only a SHA-256 of the key is stored; the key is shown once.

    Its role is at most its creator's, and its effective rights are also capped by what the
    creator may still do, so demoting or removing a person narrows their tokens too.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        tenant = current_tenant()
        objs = list(objs)  # a generator would be used up by the loop below and write nothing
        for obj in objs:
            _claim(obj, tenant)
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Fails closed: with no current tenant, building a queryset raises `TenantNotSet`."""

    def get_queryset(self):
        tenant = current_tenant()
        return super().get_queryset().using(tenant.db_alias).filter(tenant_id=tenant.id)


def _claim(obj: TenantOwnedModel, tenant: Tenant) -> None:
    if obj.tenant_id is None:
        obj.tenant_id = tenant.id
    elif obj.tenant_id != tenant.id:
        raise ValidationError("Refusing to write another tenant's row in this tenant's context.")


class TenantOwnedModel(models.Model):
    """Base of every row of customer data: UUID id, owning tenant, geo-routed, fail-closed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_index=True, editable=False)

    objects = TenantManager()
    # Cross-tenant jobs only (retention, offboarding, audit verification). Loud on purpose.
    unscoped_objects = models.Manager()  # noqa: DJ012 (a manager, not a field)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        tenant = current_tenant_or_none()
        if tenant is not None:
            _claim(self, tenant)
        elif self.tenant_id is None:
            current_tenant()  # raises TenantNotSet with the explanation
        super().save(*args, **kwargs)


class AuditEvent(TenantOwnedModel):
    """One append-only, hash-chained audit record.

    Each tenant has its own chain: `seq` counts up from 1 and `hash` is SHA-256 over the previous
    record's hash and this record's canonical JSON. On PostgreSQL a trigger refuses UPDATE and
    DELETE; `manage.py verify_audit` recomputes every chain and names the first broken record.
    """

    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    actor_id = models.IntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "seq"], name="audit_one_seq_per_tenant")
        ]
        # "What happened to this object" (an alert's history) without reading the whole chain.
        indexes = [
            models.Index(fields=["tenant_id", "object_type", "object_id"], name="audit_object")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditAnchor(models.Model):
    """A verified head (seq, hash) of one tenant's audit chain, taken by the nightly check.

    A hash chain cannot show that its newest records were cut off, nor that a superuser rebuilt
    it end to end; comparing against anchors taken earlier can. Anchors live in the control-plane
    database (apart from a non-default geo's audit rows), are append-only like the audit table,
    and each one is also written to the log so it can be held outside the database (the SIEM).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_index=True, editable=False)
    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"anchor #{self.seq} of {self.tenant_id}"
