"""Private activities (spec 1.6): who may see them, the time-boxed reveal, and the one filter of
every outbound path.

An activity is private when its person was in an activity-privacy group when it was stored
(`Activity.is_private`, set at ingestion). The rules, in one place:

- Every read hides private rows by default, for everyone: `visible(qs, include_private=False)`.
- A member with `Action.VIEW_PRIVATE` may *reveal* them: they write a justification, the reveal
  is audited ("activities.reveal_private") and lasts `REVEAL_MINUTES` for that user, in that
  tenant, in that browser session (`reveal`). `is_revealed(request)` answers whether the current
  request sees them; it asks the permission again on every request, so losing the role ends a
  reveal at once.
- A token of such a principal may ask the API for them per request (`include_private=true` plus
  a justification); each such request is audited (`api_wants_private`).
- **Outbound paths never carry them**: the CSV export, the REST API's default answers, and every
  future integration (SIEM, webhooks, advanced hunting) must read activities through
  `shareable(qs)`. Exports made while revealed still leave them out (spec 1.5/1.6).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

from apps.tenants import audit
from apps.tenants.models import Tenant
from apps.tenants.permissions import Action, may

from .models import Activity

REVEAL_MINUTES = 30
JUSTIFICATION_MIN = 10
JUSTIFICATION_MAX = 500
SESSION_KEY = "casb.private_reveal"  # {tenant id: reveal end as epoch seconds}
AUDIT_REVEAL = "activities.reveal_private"
AUDIT_HIDE = "activities.hide_private"


def shareable(queryset: QuerySet[Activity]) -> QuerySet[Activity]:
    """`queryset` without private activities. Every path that sends activities out of the
    console (CSV export, API, SIEM, webhooks, advanced hunting) must read through this, whatever
    the reader's permissions or reveal state."""
    return queryset.filter(is_private=False)


def visible(queryset: QuerySet[Activity], *, include_private: bool) -> QuerySet[Activity]:
    """`queryset` as a reader sees it: private rows only when revealed to them."""
    return queryset if include_private else shareable(queryset)


def may_view_private(request) -> bool:
    """The console request's principal holds "view private activities" in its tenant."""
    return Action.VIEW_PRIVATE in getattr(request, "actions", frozenset())


def revealed_until(request) -> dt.datetime | None:
    """When the current reveal ends for this user in this tenant, or None (none, expired, or
    the permission is gone)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not may_view_private(request):
        return None
    session = getattr(request, "session", None)
    ends = (session.get(SESSION_KEY) or {}).get(str(tenant.pk)) if session is not None else None
    if not isinstance(ends, int | float):
        return None
    until = dt.datetime.fromtimestamp(ends, tz=dt.UTC)
    return until if until > timezone.now() else None


def is_revealed(request) -> bool:
    return revealed_until(request) is not None


class JustificationForm(forms.Form):
    """Why the private activities must be seen (kept in the audit log)."""

    justification = forms.CharField(
        min_length=JUSTIFICATION_MIN,
        max_length=JUSTIFICATION_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"At least {JUSTIFICATION_MIN} characters, e.g. the incident or ticket number. It "
            "is written to the audit log with your name."
        ),
    )

    def clean_justification(self) -> str:
        # PostgreSQL text cannot hold NUL; refuse it as bad input rather than fail later.
        value = self.cleaned_data["justification"]
        if "\x00" in value:
            raise forms.ValidationError("Remove the control characters.")
        return value


def reveal(*, tenant: Tenant, actor, request, justification: str) -> dt.datetime:
    """Show private activities to `actor` in `tenant` for `REVEAL_MINUTES` (this session only);
    audited with the justification. The caller has checked `Action.VIEW_PRIVATE`."""
    until = timezone.now() + dt.timedelta(minutes=REVEAL_MINUTES)
    audit.record(
        tenant,
        AUDIT_REVEAL,
        actor=actor,
        request=request,
        details={
            "justification": justification,
            "via": "console",
            "until": until.isoformat(),
            "minutes": REVEAL_MINUTES,
        },
    )
    reveals = dict(request.session.get(SESSION_KEY) or {})
    reveals[str(tenant.pk)] = until.timestamp()
    request.session[SESSION_KEY] = reveals
    return until


def hide(*, tenant: Tenant, actor, request) -> None:
    """End the reveal of `actor` in `tenant` early (audited, so the log shows the real span)."""
    reveals = dict(request.session.get(SESSION_KEY) or {})
    if reveals.pop(str(tenant.pk), None) is None:
        return
    request.session[SESSION_KEY] = reveals
    audit.record(tenant, AUDIT_HIDE, actor=actor, request=request, details={"via": "console"})


def audit_api_reveal(*, tenant: Tenant, actor, request, justification: str, endpoint: str):
    """One API request that asked for private activities (`include_private=true`)."""
    audit.record(
        tenant,
        AUDIT_REVEAL,
        actor=actor,
        request=request,
        details={"justification": justification, "via": "api", "endpoint": endpoint},
    )


# --- The API's per-request ask (include_private=true&justification=...) ------------------

API_PARAMETERS = [
    OpenApiParameter(
        "include_private",
        OpenApiTypes.BOOL,
        OpenApiParameter.QUERY,
        description=(
            "`true` also returns private activities (people in activity-privacy groups). Only "
            "for a token whose role and creator hold the view-private-activities permission "
            "(else 403); needs `justification`; every such request is written to the audit "
            "log. Exports never include private activities."
        ),
    ),
    OpenApiParameter(
        "justification",
        {
            "type": "string",
            "minLength": JUSTIFICATION_MIN,
            "maxLength": JUSTIFICATION_MAX,
        },
        OpenApiParameter.QUERY,
        description="Why private activities are needed (e.g. the incident number); audited.",
    ),
]


def api_wants_private(request, *, endpoint: str) -> bool:
    """Read `include_private` / `justification`: False when not asked; True (audited) when
    asked by a principal allowed to; 403 or 400 otherwise."""
    params = request.query_params
    raw = params.get("include_private", "")
    justification = params.get("justification", "")
    errors = {}
    if raw not in ("", "true", "false"):
        errors["include_private"] = ["Give true or false."]
    if justification and not (
        JUSTIFICATION_MIN <= len(justification) <= JUSTIFICATION_MAX
        and justification.strip()
        and "\x00" not in justification
    ):
        errors["justification"] = [
            f"Give {JUSTIFICATION_MIN} to {JUSTIFICATION_MAX} characters of text."
        ]
    if errors:
        raise exceptions.ValidationError(errors)
    if raw != "true":
        return False
    if not may(request.user, Action.VIEW_PRIVATE, request.tenant, token=request.auth):
        raise exceptions.PermissionDenied("Your role does not allow viewing private activities.")
    if not justification:
        raise exceptions.ValidationError(
            {"justification": ["Say why private activities are needed (it is audited)."]}
        )
    audit_api_reveal(
        tenant=request.tenant,
        actor=request.auth,
        request=request,
        justification=justification.strip(),
        endpoint=endpoint,
    )
    return True
