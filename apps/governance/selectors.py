"""Reads of the governance log, all through the tenant-scoped managers."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Account
from apps.alerts.models import Alert
from apps.connectors.models import AppInstance

from .models import GovernanceAction


def actions() -> QuerySet[GovernanceAction]:
    """The log, newest first, with what a row shows (app, alert, policy) in the same query."""
    return GovernanceAction.objects.select_related("app_instance", "alert", "policy").order_by(
        "-created_at", "-id"
    )


def action(action_id) -> GovernanceAction | None:
    return actions().select_related("account", "user", "retry_of").filter(pk=action_id).first()


def account(account_id) -> Account | None:
    return Account.objects.select_related("app_instance", "user").filter(pk=account_id).first()


def app_instance(instance_id) -> AppInstance | None:
    return AppInstance.objects.filter(pk=instance_id).first()


def alert(alert_id) -> Alert | None:
    return Alert.objects.filter(pk=alert_id).first()
