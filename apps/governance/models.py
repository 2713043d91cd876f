"""The governance log: every action run on a user, account, file or OAuth app through a connector.

One `GovernanceAction` row per action, written *before* anything is sent to the vendor (status
pending), moved to in progress, then succeeded / failed / retrying by the Celery task that runs it
(`apps.governance.tasks`). The row is the source of truth: a task that is lost or killed leaves a
pending or in-progress row that the sweep sends again; a vendor error is stored in plain words.
"""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel


class GovernanceKind(models.TextChoices):
    """What an action does (spec 4.1-4.3); adapters say which of these they support."""

    SUSPEND_USER = "suspend_user", "Suspend user"
    UNSUSPEND_USER = "unsuspend_user", "Unsuspend user"
    REQUIRE_SIGN_IN = "require_sign_in", "Require user to sign in again"
    CONFIRM_COMPROMISED = "confirm_compromised", "Confirm user compromised"
    NOTIFY_USER = "notify_user", "Notify user"
    REMOVE_EXTERNAL_SHARING = "remove_external_sharing", "Remove external sharing"
    MAKE_PRIVATE = "make_private", "Make private"
    QUARANTINE_FILE = "quarantine_file", "Put file in admin quarantine"
    REVOKE_OAUTH_APP = "revoke_oauth_app", "Revoke OAuth app"


# What each action acts on.
USER_ACTIONS = frozenset(
    {
        GovernanceKind.SUSPEND_USER,
        GovernanceKind.UNSUSPEND_USER,
        GovernanceKind.REQUIRE_SIGN_IN,
        GovernanceKind.CONFIRM_COMPROMISED,
        GovernanceKind.NOTIFY_USER,
    }
)
FILE_ACTIONS = frozenset(
    {
        GovernanceKind.REMOVE_EXTERNAL_SHARING,
        GovernanceKind.MAKE_PRIVATE,
        GovernanceKind.QUARANTINE_FILE,
    }
)
APP_ACTIONS = frozenset({GovernanceKind.REVOKE_OAUTH_APP})


class GovernanceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED_STATUSES = (GovernanceStatus.SUCCEEDED, GovernanceStatus.FAILED)


class TargetType(models.TextChoices):
    ACCOUNT = "account", "Account"
    FILE = "file", "File"
    OAUTH_APP = "oauth_app", "OAuth app"


class Source(models.TextChoices):
    MANUAL = "manual", "Admin"
    POLICY = "policy", "Policy"
    SYSTEM = "system", "System"


class GovernanceAction(TenantOwnedModel):
    """One governance action and its outcome (see the module docstring)."""

    kind = models.CharField(max_length=32, choices=GovernanceKind.choices)
    status = models.CharField(
        max_length=12, choices=GovernanceStatus.choices, default=GovernanceStatus.PENDING
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    # Portal users live in the control-plane database: referenced by id (+ the name shown).
    initiated_by_id = models.IntegerField(null=True, blank=True)
    initiated_by_label = models.CharField(max_length=254, blank=True)  # kept if the user goes
    policy = models.ForeignKey(
        "alerts.Policy", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    alert = models.ForeignKey(
        "alerts.Alert",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="governance_actions",
    )
    app_instance = models.ForeignKey(
        "connectors.AppInstance", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=10, choices=TargetType.choices)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        "accounts.CloudUser",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="governance_actions",
    )
    target_ref = models.CharField(max_length=300, blank=True)  # the vendor's id of the target
    target_label = models.CharField(max_length=300, blank=True)  # shown: name, email, file name
    params = models.JSONField(default=dict, blank=True)  # e.g. the OAuth client id, email text
    comment = models.TextField(blank=True)
    # Policy-run actions: "<policy>:<kind>:<target>:<alert>" so one alert runs one action once.
    # NULL (not "") for manual actions, so that the unique constraint leaves them alone.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)  # the vendor's refusal, in plain words
    result = models.CharField(max_length=500, blank=True)  # what the vendor did, in plain words
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a message for this action was last sent to Celery: the sweep (`dispatch_due`) sends
    # a lost one again, but not every minute while it merely waits in a busy queue.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # "Retry" on a failed action records a new action; the failed one stays in the log.
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "idempotency_key"], name="governance_idempotency"
            )
        ]
        indexes = [
            models.Index(fields=["tenant_id", "-created_at"], name="governance_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="governance_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.target_label or self.target_ref}"
