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
- **Outbound paths never carry them**: the CSV export, the REST API (a token is an integration:
  `include_private=true` is refused, `refuse_private_ask`), the SIEM agents, webhooks and every
  future integration read activities through `shareable(qs)`. Exports made while revealed still
  leave them out (spec 1.5/1.6).
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
from apps.tenants.permissions import Action

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


# --- The API: private activities never leave through it -----------------------------------

API_PARAMETERS = [
    OpenApiParameter(
        "include_private",
        OpenApiTypes.BOOL,
        OpenApiParameter.QUERY,
        description=(
            "Private activities (people in activity-privacy groups) are never sent to an "
            "integration, and an API token is one: `true` is refused with 403, whatever the "
            "token's role. A global admin reveals them in the console, with a justification "
            "that is audited."
        ),
    ),
]

API_REFUSAL = (
    "Private activities are never sent to integrations, API tokens included. A global admin "
    "can reveal them in the console (Activities), with a justification that is audited."
)


def refuse_private_ask(request) -> None:
    """Answer an API request's `include_private`: nothing when absent or false; 403 for true
    (see `API_REFUSAL`), 400 for anything else. Kept as a parameter so that a client asking is
    told, not silently answered without them."""
    raw = request.query_params.get("include_private", "")
    if raw not in ("", "true", "false"):
        raise exceptions.ValidationError({"include_private": ["Give true or false."]})
    if raw == "true":
        raise exceptions.PermissionDenied(API_REFUSAL)
