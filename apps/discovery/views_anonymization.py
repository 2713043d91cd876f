"""Console page of discovery anonymisation (spec 5.9): the tenant default, resolving a
pseudonym or finding one (DEANONYMIZE, with a written justification), and the recent
resolutions for global admins."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from apps.tenants.models import AuditEvent
from apps.tenants.permissions import Action

from . import services_manage as manage
from .forms_manage import AnonymizeDefaultForm, ResolveForm
from .services import DiscoveryRefused, resolve, settings_for_tenant
from .views_manage import ManageView

RESOLUTION_ACTIONS = ("discovery.pseudonym_resolved", "discovery.pseudonym_looked_up")


class AnonymizationView(ManageView):
    """The tenant default, the resolver (DEANONYMIZE) and, for global admins, the recent
    resolutions."""

    template_name = "discovery/manage/anonymization.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = settings_for_tenant()
        context.setdefault(
            "form", AnonymizeDefaultForm(initial={"anonymize_by_default": row.anonymize_by_default})
        )
        context["settings_row"] = row
        if self.may(Action.DEANONYMIZE):
            # The reports' "resolve…" links pre-fill the pseudonym (never resolved on GET).
            initial = {
                key: self.request.GET[key]
                for key in ("direction", "value")
                if self.request.GET.get(key, "")[:400]
            }
            if initial.get("direction") not in (None, "from", "to"):
                initial.pop("direction")
            context.setdefault("resolve_form", ResolveForm(initial=initial))
        if self.may(Action.VIEW_AUDIT):
            context["resolutions"] = list(
                AuditEvent.objects.filter(action__in=RESOLUTION_ACTIONS).order_by("-seq")[:20]
            )
        return context

    def post(self, request, *args, **kwargs):
        form = AnonymizeDefaultForm(request.POST)
        form.is_valid()  # a lone checkbox is always valid
        manage.set_anonymize_default(
            enabled=form.cleaned_data.get("anonymize_by_default", False),
            actor=request.user,
            request=request,
        )
        messages.success(request, "Saved; it applies to reports and data sources made from now.")
        return redirect(self.url("anonymization"))


@method_decorator(never_cache, name="dispatch")
class ResolveView(AnonymizationView):
    """POST: resolve a pseudonym or find one; the answer is shown once, never redirected to
    or cached (the request is audited with its justification by the services)."""

    write_action = Action.DEANONYMIZE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = ResolveForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                answer = resolve(**data, actor=request.user, request=request)
            except DiscoveryRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                context = self.get_context_data(resolve_form=ResolveForm())
                context["answer"] = {"direction": data["direction"], "value": answer}
                return self.render_to_response(context)
        return self.render_to_response(self.get_context_data(resolve_form=form), status=400)
