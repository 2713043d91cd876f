"""Activities (the big, append-mostly table) and the tenant's named IP ranges."""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel


class IpCategory(models.IntegerChoices):
    """Numbers as in the reference product's API (spec 7.4)."""

    CORPORATE = 1, "Corporate"
    ADMINISTRATIVE = 2, "Administrative"
    RISKY = 3, "Risky"
    VPN = 4, "VPN"
    CLOUD_PROVIDER = 5, "Cloud provider"
    OTHER = 6, "Other"


class IpRange(TenantOwnedModel):
    """A named set of CIDRs (v4/v6) with a category and tags; ranges never overlap.

    Enrichment tags each activity with the category and tags of the most specific range that
    holds its IP address (longest prefix).
    """

    name = models.CharField(max_length=120)
    cidrs = models.JSONField(default=list)
    category = models.PositiveSmallIntegerField(choices=IpCategory.choices)
    tags = models.JSONField(default=list, blank=True)
    isp_override = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="ip_range_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ActivitySource(models.TextChoices):
    CONNECTOR = "connector", "App connector"
    PUSH = "push", "Push API"


class Activity(TenantOwnedModel):
    """One event from a connected app, normalised and enriched at ingestion.

    On PostgreSQL the table is range-partitioned by day on `occurred_at` (see the migration):
    its real primary key is (id, occurred_at) and "one source event per app" is the unique
    index (app_instance, source_event_id, occurred_at), which ingestion fills with
    `INSERT ... ON CONFLICT DO NOTHING`. Django only sees `id` as the key, which is enough for
    look-ups by id. Foreign keys carry no database constraint (partitions, bulk COPY).
    """

    occurred_at = models.DateTimeField()
    ingested_at = models.DateTimeField()
    app_instance = models.ForeignKey(
        "connectors.AppInstance",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=ActivitySource.choices)
    source_event_id = models.CharField(max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        "accounts.CloudUser",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.CharField(max_length=254, blank=True)  # the user name as the app sent it
    action_type = models.CharField(max_length=120)  # raw app operation, e.g. "FileDownloaded"
    activity_type = models.CharField(max_length=40)  # our category, e.g. "download"
    is_admin = models.BooleanField(default=False)
    succeeded = models.BooleanField(null=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=120, blank=True)
    isp = models.CharField(max_length=200, blank=True)
    ip_category = models.PositiveSmallIntegerField(choices=IpCategory.choices, null=True)
    ip_tags = models.JSONField(default=list, blank=True)
    user_agent = models.TextField(blank=True)
    device_type = models.CharField(max_length=20, blank=True)
    os = models.CharField(max_length=60, blank=True)
    browser = models.CharField(max_length=60, blank=True)
    object_name = models.CharField(max_length=500, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=300, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    # The person was in an activity-privacy group when it was stored (spec 1.6): hidden from
    # everyone without "view private activities", never sent to integrations.
    is_private = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor} {self.action_type}"
