"""Fixtures of the connector tests: a CA the client trusts, one fake server per vendor, and
an app instance of tenant A pointed at it."""

from __future__ import annotations

import pytest

from apps.connectors import services
from apps.connectors.models import AppInstance, Vendor
from apps.tenants.scoping import tenant_context
from tests.fakes.github import FakeGitHub
from tests.fakes.google import FakeGoogle
from tests.fakes.office365 import FakeOffice365
from tests.fakes.okta import FakeOkta
from tests.fakes.tls import make_tls


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("fake-vendor-tls"))


@pytest.fixture
def trust_fakes(settings, tls_files):
    """The connector client trusts the fake vendors' CA (and nothing else changes)."""
    settings.CONNECTOR_CA_BUNDLE = str(tls_files.ca_bundle)
    return tls_files


def _serve(cls, tls_files):
    server = cls(tls_files)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def okta(trust_fakes):
    yield from _serve(FakeOkta, trust_fakes)


@pytest.fixture
def o365(trust_fakes):
    yield from _serve(FakeOffice365, trust_fakes)


@pytest.fixture
def google(trust_fakes):
    yield from _serve(FakeGoogle, trust_fakes)


@pytest.fixture
def github(trust_fakes):
    yield from _serve(FakeGitHub, trust_fakes)


def connect(tenant, vendor: str, server, credentials: dict, name: str = "") -> AppInstance:
    instance = services.create_instance(
        tenant=tenant,
        actor=None,
        vendor=vendor,
        name=name or f"{vendor} test",
        base_url=server.base_url,
        credentials=credentials,
    )
    with tenant_context(tenant):
        return AppInstance.objects.get(pk=instance.pk)


@pytest.fixture
def okta_app(tenant_a, okta):
    return connect(tenant_a, Vendor.OKTA, okta, {"api_token": okta.api_token})


@pytest.fixture
def o365_app(tenant_a, o365):
    return connect(tenant_a, Vendor.OFFICE365, o365, o365.credentials())


@pytest.fixture
def google_app(tenant_a, google):
    return connect(tenant_a, Vendor.GOOGLE_WORKSPACE, google, google.credentials())


@pytest.fixture
def github_app(tenant_a, github):
    return connect(tenant_a, Vendor.GITHUB, github, github.credentials())
