"""GitHub adapter against the fake organization audit log, members and teams."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Account
from apps.connectors import services
from apps.connectors.models import InstanceStatus
from apps.connectors.status import words
from apps.tenants.scoping import tenant_context

from .helpers import reload, stored, stored_ids

pytestmark = pytest.mark.django_db


def test_audit_log_pages_mapping_and_overlap(tenant_a, github, github_app):
    base = timezone.now() - dt.timedelta(minutes=30)
    entries = [github.add_entry(base + dt.timedelta(minutes=i)) for i in range(4)]
    entries.append(github.add_entry(base + dt.timedelta(minutes=9), "repo.destroy"))
    github.overlap = True
    services.poll_instance(github_app)
    services.poll_instance(github_app)
    ids = stored_ids(tenant_a, github_app)
    assert set(ids) == {e["_document_id"] for e in entries} and set(ids.values()) == {1}
    rows = stored(tenant_a, github_app)
    assert rows[0].activity_type == "download" and rows[0].object_name == "acme/secret-sauce"
    assert rows[-1].activity_type == "delete"
    assert any("after" in r.query for r in github.hits("/audit-log"))
    assert reload(tenant_a, github_app).status == InstanceStatus.HEALTHY


def test_audit_log_missing_means_audit_log_disabled(tenant_a, github, github_app):
    github.audit_disabled = True
    services.poll_instance(github_app)
    assert words(reload(tenant_a, github_app)).startswith("audit log disabled in the app")


def test_bad_token_and_exhausted_rate_limit(tenant_a, github, github_app):
    github.token = "ghp_revoked"
    services.poll_instance(github_app)
    assert reload(tenant_a, github_app).status == InstanceStatus.CREDENTIALS_REJECTED

    github.token = "ghp_fakeTokenValue0123456789"  # the token the instance holds
    reset = int((timezone.now() + dt.timedelta(minutes=20)).timestamp())
    github.fault(
        "/orgs/acme/",
        403,
        {"message": "API rate limit exceeded"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    services.poll_instance(github_app, directory=True)
    instance = reload(tenant_a, github_app)
    assert instance.status == InstanceStatus.RATE_LIMITED
    assert abs(instance.retry_at.timestamp() - reset) < 2


def test_members_and_teams(tenant_a, github, github_app):
    github.add_team(7, "platform", "Platform")
    github.add_member(1, "octocat", admin=True, teams=["platform"])
    github.add_member(2, "hubot")
    services.poll_instance(github_app)
    with tenant_context(tenant_a):
        accounts = {a.username: a for a in Account.objects.filter(app_instance=github_app)}
        assert accounts["octocat"].is_admin and not accounts["hubot"].is_admin
        assert accounts["octocat"].memberships.get().group.name == "Platform"
        assert accounts["octocat"].user is None  # no address: not joined to a person
