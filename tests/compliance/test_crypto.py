"""Envelope encryption: tenant keys wrapped by the master key, values bound to tenant and
purpose, crypto-shredding."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from apps.compliance import crypto
from apps.compliance.models import TenantKey

SECRET = "s3cr3t-canary-7f9a"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    crypto.forget()
    yield
    crypto.forget()


def test_round_trip(tenant_a):
    blob = crypto.seal_text(tenant_a.id, SECRET, "test.purpose")
    assert SECRET.encode() not in blob
    assert crypto.open_text(blob, "test.purpose") == SECRET
    assert crypto.open_text(blob, "test.purpose", tenant_id=tenant_a.id) == SECRET


def test_each_seal_uses_a_fresh_nonce(tenant_a):
    assert crypto.seal_text(tenant_a.id, SECRET, "p") != crypto.seal_text(tenant_a.id, SECRET, "p")


def test_bound_to_purpose_and_tenant(tenant_a, tenant_b):
    blob = crypto.seal_text(tenant_a.id, SECRET, "field.one")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_text(blob, "field.two")
    with pytest.raises(crypto.DecryptionError):
        crypto.open_text(blob, "field.one", tenant_id=tenant_b.id)


@pytest.mark.parametrize("position", [0, 5, 25, 40, -1])
def test_any_flipped_byte_is_detected(tenant_a, position):
    blob = bytearray(crypto.seal_text(tenant_a.id, SECRET, "p"))
    blob[position] ^= 0x01
    with pytest.raises(crypto.DecryptionError):
        crypto.open_text(bytes(blob), "p")


def test_data_key_is_stored_only_wrapped(tenant_a):
    crypto.seal_text(tenant_a.id, SECRET, "p")
    row = TenantKey.objects.get(tenant=tenant_a)
    data_key = crypto.unwrap(row)
    assert len(data_key) == 32
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wrapped_key FROM compliance_tenantkey WHERE tenant_id = %s", [tenant_a.id]
        )
        (stored,) = cursor.fetchone()
    assert data_key not in bytes(stored)


def test_rotated_key_still_opens_old_values(tenant_a):
    old = crypto.seal_text(tenant_a.id, SECRET, "p")
    version = crypto.create_key_version(tenant_a.id)
    assert version == 2
    new = crypto.seal_text(tenant_a.id, SECRET, "p")
    assert new[17:21] == (2).to_bytes(4, "big")
    crypto.forget()
    assert crypto.open_text(old, "p") == crypto.open_text(new, "p") == SECRET


def test_wrong_master_key_cannot_unwrap(tenant_a):
    blob = crypto.seal_text(tenant_a.id, SECRET, "p")
    crypto.forget()
    other = {"other": b"\x07" * 32}
    with (
        override_settings(CASB_MASTER_KEYS=other, CASB_CURRENT_MASTER_KEY_ID="other"),
        pytest.raises(crypto.DecryptionError),
    ):
        crypto.open_text(blob, "p")


def test_destroying_keys_makes_data_unreadable(tenant_a):
    blob = crypto.seal_text(tenant_a.id, SECRET, "p")
    assert crypto.destroy_tenant_keys(tenant_a.id) == 1
    with pytest.raises(crypto.DecryptionError):
        crypto.open_text(blob, "p")


def test_garbage_is_refused(tenant_a):
    for junk in (b"", b"\x01", b"plain text that was never sealed at all......."):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_text(junk, "p")
