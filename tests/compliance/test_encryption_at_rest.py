"""Secrets are not readable in the database: every row of every table, in both databases, read
as text, holds neither a connector secret, nor the pseudonymisation key, nor a data key, nor
what the sealed samples of a content inspection match say (their context words)."""

from __future__ import annotations

import contextlib
import json

import pytest
from django.db import connections

from apps.compliance import crypto
from apps.compliance.models import TenantKey
from apps.connectors import services as connector_services
from apps.discovery import anonymize
from apps.discovery.models import AnonymizationKey
from apps.dlp import selectors as dlp_selectors
from apps.dlp.models import Match
from apps.dlp.services import scan_file
from apps.tenants.scoping import tenant_context
from tests.factories import make_tenant

ALL = ["default", "geo_us"]
SECRET = "PlainTextSecret-7f3a9c-do-not-store"
CONTEXT_WORD = "Quetzalfeather"  # next to the card: in the match's sealed context only
CARD = "4111 1111 1111 1111"


def _tables(alias: str) -> list[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
        return [row[0] for row in cursor.fetchall()]


def _database_text(alias: str) -> str:
    """Every row of every table of `alias` as PostgreSQL prints it (bytea as hex)."""
    parts = []
    with connections[alias].cursor() as cursor:
        for table in _tables(alias):
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 (catalogue names)
            parts.extend(row[0] for row in cursor.fetchall())
    return "\n".join(parts).lower()


def _needles(plain: bytes) -> list[str]:
    """How a value would show if stored in clear: as text, or as bytea hex."""
    needles = [plain.hex()]
    with contextlib.suppress(UnicodeDecodeError):
        needles.append(plain.decode().lower())
    return needles


@pytest.mark.django_db(databases=ALL)
@pytest.mark.parametrize("geo, alias", [("eu", "default"), ("us", "geo_us")])
def test_secrets_and_keys_are_not_readable_in_the_database(geo, alias):
    tenant = make_tenant(f"Secretive {geo}", geo=geo, slug=f"secretive-{geo}")
    instance = connector_services.create_instance(
        tenant=tenant,
        actor=None,
        vendor="okta",
        name="Okta",
        base_url="https://localhost",
        credentials={"api_token": SECRET},
    )
    with tenant_context(tenant):
        anonymize.Pseudonymizer(tenant)
        sealed_key = bytes(AnonymizationKey.objects.get().sealed_key)
        assert instance.credentials() == {"api_token": SECRET}  # it is there, sealed
        scan_file(
            name="statement.txt",
            data=f"{CONTEXT_WORD} paid with card {CARD} today.\n".encode(),
            source="api",
        )
        match = Match.objects.get()
        [sample] = dlp_selectors.samples(match)  # it is there, sealed
        assert CONTEXT_WORD in sample["context"]
        samples_plain = json.dumps(dlp_selectors.samples(match)).encode()
    anon_key = crypto.open_sealed(sealed_key, "discovery.anonymization_key", tenant.id)
    data_key = crypto.unwrap(TenantKey.objects.get(tenant_id=tenant.id))
    assert len(anon_key) == 32 and len(data_key) == 32

    texts = {a: _database_text(a) for a in ALL}
    # The scan sees the rows (a scan that read nothing would prove nothing).
    assert str(instance.pk) in texts[alias] and str(tenant.pk) in texts["default"]
    # Binary columns are searched as PostgreSQL prints them (hex): the sealed value is found.
    assert bytes(instance.credentials_sealed).hex() in texts[alias]
    assert bytes(match.samples_sealed).hex() in texts[alias]
    assert "statement.txt" in texts[alias]  # the file's metadata is there, in clear
    for plain in (
        SECRET.encode(),
        anon_key,
        data_key,
        CONTEXT_WORD.encode(),
        CARD.encode(),
        CARD.replace(" ", "").encode(),
        samples_plain,
    ):
        for needle in _needles(plain):
            for scanned_alias, text in texts.items():
                assert needle.lower() not in text, (scanned_alias, needle)
    # The master key is not in the database either.
    master = crypto.settings.CASB_MASTER_KEYS[crypto.settings.CASB_CURRENT_MASTER_KEY_ID]
    for text in texts.values():
        assert master.hex() not in text
