"""Settings > Integrations: SIEM agents and webhooks (spec sections 6 and 11).

Every member reads the list, each destination's page, its dead letters and its delivery
history; adding, editing, turning off or on, rotating a webhook's secret, deleting and sending a
dead letter again need `Action.MANAGE_SETTINGS` (readers get 403). A webhook's secret is shown
once, rendered in the answer to the request that made it (never redirected through the session
or a URL), and never again. Thin: the rules are in `services`, the reads in `selectors`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from apps.activities.categories import LABELS as TYPE_LABELS
from apps.alerts.models import Severity
from apps.compliance.scope import app_choices
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import selectors, services
from .forms import TIME_LABELS, DeleteForm, SiemForm, WebhookForm
from .models import DeadLetter, Delivery, Destination, DestinationKind, EventKind
from .webhooks import TOLERANCE_SECONDS

FORMS = {DestinationKind.SIEM: SiemForm, DestinationKind.WEBHOOK: WebhookForm}


def _refused(form: Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _apps() -> list[tuple[str, str]]:
    """Connected apps of the tenant (no Microsoft 365 sub-apps: the filter is per app)."""
    return [(key, label) for key, label in app_choices() if ":" not in key]


def _secret_page(request, tenant, destination, secret: str, *, status: int, rotated: bool):
    # Rendered, not redirected: the secret must not travel through the session or a URL.
    # NoStoreMiddleware keeps the page out of every cache.
    return render(
        request,
        "integrations/secret.html",
        {
            "destination": destination,
            "secret": secret,
            "rotated": rotated,
            "section": "settings",
            "tolerance_minutes": TOLERANCE_SECONDS // 60,
        },
        status=status,
    )


def _filter_words(destination: Destination, apps: dict[str, str]) -> list[str]:
    """The destination's filter in words, one line per data kind."""
    filters, lines = destination.filters or {}, []
    if EventKind.ALERT in destination.data_kinds:
        severity = Severity(int(filters.get("min_severity") or 0))
        lines.append(
            "Alerts: every severity"
            if severity == Severity.INFORMATIONAL
            else f"Alerts: {severity.label} and above"
        )
    if EventKind.ACTIVITIES in destination.data_kinds:
        types = [TYPE_LABELS.get(t, t) for t in filters.get("activity_types") or []]
        names = [apps.get(a, "a removed app") for a in filters.get("apps") or []]
        lines.append(
            "Activities: "
            + (", ".join(types) if types else "every type")
            + "; "
            + (", ".join(names) if names else "every app")
        )
    return lines


class IntegrationsView(TenantTemplateView):
    """The tenant's SIEM agents and webhooks: what each receives, its status and backlog."""

    template_name = "integrations/list.html"
    section = "settings"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        seq = selectors.current_seq()
        context["rows"] = [
            {
                "destination": destination,
                "kinds": selectors.data_kind_labels(destination),
                "target": selectors.target(destination),
                "backlog": selectors.backlog(destination, seq),
            }
            for destination in selectors.destinations()
        ]
        return context


