"""Outbound HTTPS: SSRF refusals, TLS 1.2 minimum, certificate checks, timeouts, no redirects,
bounded bodies. Everything goes through the real client and real sockets."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings

import pytest
from django.utils import timezone

from apps.connectors import errors, services
from apps.connectors.client import VendorClient
from apps.connectors.models import InstanceStatus, Vendor
from apps.connectors.status import words
from apps.connectors.transport import DestinationRefused, check_destination, resolve
from tests.fakes.okta import FakeOkta

from .conftest import connect
from .helpers import reload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/api",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://10.0.0.8/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://localhost/",
    ],
)
def test_internal_addresses_are_refused_by_default(settings, url):
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(DestinationRefused, match="internal address"):
        check_destination(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://acme.okta.com/", "only https"),
        ("ftp://acme.okta.com/", "only https"),
        ("https://admin:pw@acme.okta.com/", "user name or password"),
        ("https:///nohost", "no host"),
    ],
)
def test_only_plain_https_urls(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        check_destination(url)


def test_a_public_address_passes():
    assert resolve("8.8.8.8", 443) == ["8.8.8.8"]


def test_the_admin_cannot_point_an_instance_at_the_metadata_service(tenant_a, settings):
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(services.InstanceRefused) as refused:
        services.create_instance(
            tenant=tenant_a,
            actor=None,
            vendor=Vendor.OKTA,
            name="Metadata",
            base_url="https://169.254.169.254/",
            credentials={"api_token": "x"},
        )
    assert "internal address" in refused.value.problems["base_url"]


def test_the_connection_itself_is_checked_not_only_the_form(tenant_a, okta, settings):
    """A name that resolved to a public address when saved and to an internal one now (DNS
    rebinding) is refused when connecting."""
    okta_app = connect(tenant_a, Vendor.OKTA, okta, {"api_token": okta.api_token})
    settings.CONNECTOR_ALLOWED_PRIVATE_HOSTS = []
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.ERROR
    assert "refused to connect: localhost resolves to an internal address" in words(instance)
    assert okta.requests == []  # not one byte reached the server


def test_a_next_page_link_to_another_host_is_not_followed(tenant_a, okta, okta_app):
    event = okta.add_event(timezone.now() - dt.timedelta(minutes=1))
    okta.fault(
        "/api/v1/logs",
        200,
        [event],
        {"Link": '<https://169.254.169.254/api/v1/logs?after=1>; rel="next"'},
    )
    services.poll_instance(okta_app, directory=False)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.ERROR
    assert "next-page link to another host (169.254.169.254)" in words(instance)
    assert len(okta.requests) == 1


def test_tls_older_than_1_2_is_refused(tenant_a, trust_fakes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = FakeOkta(trust_fakes, tls_versions=(ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1))
    try:
        # The server does speak TLS 1.1 (OpenSSL here still allows it at security level 0)...
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(str(trust_fakes.ca_bundle))
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", old.port)) as raw:  # noqa: SIM117
            with client.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.1"
        # ...and the connector refuses it.
        instance = connect(tenant_a, Vendor.OKTA, old, {"api_token": old.api_token})
        services.poll_instance(instance)
        instance = reload(tenant_a, instance)
        assert instance.status == InstanceStatus.ERROR
        assert "the app offers only TLS older than 1.2" in words(instance)
        assert old.requests == []
    finally:
        old.close()


def test_an_untrusted_certificate_is_refused(tenant_a, okta, okta_app, settings):
    settings.CONNECTOR_CA_BUNDLE = ""  # the fake's CA is not trusted any more
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.ERROR
    assert "the certificate could not be verified" in words(instance)


def test_slow_answers_time_out(tenant_a, okta, okta_app, settings):
    settings.CONNECTOR_HTTP_TIMEOUT = 0.3
    okta.delay = 1.0
    services.poll_instance(okta_app)
    instance = reload(tenant_a, okta_app)
    assert instance.status == InstanceStatus.UNAVAILABLE
    assert "did not answer in time" in words(instance)


def test_redirects_are_not_followed(okta):
    okta.fault("/api/v1/logs", 302, {}, {"Location": "https://169.254.169.254/"})
    with VendorClient() as client, pytest.raises(errors.ConnectorError, match="HTTP 302"):
        client.request("GET", okta.url("/api/v1/logs"))
    assert len(okta.requests) == 1


def test_oversized_answers_are_cut_off(okta):
    okta.fault("/api/v1/logs", 200, ["x" * 5000])
    with VendorClient(max_body=1024 * 1024) as client:
        assert client.request("GET", okta.url("/api/v1/logs")).json() == ["x" * 5000]
    okta.fault("/api/v1/logs", 200, ["x" * 5000])
    with VendorClient(max_body=1000) as client, pytest.raises(errors.BadResponse):
        client.request("GET", okta.url("/api/v1/logs"))
