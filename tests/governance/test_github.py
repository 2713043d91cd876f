"""GitHub governance: suspend / unsuspend on GitHub Enterprise Server only."""

from __future__ import annotations

import pytest

from apps.connectors.adapters import adapter_class
from apps.governance import capabilities
from apps.governance.models import GovernanceKind as K
from apps.governance.models import GovernanceStatus as S
from apps.tenants.scoping import tenant_context

from .helpers import account, again, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def octo(tenant_a, github, github_app):
    github.add_member(1, "octocat")
    return account(tenant_a, github_app, "1", "octocat")


def test_enterprise_server_suspend_and_unsuspend(tenant_a, github, octo):
    action = run(tenant_a, K.SUSPEND_USER, account=octo)
    assert action.status == S.SUCCEEDED, action.error
    assert action.result == "octocat is suspended on GitHub Enterprise Server"
    assert again(tenant_a, action).result == "octocat was already suspended"
    assert run(tenant_a, K.UNSUSPEND_USER, account=octo).status == S.SUCCEEDED
    assert github.changes == [("suspended", "octocat"), ("unsuspended", "octocat")]
    put = github.hits("/users/octocat/suspended")[0]
    assert put.method == "PUT" and b"reason" in put.body


def test_what_github_cannot_do(tenant_a, github, github_app, octo):
    action = run(tenant_a, K.REQUIRE_SIGN_IN, account=octo)
    assert action.status == S.FAILED
    assert action.error == "GitHub (github test) cannot require user to sign in again"
    ghost = account(tenant_a, github_app, "2", "ghost")
    missing = run(tenant_a, K.SUSPEND_USER, account=ghost)
    assert missing.status == S.FAILED and missing.error == "GitHub has no user ghost"


def test_github_dot_com_offers_no_suspension(tenant_a, github_app):
    cls = adapter_class("github")
    assert cls.governance_for("https://api.github.com") == frozenset()
    assert cls.governance_for("") == frozenset()  # the default is github.com
    assert cls.governance_for("https://ghe.example.test/api/v3") == {
        K.SUSPEND_USER,
        K.UNSUSPEND_USER,
    }
    with tenant_context(tenant_a):
        github_app.base_url = "https://api.github.com"
        assert capabilities.supported_kinds(github_app) == frozenset()
