"""The ICAP server answers OPTIONS, REQMOD and RESPMOD per RFC 3507, per tenant, with its secret.

Tests that need a block verdict (`blocking` fixture) depend on the file policy module's
`apply()` honouring `tuning.block` (helper H2's work)."""

from __future__ import annotations

import hashlib
import os

import pytest

from apps.dlp.icap import services as icap
from apps.dlp.icap.protocol import IcapError, parse_encapsulated
from apps.dlp.models import FileRecord, FileSource, IcapMode, ScanStatus, Verdict
from apps.tenants.scoping import tenant_context
from tests.dlp.icap import client as ic
from tests.dlp.icap.conftest import BLOCK_MESSAGE, SETS_UP_DATABASES, make_service
from tests.factories import make_tenant


@SETS_UP_DATABASES
def test_encapsulated_header_parsing():
    assert parse_encapsulated("req-hdr=0, req-body=412") == [("req-hdr", 0), ("req-body", 412)]
    assert parse_encapsulated("req-hdr=0, res-hdr=10, null-body=20")[-1] == ("null-body", 20)
    for bad in ("req-hdr=5, req-body=9", "req-hdr=0, req-body=0", "req-hdr=0", "x=0",
                "req-body=0, req-hdr=9", "req-hdr=0, res-hdr=9, res-hdr=20, res-body=30",
                "req-hdr=0, req-body=-1", "req-hdr=0, req-body=10, res-body=20"):  # fmt: skip
        with pytest.raises(IcapError):
            parse_encapsulated(bad)


def records(tenant):
    with tenant_context(tenant):
        return list(FileRecord.objects.order_by("first_seen_at"))


def test_options_advertises_the_service(server, service):
    c = ic.Client(server.port)
    reply = c.call(ic.options(service.slug, "reqmod", service.secret))
    assert reply.status == 200
    assert reply.headers["methods"] == "REQMOD"
    assert reply.headers["allow"] == "204" and reply.headers["preview"].isdigit()
    assert reply.headers["encapsulated"] == "null-body=0"
    tag = reply.headers["istag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) <= 34
    # Same state, same tag; on the same (persistent) connection.
    assert c.call(ic.options(service.slug, "reqmod", service.secret)).headers["istag"] == tag
    assert c.call(ic.options(service.slug, "respmod")).headers["methods"] == "RESPMOD"
    # A settings change gives a new tag.
    icap.update_settings(
        tenant=service.tenant, actor=None, enabled=True, mode=IcapMode.MONITOR,
        block_message="x",
    )  # fmt: skip
    assert c.call(ic.options(service.slug, "reqmod", service.secret)).headers["istag"] != tag
    c.close()


def test_a_clean_upload_is_recorded_and_answered_204(server, service):
    reply = ic.Client(server.port).call(ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT))
    assert reply.status == 204 and reply.headers["istag"].startswith('"')
    [record] = records(service.tenant)
    assert record.source == FileSource.ICAP and record.name == "card.txt"
    assert (
        record.verdict == Verdict.CLEAN
        and record.sha256 == hashlib.sha256(ic.CLEAN_TEXT).hexdigest()
    )
    assert record.location == "http://files.example.test/upload/card.txt"


def test_without_allow_204_the_message_comes_back_unchanged(server, service):
    request = ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT, allow_204=False)
    reply = ic.Client(server.port).call(request)
    assert reply.status == 200
    assert reply.blocks["req-hdr"] == ic.upload_head("card.txt", len(ic.CLEAN_TEXT))
    assert reply.body == ic.CLEAN_TEXT


def test_a_card_number_is_blocked_with_the_tenants_escaped_message(server, blocking):
    reply = ic.Client(server.port).call(ic.reqmod(blocking.slug, blocking.secret, ic.CARD_TEXT))
    assert reply.status == 200 and reply.http_status == 403
    assert b"text/html" in reply.blocks["res-hdr"]
    assert b"Stop: &lt;card&gt; numbers &amp; secrets stay inside." in reply.body
    assert BLOCK_MESSAGE.encode() not in reply.body
    [record] = records(blocking.tenant)
    assert record.verdict == Verdict.BLOCKED and record.matched_types == ["payment_card"]


def test_monitor_mode_records_but_lets_the_file_through(server, blocking):
    make_service(blocking.tenant, mode=IcapMode.MONITOR)
    tenant = blocking.tenant
    secret = icap.rotate_secret(tenant=tenant, actor=None).secret
    reply = ic.Client(server.port).call(ic.reqmod(tenant.slug, secret, ic.CARD_TEXT))
    assert reply.status == 204
    [record] = records(tenant)
    assert record.matched_types == ["payment_card"]


def test_preview_then_continue_then_block(server, blocking):
    body = b"x" * 3000 + b"\n" + ic.CARD_TEXT
    c = ic.Client(server.port)
    c.send(ic.reqmod(blocking.slug, blocking.secret, body, preview=1024))
    assert c.read().status == 100
    reply = c.call(ic.chunks(body[1024:]))
    assert reply.status == 200 and reply.http_status == 403
    [record] = records(blocking.tenant)
    assert record.size == len(body)


def test_whole_body_in_preview_with_ieof_gets_204_even_without_allow(server, service):
    request = ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT, preview=1024, allow_204=False)
    assert ic.Client(server.port).call(request).status == 204
    assert len(records(service.tenant)) == 1


