"""Outbound data flow: where alerts and activities go, and the outbox that gets them there.

- `Destination`: one configured receiver (a SIEM agent speaking CEF over syslog, or a webhook):
  which data kinds it receives, its filter, its non-secret settings (`config`) and its sealed
  secret, its health (status and the reason in words), and its **cursor**: the sequence number
  of the last outbox event it has fully received.
- `OutboxEvent`: what happened, in commit order. Producers (ingestion, alert raising) append one
  event per transaction, as its last statement, with a number from the tenant's
  `OutboxSequence` row: bumping that row locks it until the producer commits, so events become
  visible in exactly their number order and a cursor never skips one that commits late.
  An event holds references (activity ids, an alert id), never copies: what is sent is read when
  it is sent (private activities are left out at that moment, see `apps.activities.privacy`).
- `DeadLetter`: an item a receiver refused for good (after retries): kept with the reason, so
  the backlog moves on and an admin can send it again.
- `Delivery`: the history of webhook deliveries (status, duration, error), bounded per webhook.
"""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel

SECRET_PURPOSE = "integrations.destination_secret"  # noqa: S105 (a label, not a secret)


class DestinationKind(models.TextChoices):
    SIEM = "siem", "SIEM agent (CEF over syslog)"
    WEBHOOK = "webhook", "Webhook"


class DestinationStatus(models.TextChoices):
    PENDING = "pending", "Not connected yet"
    CONNECTED = "connected", "Connected"
    ERROR = "error", "Error"
    DISCONNECTED = "disconnected", "Disconnected (turned off)"


class EventKind(models.TextChoices):
    ACTIVITIES = "activities", "Activities"
    ALERT = "alert", "Alert"


class Destination(TenantOwnedModel):
    """One receiver of alerts and/or activities (see the module docstring)."""

    kind = models.CharField(max_length=8, choices=DestinationKind.choices)
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    data_kinds = models.JSONField(default=list)  # EventKind values: "alert", "activities"
    # {"min_severity": 0-3, "activity_types": [...], "apps": [app instance ids]}
    filters = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)  # host, port, transport, url, ...
    secret_sealed = models.BinaryField(null=True, blank=True)  # sealed with SECRET_PURPOSE
    status = models.CharField(
        max_length=12, choices=DestinationStatus.choices, default=DestinationStatus.PENDING
    )
    status_reason = models.CharField(max_length=500, blank=True)
    cursor = models.BigIntegerField(default=0)  # last outbox event fully delivered
    # Within the event after the cursor: items already delivered (an activities event holds
    # up to a chunk of activities) and attempts of the item at that position.
    cursor_offset = models.PositiveIntegerField(default=0)
    item_attempts = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # SIEM agents send the last two days once, on their first successful connection;
    # `backfill_position` is how far that got ({"alerts": done, "after": [ingested_at, id]}).
    backfill_pending = models.BooleanField(default=False)
    backfill_position = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="destination_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class OutboxSequence(TenantOwnedModel):
    """The tenant's outbox event counter (one row per tenant, bumped with a row lock)."""

    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id"], name="one_outbox_sequence")]


class OutboxEvent(TenantOwnedModel):
    """One producer transaction's worth of things to send, by reference (see module doc)."""

    seq = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    refs = models.JSONField(default=list)  # ids (strings) of activities or of one alert
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "seq"], name="outbox_event_unique_seq")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


class DeadLetter(TenantOwnedModel):
    """An item a destination refused for good; kept so it can be looked at and sent again."""

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="dead_letters"
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    ref = models.CharField(max_length=64)
    error = models.CharField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    resent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref} → {self.destination_id}"


class Delivery(TenantOwnedModel):
    """One delivery attempt to a webhook (its history page); the newest are kept."""

    KEEP = 500

    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    ref = models.CharField(max_length=64)
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempted_at = models.DateTimeField()

    class Meta:
        ordering = ["-attempted_at"]
        indexes = [models.Index(fields=["destination", "-attempted_at"], name="delivery_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}: {'ok' if self.ok else self.error}"
