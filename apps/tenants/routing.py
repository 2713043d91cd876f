"""Geo routing: each tenant's data lives in the database of its geo.

`GEO_DATABASES` maps a geo (eu, uk, us) to a database alias. The control plane (portal users,
tenants, memberships, guardian permissions, API tokens) lives in "default"; tenant-owned models
go to the alias of the tenant they belong to, taken from the instance when Django gives one and
from the current tenant otherwise.
"""

from __future__ import annotations

import uuid

from django.conf import settings

from .scoping import current_tenant_or_none

# A tenant's geo never changes, so tenant id -> alias can be cached for the process lifetime.
_alias_cache: dict[uuid.UUID, str] = {}


def alias_for_geo(geo: str) -> str:
    return settings.GEO_DATABASES[geo]


def alias_for_tenant_id(tenant_id: uuid.UUID) -> str:
    alias = _alias_cache.get(tenant_id)
    if alias is None:
        from .models import Tenant

        geo = Tenant.objects.using("default").values_list("geo", flat=True).get(pk=tenant_id)
        alias = _alias_cache[tenant_id] = alias_for_geo(geo)
    return alias


def geo_aliases() -> set[str]:
    return set(settings.GEO_DATABASES.values())


def is_tenant_owned(model) -> bool:
    from .models import TenantOwnedModel

    return model is not None and issubclass(model, TenantOwnedModel)


class GeoRouter:
    def _route(self, model, **hints):
        if not is_tenant_owned(model):
            return "default"
        instance = hints.get("instance")
        tenant_id = getattr(instance, "tenant_id", None)
        if tenant_id is not None:
            return alias_for_tenant_id(tenant_id)
        tenant = current_tenant_or_none()
        return tenant.db_alias if tenant is not None else None

    db_for_read = _route
    db_for_write = _route

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Migrations hand over historical models, which lose abstract bases: look the model
        # up in the real registry to learn whether it is tenant-owned.
        if hints.get("tenant_data") or _is_tenant_model_name(app_label, model_name):
            return db == "default" or db in geo_aliases()
        return db == "default"


def _is_tenant_model_name(app_label: str, model_name: str | None) -> bool:
    if model_name is None:
        return False
    from django.apps import apps

    try:
        return is_tenant_owned(apps.get_model(app_label, model_name))
    except LookupError:
        return False
