"""Privacy and data lifecycle: key management (per-tenant data keys wrapped by the deployment's
master key), retention settings and purge records, data-subject requests, scoped deployment and
activity privacy, and the record of deleted tenants."""

from __future__ import annotations

import uuid

from django.db import models

from apps.tenants.models import TenantOwnedModel


class TenantKey(models.Model):
    """One version of a tenant's data key, stored only wrapped (AES-GCM) by a master key.

    Control plane (default database). The newest version encrypts; older versions stay to read
    what they encrypted until it is re-encrypted. Deleting a tenant's rows here destroys every
    copy of its data that we or anyone else still holds, backups included (crypto-shredding).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="keys")
    version = models.PositiveIntegerField()
    master_key_id = models.CharField(max_length=64)
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="one_key_per_version")
        ]

    def __str__(self) -> str:
        return f"key v{self.version} of {self.tenant_id}"


# --- Retention ---------------------------------------------------------------------------------


class DataKind(models.TextChoices):
    """Kinds of data with a retention period (spec 9.3); `inventory.KINDS` says what each holds."""

    ACTIVITIES = "activities", "Activity log"
    DISCOVERY = "discovery", "Discovery data"
    ALERTS = "alerts", "Alerts"
    GOVERNANCE = "governance", "Governance log"
    FILES = "files", "File records"


class RetentionSettings(TenantOwnedModel):
    """A tenant's retention periods in days; empty means the deployment's maximum.

    A period can be shortened, never lengthened past the deployment maximum
    (`inventory.max_days(kind)`); `deleted_accounts_days` is the window after which the copy of an
    account deleted in its app is removed.
    """

    activities_days = models.PositiveIntegerField(null=True, blank=True)
    discovery_days = models.PositiveIntegerField(null=True, blank=True)
    alerts_days = models.PositiveIntegerField(null=True, blank=True)
    governance_days = models.PositiveIntegerField(null=True, blank=True)
    files_days = models.PositiveIntegerField(null=True, blank=True)
    deleted_accounts_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="one_retention_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"retention of {self.tenant_id}"


class PurgeMethod(models.TextChoices):
    PARTITION_DROP = "partition_drop", "Dropped day partitions"
    BATCHED_DELETE = "batched_delete", "Deleted in batches"
    ACCOUNT_CLEANUP = "account_cleanup", "Deleted-account cleanup"


class PurgeStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PurgeRun(TenantOwnedModel):
    """What one purge removed from one tenant's data of one kind, and how.

    Written before the first row goes and updated after every batch, so a purge killed half-way
    leaves a `running` record with what it had removed so far; the next run carries on.
    """

    kind = models.CharField(max_length=20)  # a DataKind, or "accounts" for the account cleanup
    method = models.CharField(max_length=20, choices=PurgeMethod.choices)
    cutoff = models.DateTimeField()  # everything older than this was due
    status = models.CharField(
        max_length=10, choices=PurgeStatus.choices, default=PurgeStatus.RUNNING
    )
    removed = models.BigIntegerField(default=0)
    details = models.JSONField(
        default=dict, blank=True
    )  # e.g. {"partitions": [...], "by_table": {}}
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant_id", "kind", "-started_at"], name="purge_run_kind")]

    def __str__(self) -> str:
        return f"purge of {self.kind} before {self.cutoff:%Y-%m-%d}"


# --- Data-subject requests ---------------------------------------------------------------------


class SubjectRequestKind(models.TextChoices):
    EXPORT = "export", "Export"
    ERASE = "erase", "Erase"


class SubjectRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SubjectRequest(TenantOwnedModel):
    """A data-subject request about one person: export everything we hold, or erase it.

    The person is recorded only as a keyed digest (HMAC under the tenant's key) and a masked
    label, so the request log itself keeps no readable personal data after an erasure; `counts`
    is the receipt: rows found (export) or removed (erase) per kind.
    """

    kind = models.CharField(max_length=10, choices=SubjectRequestKind.choices)
    status = models.CharField(
        max_length=10, choices=SubjectRequestStatus.choices, default=SubjectRequestStatus.PENDING
    )
    subject_digest = models.CharField(max_length=64, db_index=True)
    # Digests of the person's other unique names (emails, account usernames and ids), space
    # separated, so "was this person handled?" answers whichever of them is entered.
    name_digests = models.TextField(blank=True, default="")
    subject_label = models.CharField(max_length=254)  # masked, e.g. "a***@contoso.test"
    reference = models.CharField(max_length=200, blank=True)  # the requester's ticket / reason
    counts = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Who the request is about, by id only, for the background run: {"user": id or None,
    # "accounts": [ids]} (dangling once the person is erased; never a name).
    target = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # the background run's last start
    requested_by_id = models.IntegerField(null=True, blank=True)
    requested_by_label = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} request for {self.subject_label}"


# --- Scoped deployment and activity privacy -------------------------------------------------


class ScopeRuleKind(models.TextChoices):
    INCLUDE = "include", "Include"
    EXCLUDE = "exclude", "Exclude"


class ScopeRule(TenantOwnedModel):
    """Scoped deployment (spec 9.1): include or exclude user groups' activities, per app.

    `groups` holds UserGroup ids (as strings) and built-in group keys; `apps` holds the app keys
    the rule applies to (empty: every connected app). Exclude wins over include; an include rule
    leaves out everyone it does not name for the apps it covers; apps with no rule are monitored
    for everyone. Out-of-scope activities are neither stored nor evaluated.
    """

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=ScopeRuleKind.choices)
    groups = models.JSONField(default=list)
    apps = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


class PrivacySettings(TenantOwnedModel):
    """Activity privacy (spec 1.6): activities of these groups' members are stored as private
    from the moment a group is added (earlier activities are unchanged)."""

    private_groups = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="one_privacy_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"activity privacy of {self.tenant_id}"


# --- Tenant offboarding (control plane) -----------------------------------------------------


class TenantDeletion(models.Model):
    """The record that a tenant's data was deleted and its keys destroyed (control plane).

    Kept after the tenant is gone, so the operator can show when it happened and how much was
    removed; it names the tenant only by id and slug.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    slug = models.CharField(max_length=60)
    geo = models.CharField(max_length=2)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)  # {"app.Model": rows deleted}
    keys_destroyed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"deletion of {self.slug}"
