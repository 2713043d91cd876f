"""Okta governance against the fake Okta: lifecycle, sessions, risk, OAuth tokens; faults."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.governance.models import GovernanceKind as K
from apps.governance.models import GovernanceStatus as S

from .helpers import account, again, execute, reload, request, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(tenant_a, okta, okta_app):
    okta.add_user("00u1", "ann@acme.test")
    return account(tenant_a, okta_app, "00u1", "ann@acme.test")


def test_suspend_then_again_changes_okta_once(tenant_a, okta, ann):
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.SUCCEEDED, action.error
    assert action.attempts == 1
    assert "ann@acme.test is suspended" in action.result
    assert okta.users[0]["status"] == "SUSPENDED"
    second = again(tenant_a, action)
    assert second.status == S.SUCCEEDED
    assert second.result == "ann@acme.test was already suspended"
    assert okta.changes == [("suspend", "00u1")]
    unsuspended = run(tenant_a, K.UNSUSPEND_USER, account=ann)
    assert unsuspended.status == S.SUCCEEDED
    assert okta.users[0]["status"] == "ACTIVE"
    assert again(tenant_a, unsuspended).result == "ann@acme.test was already active"
    assert okta.changes == [("suspend", "00u1"), ("unsuspend", "00u1")]


def test_sessions_risk_and_oauth_tokens(tenant_a, okta, ann):
    okta.user_tokens = [
        {"userId": "00u1", "clientId": "0oaApp"},
        {"userId": "00u2", "clientId": "0oaApp"},
        {"userId": "00u1", "clientId": "0oaOther"},
    ]
    signed_out = run(tenant_a, K.REQUIRE_SIGN_IN, account=ann)
    assert signed_out.status == S.SUCCEEDED
    assert ("sessions", "00u1") in okta.changes
    assert okta.hits("/sessions")[-1].query == {"oauthTokens": "true"}
    risky = run(tenant_a, K.CONFIRM_COMPROMISED, account=ann)
    assert risky.status == S.SUCCEEDED
    assert okta.risk == {"00u1": "HIGH"}
    okta.user_tokens = [{"userId": "00u2", "clientId": "0oaApp"}]
    one = run(tenant_a, K.REVOKE_OAUTH_APP, account=ann, client_id="0oaApp")
    assert one.status == S.SUCCEEDED
    assert [r.path for r in okta.hits("/clients/0oaApp/")] == [
        "/api/v1/users/00u1/clients/0oaApp/tokens",
        "/api/v1/users/00u1/clients/0oaApp/grants",
    ]
    everyone = run(tenant_a, K.REVOKE_OAUTH_APP, app_instance=ann.app_instance, client_id="0oaApp")
    assert everyone.status == S.SUCCEEDED, everyone.error
    assert okta.user_tokens == []
    assert "for everyone" in everyone.result


def test_missing_user_fails_in_plain_words(tenant_a, okta, okta_app):
    ghost = account(tenant_a, okta_app, "00uGone", "gone@acme.test")
    action = run(tenant_a, K.SUSPEND_USER, account=ghost)
    assert action.status == S.FAILED
    assert action.error == "Okta has no user gone@acme.test"
    assert action.finished_at is not None


def test_forbidden_fails_with_okta_words(tenant_a, okta, ann):
    okta.fault(
        "/lifecycle/suspend",
        403,
        {"errorCode": "E0000006", "errorSummary": "You do not have permission", "errorCauses": []},
    )
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.FAILED
    assert action.error.startswith("Okta refused to suspend the user: You do not have permission")
    assert okta.users[0]["status"] == "ACTIVE"


def test_wrong_state_is_refused_in_plain_words(tenant_a, okta, okta_app):
    okta.add_user("00u9", "new@acme.test", status="STAGED")
    staged = account(tenant_a, okta_app, "00u9", "new@acme.test")
    action = run(tenant_a, K.SUSPEND_USER, account=staged)
    assert action.status == S.FAILED
    assert action.error == "Okta suspends only active users; new@acme.test is staged"


def test_rate_limit_is_retried_when_okta_says(tenant_a, okta, ann):
    okta.rate_limit("/lifecycle/suspend", retry_after="90")
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.RETRYING
    assert action.attempts == 1
    wait = (action.next_attempt_at - action.started_at).total_seconds()
    assert 85 <= wait <= 95
    assert "rate limited" in action.error
    # Not due yet: a delivery now does nothing.
    assert execute(tenant_a, action).status == ""
    assert reload(tenant_a, action).attempts == 1
    execute(tenant_a, action, now=action.next_attempt_at)
    done = reload(tenant_a, action)
    assert done.status == S.SUCCEEDED
    assert done.attempts == 2
    assert done.error == ""
    assert okta.changes == [("suspend", "00u1")]


def test_server_errors_back_off_then_give_up(tenant_a, okta, ann, settings):
    settings.GOVERNANCE_MAX_ATTEMPTS = 3
    okta.fault("/api/v1/users/00u1", 503, times=10)
    action = request(tenant_a, K.SUSPEND_USER, account=ann)
    waits, due = [], None
    for _ in range(3):
        before = timezone.now()
        execute(tenant_a, action, now=due)
        action = reload(tenant_a, action)
        if action.status != S.RETRYING:
            break
        waits.append((action.next_attempt_at - before).total_seconds())
        due = action.next_attempt_at
    assert action.status == S.FAILED
    assert action.attempts == 3
    assert action.error == "gave up after 3 attempts: the app is unavailable (HTTP 503)"
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60  # 30 s then 60 s, with jitter
