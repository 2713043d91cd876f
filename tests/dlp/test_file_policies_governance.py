"""A file policy's actions carried out for real: the scan requests them, the governance executor
runs them against the fake Google Workspace (a real HTTPS server on loopback)."""

from __future__ import annotations

import pytest

from apps.alerts.models import Alert
from apps.dlp.models import AccessLevel, FileRecord, FileSource
from apps.governance.models import GovernanceAction, GovernanceStatus
from apps.tenants.scoping import tenant_context
from tests.connectors.conftest import (  # noqa: F401  (fixtures, registered by import)
    google,
    google_app,
    tls_files,
    trust_fakes,
)
from tests.dlp.file_policy_kit import make, scan
from tests.fakes.google import FakeGoogle
from tests.governance.helpers import execute, reload

pytestmark = pytest.mark.django_db
perm = FakeGoogle.permission


def test_a_card_file_shared_outside_loses_its_external_shares(
    tenant_a,
    google,  # noqa: F811
    google_app,  # noqa: F811
):
    file = google.add_file(
        "doc1",
        "ann@acme.test",
        [perm("anyone"), perm("user", "partner@other.test"), perm("user", "carol@acme.test")],
    )
    make(
        tenant_a,
        name="Cards shared outside",
        filters={"sensitive_types": ["payment_card"], "access_levels": [AccessLevel.EXTERNAL]},
        governance=["remove_external_sharing"],
    )
    scan(
        tenant_a,
        name="pay.xlsx.txt",
        source=FileSource.APP,
        app_instance=google_app,
        external_id="doc1",
        owner="ann@acme.test",
        access_level=AccessLevel.EXTERNAL,
        external_domains=["other.test"],
    )
    with tenant_context(tenant_a):
        action = GovernanceAction.objects.get()
        alert = Alert.objects.get()
    assert action.alert_id == alert.pk and action.status == GovernanceStatus.PENDING
    execute(tenant_a, action)
    action = reload(tenant_a, action)
    assert action.status == GovernanceStatus.SUCCEEDED, action.error
    assert [p["id"] for p in file["permissions"]] == ["perm-owner", "perm-user-carol-at-acme.test"]
    # Acting as the file's owner, as Google requires for sharing changes.
    assert google.assertions[-1]["sub"] == "ann@acme.test"
    # Our record shows it at once: internal shares at most, no external domain left.
    with tenant_context(tenant_a):
        record = FileRecord.objects.get()
    assert (record.access_level, record.external_domains) == (AccessLevel.INTERNAL, [])