def test_preview_zero(server, service):
    c = ic.Client(server.port)
    c.send(ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT, preview=0))
    assert c.read().status == 100
    assert c.call(ic.chunks(ic.CLEAN_TEXT)).status == 204
    [record] = records(service.tenant)
    assert record.size == len(ic.CLEAN_TEXT)


def test_respmod_scans_the_download(server, blocking):
    reply = ic.Client(server.port).call(ic.respmod(blocking.slug, blocking.secret, ic.CARD_TEXT))
    assert reply.status == 200 and reply.http_status == 403
    [record] = records(blocking.tenant)
    assert record.name == "card.txt" and record.location.endswith("/docs/card.txt")


def test_multipart_upload_scans_each_file_part(server, service):
    boundary = "----b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + ic.CARD_TEXT
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="g"; filename="b.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\nname,team\r\nann,blue\r\n--{boundary}--\r\n"
        ).encode()
    )
    head = ic.upload_head(
        "form", len(body), content_type=f"multipart/form-data; boundary={boundary}"
    )
    reply = ic.Client(server.port).call(ic.reqmod(service.slug, service.secret, body, head=head))
    assert reply.status == 204
    names = {r.name: r for r in records(service.tenant)}
    assert set(names) == {"a.txt", "b.csv"}
    assert names["a.txt"].matched_types == ["payment_card"] and names["b.csv"].matched_types == []


def test_owner_from_x_authenticated_user(server, service):
    import base64

    user = base64.b64encode(b"Local://ann@alpha.test").decode()
    request = ic.reqmod(
        service.slug,
        service.secret,
        ic.CLEAN_TEXT,
        icap_headers=f"X-Authenticated-User: {user}\r\n",
    )
    assert ic.Client(server.port).call(request).status == 204
    assert records(service.tenant)[0].owner == "ann@alpha.test"


def test_get_without_body_is_not_recorded(server, service):
    head = b"GET /index.html HTTP/1.1\r\nHost: files.example.test\r\n\r\n"
    reply = ic.Client(server.port).call(ic.reqmod(service.slug, service.secret, None, head=head))
    assert reply.status == 204 and records(service.tenant) == []


def test_secret_in_the_service_uri_query(server, service):
    request = ic.reqmod(service.slug, None, ic.CLEAN_TEXT).replace(
        b"/reqmod ICAP/1.0", f"/reqmod?secret={service.secret} ICAP/1.0".encode(), 1
    )
    assert ic.Client(server.port).call(request).status == 204


def test_unknown_tenant_disabled_service_and_wrong_secret_look_the_same(server, service):
    other = make_tenant("Icap other", geo="us", slug=f"icap-other-{os.getpid()}")
    other_service = make_service(other)
    icap.update_settings(tenant=other, actor=None, enabled=False, mode="block", block_message="")
    cases = [
        ic.reqmod("nosuchtenant", service.secret, ic.CLEAN_TEXT),
        ic.reqmod(service.slug, "icap_wrong", ic.CLEAN_TEXT),
        ic.reqmod(service.slug, None, ic.CLEAN_TEXT),
        ic.reqmod(service.slug, other_service.secret, ic.CLEAN_TEXT),  # another tenant's
        ic.reqmod(other.slug, other_service.secret, ic.CLEAN_TEXT),  # disabled
        ic.options("nosuchtenant", "reqmod", "icap_wrong"),
        ic.options(service.slug, "reqmod", "icap_wrong"),
    ]
    replies = [ic.Client(server.port).call(case) for case in cases]
    assert {(r.status, r.headers["istag"], r.body) for r in replies} == {
        (403, replies[0].headers["istag"], None)
    }
    assert records(service.tenant) == [] and records(other) == []
    # OPTIONS without a secret (Squid sends none) looks the same for any slug.
    known = ic.Client(server.port).call(ic.options(service.slug))
    unknown = ic.Client(server.port).call(ic.options("nosuchtenant"))
    assert known.status == unknown.status == 200
    assert set(known.headers) == set(unknown.headers)


def test_service_paths_and_methods(server, service):
    assert ic.Client(server.port).call(ic.options(service.slug, "other")).status == 404
    request = ic.reqmod(service.slug, service.secret, ic.CLEAN_TEXT).replace(
        b"/reqmod ", b"/respmod ", 1
    )
    assert ic.Client(server.port).call(request).status == 405
    bad = b"PATCH icap://127.0.0.1/alpha/reqmod ICAP/1.0\r\nHost: x\r\n\r\n"
    assert ic.Client(server.port).call(bad).status == 501


def test_over_the_body_limit_is_recorded_not_scanned_and_let_through(server, service):
    body = ic.CARD_TEXT * (1_100_000 // len(ic.CARD_TEXT))
    assert ic.Client(server.port).call(ic.reqmod(service.slug, service.secret, body)).status == 204
    # With a preview and a declared length over the limit: 204 without reading the rest.
    c = ic.Client(server.port)
    assert c.call(ic.reqmod(service.slug, service.secret, body, preview=1024)).status == 204
    # Without Allow: 204 the body is gone: an HTTP 413 page.
    reply = ic.Client(server.port).call(
        ic.reqmod(service.slug, service.secret, body, allow_204=False)
    )
    assert reply.status == 200 and reply.http_status == 413
    found = records(service.tenant)
    assert len(found) == 3
    assert {(r.scan_status, r.scan_reason, r.size) for r in found} == {
        (ScanStatus.NOT_SCANNED, "too large", len(body))
    }
    assert found[0].sha256 == hashlib.sha256(body).hexdigest() and found[1].sha256 == ""
