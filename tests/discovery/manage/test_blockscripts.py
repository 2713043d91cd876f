"""Block scripts: the exact lines per appliance for a small fixture, the safety list (Microsoft
services and our own console never blocked), and no way to inject a line through a domain."""

from __future__ import annotations

import pytest

from apps.discovery import blockscripts
from apps.discovery import services_manage as manage
from apps.discovery.catalog import apps as catalog_apps
from apps.discovery.models import CustomApp, TagKind
from apps.tenants.scoping import tenant_context

from .helpers import custom_app, events

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixture(tenant_a, tenant_b):
    custom_app(
        tenant_a,
        "Shadow Drive",
        ["shadowdrive.example", "eu.shadowdrive.example", "upload.shadow-box.test", "192.0.2.10"],
        tag="unsanctioned",
    )
    custom_app(tenant_a, "Approved Wiki", ["wiki.approved.test"], tag="sanctioned")
    custom_app(tenant_a, "Watched", ["watched.test"], tag="monitored")
    custom_app(tenant_b, "Bravo only", ["bravo-secret.test"], tag="unsanctioned")
    return tenant_a


def _script(tenant, appliance: str) -> str:
    with tenant_context(tenant):
        return blockscripts.generate(appliance=appliance, actor="t")[1]


EXPECTED = {
    "plain": ["192.0.2.10", "shadowdrive.example", "upload.shadow-box.test"],
    "zscaler": [".shadowdrive.example", ".upload.shadow-box.test", "192.0.2.10"],
    "bluecoat": [
        "<Proxy>",
        "url.domain=shadowdrive.example deny",
        "url.domain=upload.shadow-box.test deny",
        "url.address=192.0.2.10 deny",
    ],
    "squid": [
        "acl casb_unsanctioned dstdomain .shadowdrive.example",
        "acl casb_unsanctioned dstdomain .upload.shadow-box.test",
        "acl casb_unsanctioned_ip dst 192.0.2.10",
        "http_access deny casb_unsanctioned",
        "http_access deny casb_unsanctioned_ip",
    ],
    "paloalto": [
        'set profiles custom-url-category CAS_Unsanctioned type "URL List"',
        'set profiles custom-url-category CAS_Unsanctioned description "Unsanctioned cloud apps"',
        "set profiles custom-url-category CAS_Unsanctioned list shadowdrive.example",
        "set profiles custom-url-category CAS_Unsanctioned list *.shadowdrive.example",
        "set profiles custom-url-category CAS_Unsanctioned list upload.shadow-box.test",
        "set profiles custom-url-category CAS_Unsanctioned list *.upload.shadow-box.test",
        "set profiles custom-url-category CAS_Unsanctioned list 192.0.2.10",
    ],
}


@pytest.mark.parametrize("appliance", sorted(EXPECTED))
def test_exact_lines(fixture, appliance):
    assert _script(fixture, appliance).splitlines() == EXPECTED[appliance]


def test_fortigate_lines(fixture):
    lines = [line.strip() for line in _script(fixture, "fortigate").splitlines()]
    assert lines[:4] == [
        "config webfilter urlfilter",
        "edit 1",
        'set name "CAS_Unsanctioned"',
        "config entries",
    ]
    assert lines[4:14] == [
        "edit 1",
        'set url "shadowdrive.example"',
        "set type simple",
        "set action block",
        "next",
        "edit 2",
        'set url "*.shadowdrive.example"',
        "set type wildcard",
        "set action block",
        "next",
    ]
    assert 'set url "192.0.2.10"' in lines
    assert lines.count("set action block") == 5
    assert lines[-3:] == ["end", "next", "end"]


def test_catalog_domains_of_unsanctioned_apps(tenant_a):
    with tenant_context(tenant_a):
        manage.tag_app(app="mega", tag=manage.builtin_tag(TagKind.UNSANCTIONED), actor="t")
        found = blockscripts.unsanctioned_list().domains
    assert set(catalog_apps()["mega"].domains) <= set(found)
    assert found == sorted(found)


def test_empty_list(tenant_a):
    assert _script(tenant_a, "plain") == ""
    assert _script(tenant_a, "squid") == ""


def test_file_name_and_audit(fixture):
    with tenant_context(fixture):
        name, _, _ = blockscripts.generate(appliance="fortigate", actor="t")
    assert name.endswith("_CAS_Fortigate_block_script.txt") and len(name) == len(
        "2017-02-19_CAS_Fortigate_block_script.txt"
    )
    (event,) = events(fixture, "discovery.block_script_generated")
    assert event.details["appliance"] == "fortigate" and event.details["domains"] == 3


def test_unknown_appliance(tenant_a):
    from apps.discovery.services import DiscoveryRefused

    with tenant_context(tenant_a), pytest.raises(DiscoveryRefused) as exc:
        blockscripts.generate(appliance="checkpoint\n", actor="t")
    assert exc.value.field == "appliance"


def test_safety_list_is_never_blocked(tenant_a, settings):
    settings.ALLOWED_HOSTS = ["casb.example.org", ".alpha-console.test"]
    custom_app(
        tenant_a,
        "Microsoft bits",
        [
            "login.microsoftonline.com",
            "eu.portal.cloudappsecurity.com",
            "microsoft.com",  # a parent: blocking it would block security.microsoft.com
            "security.microsoft.com",
            "casb.example.org",
            "example.org",
            "alpha-console.test",
            "fine.example.net",
        ],
        tag="unsanctioned",
    )
    with tenant_context(tenant_a):
        found = blockscripts.unsanctioned_list()
        text = "".join(_script(tenant_a, key) for key in blockscripts.APPLIANCES)
    assert found.domains == ["fine.example.net"]
    assert "microsoft" not in text and "cloudappsecurity" not in text
    assert "example.org" not in text and "alpha-console" not in text
    assert "login.microsoftonline.com" in found.safe_skipped


def test_request_host_is_safe(tenant_a, rf, settings):
    settings.ALLOWED_HOSTS = ["console.alpha-casb.test"]
    custom_app(tenant_a, "Us", ["console.alpha-casb.test", "ok.test"], tag="unsanctioned")
    request = rf.get("/", HTTP_HOST="console.alpha-casb.test:8443")
    settings.ALLOWED_HOSTS = ["*"]  # only the request names the console now
    with tenant_context(tenant_a):
        assert blockscripts.unsanctioned_list(request).domains == ["ok.test"]


def test_no_injection_even_from_stored_rows(tenant_a):
    """A domain written around the service (an old row, a bug) still never reaches a script."""
    with tenant_context(tenant_a):
        app = CustomApp.objects.create(
            name="Sneaky",
            domains=[
                "ok.sneaky.test",
                'bad.test"\nset action allow',
                "x.test\nhttp_access allow all",
                "a.test; rm -rf /",
                "*.wild.test",
            ],
        )
        manage.tag_app(app=app.key, tag=manage.builtin_tag("unsanctioned"), actor="t")
        found = blockscripts.unsanctioned_list()
    assert found.domains == ["ok.sneaky.test"] and found.invalid_skipped == 4
    for key in blockscripts.APPLIANCES:
        assert _script(tenant_a, key) == blockscripts.render(key, ["ok.sneaky.test"])
    assert blockscripts.render("plain", ["ok.test", "evil.test\nhttp_access allow all"]) == (
        "ok.test\n"
    )
