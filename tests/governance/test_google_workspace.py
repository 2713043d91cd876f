"""Google Workspace governance against the fake Google: Directory API and Drive API v3."""

from __future__ import annotations

import pytest

from apps.connectors.adapters.governance import google_workspace as actions
from apps.governance.models import GovernanceKind as K
from apps.governance.models import GovernanceStatus as S
from tests.fakes.google import FakeGoogle

from .helpers import account, again, execute, logged, reload, run

pytestmark = pytest.mark.django_db

perm = FakeGoogle.permission


@pytest.fixture
def ann(tenant_a, google, google_app):
    google.add_user("1001", "ann@acme.test")
    return account(tenant_a, google_app, "1001", "ann@acme.test")


def test_suspend_unsuspend_with_governance_scopes(tenant_a, google, ann):
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.SUCCEEDED, action.error
    assert action.result == "ann@acme.test is suspended"
    assert google.users[0]["suspended"] is True
    assert again(tenant_a, action).result == "ann@acme.test was already suspended"
    run(tenant_a, K.UNSUSPEND_USER, account=ann)
    assert google.changes == [("suspended", "1001"), ("unsuspended", "1001")]
    # Acting as the admin, with the write scopes (the polls keep their read-only ones).
    claims = google.assertions[-1]
    assert claims["sub"] == "admin@acme.test"
    assert claims["scope"] == actions.DIRECTORY_SCOPES


def test_sign_out_and_missing_user(tenant_a, google, google_app, ann):
    assert run(tenant_a, K.REQUIRE_SIGN_IN, account=ann).status == S.SUCCEEDED
    assert google.changes == [("signed out", "1001")]
    ghost = account(tenant_a, google_app, "999", "ghost@acme.test")
    failed = run(tenant_a, K.REQUIRE_SIGN_IN, account=ghost)
    assert failed.status == S.FAILED
    assert failed.error == "Google Workspace has no user ghost@acme.test (deleted since?)"


def test_not_supported_is_said_plainly(tenant_a, google, ann):
    action = run(tenant_a, K.CONFIRM_COMPROMISED, account=ann)
    assert action.status == S.FAILED
    assert (
        action.error == "Google Workspace (google_workspace test) cannot confirm user compromised"
    )


def test_revoke_oauth_tokens_for_one_user_and_everyone(tenant_a, google, google_app, ann):
    google.add_user("1002", "bob@acme.test")
    google.user_tokens = [
        {"userId": "1001", "clientId": "123.apps.googleusercontent.com"},
        {"userId": "1002", "clientId": "123.apps.googleusercontent.com"},
    ]
    client = "123.apps.googleusercontent.com"
    one = run(tenant_a, K.REVOKE_OAUTH_APP, account=ann, client_id=client)
    assert one.status == S.SUCCEEDED
    assert one.result == f"revoked every token ann@acme.test had given to {client}"
    assert (
        again(tenant_a, one).result
        == f"ann@acme.test had not authorised {client}; nothing to revoke"
    )
    everyone = run(tenant_a, K.REVOKE_OAUTH_APP, app_instance=google_app, client_id=client)
    assert everyone.status == S.SUCCEEDED, everyone.error
    assert (
        everyone.result
        == f"revoked the tokens of {client} for 1 user (of 2 users in the directory)"
    )
    assert google.user_tokens == []


def test_drive_sharing_as_the_owner(tenant_a, google, google_app):
    file = google.add_file(
        "doc1",
        "ann@acme.test",
        [
            perm("anyone"),
            perm("user", "partner@other.test", role="writer"),
            perm("domain", "other.test"),
            perm("user", "carol@acme.test"),
            perm("domain", "acme.test"),
            perm("group", "team@acme.test", inherited=True),
        ],
    )
    action = run(
        tenant_a,
        K.REMOVE_EXTERNAL_SHARING,
        app_instance=google_app,
        file_id="doc1",
        params={"owner": "ann@acme.test"},
    )
    assert action.status == S.SUCCEEDED, action.error
    assert action.result == (
        "removed 3 external shares: anyone with the link, partner@other.test, other.test; "
        "2 internal shares kept"
    )
    assert [p["id"] for p in file["permissions"]] == [
        "perm-owner",
        "perm-user-carol-at-acme.test",
        "perm-domain-acme.test",
        "perm-group-team-at-acme.test",
    ]
    drive_claims = google.assertions[-1]
    assert drive_claims["sub"] == "ann@acme.test"
    assert drive_claims["scope"] == actions.DRIVE_SCOPES
    private = run(
        tenant_a,
        K.MAKE_PRIVATE,
        app_instance=google_app,
        file_id="doc1",
        params={"owner": "ann@acme.test"},
    )
    assert private.status == S.SUCCEEDED
    assert [p["role"] for p in file["permissions"]] == ["owner", "reader"]  # + inherited group


def test_missing_file_and_forbidden(tenant_a, google, google_app):
    missing = run(tenant_a, K.MAKE_PRIVATE, app_instance=google_app, file_id="nope")
    assert missing.status == S.FAILED
    assert missing.error == "Google Drive has no file nope, or admin@acme.test cannot see it"
    google.add_file("doc2", "admin@acme.test", [perm("anyone")])
    google.fault(
        "/drive/v3/files/doc2/permissions",
        403,
        {
            "error": {
                "code": 403,
                "message": "Insufficient Permission",
                "errors": [{"reason": "insufficientPermissions"}],
            }
        },
    )
    refused = run(tenant_a, K.MAKE_PRIVATE, app_instance=google_app, file_id="doc2")
    assert refused.status == S.FAILED
    assert refused.error.startswith(
        "Google Workspace refused to list the file's sharing: Insufficient Permission"
    )


def test_google_rate_limit_answered_with_403_is_retried(tenant_a, google, ann):
    google.fault(
        "/admin/directory/v1/users/1001",
        403,
        {
            "error": {
                "code": 403,
                "message": "Quota exceeded",
                "errors": [{"reason": "userRateLimitExceeded"}],
            }
        },
        {"Retry-After": "20"},
    )
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.RETRYING
    assert "rate limited" in action.error


@pytest.mark.parametrize("client", ["..", ".", "a/../..", "x\u0000y"])
def test_a_client_id_that_is_no_id_is_refused_on_request(tenant_a, google, ann, client):
    """Percent-encoding keeps "..", and URL normalisation would turn
    DELETE .../users/{id}/tokens/.. into DELETE .../users/{id}."""
    from apps.governance import services
    from apps.tenants.scoping import tenant_context

    with tenant_context(tenant_a), pytest.raises(services.GovernanceRefused) as refused:
        services.request_action(
            kind=K.REVOKE_OAUTH_APP, source="manual", account=ann, client_id=client
        )
    assert refused.value.field == "client_id"


def test_the_adapter_refuses_a_dot_segment_whoever_asks(tenant_a, google, google_app, ann):
    """A recorded action with a dot-segment id (written past the service) fails, unsent."""
    action = logged(
        tenant_a,
        google_app,
        ann,
        kind=K.REVOKE_OAUTH_APP,
        target_type="oauth_app",
        target_ref="..",
        target_label="..",
    )
    execute(tenant_a, action)
    action = reload(tenant_a, action)
    assert action.status == S.FAILED and "not a valid id" in action.error
    assert not [r for r in google.requests if r.method == "DELETE"]
    assert len(google.users) == 1
