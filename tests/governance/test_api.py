"""The governance API: the log with the console's filters, one action, requesting an action
(400 naming the field, 404 for another tenant's objects, 403 for readers) and retrying one."""

from __future__ import annotations

import pytest

from apps.connectors.models import Vendor
from apps.governance.models import GovernanceAction, GovernanceStatus
from apps.tenants.models import AuditEvent, Role
from apps.tenants.scoping import tenant_context
from tests.activities import logdata
from tests.activities.test_query_api import client_for, error_of
from tests.alerts.alertdata import make_alert
from tests.role_matrix import token_key

from .helpers import account, logged

pytestmark = pytest.mark.django_db(databases="__all__")
LIST = "/api/v1/governance/"


@pytest.fixture
def rita_api(rita, tenant_a):
    return client_for(token_key(rita, tenant_a, Role.SECURITY_READER))


@pytest.fixture
def sam_api(sam, tenant_a):
    return client_for(token_key(sam, tenant_a, Role.SECURITY_ADMIN))


@pytest.fixture
def charlie_api(charlie, tenant_b):
    return client_for(token_key(charlie, tenant_b, Role.GLOBAL_ADMIN))


@pytest.fixture
def data(tenant_a, tenant_b):
    okta = logdata.app(tenant_a, "Acme Okta", vendor=Vendor.OKTA)
    o365 = logdata.app(tenant_a, "Contoso 365", vendor=Vendor.OFFICE365)
    ann = account(tenant_a, okta, "00u1", "ann@alpha.test")
    b_app = logdata.app(tenant_b, "Bravo Okta", vendor=Vendor.OKTA)
    bert = account(tenant_b, b_app, "00uB", "bert@bravo.test")
    failed = logged(
        tenant_a, okta, ann, status=GovernanceStatus.FAILED, error="Okta refused: no permission"
    )
    done = logged(tenant_a, okta, ann, kind="require_sign_in", status=GovernanceStatus.SUCCEEDED)
    foreign = logged(tenant_b, b_app, bert)
    return {
        "okta": okta,
        "o365": o365,
        "ann": ann,
        "bert": bert,
        "failed": failed,
        "done": done,
        "foreign": foreign,
    }


def _count(tenant) -> int:
    with tenant_context(tenant):
        return GovernanceAction.objects.count()


def test_list_retrieve_and_filters(rita_api, data):
    body = rita_api.get(LIST).json()
    assert [row["id"] for row in body["results"]] == [str(data["done"].pk), str(data["failed"].pk)]
    row = body["results"][1]
    assert row["kind"] == "suspend_user" and row["kind_label"] == "Suspend user"
    assert row["status"] == "failed" and row["error"] == "Okta refused: no permission"
    assert row["app"]["name"] == "Acme Okta" and row["target_label"] == "ann@alpha.test"
    assert row["initiated_by"] == "sam@alpha.test" and row["source"] == "manual"
    one = rita_api.get(f"{LIST}{data['failed'].pk}/").json()
    assert one["id"] == str(data["failed"].pk) and one["account"] == str(data["ann"].pk)
    assert [r["id"] for r in rita_api.get(LIST, {"status": "succeeded"}).json()["results"]] == [
        str(data["done"].pk)
    ]
    assert rita_api.get(LIST, {"q": "ANN@"}).json()["count"] == 2
    bad = error_of(rita_api.get(LIST, {"date_from": "soon", "kind": "explode"}), 400)
    assert set(bad["details"]) == {"date_from", "kind"}


def test_charlie_gets_404_and_only_his_own_rows(charlie_api, data):
    assert error_of(charlie_api.get(f"{LIST}{data['failed'].pk}/"), 404)["code"] == "not_found"
    error_of(charlie_api.post(f"{LIST}{data['failed'].pk}/retry/"), 404)
    rows = charlie_api.get(LIST).json()["results"]
    assert [row["id"] for row in rows] == [str(data["foreign"].pk)]
    # A's account named from his own tenant: "not found", nothing recorded anywhere.
    response = charlie_api.post(LIST, {"kind": "suspend_user", "account": str(data["ann"].pk)})
    assert error_of(response, 404)["message"] == "No such account."


