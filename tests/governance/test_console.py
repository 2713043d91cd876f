"""Console pages of governance: the log, an action, the CSV, running and retrying actions, and
the action buttons partial; who may do what, and charlie (tenant B) sees nothing of A's."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.connectors.models import Vendor
from apps.governance.models import GovernanceAction, GovernanceStatus, Source
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.alerts.alertdata import make_alert

from .helpers import account, logged

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tenant_a, tenant_b):
    okta = logdata.app(tenant_a, "Acme Okta", vendor=Vendor.OKTA)
    o365 = logdata.app(tenant_a, "Contoso 365", vendor=Vendor.OFFICE365)
    ann = account(tenant_a, okta, "00u1", "ann@alpha.test", display_name="Ann Lee")
    bob = account(tenant_a, o365, "b0b", "bob@alpha.test")
    b_app = logdata.app(tenant_b, "Bravo Okta", vendor=Vendor.OKTA)
    bert = account(tenant_b, b_app, "00uB", "bert@bravo.test")
    now = timezone.now()
    failed = logged(
        tenant_a,
        okta,
        ann,
        status=GovernanceStatus.FAILED,
        attempts=1,
        error="Okta refused to suspend the user: You do not have permission",
        created_at=now - dt.timedelta(days=3),
    )
    done = logged(
        tenant_a,
        o365,
        bob,
        kind="require_sign_in",
        status=GovernanceStatus.SUCCEEDED,
        attempts=1,
        source=Source.POLICY,
        initiated_by_label="Policy: Mass download",
        result="revoked every refresh token and session of bob@alpha.test",
    )
    retrying = logged(
        tenant_a,
        okta,
        ann,
        kind="unsuspend_user",
        status=GovernanceStatus.RETRYING,
        attempts=2,
        error="rate limited",
        next_attempt_at=now + dt.timedelta(minutes=1),
    )
    foreign = logged(tenant_b, b_app, bert, initiated_by_label="charlie@bravo.test")
    return {
        "okta": okta,
        "o365": o365,
        "ann": ann,
        "bob": bob,
        "bert": bert,
        "failed": failed,
        "done": done,
        "retrying": retrying,
        "foreign": foreign,
    }


def _log(tenant, **params):
    return reverse("governance:log", args=[tenant.slug]), params


def _rows(response) -> list[GovernanceAction]:
    return response.context["rows"]


def test_the_log_shows_every_action_with_its_outcome(client, rita, tenant_a, world):
    client.force_login(rita)
    url, _ = _log(tenant_a)
    response = client.get(url)
    assert response.status_code == 200
    assert [a.pk for a in _rows(response)] == [
        world["retrying"].pk,
        world["done"].pk,
        world["failed"].pk,
    ]
    page = response.content.decode()
    for words in (
        "Suspend user",
        "Require user to sign in again",
        "Policy: Mass download",
        "sam@alpha.test",
        "Okta refused to suspend the user: You do not have permission",
        "Retrying",
        "Succeeded",
        "Failed",
        "Contoso 365",
    ):
        assert words in page
    assert "bert@bravo.test" not in page
    assert "Export CSV" not in page  # readers may not export


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"kind": "require_sign_in"}, ["done"]),
        ({"source": "policy"}, ["done"]),
        ({"q": "BOB@alpha"}, ["done"]),
        ({"q": "00u1"}, ["retrying", "failed"]),
        ({"date_to": (timezone.now() - dt.timedelta(days=2)).date().isoformat()}, ["failed"]),
        ({"date_from": timezone.now().date().isoformat()}, ["retrying", "done"]),
    ],
)
def test_filters(client, sam, tenant_a, world, params, expected):
    client.force_login(sam)
    url, _ = _log(tenant_a)
    response = client.get(url, params)
    assert [a.pk for a in _rows(response)] == [world[name].pk for name in expected]


def test_filters_by_app_person_and_alert(client, sam, tenant_a, world):
    client.force_login(sam)
    url, _ = _log(tenant_a)
    assert len(_rows(client.get(url, {"app": world["o365"].pk}))) == 1
    assert len(_rows(client.get(url, {"user": world["ann"].user_id}))) == 2
    alert = make_alert(tenant_a, app=world["okta"], person=world["ann"].user)
    logged(tenant_a, world["okta"], world["ann"], alert=alert)
    assert len(_rows(client.get(url, {"alert": alert.pk}))) == 1
    # Another tenant's app id matches nothing here.
    assert _rows(client.get(url, {"app": world["foreign"].app_instance_id})) == []


def test_bad_filters_show_an_error_and_no_rows(client, sam, tenant_a, world):
    client.force_login(sam)
    url, _ = _log(tenant_a)
    response = client.get(url, {"date_from": "yesterday", "status": "exploded"})
    assert response.status_code == 200
    assert _rows(response) == []
    assert "Fix the filters" in response.content.decode()


def test_log_queries_do_not_grow_with_rows(
    client, sam, tenant_a, world, django_assert_max_num_queries
):
    client.force_login(sam)
    url, _ = _log(tenant_a)
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    for i in range(20):
        app = logdata.app(tenant_a, f"App {i}", vendor=Vendor.OKTA)
        someone = account(tenant_a, app, f"00x{i}", f"p{i}@alpha.test")
        alert = make_alert(tenant_a, app=app, person=someone.user)
        logged(tenant_a, app, someone, alert=alert)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(_rows(response)) == 23


def test_action_page_and_retry(client, sam, rita, tenant_a, world):
    failed = world["failed"]
    url = reverse("governance:detail", args=[tenant_a.slug, failed.pk])
    client.force_login(rita)
    page = client.get(url).content.decode()
    assert "You do not have permission" in page and "Retry</button>" not in page
    assert (
        client.post(reverse("governance:retry", args=[tenant_a.slug, failed.pk])).status_code == 403
    )
    client.force_login(sam)
    assert "Retry</button>" in client.get(url).content.decode()
    response = client.post(reverse("governance:retry", args=[tenant_a.slug, failed.pk]))
    with tenant_context(tenant_a):
        retry = GovernanceAction.objects.get(retry_of=failed)
        assert retry.status == GovernanceStatus.PENDING
        assert retry.initiated_by_label == "sam@alpha.test"
        assert retry.target_label == failed.target_label
        assert AuditEvent.objects.filter(action="governance.retried").count() == 1
    assert response["Location"] == reverse("governance:detail", args=[tenant_a.slug, retry.pk])
    # A second click while the retry waits is refused, with a message.
    again = client.post(reverse("governance:retry", args=[tenant_a.slug, failed.pk]))
    assert "already under way" in str(list(get_messages(again.wsgi_request))[-1])
    done = client.post(reverse("governance:retry", args=[tenant_a.slug, world["done"].pk]))
    assert "Only a failed action can be retried" in str(list(get_messages(done.wsgi_request))[-1])
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.filter(retry_of__isnull=False).count() == 1
    assert "Retried as" in client.get(url).content.decode()


def test_charlie_sees_and_touches_nothing_of_a(client, charlie, tenant_a, tenant_b, world):
    client.force_login(charlie)
    failed = world["failed"]
    for name, args in (
        ("governance:log", [tenant_a.slug]),
        ("governance:detail", [tenant_a.slug, failed.pk]),
        ("governance:export", [tenant_a.slug]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404
    assert (
        client.post(reverse("governance:retry", args=[tenant_a.slug, failed.pk])).status_code == 404
    )
    # His own tenant's URLs with A's ids: "not found" as well, and nothing is recorded.
    own = client.get(reverse("governance:detail", args=[tenant_b.slug, failed.pk]))
    assert own.status_code == 404
    assert (
        client.post(reverse("governance:retry", args=[tenant_b.slug, failed.pk])).status_code == 404
    )
    run = client.post(
        reverse("governance:run", args=[tenant_b.slug]),
        {"kind": "suspend_user", "account": world["ann"].pk},
    )
    assert run.status_code == 302
    assert "No such account in this tenant." in str(list(get_messages(run.wsgi_request))[-1])
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.count() == 3
    with tenant_context(tenant_b):
        assert GovernanceAction.objects.count() == 1


def test_running_an_action_from_a_page(client, sam, rita, tenant_a, world):
    url = reverse("governance:run", args=[tenant_a.slug])
    person_page = reverse("accounts:detail", args=[tenant_a.slug, world["ann"].user_id])
    form = {"kind": "suspend_user", "account": world["ann"].pk, "comment": "stolen laptop"}
    client.force_login(rita)
    assert client.post(url, {**form, "next": person_page}).status_code == 403
    client.force_login(sam)
    response = client.post(url, {**form, "next": person_page})
    assert response.status_code == 302 and response["Location"] == person_page
    with tenant_context(tenant_a):
        action = GovernanceAction.objects.get(status=GovernanceStatus.PENDING, kind="suspend_user")
        assert (action.source, action.initiated_by_id) == (Source.MANUAL, sam.pk)
        assert action.comment == "stolen laptop" and action.target_label == "ann@alpha.test"
        event = AuditEvent.objects.get(action="governance.requested")
        assert event.actor_label == "sam@alpha.test"
    assert "was requested" in str(list(get_messages(response.wsgi_request))[-1])
    # A "next" off this tenant is ignored: the new action's page instead.
    elsewhere = client.post(url, {**form, "next": "https://evil.test/"})
    assert elsewhere["Location"].startswith(f"/t/{tenant_a.slug}/governance/")


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({}, "Action: This field is required."),
        ({"kind": "explode", "account": "x"}, "Select a valid choice"),
        ({"kind": "make_private", "account": None}, "This action needs a file."),
        ({"kind": "suspend_user"}, "This action needs an account in a connected app."),
        (
            {"kind": "make_private", "app": "okta", "file_id": "f1"},
            "Okta (Acme Okta) cannot make private.",
        ),
    ],
)
def test_bad_run_requests_are_refused_with_a_message(client, sam, tenant_a, world, form, words):
    client.force_login(sam)
    if form.get("app") == "okta":
        form = {**form, "app": world["okta"].pk}
    if "account" in form and form["account"] is None:
        form = {**form, "account": world["bob"].pk}
    response = client.post(reverse("governance:run", args=[tenant_a.slug]), form)
    assert response.status_code == 302
    assert words in str(list(get_messages(response.wsgi_request))[-1])
    with tenant_context(tenant_a):
        assert GovernanceAction.objects.count() == 3


def test_export_is_a_filtered_audited_csv(client, sam, rita, tenant_a, world):
    url = reverse("governance:export", args=[tenant_a.slug])
    client.force_login(rita)
    assert client.get(url).status_code == 403
    logged(tenant_a, world["okta"], world["ann"], target_label='=HYPERLINK("x")')
    client.force_login(sam)
    response = client.get(url, {"kind": "suspend_user"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "requested_at_utc", "action", "target_type", "target"]
    assert len(rows) == 3
    assert rows[1][4] == '\'=HYPERLINK("x")'  # no formula for the spreadsheet
    assert rows[2][12] == "Okta refused to suspend the user: You do not have permission"
    with tenant_context(tenant_a):
        event = AuditEvent.objects.get(action="governance.exported")
        assert event.details == {"filters": {"kind": "suspend_user"}, "rows": 2, "capped": False}


def _partial(tenant, accounts, can_govern, alert=None) -> str:
    request = RequestFactory().get(f"/t/{tenant.slug}/users/x/")
    with tenant_context(tenant):
        return render_to_string(
            "governance/inc/run_action.html",
            {"tenant": tenant, "accounts": accounts, "alert": alert, "can_govern": can_govern},
            request=request,
        )


def test_action_buttons_offer_what_each_app_can_do(tenant_a, world):
    dotcom = logdata.app(tenant_a, "GitHub <b>org</b>", vendor=Vendor.GITHUB)
    octo = account(tenant_a, dotcom, "1", "<script>octo</script>")
    html = _partial(tenant_a, [world["ann"], world["bob"], octo], can_govern=True)
    forms = html.split("<form")[1:]
    assert len(forms) == 3
    okta_buttons = [b.split(">")[1].split("<")[0] for b in forms[0].split("<button")[1:]]
    assert okta_buttons == [
        "Suspend user",
        "Unsuspend user",
        "Require user to sign in again",
        "Confirm user compromised",
        "Notify user",
    ]
    assert f'value="{world["ann"].pk}"' in forms[0]
    assert 'name="next" value="/t/alpha/users/x/"' in forms[0]
    assert forms[2].count("<button") == 1 and "Notify user" in forms[2]  # github.com: email only
    assert "<script>octo" not in html and "&lt;script&gt;octo" in html
    assert _partial(tenant_a, [world["ann"]], can_govern=False).strip() == ""


def test_action_buttons_carry_the_alert(tenant_a, world):
    alert = make_alert(tenant_a, app=world["okta"], person=world["ann"].user)
    html = _partial(tenant_a, [world["ann"]], can_govern=True, alert=alert)
    assert f'name="alert" value="{alert.pk}"' in html
    assert f"?alert={alert.pk}" in html
