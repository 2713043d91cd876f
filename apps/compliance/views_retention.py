"""The retention page: each kind's period and oldest record, the purge records, and (global
admins) the form to shorten periods. Thin: reads in retention_selectors, writes in retention."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView

from . import retention_selectors as selectors
from .forms_retention import RetentionForm
from .retention_settings import RetentionRefused, update_settings

RUNS_SHOWN = 20


class RetentionView(TenantTemplateView):
    """Every member reads; changing a period needs MANAGE_LIFECYCLE (global admins)."""

    template_name = "compliance/retention.html"
    section = "settings"
    read_action = Action.VIEW
    write_action = Action.MANAGE_LIFECYCLE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = selectors.settings_of_current()
        context.setdefault("form", RetentionForm(initial=RetentionForm.initial_for(row)))
        context.update(
            periods=selectors.periods(row),
            runs=selectors.recent_runs(RUNS_SHOWN),
            runs_shown=RUNS_SHOWN,
        )
        return context

    def post(self, request, *args, **kwargs):
        # Against what the page offered: only the periods the admin changed are saved.
        initial = RetentionForm.initial_for(selectors.settings_of_current())
        form = RetentionForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                if form.has_changed():
                    update_settings(
                        tenant=self.tenant,
                        values=form.values(),
                        actor=request.user,
                        request=request,
                    )
            except RetentionRefused as exc:
                form.add_error(exc.field, str(exc))
            else:
                messages.success(
                    request, "Retention periods saved. The next daily purge applies them."
                )
                return redirect("compliance:retention", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)
