"""Key management: per-tenant data keys wrapped by the deployment's master key."""

from __future__ import annotations

import uuid

from django.db import models


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