class AddDestinationView(TenantTemplateView):
    """A write page (readers get 403): the form to add a SIEM agent or a webhook."""

    template_name = "integrations/add.html"
    section = "settings"
    read_action = Action.MANAGE_SETTINGS
    write_action = Action.MANAGE_SETTINGS
    kind = DestinationKind.SIEM

    def _form(self, data=None):
        return FORMS[self.kind](data, apps=_apps())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kind"] = self.kind
        context.setdefault("form", self._form())
        return context

    def post(self, request, *args, **kwargs):
        form = self._form(request.POST)
        if form.is_valid():
            try:
                destination, secret = services.add_destination(
                    kind=self.kind, actor=request.user, request=request, **form.values()
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                if secret:
                    return _secret_page(
                        request, self.tenant, destination, secret, status=201, rotated=False
                    )
                messages.success(
                    request,
                    f"SIEM agent “{destination.name}” added. It sends what happens from now on "
                    "and, once connected, the last two days.",
                )
                return redirect("integrations:detail", self.tenant.slug, destination.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class AddSiemView(AddDestinationView):
    kind = DestinationKind.SIEM


class AddWebhookView(AddDestinationView):
    kind = DestinationKind.WEBHOOK


class _OneDestination:
    """Looks up the destination of the URL in the tenant's scope (404 otherwise)."""

    def destination(self, destination_id) -> Destination:
        return get_object_or_404(Destination.objects.all(), pk=destination_id)


class DestinationView(_OneDestination, TenantTemplateView):
    """One destination: its facts, dead letters and (webhooks) delivery history and receiver
    documentation; POST saves the edit form."""

    template_name = "integrations/detail.html"
    section = "settings"
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        destination = self.object
        seq = selectors.current_seq()
        found = selectors.with_oldest_waiting(Destination.objects.filter(pk=destination.pk))
        destination.oldest_waiting_at = found.values_list("oldest_waiting_at", flat=True).first()
        context.update(
            destination=destination,
            kinds=selectors.data_kind_labels(destination),
            target=selectors.target(destination),
            backlog=selectors.backlog(destination, seq),
            dead_letters=list(selectors.dead_letters(destination)[: selectors.HISTORY_LIMIT]),
            is_webhook=destination.kind == DestinationKind.WEBHOOK,
            tolerance_minutes=TOLERANCE_SECONDS // 60,
            tolerance_seconds=TOLERANCE_SECONDS,
            time_format=TIME_LABELS.get((destination.config or {}).get("time_format"), ""),
            keep=Delivery.KEEP,
        )
        if context["is_webhook"]:
            context["deliveries"] = list(
                selectors.deliveries(destination)[: selectors.HISTORY_LIMIT]
            )
        apps = dict(_apps())
        context["filter_words"] = _filter_words(destination, apps)
        if self.may(Action.MANAGE_SETTINGS):
            form_class = FORMS[destination.kind]
            context.setdefault(
                "form", form_class.for_destination(destination, apps=list(apps.items()))
            )
            context.setdefault("delete_form", DeleteForm())
        return context

    def get(self, request, *args, destination_id, **kwargs):
        self.object = self.destination(destination_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, destination_id, **kwargs):
        self.object = destination = self.destination(destination_id)
        form = FORMS[destination.kind].for_destination(destination, request.POST, apps=_apps())
        if form.is_valid():
            try:
                services.update_destination(
                    destination, actor=request.user, request=request, **form.values()
                )
            except ValidationError as exc:
                destination.refresh_from_db()
                _refused(form, exc)
            else:
                messages.success(request, f"“{destination.name}” saved.")
                return redirect("integrations:detail", self.tenant.slug, destination.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class DestinationDeleteView(DestinationView):
    """POST-only: delete a destination once the box is ticked (else 400 and the page again)."""

    http_method_names = ["post"]

    def post(self, request, *args, destination_id, **kwargs):
        self.object = destination = self.destination(destination_id)
        form = DeleteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(delete_form=form), status=400)
        name = destination.name
        services.delete_destination(destination, actor=request.user, request=request)
        messages.success(request, f"“{name}” deleted: nothing more is sent to it.")
        return redirect("integrations:list", self.tenant.slug)


class _DestinationAction(_OneDestination, TenantView):
    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS


class TurnOnView(_DestinationAction):
    def post(self, request, *args, destination_id, **kwargs):
        destination = self.destination(destination_id)
        if not destination.enabled:
            services.set_enabled(destination, True, actor=request.user, request=request)
        messages.success(
            request,
            f"“{destination.name}” is on: it receives what happens from now on (what happened "
            "while it was off is not sent).",
        )
        return redirect("integrations:detail", self.tenant.slug, destination.pk)


class TurnOffView(_DestinationAction):
    def post(self, request, *args, destination_id, **kwargs):
        destination = self.destination(destination_id)
        if destination.enabled:
            services.set_enabled(destination, False, actor=request.user, request=request)
        messages.success(request, f"“{destination.name}” is off: nothing is sent to it.")
        return redirect("integrations:detail", self.tenant.slug, destination.pk)


class RotateSecretView(_DestinationAction):
    """A webhook's new signing secret, shown once (the old one stops working at once)."""

    def post(self, request, *args, destination_id, **kwargs):
        destination = self.destination(destination_id)
        if destination.kind != DestinationKind.WEBHOOK:
            raise Http404("Only a webhook has a secret")
        secret = services.rotate_secret(destination, actor=request.user, request=request)
        return _secret_page(request, self.tenant, destination, secret, status=200, rotated=True)


class ResendView(TenantView):
    """POST-only: queue a dead letter again."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, letter_id, **kwargs):
        letter = get_object_or_404(DeadLetter.objects.select_related("destination"), pk=letter_id)
        services.resend_dead_letter(letter, actor=request.user, request=request)
        messages.success(
            request,
            "Queued again: it is sent with the next push to every destination receiving "
            f"{letter.get_kind_display().lower()}s.",
        )
        return redirect("integrations:detail", self.tenant.slug, letter.destination_id)
