"""Portal security settings and the audit log (page and CSV export). Thin: the policy rules
live in `access_policy`, the filters in `filtersets`, the chain in `audit`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from .. import audit
from ..access_policy import Policy, SelfLockoutError, country_name, save_portal_policy
from ..filtersets import AuditEventFilterSet
from ..models import AuditEvent
from ..netaddr import client_ip, country_of
from ..permissions import Action
from ..security_forms import PortalSecurityForm
from .base import TenantTemplateView, TenantView

AUDIT_PAGE_SIZE = 50
CSV_COLUMNS = [
    "seq",
    "time_utc",
    "actor",
    "actor_id",
    "ip",
    "action",
    "object_type",
    "object_id",
    "details",
    "prev_hash",
    "hash",
]


def _session_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


class PortalSecurityView(TenantTemplateView):
    """Require-MFA switch and allowed networks/countries. Everyone reads; global admins write."""

    template_name = "tenants/portal_security.html"
    section = "settings"
    read_action = Action.VIEW
    write_action = Action.MANAGE_PORTAL_SECURITY

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = Policy.of(self.tenant)
        ip = client_ip(self.request)
        country = country_of(ip)
        context.setdefault(
            "form", PortalSecurityForm(initial=PortalSecurityForm.initial_for(policy))
        )
        context.setdefault("needs_confirmation", False)
        context.update(
            policy=policy,
            countries=[(code, country_name(code)) for code in policy.allowed_countries],
            current_ip=ip,
            current_country=f"{country_name(country)} ({country})" if country else "",
            session_verified=_session_verified(self.request.user),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = PortalSecurityForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        policy = form.policy()
        try:
            changed = save_portal_policy(
                tenant=self.tenant,
                policy=policy,
                actor=request.user,
                current_ip=client_ip(request),
                confirm_lockout=form.cleaned_data["confirm_lockout"],
                request=request,
            )
        except SelfLockoutError as exc:
            form.add_error(
                None, f"{exc.messages[0]} To save it anyway, tick the confirmation below."
            )
            context = self.get_context_data(form=form, needs_confirmation=True)
            return self.render_to_response(context, status=400)
        if not changed:
            messages.info(request, "Nothing changed.")
        elif policy.require_mfa and not _session_verified(request.user):
            # The gate sends every unverified session (this one too) to MFA from now on.
            messages.warning(
                request,
                "Portal security saved. MFA is now required: set up or verify your second "
                "factor to continue.",
            )
        else:
            messages.success(request, "Portal security saved.")
        return redirect("tenants:portal-security", self.tenant.slug)


def _audit_filterset(request) -> AuditEventFilterSet:
    return AuditEventFilterSet(
        request.GET or None, queryset=AuditEvent.objects.order_by("-seq"), request=request
    )


def _filtered(filterset: AuditEventFilterSet):
    # An invalid filter shows its error and no rows, never rows it did not ask for.
    return (
        filterset.qs
        if filterset.is_valid() or not filterset.is_bound
        else filterset.queryset.none()
    )


class AuditLogView(TenantTemplateView):
    """The tenant's audit log with filters and pagination. Global admins only (VIEW_AUDIT)."""

    template_name = "tenants/audit.html"
    section = "audit"
    read_action = Action.VIEW_AUDIT

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = _audit_filterset(self.request)
        page = Paginator(_filtered(filterset), AUDIT_PAGE_SIZE).get_page(
            self.request.GET.get("page")
        )
        query = {k: v for k, v in self.request.GET.items() if k != "page" and v}
        context.update(
            filter=filterset,
            page=page,
            rows=[(event, audit.summarize_details(event.details)) for event in page],
            known_actions=list(
                AuditEvent.objects.order_by("action")
                .values_list("action", flat=True)
                .distinct()[:200]
            ),
            export_url_query=urlencode(query),
            filtered=bool(query),
        )
        return context


def _csv_cell(value) -> str:
    """Neutralise spreadsheet formulas: a cell a user chose (a username, a path) must not run
    as a formula when an auditor opens the export (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _csv_cell(value)
                for value in (
                    event.seq,
                    event.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    event.actor_label,
                    event.actor_id,
                    event.ip,
                    event.action,
                    event.object_type,
                    event.object_id,
                    json.dumps(event.details, sort_keys=True, default=str),
                    event.prev_hash,
                    event.hash,
                )
            ]
        )


class AuditExportView(TenantView):
    """CSV of the filtered audit log, streamed; the export itself is audited."""

    read_action = Action.VIEW_AUDIT

    def get(self, request, *args, **kwargs):
        if not self.may(Action.EXPORT):
            raise PermissionDenied("Your role does not allow exports.")
        filterset = _audit_filterset(request)
        if filterset.is_bound and not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            url = reverse("tenants:audit", args=[self.tenant.slug])
            return redirect(f"{url}?{request.GET.urlencode()}")
        filters = (
            {name: str(value) for name, value in filterset.form.cleaned_data.items() if value}
            if filterset.is_bound
            else {}
        )
        queryset = filterset.qs
        audit.record(self.tenant, "audit.exported", request=request, details={"filters": filters})
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(_csv_rows(queryset), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-{self.tenant.slug}-{stamp}.csv"'
        )
        return response
