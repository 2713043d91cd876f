"""Writes of the governance log: request an action (admin or policy); the task carries it out.

`request_action(...)` validates the target, writes the pending `GovernanceAction` and sends it to
Celery once the surrounding transaction commits. A policy's actions carry an idempotency key, so
one alert never runs the same action on the same account twice, however often it is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, connections, transaction

from apps.accounts.models import Account
from apps.tenants import audit
from apps.tenants.scoping import current_tenant
from apps.tenants.tasking import enqueue_on_commit

from .models import (
    APP_ACTIONS,
    FILE_ACTIONS,
    FINISHED_STATUSES,
    USER_ACTIONS,
    GovernanceAction,
    GovernanceKind,
    GovernanceStatus,
    Source,
    TargetType,
)


class GovernanceRefused(ValueError):
    """The action cannot be requested as asked; the message says why, in plain words, and
    `field` names the input at fault (for the API's 400)."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


def _usable_id(value: str) -> bool:
    """A vendor id goes into a URL path: refuse what could change which resource it names."""
    text = value.strip()
    return (
        0 < len(text) <= 300
        and text not in (".", "..")
        and "/" not in text
        and "\\" not in text
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in text)
    )


def _target_type(kind: str) -> str:
    if kind in USER_ACTIONS:
        return TargetType.ACCOUNT
    if kind in FILE_ACTIONS:
        return TargetType.FILE
    if kind in APP_ACTIONS:
        return TargetType.OAUTH_APP
    raise GovernanceRefused(f"Unknown governance action {kind!r}.", "kind")


def request_action(
    *,
    kind: str,
    source: str,
    account: Account | None = None,
    app_instance=None,
    file_id: str = "",
    client_id: str = "",
    target_label: str = "",
    params: dict | None = None,
    actor=None,
    request=None,
    policy=None,
    alert=None,
    comment: str = "",
    idempotency_key: str | None = None,
) -> GovernanceAction | None:
    """Record one pending action and send it on commit; None if its idempotency key was used.

    Accounts: pass `account` (its app is the target app). Files: `app_instance` + `file_id`.
    OAuth apps: `app_instance` + `client_id` (and `account` to revoke one person's grant).
    """
    tenant = current_tenant()
    if kind not in GovernanceKind.values:
        raise GovernanceRefused(f"Unknown governance action {kind!r}.", "kind")
    target_type = _target_type(kind)
    if target_type == TargetType.ACCOUNT and account is None:
        raise GovernanceRefused("This action needs an account in a connected app.", "account")
    if account is not None:
        app_instance = account.app_instance
    if app_instance is None and kind != GovernanceKind.NOTIFY_USER:
        raise GovernanceRefused("This action needs a connected app.", "app")
    if target_type == TargetType.FILE and not file_id:
        raise GovernanceRefused("This action needs a file.", "file_id")
    if target_type == TargetType.OAUTH_APP and not client_id:
        raise GovernanceRefused("This action needs an OAuth app (its client id).", "client_id")
    for name, value in (("file_id", file_id), ("client_id", client_id)):
        if name == "file_id" and value.strip().lower().startswith(("https://", "http://")):
            continue  # a sharing link (Microsoft 365 resolves it; it never becomes a path)
        if value and not _usable_id(value):
            raise GovernanceRefused(
                f"{value[:40]!r} is not an id an app would give: no slashes, dot segments, "
                "control characters or more than 300 characters.",
                name,
            )
    if target_type == TargetType.ACCOUNT:
        ref = account.external_id
        label = target_label or account.email or account.username or account.external_id
    elif target_type == TargetType.FILE:
        ref, label = file_id, target_label or file_id
    else:
        ref, label = client_id, target_label or client_id
    action = GovernanceAction(
        kind=kind,
        source=source,
        initiated_by_id=getattr(actor, "pk", None) if source == Source.MANUAL else None,
        initiated_by_label=_initiator_label(actor, policy, source),
        policy=policy,
        alert=alert,
        app_instance=app_instance,
        target_type=target_type,
        account=account,
        user_id=account.user_id if account is not None else None,
        target_ref=ref[:300],
        target_label=label[:300],
        params=params or {},
        comment=comment,
        idempotency_key=idempotency_key,
    )
    try:
        with transaction.atomic(using=tenant.db_alias):
            action.save()
    except IntegrityError:
        if (
            idempotency_key
            and GovernanceAction.objects.filter(idempotency_key=idempotency_key).exists()
        ):
            return None
        raise
    if source == Source.MANUAL:
        audit.record(
            tenant,
            "governance.requested",
            actor=actor,
            request=request,
            target=action,
            details={"kind": kind, "target_type": action.target_type},
        )
    dispatch_on_commit(action)
    return action


def dispatch_on_commit(action: GovernanceAction) -> None:
    from .tasks import execute_action

    enqueue_on_commit(
        execute_action, str(action.tenant_id), str(action.pk), using=action._state.db or "default"
    )


def _initiator_label(actor, policy, source: str) -> str:
    if source == Source.POLICY and policy is not None:
        return f"Policy: {policy.name}"[:254]
    if source == Source.SYSTEM:
        return "System"
    label = getattr(actor, "get_username", None)
    return (label() if callable(label) else str(actor or ""))[:254]


