"""Periodic jobs of the tenants app (declared in casb/celery.py BEAT_SCHEDULE)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from . import audit
from .models import ApiToken, Tenant
from .tasking import platform_task

log = logging.getLogger(__name__)

TOKEN_GRACE = dt.timedelta(days=30)


@platform_task("tenants.verify_audit_chains")
def verify_audit_chains() -> dict:
    """Verify every tenant's audit chain; anchor the heads of intact ones.

    A broken chain is logged at ERROR and not written into: the chain is the evidence under
    suspicion, and whoever could tamper with it could also delete a record saying so. The
    alert must leave the database (log shipping / SIEM); `manage.py verify_audit` names the
    first broken record for whoever investigates.
    """
    checked = broken = 0
    for tenant in Tenant.objects.order_by("slug"):
        report = audit.verify_chain(tenant)
        checked += 1
        if report.ok:
            audit.anchor_head(tenant, report)
        else:
            broken += 1
            log.error(
                "audit chain BROKEN tenant=%s slug=%s first_broken_seq=%s reason=%s",
                tenant.id,
                tenant.slug,
                report.first_broken_seq,
                report.reason,
            )
    log.info("audit chains verified: %d tenants, %d broken", checked, broken)
    return {"tenants": checked, "broken": broken}


def purge_expired_api_tokens_before(cutoff: dt.datetime) -> int:
    """Delete tokens that expired or were revoked before `cutoff`. Idempotent."""
    _, per_model = ApiToken.objects.filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
    ).delete()
    return per_model.get(ApiToken._meta.label, 0)


@platform_task("tenants.purge_expired_api_tokens")
def purge_expired_api_tokens() -> int:
    """Remove API tokens dead (expired or revoked) for more than 30 days: they can never
    authenticate again, and their creation and revocation stay in the audit log."""
    deleted = purge_expired_api_tokens_before(timezone.now() - TOKEN_GRACE)
    if deleted:
        log.info("purged %d API tokens dead for more than %s", deleted, TOKEN_GRACE)
    return deleted
