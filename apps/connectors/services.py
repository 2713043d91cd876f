"""Writes of the connectors app: managing app instances, and polling them.

Managing (console and API alike): create, update, pause/resume, delete, "poll now". Every change
is audited as connector.created/updated/deleted, naming fields but never a credential's value.

Polling lives in `polling.py` (`poll_instance`, `enqueue_due_polls`), re-exported here.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.activities.models import Activity
from apps.compliance.crypto import DecryptionError
from apps.tenants import audit
from apps.tenants.gate import collection_stopped
from apps.tenants.models import Tenant
from apps.tenants.scoping import tenant_context
from apps.tenants.tasking import enqueue_on_commit

from . import status
from .adapters import adapter_class
from .models import AppInstance, InstanceStatus
from .polling import (
    QUEUED_GRACE,
    PollOutcome,
    enqueue_due_polls,
    poll_instance,
    record_status_change,
)
from .transport import DestinationRefused, check_destination

__all__ = [
    "QUEUED_GRACE",
    "InstanceRefused",
    "PollOutcome",
    "create_instance",
    "delete_instance",
    "enqueue_due_polls",
    "poll_instance",
    "request_poll",
    "set_enabled",
    "update_instance",
]


class InstanceRefused(Exception):
    """Bad input for an app instance: field name ("" for the whole form) -> plain words."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


# --- Managing instances -----------------------------------------------------------------------


def credential_fields(vendor: str):
    cls = adapter_class(vendor)
    return cls.credential_fields if cls else ()


def _check_base_url(vendor: str, base_url: str) -> str:
    base_url = (base_url or "").strip().rstrip("/")
    cls = adapter_class(vendor)
    if not base_url:
        if cls is not None and cls.base_url_required:
            raise InstanceRefused({"base_url": "This app needs its base URL."})
        return ""
    try:
        check_destination(base_url)
    except DestinationRefused as exc:
        raise InstanceRefused({"base_url": f"Refused: {exc}."}) from exc
    return base_url


def _merge_credentials(vendor: str, old: dict, new: dict, *, creating: bool) -> tuple[dict, list]:
    """The stored credentials after an edit: empty secret fields keep the stored secret."""
    fields = credential_fields(vendor)
    merged, changed, problems = dict(old), [], {}
    for spec in fields:
        value = (new.get(spec.name) or "").strip()
        if not value and spec.secret and not creating and old.get(spec.name):
            continue  # left empty: keep the current secret
        if not value and spec.required:
            problems[spec.name] = f"{spec.label} is required."
            continue
        if merged.get(spec.name, "") != value:
            changed.append(spec.name)
        merged[spec.name] = value
    cls = adapter_class(vendor)
    if cls is not None and not problems:
        problems.update(cls.validate_credentials(merged))
    if problems:
        raise InstanceRefused(problems)
    return merged, changed


def create_instance(
    *,
    tenant: Tenant,
    actor,
    vendor: str,
    name: str,
    base_url: str = "",
    credentials: dict,
    request=None,
) -> AppInstance:
    """Connect a new app; the first poll is due at once."""
    if adapter_class(vendor) is None:
        raise InstanceRefused({"vendor": "Pick one of the apps we can connect to."})
    name = (name or "").strip()
    if not name:
        raise InstanceRefused({"name": "Give the app a name."})
    base_url = _check_base_url(vendor, base_url)
    merged, _ = _merge_credentials(vendor, {}, credentials, creating=True)
    now = timezone.now()
    with tenant_context(tenant):
        instance = AppInstance(vendor=vendor, name=name[:120], base_url=base_url, next_poll_at=now)
        instance.tenant_id = tenant.id
        instance.set_credentials(merged)
        try:
            with transaction.atomic(using=tenant.db_alias):
                instance.save(force_insert=True)
                record_status_change(instance, now)
        except IntegrityError as exc:
            raise InstanceRefused({"name": "Another connected app has this name."}) from exc
    audit.record(
        tenant,
        "connector.created",
        actor=actor,
        request=request,
        target=instance,
        details={"name": instance.name, "vendor": vendor, "base_url": base_url},
    )
    return instance


