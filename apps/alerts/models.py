"""Policies, detector settings, alerts, and the state policy evaluation keeps between batches.

- `Policy`: an activity policy (filters in the activity-log vocabulary, single or repeated match,
  scope, severity, daily alert limit, governance actions) or the tenant's settings of one built-in
  anomaly detection (`kind=anomaly`, `detector` = its key, `tuning` = its settings).
- `Alert`: what a policy or detection raised, with its links (activities, people, accounts, apps,
  IPs), triage (status, resolution, assignee) and the de-duplication key that folds repeated
  triggers of one policy for one subject into one alert within the policy's window.
- `EvaluationBatch`: the ids of the activities one ingestion chunk stored, written in the same
  transaction; the evaluator deletes it in the transaction that records what it raised, so each
  activity is evaluated exactly once even when a task dies or is retried.
- `MatchWindow` / `DetectorState`: per-subject memory of repeated-activity counting and of the
  detectors' baselines (countries seen, last sign-in place, ...), written in that same transaction.
"""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel


class Severity(models.IntegerChoices):
    """Ordered so that `severity__gte=Severity.MEDIUM` reads naturally (spec 2.2)."""

    INFORMATIONAL = 0, "Informational"
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class Category(models.TextChoices):
    """Risk categories of policies and alerts (spec 3.1, the `stories` enum)."""

    THREAT_DETECTION = "threat_detection", "Threat detection"
    PRIVILEGED_ACCOUNTS = "privileged_accounts", "Privileged accounts"
    COMPLIANCE = "compliance", "Compliance"
    DLP = "dlp", "DLP"
    DISCOVERY = "discovery", "Cloud discovery"
    SHARING_CONTROL = "sharing_control", "Sharing control"
    ACCESS_CONTROL = "access_control", "Access control"
    CONFIGURATION = "configuration", "Configuration control"


class PolicyKind(models.TextChoices):
    ACTIVITY = "activity", "Activity policy"
    ANOMALY = "anomaly", "Anomaly detection policy"
    FILE = "file", "File policy"


class MatchMode(models.TextChoices):
    SINGLE = "single", "Single activity"
    REPEATED = "repeated", "Repeated activity"


