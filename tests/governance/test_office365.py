"""Microsoft 365 governance against the fake Microsoft Graph: users, files, OAuth grants."""

from __future__ import annotations

import pytest

from apps.dlp.models import AccessLevel, FileRecord, FileSource
from apps.governance.models import GovernanceKind as K
from apps.governance.models import GovernanceStatus as S
from apps.tenants.scoping import tenant_context
from tests.fakes.office365 import FakeOffice365

from .helpers import account, again, run

pytestmark = pytest.mark.django_db

URL = "https://contoso.sharepoint.com/sites/hr/Shared Documents/pay.xlsx"
share = FakeOffice365.share


@pytest.fixture
def ann(tenant_a, o365, o365_app):
    o365.add_user("1f0e-ann", "ann@contoso.test", name="Ann Lee")
    return account(tenant_a, o365_app, "1f0e-ann", "ann@contoso.test")


def test_block_and_unblock_sign_in_once(tenant_a, o365, ann):
    blocked = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert blocked.status == S.SUCCEEDED, blocked.error
    assert (
        blocked.result == "ann@contoso.test blocked from signing in (accountEnabled set to false)"
    )
    assert o365.users[0]["accountEnabled"] is False
    assert "already" in again(tenant_a, blocked).result
    run(tenant_a, K.UNSUSPEND_USER, account=ann)
    assert o365.users[0]["accountEnabled"] is True
    assert o365.changes == [("disabled", "1f0e-ann"), ("enabled", "1f0e-ann")]
    patch = o365.hits("/v1.0/users/1f0e-ann")[1]
    assert patch.method == "PATCH" and patch.headers["authorization"].startswith("Bearer ")


def test_revoke_sessions_and_confirm_compromised(tenant_a, o365, ann):
    assert run(tenant_a, K.REQUIRE_SIGN_IN, account=ann).status == S.SUCCEEDED
    assert ("sessions revoked", "1f0e-ann") in o365.changes
    compromised = run(tenant_a, K.CONFIRM_COMPROMISED, account=ann)
    assert compromised.status == S.SUCCEEDED
    assert o365.risky == {"1f0e-ann": "high"}


def test_missing_user_and_missing_licence(tenant_a, o365, o365_app, ann):
    ghost = account(tenant_a, o365_app, "dead-beef", "ghost@contoso.test")
    failed = run(tenant_a, K.SUSPEND_USER, account=ghost)
    assert failed.status == S.FAILED
    assert failed.error == "Microsoft 365 has no user ghost@contoso.test (deleted since?)"
    o365.fault(
        "/confirmCompromised",
        403,
        {"error": {"code": "Forbidden", "message": "Tenant is not licensed for Entra ID P2."}},
    )
    refused = run(tenant_a, K.CONFIRM_COMPROMISED, account=ann)
    assert refused.status == S.FAILED
    assert refused.error.startswith(
        "Microsoft 365 refused to confirm the user compromised: Forbidden: Tenant is not "
        "licensed for Entra ID P2."
    )


def test_remove_external_sharing_keeps_internal_shares(tenant_a, o365, o365_app):
    item = o365.add_file(
        URL,
        "pay.xlsx",
        [
            share("owner@contoso.test", role="owner"),
            share(link="anonymous"),
            share("bob@gmail.test"),
            share("carol@contoso.test", role="write"),
            share(link="organization"),
            share("site@contoso.test", inherited=True),
        ],
    )
    action = run(tenant_a, K.REMOVE_EXTERNAL_SHARING, app_instance=o365_app, file_id=URL)
    assert action.status == S.SUCCEEDED, action.error
    assert action.result == (
        "removed 2 external shares of pay.xlsx: an Anyone link, bob@gmail.test; "
        "2 internal shares kept"
    )
    left = {
        p.get("link", {}).get("scope") or p["grantedToV2"]["siteUser"]["email"]
        for p in item["permissions"]
    }
    assert left == {"owner@contoso.test", "carol@contoso.test", "organization", "site@contoso.test"}
    assert "no external share left" in again(tenant_a, action).result