def test_request_an_action(sam_api, sam, tenant_a, data):
    response = sam_api.post(
        LIST,
        {"kind": "suspend_user", "account": str(data["ann"].pk), "comment": "phished"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["attempts"] == 0
    assert body["initiated_by"] == "sam@alpha.test" and body["comment"] == "phished"
    with tenant_context(tenant_a):
        action = GovernanceAction.objects.get(pk=body["id"])
        assert action.initiated_by_id == sam.pk and action.target_ref == "00u1"
        assert AuditEvent.objects.filter(action="governance.requested").count() == 1
    alert = make_alert(tenant_a, app=data["o365"], person=data["ann"].user)
    url = "https://contoso.sharepoint.com/sites/hr/pay.xlsx"
    file_action = sam_api.post(
        LIST,
        {
            "kind": "make_private",
            "app": str(data["o365"].pk),
            "file_id": url,
            "alert": str(alert.pk),
        },
    )
    assert file_action.status_code == 201, file_action.content
    assert file_action.json()["target_type"] == "file"
    assert file_action.json()["alert"]["number"] == alert.number


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "kind", "This field is required."),
        ({"kind": "explode"}, "kind", '"explode" is not a valid choice.'),
        ({"kind": "suspend_user"}, "account", "This action needs an account in a connected app."),
        (
            {"kind": "make_private", "app": "OKTA", "file_id": "f"},
            "kind",
            "Okta (Acme Okta) cannot make private.",
        ),
        ({"kind": "make_private", "app": "O365"}, "file_id", "This action needs a file."),
        (
            {"kind": "revoke_oauth_app", "app": "O365"},
            "client_id",
            "This action needs an OAuth app (its client id).",
        ),
        ({"kind": "suspend_user", "account": "not-a-uuid"}, "account", "Must be a valid UUID."),
        (
            {"kind": "suspend_user", "comment": "x" * 2001, "account": "ANN"},
            "comment",
            "Ensure this field has no more than 2000 characters.",
        ),
    ],
)
def test_bad_requests_name_the_field(sam_api, tenant_a, data, body, field, words):
    swap = {"OKTA": str(data["okta"].pk), "O365": str(data["o365"].pk), "ANN": str(data["ann"].pk)}
    body = {key: swap.get(value, value) for key, value in body.items()}
    error = error_of(sam_api.post(LIST, body), 400)
    assert error["details"][field] == [words]
    assert _count(tenant_a) == 2


def test_another_tenants_account_app_or_alert_is_not_found(sam_api, tenant_a, tenant_b, data):
    b_alert = make_alert(tenant_b, app=data["bert"].app_instance, person=data["bert"].user)
    for body in (
        {"kind": "suspend_user", "account": str(data["bert"].pk)},
        {"kind": "revoke_oauth_app", "app": str(data["bert"].app_instance_id), "client_id": "c"},
        {"kind": "suspend_user", "account": str(data["ann"].pk), "alert": str(b_alert.pk)},
    ):
        error_of(sam_api.post(LIST, body), 404)
    assert _count(tenant_a) == 2 and _count(tenant_b) == 1


def test_readers_may_not_run_or_retry(rita_api, tenant_a, data):
    error_of(rita_api.post(LIST, {"kind": "suspend_user", "account": str(data["ann"].pk)}), 403)
    error_of(rita_api.post(f"{LIST}{data['failed'].pk}/retry/"), 403)
    assert _count(tenant_a) == 2


def test_retry(sam_api, tenant_a, data):
    response = sam_api.post(f"{LIST}{data['failed'].pk}/retry/")
    assert response.status_code == 201, response.content
    assert response.json()["retry_of"] == str(data["failed"].pk)
    assert response.json()["status"] == "pending"
    again = error_of(sam_api.post(f"{LIST}{data['failed'].pk}/retry/"), 409)
    assert again["message"] == "The same action on the same target is already under way."
    done = error_of(sam_api.post(f"{LIST}{data['done'].pk}/retry/"), 409)
    assert done["message"] == "Only a failed action can be retried; its status is succeeded."
    assert _count(tenant_a) == 3


def test_a_retry_chain_runs_one_action_on_a_target_at_a_time(sam_api, tenant_a, data):
    first = sam_api.post(f"{LIST}{data['failed'].pk}/retry/").json()
    with tenant_context(tenant_a):  # the first retry failed too
        GovernanceAction.objects.filter(pk=first["id"]).update(status="failed")
    second = sam_api.post(f"{LIST}{data['failed'].pk}/retry/")
    assert second.status_code == 201, second.content
    # "Retry" on the failed first retry would run the same action on the same target again.
    clash = error_of(sam_api.post(f"{LIST}{first['id']}/retry/"), 409)
    assert clash["message"] == "The same action on the same target is already under way."


def test_list_queries_do_not_grow_with_rows(
    rita_api, tenant_a, data, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10) as few:
        rita_api.get(LIST)
    for i in range(15):
        app = logdata.app(tenant_a, f"App {i}", vendor=Vendor.OKTA)
        someone = account(tenant_a, app, f"00x{i}", f"p{i}@alpha.test")
        logged(tenant_a, app, someone, alert=make_alert(tenant_a, app=app, person=someone.user))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(rita_api.get(LIST).json()["results"]) == 17