def actions_for_alert(*, policy, alert, rows: Iterable) -> int:
    """Record a policy's governance actions for a new alert; returns how many were recorded.

    Account actions run on the accounts that did the matching activities; file actions on the
    files those activities touched; "revoke OAuth app" on the OAuth apps they name.
    """
    rows = list(rows)
    account_ids = list(dict.fromkeys(r.account_id for r in rows if r.account_id))
    accounts = {
        a.pk: a for a in Account.objects.select_related("app_instance").filter(pk__in=account_ids)
    }
    recorded = 0
    for kind in policy.governance or []:
        if kind not in GovernanceKind.values:
            continue
        targets: list[dict] = []
        if kind in USER_ACTIONS:
            targets = [{"account": accounts[a]} for a in account_ids if a in accounts]
        elif kind in FILE_ACTIONS:
            seen = set()
            for row in rows:
                is_file = row.object_type.lower() in ("file", "folder", "document")
                if row.object_id and is_file and (row.app_instance_id, row.object_id) not in seen:
                    seen.add((row.app_instance_id, row.object_id))
                    targets.append(
                        {
                            "app_instance_id": row.app_instance_id,
                            "file_id": row.object_id,
                            "target_label": row.object_name,
                        }
                    )
        else:
            for row in rows:
                if row.object_id and row.object_type.lower() in ("oauth_app", "application"):
                    targets.append(
                        {
                            "app_instance_id": row.app_instance_id,
                            "client_id": row.object_id,
                            "target_label": row.object_name,
                        }
                    )
                    break
        for target in targets[:20]:
            ref = (
                target.get("account").pk
                if "account" in target
                else target.get("file_id") or target.get("client_id")
            )
            app_instance = None
            if "app_instance_id" in target:
                from apps.connectors.models import AppInstance

                app_instance = AppInstance.objects.filter(pk=target.pop("app_instance_id")).first()
                if app_instance is None:
                    continue
            try:
                made = request_action(
                    kind=kind,
                    source=Source.POLICY,
                    policy=policy,
                    alert=alert,
                    app_instance=app_instance,
                    idempotency_key=f"{policy.pk}:{kind}:{ref}:{alert.pk}"[:200],
                    **target,
                )
            except GovernanceRefused:
                continue
            recorded += made is not None
    return recorded


def request_manual(
    *,
    kind: str,
    actor,
    request=None,
    account: Account | None = None,
    app_instance=None,
    file_id: str = "",
    client_id: str = "",
    target_label: str = "",
    alert=None,
    comment: str = "",
) -> GovernanceAction:
    """An admin's action from the console or the API. Refused, in plain words, when the app
    cannot carry it out (rather than recorded only to fail)."""
    from .capabilities import can_run

    if kind not in GovernanceKind.values:
        raise GovernanceRefused(f"Unknown governance action {kind!r}.", "kind")
    instance = account.app_instance if account is not None else app_instance
    if instance is not None and not can_run(kind, instance):
        label = GovernanceKind(kind).label.lower()
        raise GovernanceRefused(
            f"{instance.get_vendor_display()} ({instance.name}) cannot {label}.", "kind"
        )
    action = request_action(
        kind=kind,
        source=Source.MANUAL,
        actor=actor,
        request=request,
        account=account,
        app_instance=app_instance,
        file_id=file_id.strip(),
        client_id=client_id.strip(),
        target_label=target_label.strip(),
        alert=alert,
        comment=comment.strip(),
    )
    assert action is not None  # manual actions carry no idempotency key
    return action


def retry_action(*, action: GovernanceAction, actor, request=None) -> GovernanceAction:
    """Record a new attempt of a failed action (the failed one stays in the log, linked)."""
    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        # Locked, so two clicks on "retry" record one retry.
        original = GovernanceAction.objects.select_for_update().get(pk=action.pk)
        if original.status != GovernanceStatus.FAILED:
            raise GovernanceRefused(
                "Only a failed action can be retried; its status is "
                f"{original.get_status_display().lower()}.",
                "status",
            )
        # One live action per kind and target, whichever failed entry "retry" was pressed on
        # (the failed action or a failed retry of it): serialised on the target, not the row.
        target = (
            f"governance.retry:{original.kind}:{original.app_instance_id}:{original.target_ref}"
        )
        connection = connections[tenant.db_alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [target])
        if (
            GovernanceAction.objects.filter(
                kind=original.kind,
                app_instance_id=original.app_instance_id,
                target_type=original.target_type,
                target_ref=original.target_ref,
            )
            .exclude(status__in=FINISHED_STATUSES)
            .exists()
        ):
            raise GovernanceRefused(
                "The same action on the same target is already under way.", "status"
            )
        retry = GovernanceAction.objects.create(
            kind=original.kind,
            source=Source.MANUAL,
            initiated_by_id=getattr(actor, "pk", None),
            initiated_by_label=_initiator_label(actor, None, Source.MANUAL),
            policy=original.policy,
            alert=original.alert,
            app_instance=original.app_instance,
            target_type=original.target_type,
            account=original.account,
            user=original.user,
            target_ref=original.target_ref,
            target_label=original.target_label,
            params=original.params,
            comment=original.comment,
            retry_of=original,
        )
    audit.record(
        tenant,
        "governance.retried",
        actor=actor,
        request=request,
        target=retry,
        details={
            "kind": retry.kind,
            "target_type": retry.target_type,
            "retry_of": str(original.pk),
        },
    )
    dispatch_on_commit(retry)
    return retry


def mark(action: GovernanceAction, status: str, **fields) -> None:
    """Move `action` to `status` with `fields` (used by the task; one UPDATE)."""
    action.status = status
    for name, value in fields.items():
        setattr(action, name, value)
    action.save(update_fields=["status", *fields])


__all__ = [
    "GovernanceRefused",
    "GovernanceStatus",
    "actions_for_alert",
    "dispatch_on_commit",
    "mark",
    "request_action",
    "request_manual",
    "retry_action",
]
