"""Geo pinning, proved at rest: each tenant's rows are in its geo's database and nowhere else.

The test settings map eu/uk to "default" and us to "geo_us", two real PostgreSQL databases.
Data is written through the normal services; the proof reads each database with raw SQL on its
own connection, bypassing the ORM, the router and the tenant scoping under test.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections

from apps.tenants import audit, services
from apps.tenants.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _rows(alias: str, sql: str, params: list | None = None) -> list[tuple]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


def _audit_actions(alias: str, tenant) -> list[str]:
    rows = _rows(
        alias,
        "SELECT action FROM tenants_auditevent WHERE tenant_id = %s ORDER BY seq",
        [tenant.id],
    )
    return [action for (action,) in rows]


@pytest.fixture
def geo_tenants():
    eu = services.create_tenant(name="Europa", slug="europa", geo="eu")
    us = services.create_tenant(name="Liberty", slug="liberty", geo="us")
    for tenant, name in ((eu, "eve"), (us, "uma")):
        person = UserFactory(username=f"{name}@{tenant.slug}.test")
        services.set_role(tenant=tenant, user=person, role=Role.GLOBAL_ADMIN, actor=None)
        audit.record(tenant, "settings.changed", actor=person, details={"geo": tenant.geo})
    return eu, us


def test_settings_really_use_two_databases():
    assert settings.GEO_DATABASES == {"eu": "default", "uk": "default", "us": "geo_us"}
    default, geo_us = connections["default"].settings_dict, connections["geo_us"].settings_dict
    assert connections["default"].vendor == connections["geo_us"].vendor == "postgresql"
    assert default["NAME"] != geo_us["NAME"]


def test_each_tenants_audit_rows_live_only_in_its_geo_database(geo_tenants):
    eu, us = geo_tenants
    assert eu.db_alias == "default"
    assert us.db_alias == "geo_us"

    expected = ["member.added", "settings.changed"]
    assert _audit_actions("default", eu) == expected
    assert _audit_actions("geo_us", us) == expected
    # ... and not a single row in the other geo's database.
    assert _audit_actions("geo_us", eu) == []
    assert _audit_actions("default", us) == []

    # The chains verify where they live (verify_chain reads through the router).
    assert audit.verify_chain(eu).ok
    assert audit.verify_chain(us).ok


def test_control_plane_rows_live_only_in_default(geo_tenants):
    _eu, us = geo_tenants
    slugs = {slug for (slug,) in _rows("default", "SELECT slug FROM tenants_tenant")}
    assert {"europa", "liberty"} <= slugs
    users = {u for (u,) in _rows("default", "SELECT username FROM auth_user")}
    assert {"eve@europa.test", "uma@liberty.test"} <= users
    memberships = _rows(
        "default", "SELECT COUNT(*) FROM tenants_membership WHERE tenant_id = %s", [us.id]
    )
    assert memberships == [(1,)]

    # The US database holds tenant data only: control-plane tables are not even created there.
    us_tables = _tables("geo_us")
    assert "tenants_auditevent" in us_tables
    for table in ("tenants_tenant", "auth_user", "tenants_membership", "tenants_apitoken"):
        assert table not in us_tables, f"{table} must live in the default database only"


def test_scoped_reads_of_us_tenant_never_touch_default(geo_tenants, django_assert_num_queries):
    """Reading the US tenant's audit log through the ORM runs its query on geo_us."""
    from apps.tenants.models import AuditEvent
    from apps.tenants.scoping import tenant_context

    _eu, us = geo_tenants
    with tenant_context(us), django_assert_num_queries(0, connection=connections["default"]):
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["member.added", "settings.changed"]
