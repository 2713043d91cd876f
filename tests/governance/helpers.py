"""Helpers of the governance tests: accounts in a connected app, running an action for real."""

from __future__ import annotations

import uuid

from apps.accounts.models import Account, CloudUser
from apps.governance import executor, services
from apps.governance.models import GovernanceAction, Source
from apps.tenants.scoping import tenant_context


def account(tenant, instance, external_id: str, username: str, **fields) -> Account:
    """An account of `instance` (and its person, joined by the address)."""
    with tenant_context(tenant):
        person = None
        if "@" in username:
            person, _ = CloudUser.objects.get_or_create(
                identity=username.lower(),
                defaults={"email": username, "display_name": fields.get("display_name", "")},
            )
        return Account.objects.create(
            app_instance=instance,
            user=person,
            external_id=external_id,
            username=username,
            email=fields.pop("email", username if "@" in username else ""),
            **fields,
        )


def request(tenant, kind: str, **kwargs) -> GovernanceAction:
    kwargs.setdefault("source", Source.MANUAL)
    with tenant_context(tenant):
        return services.request_action(kind=kind, **kwargs)


def execute(tenant, action: GovernanceAction, now=None) -> executor.Outcome:
    with tenant_context(tenant):
        return executor.execute(tenant, str(action.pk), now=now)


def reload(tenant, action: GovernanceAction) -> GovernanceAction:
    with tenant_context(tenant):
        return GovernanceAction.objects.get(pk=action.pk)


def run(tenant, kind: str, **kwargs) -> GovernanceAction:
    """Request the action and carry it out once (as one delivery of the task)."""
    action = request(tenant, kind, **kwargs)
    execute(tenant, action)
    return reload(tenant, action)


def again(tenant, action: GovernanceAction) -> GovernanceAction:
    """Run a finished action's target once more, as a new action (idempotency checks)."""
    return run(
        tenant,
        action.kind,
        account=action.account,
        app_instance=action.app_instance,
        file_id=action.target_ref if action.target_type == "file" else "",
        client_id=action.target_ref if action.target_type == "oauth_app" else "",
        params=action.params,
    )


def new_id() -> str:
    return uuid.uuid4().hex[:10]


def logged(tenant, app, target_account, kind: str = "suspend_user", **fields) -> GovernanceAction:
    """A governance log entry written directly (no vendor call), for the page and API tests."""
    from django.utils import timezone

    values = {
        "kind": kind,
        "source": Source.MANUAL,
        "initiated_by_label": "sam@alpha.test",
        "app_instance": app,
        "target_type": "account",
        "account": target_account,
        "user": target_account.user if target_account is not None else None,
        "target_ref": target_account.external_id if target_account is not None else "",
        "target_label": target_account.username if target_account is not None else "",
    }
    values.update(fields)
    with tenant_context(tenant):
        action = GovernanceAction.objects.create(**values)
        if "created_at" in fields:  # auto_now_add ignores a given value
            GovernanceAction.objects.filter(pk=action.pk).update(created_at=fields["created_at"])
            action.created_at = fields["created_at"]
        if values.get("status") in ("succeeded", "failed") and "finished_at" not in fields:
            action.finished_at = timezone.now()
            action.save(update_fields=["finished_at"])
        return action