def test_make_private_and_quarantine(tenant_a, o365, o365_app):
    item = o365.add_file(
        URL, "pay.xlsx", [share("owner@contoso.test", role="owner"), share("carol@contoso.test")]
    )
    with tenant_context(tenant_a):  # our record of the file, as the last listing saw it
        record = FileRecord.objects.create(
            source=FileSource.APP,
            app_instance=o365_app,
            external_id=URL,
            name="pay.xlsx",
            access_level=AccessLevel.PUBLIC,
            external_domains=["other.test"],
        )
    private = run(tenant_a, K.MAKE_PRIVATE, app_instance=o365_app, file_id=URL)
    assert private.status == S.SUCCEEDED
    assert [p["roles"] for p in item["permissions"]] == [["owner"]]
    with tenant_context(tenant_a):  # shown now, not only after the next listing
        record.refresh_from_db()
    assert (record.access_level, record.external_domains) == (AccessLevel.PRIVATE, [])
    assert record.quarantined is False
    item["permissions"].append(share(link="anonymous"))
    quarantined = run(tenant_a, K.QUARANTINE_FILE, app_instance=o365_app, file_id=URL)
    assert quarantined.status == S.SUCCEEDED, quarantined.error
    assert "moved into the Quarantine folder" in quarantined.result
    with tenant_context(tenant_a):
        record.refresh_from_db()
    assert record.quarantined is True
    folder = next(i for i in o365.items.values() if i["name"] == "Quarantine")
    assert item["parentReference"]["id"] == folder["id"]
    assert "already in the Quarantine folder" in again(tenant_a, quarantined).result
    assert [c for c in o365.changes if c[0] in ("folder created", "moved")] == [
        ("folder created", "Quarantine"),
        ("moved", f"{item['id']}->{folder['id']}"),
    ]


def test_file_by_drive_and_item_id_and_missing_file(tenant_a, o365, o365_app):
    item = o365.add_file(URL, "pay.xlsx", [share(link="anonymous")])
    by_id = run(
        tenant_a,
        K.REMOVE_EXTERNAL_SHARING,
        app_instance=o365_app,
        file_id=item["id"],
        params={"drive_id": "b!drive1"},
    )
    assert by_id.status == S.SUCCEEDED and item["permissions"] == []
    missing = run(
        tenant_a, K.MAKE_PRIVATE, app_instance=o365_app, file_id=URL.replace("pay", "gone")
    )
    assert missing.status == S.FAILED
    assert missing.error.startswith("Microsoft 365 has no file https://contoso.sharepoint.com")


def test_revoke_oauth_app_for_one_person_then_everyone(tenant_a, o365, ann):
    app = o365.add_app("0b6c8e2a-1111-4a4a-9c9c-123456789abc", "Mail Scraper")
    mine = o365.add_grant(app, "1f0e-ann")
    o365.add_grant(app, "other-user")
    tenant_wide = o365.add_grant(app, None)
    one = run(tenant_a, K.REVOKE_OAUTH_APP, account=ann, client_id=app["appId"])
    assert one.status == S.SUCCEEDED, one.error
    assert "revoked 1 delegated permission grant of Mail Scraper for ann@contoso.test" in one.result
    assert "organisation-wide consent remains" in one.result
    assert mine not in o365.grants and tenant_wide in o365.grants
    everyone = run(
        tenant_a, K.REVOKE_OAUTH_APP, app_instance=ann.app_instance, client_id=app["appId"]
    )
    assert everyone.status == S.SUCCEEDED
    assert o365.grants == []
    unknown = run(
        tenant_a,
        K.REVOKE_OAUTH_APP,
        app_instance=ann.app_instance,
        client_id="0b6c8e2a-2222-4a4a-9c9c-123456789abc",
    )
    assert unknown.status == S.FAILED
    assert "is in this directory" in unknown.error


def test_throttled_graph_is_retried(tenant_a, o365, ann):
    o365.rate_limit("/v1.0/users/1f0e-ann", retry_after="30", method="PATCH")
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.RETRYING
    assert 25 <= (action.next_attempt_at - action.started_at).total_seconds() <= 35
