"""Connected SaaS apps: one `AppInstance` per connection, its sealed credentials and cursors."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import models

from apps.compliance import crypto
from apps.tenants.models import TenantOwnedModel


class Vendor(models.TextChoices):
    OFFICE365 = "office365", "Microsoft 365"
    GOOGLE_WORKSPACE = "google_workspace", "Google Workspace"
    OKTA = "okta", "Okta"
    GITHUB = "github", "GitHub"
    PUSH = "push", "Custom app (push API)"


class InstanceStatus(models.TextChoices):
    NEW = "new", "Not polled yet"
    HEALTHY = "healthy", "Healthy"
    CREDENTIALS_REJECTED = "credentials_rejected", "Credentials rejected"
    AUDIT_DISABLED = "audit_disabled", "Audit log disabled in the app"
    RATE_LIMITED = "rate_limited", "Rate limited"
    UNAVAILABLE = "unavailable", "App unavailable"
    ERROR = "error", "Error"
    PAUSED = "paused", "Paused"


class AppInstance(TenantOwnedModel):
    """A connection to one SaaS app of the tenant (e.g. "Contoso Microsoft 365").

    Credentials are sealed with the tenant's data key (purpose `connectors.credentials`) and
    never leave the server; `status` plus `status_detail` say in plain words what the last poll
    found, `retry_at` when a rate-limited or failing poll will be tried again.
    """

    vendor = models.CharField(max_length=24, choices=Vendor.choices)
    name = models.CharField(max_length=120)
    base_url = models.URLField(max_length=300, blank=True)
    credentials_sealed = models.BinaryField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=24, choices=InstanceStatus.choices, default=InstanceStatus.NEW
    )
    status_detail = models.CharField(max_length=500, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Time of the newest event received: lag = last_success_at - latest_event_at.
    latest_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Scheduling (connectors.services): when the next poll is due, how many polls in a row
    # failed (backoff), and until when a running poll holds the instance (no two at once).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    failures = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_directory_sync_at = models.DateTimeField(null=True, blank=True)

    CREDENTIALS_PURPOSE = "connectors.credentials"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="app_instance_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def set_credentials(self, credentials: dict) -> None:
        self.credentials_sealed = crypto.seal_text(
            self.tenant_id, json.dumps(credentials), self.CREDENTIALS_PURPOSE
        )

    def credentials(self) -> dict:
        if not self.credentials_sealed:
            return {}
        return json.loads(
            crypto.open_text(self.credentials_sealed, self.CREDENTIALS_PURPOSE, self.tenant_id)
        )

    @property
    def lag(self):
        if self.last_success_at is None or self.latest_event_at is None:
            return None
        return max(self.last_success_at - self.latest_event_at, timedelta(0))


class PollCursor(TenantOwnedModel):
    """Where a poll of one stream (activities, users, groups...) of an app resumes."""

    app_instance = models.ForeignKey(AppInstance, on_delete=models.CASCADE, related_name="cursors")
    stream = models.CharField(max_length=40)
    position = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app_instance", "stream"], name="one_cursor_per_stream")
        ]

    def __str__(self) -> str:
        return f"{self.app_instance_id}:{self.stream}"


class StatusChange(TenantOwnedModel):
    """One change of an app instance's status, in the plain words shown at the time."""

    app_instance = models.ForeignKey(
        AppInstance, on_delete=models.CASCADE, related_name="status_changes"
    )
    at = models.DateTimeField()
    status = models.CharField(max_length=24, choices=InstanceStatus.choices)
    words = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["app_instance", "-at"], name="connector_status_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.words}"
