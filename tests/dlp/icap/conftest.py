"""Fixtures of the ICAP server tests: tenant A with its ICAP service on (block mode, a known
secret), a block policy for card numbers, and a real server on a free loopback port.

The server's threads use their own database connections, so these tests run with
`transaction=True` (data committed for real, flushed afterwards)."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connections

from apps.alerts.models import Policy, PolicyKind
from apps.dlp.icap import services as icap
from apps.dlp.icap.handler import Config
from apps.dlp.icap.server import IcapServer
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant

BLOCK_MESSAGE = "Stop: <card> numbers & secrets stay inside."


@dataclass
class Service:
    tenant: Tenant
    secret: str

    @property
    def slug(self) -> str:
        return self.tenant.slug


def need(binary: str) -> str:
    """The binary's path; skip (fail under CI=true) when it is not installed."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin")
    if path is None:
        message = f"{binary} is not installed (Debian package: apt-get install c-icap squid)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def make_service(tenant: Tenant, *, mode: str = "block") -> Service:
    secret = icap.rotate_secret(tenant=tenant, actor=None).secret
    icap.update_settings(
        tenant=tenant, actor=None, enabled=True, mode=mode, block_message=BLOCK_MESSAGE
    )
    return Service(tenant=tenant, secret=secret)


def block_policy(tenant: Tenant) -> Policy:
    """A file policy that blocks files with a card number (the agreed vocabulary)."""
    with tenant_context(tenant):
        return Policy.objects.create(
            kind=PolicyKind.FILE,
            name="Block card numbers",
            filters={"sensitive_types": ["payment_card"], "min_matches": 1},
            tuning={"alert": False, "block": True},
        )


_numbers = itertools.count(1)

# pytest-django sets up the test databases that marked tests ask for; each module of this
# package marks one database-free test with this so its module fixture finds them ready.
SETS_UP_DATABASES = pytest.mark.django_db(databases="__all__")


@pytest.fixture(scope="package")
def icap_db(django_db_setup, django_db_blocker):
    """Real, committed database access for this package's tests (the server's threads need
    it); each test makes its own tenant, and the data is flushed once at the package's end."""
    with django_db_blocker.unblock():
        yield
        for alias in connections:
            call_command("flush", interactive=False, database=alias, verbosity=0)


@pytest.fixture
def service(icap_db) -> Service:
    n = next(_numbers)
    return make_service(make_tenant(f"Icap {n}", geo="eu", slug=f"icap-{os.getpid()}-{n}"))


@pytest.fixture
def blocking(service) -> Service:
    block_policy(service.tenant)
    return service


def start_server(tls=None, **overrides) -> tuple[IcapServer, threading.Event, threading.Thread]:
    values = dict(
        max_header_bytes=65536, max_body_bytes=1_000_000, idle_timeout=2.0, max_connections=32
    )
    values.update(overrides)
    server = IcapServer("127.0.0.1", 0, config=Config(**values), tls=tls)
    server.start()
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    return server, stop, thread


@pytest.fixture(scope="module")
def server(icap_db):
    server, stop, thread = start_server()
    yield server
    stop.set()
    thread.join(timeout=10)