def update_instance(
    *,
    instance: AppInstance,
    actor,
    name: str | None = None,
    base_url: str | None = None,
    credentials: dict | None = None,
    request=None,
) -> AppInstance:
    """Rename, move or re-key an app. Secret fields left empty keep their stored value."""
    tenant = Tenant.objects.get(pk=instance.tenant_id)
    changed: dict = {}
    if name is not None:
        name = name.strip()[:120]
        if not name:
            raise InstanceRefused({"name": "Give the app a name."})
        if name != instance.name:
            changed["name"] = name
            instance.name = name
    if base_url is not None:
        base_url = _check_base_url(instance.vendor, base_url)
        if base_url != instance.base_url:
            changed["base_url"] = base_url
            instance.base_url = base_url
    if credentials is not None:
        try:
            old = instance.credentials()
        except DecryptionError:
            old = {}
        merged, fields = _merge_credentials(instance.vendor, old, credentials, creating=not old)
        if fields:
            instance.set_credentials(merged)
            changed["credentials"] = fields  # names only, never values
    if not changed:
        return instance
    if "credentials" in changed or "base_url" in changed:
        # New credentials or a new address deserve a poll now, not after the backoff.
        instance.next_poll_at, instance.retry_at, instance.failures = timezone.now(), None, 0
    with tenant_context(tenant):
        try:
            with transaction.atomic(using=tenant.db_alias):
                instance.save()
        except IntegrityError as exc:
            raise InstanceRefused({"name": "Another connected app has this name."}) from exc
    audit.record(
        tenant,
        "connector.updated",
        actor=actor,
        request=request,
        target=instance,
        details={"name": instance.name, "changed": sorted(changed), **_public(changed)},
    )
    return instance


def _public(changed: dict) -> dict:
    return {k: v for k, v in changed.items() if k in ("name", "base_url", "credentials")}


def set_enabled(*, instance: AppInstance, actor, enabled: bool, request=None) -> AppInstance:
    """Pause (no more polls) or resume (a poll is due at once)."""
    if instance.enabled == enabled:
        return instance
    tenant = Tenant.objects.get(pk=instance.tenant_id)
    now = timezone.now()
    instance.enabled = enabled
    if enabled:
        instance.status, instance.status_detail = InstanceStatus.NEW, "resumed, waiting for a poll"
        instance.next_poll_at, instance.retry_at, instance.failures = now, None, 0
    else:
        instance.status, instance.status_detail, instance.retry_at = InstanceStatus.PAUSED, "", None
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        instance.save()
        record_status_change(instance, now)
    audit.record(
        tenant,
        "connector.updated",
        actor=actor,
        request=request,
        target=instance,
        details={"name": instance.name, "changed": ["enabled"], "enabled": enabled},
    )
    return instance


def delete_instance(*, instance: AppInstance, actor, request=None) -> None:
    """Disconnect an app: its cursors, accounts, groups and activities go with it."""
    tenant = Tenant.objects.get(pk=instance.tenant_id)
    details = {"name": instance.name, "vendor": instance.vendor, "id": str(instance.pk)}
    with tenant_context(tenant), transaction.atomic(using=tenant.db_alias):
        # Activities point at the instance without a database constraint (partitioned table).
        Activity.objects.filter(app_instance_id=instance.pk).delete()
        instance.delete()
    audit.record(tenant, "connector.deleted", actor=actor, request=request, details=details)


def request_poll(*, instance: AppInstance, now: datetime | None = None) -> None:
    """ "Poll now": enqueue a poll after the surrounding transaction commits."""
    from .tasks import poll_instance_task

    now = now or timezone.now()
    stopped = collection_stopped(Tenant.objects.get(pk=instance.tenant_id))
    if stopped:
        raise InstanceRefused({"": stopped})
    if not instance.enabled:
        raise InstanceRefused({"": "The app is paused; resume it first."})
    if (
        instance.status == InstanceStatus.RATE_LIMITED
        and instance.retry_at
        and (instance.retry_at > now)
    ):
        raise InstanceRefused(
            {"": f"The app asked us to wait until {status.at(instance.retry_at, now)} UTC."}
        )
    enqueue_on_commit(
        poll_instance_task, str(instance.tenant_id), str(instance.pk), using=instance._state.db
    )
