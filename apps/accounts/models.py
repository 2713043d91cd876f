"""The monitored people: a CloudUser (the person) and their per-app Accounts and groups."""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel


class AccountStatus(models.TextChoices):
    NA = "na", "N/A"
    STAGED = "staged", "Staged"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    DELETED = "deleted", "Deleted in the app"


class CloudUser(TenantOwnedModel):
    """A person, joined across apps by email/UPN (`identity`, lower-cased)."""

    identity = models.CharField(max_length=254)
    display_name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    department = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    is_external = models.BooleanField(default=False)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "identity"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "identity"], name="one_user_per_identity")
        ]

    def __str__(self) -> str:
        return self.display_name or self.identity


class Account(TenantOwnedModel):
    """A person's account in one connected app, as the app last described it."""

    app_instance = models.ForeignKey(
        "connectors.AppInstance", on_delete=models.CASCADE, related_name="accounts"
    )
    user = models.ForeignKey(
        CloudUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="accounts"
    )
    external_id = models.CharField(max_length=200)
    username = models.CharField(max_length=254, blank=True)
    email = models.CharField(max_length=254, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    is_admin = models.BooleanField(default=False)
    deleted_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["app_instance", "external_id"], name="one_account_per_app_id"
            )
        ]

    def __str__(self) -> str:
        return self.username or self.external_id


class UserGroup(TenantOwnedModel):
    """A group imported from a connected app (or a built-in group when app is empty)."""

    app_instance = models.ForeignKey(
        "connectors.AppInstance",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="groups",
    )
    external_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "app_instance", "external_id"], name="one_group_per_app_id"
            )
        ]

    def __str__(self) -> str:
        return self.name


class GroupMembership(TenantOwnedModel):
    """An account's membership of a group (an explicit, tenant-owned through table so that
    it is scoped and geo-routed like every other row)."""

    group = models.ForeignKey(UserGroup, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "account"], name="one_membership_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} in {self.group_id}"
