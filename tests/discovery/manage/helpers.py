"""Helpers of the discovery management tests."""

from __future__ import annotations

from apps.discovery import services_custom_apps as custom_apps
from apps.discovery import services_manage as manage
from apps.discovery.models import CustomApp
from apps.tenants.models import AuditEvent
from apps.tenants.scoping import tenant_context


def custom_app(tenant, name: str, domains: list[str], *, tag: str | None = None) -> CustomApp:
    """A custom app of `tenant` made through the service, optionally with a built-in tag."""
    with tenant_context(tenant):
        app = custom_apps.create_custom_app(name=name, domains=domains, actor="test")
        if tag:
            manage.tag_app(app=app.key, tag=manage.builtin_tag(tag), actor="test")
        return app


def events(tenant, action: str) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))
