"""The executor: one run at a time, claim semantics, notify user, failures in plain words,
the Celery task's retry, and the sweep that re-sends actions left behind (every geo database)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from apps.connectors.adapters.governance import common
from apps.governance import executor, services
from apps.governance.models import GovernanceAction, GovernanceKind, Source
from apps.governance.models import GovernanceKind as K
from apps.governance.models import GovernanceStatus as S
from apps.governance.tasks import execute_action
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts.alertdata import default_policy, make_alert
from tests.factories import make_tenant

from .helpers import account, execute, reload, request, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(tenant_a, okta, okta_app):
    okta.add_user("00u1", "ann@acme.test")
    return account(tenant_a, okta_app, "00u1", "ann@acme.test", display_name="Ann Lee")


def test_the_connectors_spell_the_kinds_as_the_log_does():
    names = [v for k, v in vars(common).items() if k.isupper() and isinstance(v, str)]
    assert sorted(names) == sorted(GovernanceKind.values)


def test_a_second_delivery_while_one_runs_does_nothing(tenant_a, okta, ann, monkeypatch):
    monkeypatch.setattr(executor, "LOCK_WAIT", 0.5)
    action = request(tenant_a, K.SUSPEND_USER, account=ann)
    other = connections.create_connection("default")  # another worker's session
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                [f"governance.action:{action.pk}"],
            )
        outcome = execute(tenant_a, action)
        assert outcome.status == "" and outcome.reason == "another worker is running it"
        assert reload(tenant_a, action).status == S.PENDING
        assert okta.requests == []
    finally:
        other.close()  # the "worker" dies: its lock goes with its session
    assert execute(tenant_a, action).status == S.SUCCEEDED


def test_finished_actions_are_not_run_again(tenant_a, okta, ann):
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.SUCCEEDED
    assert execute(tenant_a, action).reason == "finished, not due, or unknown"
    assert reload(tenant_a, action).attempts == 1


def test_an_action_whose_worker_died_is_taken_over(tenant_a, okta, ann):
    action = request(tenant_a, K.SUSPEND_USER, account=ann)
    with tenant_context(tenant_a):
        GovernanceAction.objects.filter(pk=action.pk).update(
            status=S.IN_PROGRESS, attempts=1, started_at=timezone.now()
        )
    # No session holds its lock: whoever held it is gone.
    assert execute(tenant_a, action).status == S.SUCCEEDED
    assert reload(tenant_a, action).attempts == 2


def test_notify_user_sends_one_plain_email(tenant_a, okta_app, ann):
    app = logdata.app(tenant_a, "Contoso 365")
    alert = make_alert(tenant_a, app=app, title="Mass download by Ann")
    action = run(tenant_a, K.NOTIFY_USER, account=ann, alert=alert, comment="Call us, please.")
    assert action.status == S.SUCCEEDED, action.error
    assert action.result == "emailed ann@acme.test"
    (message,) = mail.outbox
    assert message.to == ["ann@acme.test"]
    assert message.subject == "Security notice from Alpha"
    assert "Hello Ann Lee," in message.body
    assert f"Alert #{alert.number}: Mass download by Ann" in message.body
    assert "Note from the security team: Call us, please." in message.body
    assert "change your password" in message.body


def test_notify_without_an_address_fails_plainly(tenant_a, okta_app):
    service = account(tenant_a, okta_app, "00u7", "svc-backup", email="")
    action = run(tenant_a, K.NOTIFY_USER, account=service)
    assert action.status == S.FAILED
    assert action.error == "no email address is known for svc-backup"
    assert mail.outbox == []


def test_credentials_that_cannot_be_opened(tenant_a, okta, okta_app, ann):
    with tenant_context(tenant_a):
        type(okta_app).objects.filter(pk=okta_app.pk).update(credentials_sealed=b"garbage")
    action = run(tenant_a, K.SUSPEND_USER, account=ann)
    assert action.status == S.FAILED
    assert action.error == "the app's stored credentials cannot be opened; enter them again"


def test_a_disconnected_app(tenant_a, okta, okta_app, ann):
    action = request(tenant_a, K.SUSPEND_USER, account=ann)
    with tenant_context(tenant_a):
        GovernanceAction.objects.filter(pk=action.pk).update(app_instance=None)
    execute(tenant_a, action)
    assert reload(tenant_a, action).error == "the app this action was for is no longer connected"


def test_manual_requests_are_refused_when_the_app_cannot(tenant_a, okta_app, ann):
    with tenant_context(tenant_a), pytest.raises(services.GovernanceRefused) as refused:
        services.request_manual(kind=K.MAKE_PRIVATE, actor=None, app_instance=okta_app, file_id="x")
    assert refused.value.field == "kind"
    assert str(refused.value) == "Okta (okta test) cannot make private."
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.count() == 0


def test_policy_actions_run_like_manual_ones(tenant_a, okta, okta_app, ann):
    policy = default_policy(tenant_a, name="Suspend on mass download")
    alert = make_alert(tenant_a, app=okta_app, account=ann, policy=policy)
    action = request(
        tenant_a,
        K.SUSPEND_USER,
        source=Source.POLICY,
        policy=policy,
        alert=alert,
        account=ann,
        idempotency_key=f"{policy.pk}:suspend:{ann.pk}:{alert.pk}",
    )
    assert action.initiated_by_label == "Policy: Suspend on mass download"
    execute(tenant_a, action)
    assert reload(tenant_a, action).status == S.SUCCEEDED
    assert okta.users[0]["status"] == "SUSPENDED"


def test_the_task_runs_and_asks_celery_for_the_retry(tenant_a, okta, ann):
    action = request(tenant_a, K.SUSPEND_USER, account=ann)
    assert execute_action.apply(args=[str(tenant_a.pk), str(action.pk)]).get() == S.SUCCEEDED
    second = request(tenant_a, K.UNSUSPEND_USER, account=ann)
    okta.fault("/api/v1/users/00u1", 502)
    calls = len(okta.requests)
    # Eagerly, Celery runs the retry at once instead of after the countdown: it finds the
    # action not due yet and leaves it (a worker would wait the countdown first).
    execute_action.apply(args=[str(tenant_a.pk), str(second.pk)])
    assert len(okta.requests) == calls + 1
    waiting = reload(tenant_a, second)
    assert waiting.status == S.RETRYING and waiting.attempts == 1
    assert waiting.dispatched_at is not None  # the retry is scheduled: the sweep waits


def _age(tenant, action, **fields):
    with tenant_context(tenant):
        GovernanceAction.objects.filter(pk=action.pk).update(**fields)


@pytest.mark.django_db(databases="__all__")
def test_the_sweep_resends_what_was_left_behind_in_every_geo(tenant_a, okta_app, ann):
    long_ago = timezone.now() - dt.timedelta(hours=1)
    lost = request(tenant_a, K.SUSPEND_USER, account=ann)
    _age(tenant_a, lost, created_at=long_ago)
    fresh = request(tenant_a, K.REQUIRE_SIGN_IN, account=ann)  # its message may still come
    due = request(tenant_a, K.UNSUSPEND_USER, account=ann)
    _age(tenant_a, due, status=S.RETRYING, created_at=long_ago, next_attempt_at=long_ago)
    later = request(tenant_a, K.CONFIRM_COMPROMISED, account=ann)
    _age(
        tenant_a,
        later,
        status=S.RETRYING,
        created_at=long_ago,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=5),
    )
    dead = request(tenant_a, K.NOTIFY_USER, account=ann)
    _age(tenant_a, dead, status=S.IN_PROGRESS, created_at=long_ago, started_at=long_ago)
    done = run(tenant_a, K.NOTIFY_USER, account=ann)
    _age(tenant_a, done, created_at=long_ago)
    us = make_tenant("Liberty", geo="us")
    us_app = logdata.app(us, "Liberty Okta", vendor="okta")
    us_account = account(us, us_app, "00uUS", "sam@liberty.test")
    us_lost = request(us, K.NOTIFY_USER, account=us_account)
    _age(us, us_lost, created_at=long_ago)

    assert executor.dispatch_due() == 4
    sent = {lost.pk, due.pk, dead.pk, us_lost.pk}
    with tenant_context(tenant_a):
        stamped = GovernanceAction.objects.filter(dispatched_at__isnull=False)
        marked = set(stamped.values_list("pk", flat=True))
    assert marked == sent - {us_lost.pk}
    with tenant_context(us):
        assert GovernanceAction.objects.get(pk=us_lost.pk).dispatched_at is not None
    assert executor.dispatch_due() == 0  # not again before REDISPATCH_AFTER
    later_sweep = timezone.now() + executor.REDISPATCH_AFTER + dt.timedelta(seconds=1)
    # All four again, and the one that was fresh; the later retry is not due yet.
    assert executor.dispatch_due(now=later_sweep) == 5
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.get(pk=fresh.pk).dispatched_at == later_sweep
        assert GovernanceAction.objects.get(pk=later.pk).dispatched_at is None


def test_a_suspension_shows_on_our_copy_of_the_account_at_once(tenant_a, okta, ann):
    from apps.accounts.models import Account, AccountStatus

    run(tenant_a, K.SUSPEND_USER, account=ann)
    with tenant_context(tenant_a):
        assert Account.objects.get(pk=ann.pk).status == AccountStatus.SUSPENDED
    run(tenant_a, K.UNSUSPEND_USER, account=ann)
    with tenant_context(tenant_a):
        assert Account.objects.get(pk=ann.pk).status == AccountStatus.ACTIVE