class Policy(TenantOwnedModel):
    """An activity policy, or one tenant's settings of a built-in anomaly detection.

    `filters` is the activity filter JSON of `apps.activities.query` (the log's vocabulary);
    `governance` is a list of `GovernanceKind` values run on each new alert's account. Scope:
    `include_groups` empty means everyone; `exclude_groups` wins.
    """

    kind = models.CharField(max_length=10, choices=PolicyKind.choices, default=PolicyKind.ACTIVITY)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    template = models.CharField(max_length=60, blank=True)  # the template it was created from
    detector = models.CharField(max_length=60, blank=True)  # anomaly policies: detector key
    enabled = models.BooleanField(default=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    category = models.CharField(
        max_length=24, choices=Category.choices, default=Category.THREAT_DETECTION
    )
    filters = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=10, choices=MatchMode.choices, default=MatchMode.SINGLE)
    repeat_count = models.PositiveIntegerField(default=1)
    repeat_window_minutes = models.PositiveIntegerField(default=60)
    repeat_per_user = models.BooleanField(default=True)  # count per person (else tenant-wide)
    repeat_per_app = models.BooleanField(default=False)  # count within one app only
    daily_alert_limit = models.PositiveIntegerField(default=5)
    dedupe_minutes = models.PositiveIntegerField(default=60)
    # Scope: ids of `accounts.UserGroup`s (a person is in a group when one of their accounts is).
    include_groups = models.JSONField(default=list, blank=True)
    exclude_groups = models.JSONField(default=list, blank=True)
    tuning = models.JSONField(default=dict, blank=True)  # anomaly detections: their settings
    governance = models.JSONField(default=list, blank=True)
    # Portal users live in the control-plane database: referenced by id, never by a foreign key.
    created_by_id = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="policy_unique_name"),
            models.UniqueConstraint(
                fields=["tenant_id", "detector"],
                condition=models.Q(kind="anomaly"),
                name="one_policy_per_detector",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


OPEN_STATUSES = (AlertStatus.OPEN, AlertStatus.IN_PROGRESS)


class Resolution(models.TextChoices):
    NONE = "", "—"
    TRUE_POSITIVE = "true_positive", "True positive"
    BENIGN_TRUE_POSITIVE = "benign_true_positive", "Benign true positive"
    FALSE_POSITIVE = "false_positive", "False positive"


# Reasons a resolution may carry (spec 2.2): benign and false positive each have their list.
RESOLUTION_REASONS: dict[str, dict[str, str]] = {
    Resolution.TRUE_POSITIVE: {"confirmed_malicious": "Confirmed malicious", "other": "Other"},
    Resolution.BENIGN_TRUE_POSITIVE: {
        "severity_lower": "Actual severity is lower",
        "confirmed_with_user": "Confirmed with end user",
        "test": "Triggered by test",
        "other": "Other",
    },
    Resolution.FALSE_POSITIVE: {
        "not_of_interest": "Not of interest",
        "too_many": "Too many similar alerts",
        "not_accurate": "Alert is not accurate",
        "other": "Other",
    },
}


class AlertType(models.TextChoices):
    """The reference product's alert type codes (spec 2.3), as our own names."""

    ACTIVITY_POLICY = "activity_policy", "Activity policy violation"
    ANOMALY = "anomaly", "Anomaly detection"
    FILE_POLICY = "file_policy", "File policy violation"
    DISCOVERY = "discovery", "Cloud discovery"
    SYSTEM = "system", "System alert"


class Alert(TenantOwnedModel):
    """One alert: what raised it, about whom, its triage, and every trigger folded into it."""

    number = models.PositiveBigIntegerField(editable=False)  # per-tenant sequence, "#123"
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    alert_type = models.CharField(max_length=20, choices=AlertType.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    category = models.CharField(max_length=24, choices=Category.choices)
    policy = models.ForeignKey(
        Policy, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    policy_name = models.CharField(max_length=200, blank=True)  # kept if the policy goes
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    resolution = models.CharField(
        max_length=24, choices=Resolution.choices, blank=True, default=Resolution.NONE
    )
    resolution_reason = models.CharField(max_length=40, blank=True)
    comment = models.TextField(blank=True)
    # Portal users live in the control-plane database: referenced by id (+ the name shown).
    assignee_id = models.IntegerField(null=True, blank=True)
    assignee_label = models.CharField(max_length=254, blank=True)
    resolved_by_id = models.IntegerField(null=True, blank=True)
    resolved_by_label = models.CharField(max_length=254, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    read = models.BooleanField(default=False)
    evidence = models.JSONField(default=list, blank=True)  # short lines: what was seen
    ips = models.JSONField(default=list, blank=True)
    # Links through tenant-owned tables (geo-routed like the alert; see AlertUser...).
    users = models.ManyToManyField(
        "accounts.CloudUser", blank=True, related_name="alerts", through="AlertUser"
    )
    accounts = models.ManyToManyField(
        "accounts.Account", blank=True, related_name="alerts", through="AlertAccount"
    )
    apps = models.ManyToManyField(
        "connectors.AppInstance", blank=True, related_name="alerts", through="AlertApp"
    )
    dedupe_key = models.CharField(max_length=200, blank=True)
    trigger_count = models.PositiveIntegerField(default=1)
    first_triggered_at = models.DateTimeField()
    last_triggered_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_triggered_at", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "number"], name="alert_unique_number")
        ]
        indexes = [
            models.Index(fields=["tenant_id", "-last_triggered_at"], name="alert_recent"),
            models.Index(fields=["tenant_id", "dedupe_key"], name="alert_dedupe"),
            models.Index(fields=["tenant_id", "status", "severity"], name="alert_queue"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertUser(TenantOwnedModel):
    """A person an alert is about."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("accounts.CloudUser", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="alert_user_once")]


class AlertAccount(TenantOwnedModel):
    """An account an alert is about."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "account"], name="alert_account_once")
        ]


class AlertApp(TenantOwnedModel):
    """A connected app an alert is about."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    app_instance = models.ForeignKey(
        "connectors.AppInstance", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "app_instance"], name="alert_app_once")
        ]


class AlertSequence(TenantOwnedModel):
    """The tenant's alert number counter (one row per tenant, bumped with a row lock)."""

    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id"], name="one_alert_sequence")]


class AlertActivity(TenantOwnedModel):
    """An activity linked to an alert (no database FK: activities are day-partitioned)."""

    MAX_PER_ALERT = 200

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="activity_links")
    activity_id = models.UUIDField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "activity_id"], name="alert_activity_once")
        ]


class EvaluationBatch(TenantOwnedModel):
    """Activities one ingestion chunk stored, waiting for policy evaluation (see module doc)."""

    app_instance_id = models.UUIDField()
    activity_ids = models.JSONField(default=list)
    oldest = models.DateTimeField()
    newest = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]


class MatchWindow(TenantOwnedModel):
    """Recent match times of a repeated-activity policy for one subject (person, app, ...)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=200)
    times = models.JSONField(default=list)  # epoch seconds, sorted, within the window
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "subject"], name="one_window_per_subject")
        ]


class DetectorState(TenantOwnedModel):
    """What one anomaly detection remembers about one subject (usually a person)."""

    detector = models.CharField(max_length=60)
    subject = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "detector", "subject"], name="one_state_per_subject"
            )
        ]


class PolicyDay(TenantOwnedModel):
    """Per policy and UTC day: alerts raised and triggers held back by the daily limit."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    alerts = models.PositiveIntegerField(default=0)
    matches = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "day"], name="one_policy_day")]
