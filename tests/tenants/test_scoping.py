"""The tenant-scoping mechanism fails closed and keeps tenants apart."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import TenantNotSet, tenant_context


def test_query_without_tenant_raises(tenant_a):
    with pytest.raises(TenantNotSet):
        AuditEvent.objects.count()


def test_save_without_tenant_raises(tenant_a):
    with pytest.raises(TenantNotSet):
        AuditEvent(seq=1, action="x", prev_hash="0", hash="0").save()


def test_queries_see_only_the_current_tenant(tenant_a, tenant_b):
    audit.record(tenant_a, "test.a")
    audit.record(tenant_b, "test.b")
    with tenant_context(tenant_a):
        assert set(AuditEvent.objects.values_list("action", flat=True)) == {"test.a"}
    with tenant_context(tenant_b):
        assert set(AuditEvent.objects.values_list("action", flat=True)) == {"test.b"}


def test_cannot_write_another_tenants_row_in_context(tenant_a, tenant_b):
    event = audit.record(tenant_b, "test.b")
    with tenant_context(tenant_a), pytest.raises(ValidationError):
        event.save()


def test_geo_is_fixed(tenant_a):
    tenant_a.geo = "us"
    with pytest.raises(ValidationError):
        tenant_a.save()


def test_bulk_create_claims_rows_for_the_current_tenant(tenant_a):
    rows = (
        AuditEvent(seq=1000 + i, created_at=timezone.now(), action="bulk", prev_hash="0", hash="0")
        for i in range(3)
    )
    with tenant_context(tenant_a):
        AuditEvent.objects.bulk_create(rows)
        assert AuditEvent.objects.filter(action="bulk", tenant_id=tenant_a.id).count() == 3
