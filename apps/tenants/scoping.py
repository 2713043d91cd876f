"""The one tenant-scoping mechanism.

The current tenant lives in a context variable, set once per request (by the console base view
or the API base viewset) or once per Celery task (by `tenant_task`). Tenant-owned models read it
in their default manager, which *fails closed*: a query with no current tenant raises
`TenantNotSet` instead of returning every tenant's rows. The same variable tells the database
router which geo database to use, so a tenant's data is read and written only in its geo.

Cross-tenant jobs (retention sweeps, offboarding) use the loudly named `unscoped_objects`
manager, or enter each tenant in turn with `tenant_context`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Tenant


class TenantNotSet(RuntimeError):
    """A tenant-owned model was queried outside any tenant context."""


_current: ContextVar[Tenant | None] = ContextVar("casb_current_tenant", default=None)


def current_tenant() -> Tenant:
    """The tenant of the running request or task; raises if there is none."""
    tenant = _current.get()
    if tenant is None:
        raise TenantNotSet(
            "Tenant-owned data was queried with no current tenant. Enter one with "
            "tenant_context(tenant), or use unscoped_objects in a cross-tenant job."
        )
    return tenant


def current_tenant_or_none() -> Tenant | None:
    return _current.get()


@contextlib.contextmanager
def tenant_context(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block as `tenant`: queries are scoped to it and routed to its geo database."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def activate(tenant: Tenant):
    """Set the tenant without a block; returns a token for `deactivate` (DRF's initial())."""
    return _current.set(tenant)


def deactivate(token) -> None:
    _current.reset(token)
