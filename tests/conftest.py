"""Shared fixtures: Alice's tenant (A) with one member of each role, and Charlie, global admin
of tenant B, who must never see or touch anything of A's (the Healthchecks pattern)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.tenants.models import Role
from tests.factories import PASSWORD, UserFactory, make_tenant, member


@pytest.fixture
def tenant_a(db):
    return make_tenant("Alpha", geo="eu")


@pytest.fixture
def tenant_b(db):
    return make_tenant("Bravo", geo="uk")


@pytest.fixture
def alice(tenant_a):
    """Global admin of tenant A."""
    return member(tenant_a, Role.GLOBAL_ADMIN, username="alice@alpha.test")


@pytest.fixture
def sam(tenant_a):
    """Security admin of tenant A."""
    return member(tenant_a, Role.SECURITY_ADMIN, username="sam@alpha.test")


@pytest.fixture
def rita(tenant_a):
    """Security reader of tenant A."""
    return member(tenant_a, Role.SECURITY_READER, username="rita@alpha.test")


@pytest.fixture
def charlie(tenant_b):
    """Global admin of tenant B only."""
    return member(tenant_b, Role.GLOBAL_ADMIN, username="charlie@bravo.test")


@pytest.fixture
def nobody(db):
    """A portal account that belongs to no tenant."""
    return UserFactory(username="nobody@example.test")


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(autouse=True)
def discovery_spool(settings, tmp_path):
    """Every test spools discovery uploads into a folder of its own (the pipeline deletes spool
    files on commit, which never comes inside a test's transaction)."""
    settings.DISCOVERY_SPOOL_DIR = tmp_path / "discovery-spool"
    return settings.DISCOVERY_SPOOL_DIR
