"""Console pages of file policies: create (blank or from a template), edit, detail ("matching
now" and alerts), switch on/off, delete.

Thin: reads through `policy_selectors`, writes through `policy_services`. Every member may look
at a policy; the create and edit pages and every change need `Action.MANAGE_POLICIES` (the base
view answers 403 otherwise). File policies are listed with the others on the policies page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect

from apps.alerts.models import Policy, PolicyKind
from apps.alerts.policy_selectors import days, group_choices, group_labels
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import policy_selectors as selectors
from . import policy_services as services
from . import policy_templates
from .policy_forms import FilePolicyForm


def _file_policy(policy_id) -> Policy:
    return get_object_or_404(Policy.objects.filter(kind=PolicyKind.FILE), pk=policy_id)


class _Page(TenantTemplateView):
    section = "policies"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = self.may(Action.MANAGE_POLICIES)
        context["tab"] = "files"
        return context


class _FormPage(_Page):
    template_name = "dlp/policies/form.html"
    read_action = Action.MANAGE_POLICIES
    write_action = Action.MANAGE_POLICIES
    policy: Policy | None = None

    def form(self, data=None) -> FilePolicyForm:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.form())
        context["policy"] = self.policy
        return context

    def post(self, request, *args, **kwargs):
        form = self.form(data=request.POST)
        if form.is_valid():
            try:
                policy = self.save(form)
            except services.PolicyRefused as exc:
                form.add_problems(exc.problems)
            else:
                return redirect("file_policies:detail", self.tenant.slug, policy.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class FilePolicyCreateView(_FormPage):
    """Blank, or pre-filled from a template (`?template=<key>`)."""

    def _template(self):
        key = self.request.GET.get("template") or ""
        if not key:
            return None
        found = policy_templates.template(key)
        if found is None:
            raise Http404("No such template")
        return found

    def form(self, data=None) -> FilePolicyForm:
        initial = None
        if data is None:
            found = self._template()
            if found is not None:
                values = found.values()
                values["name"] = services.free_name(values["name"])
                initial = FilePolicyForm.initial_from(values)
        return FilePolicyForm(data, initial=initial, groups=group_choices())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["templates"] = policy_templates.TEMPLATES
        context["template"] = self._template() if self.request.method == "GET" else None
        return context

    def save(self, form: FilePolicyForm) -> Policy:
        policy = services.create_policy(
            tenant=self.tenant, actor=self.request.user, request=self.request, **form.values()
        )
        messages.success(self.request, f"File policy “{policy.name}” created and on.")
        return policy


class FilePolicyEditView(_FormPage):
    def get(self, request, *args, file_policy_id, **kwargs):
        self.policy = _file_policy(file_policy_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, file_policy_id, **kwargs):
        self.policy = _file_policy(file_policy_id)
        return super().post(request, *args, **kwargs)

    def form(self, data=None) -> FilePolicyForm:
        return FilePolicyForm.for_policy(self.policy, data, groups=group_choices())

    def save(self, form: FilePolicyForm) -> Policy:
        policy = services.update_policy(
            tenant=self.tenant,
            actor=self.request.user,
            policy=self.policy,
            request=self.request,
            **form.values(),
        )
        messages.success(self.request, f"File policy “{policy.name}” saved.")
        return policy


class FilePolicyDetailView(_Page):
    template_name = "dlp/policies/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = _file_policy(self.kwargs["file_policy_id"])
        matching = selectors.matching_files(policy)
        context.update(
            policy=policy,
            conditions=selectors.conditions(policy),
            actions=selectors.action_words(policy),
            include=group_labels(policy.include_groups),
            exclude=group_labels(policy.exclude_groups),
            template=policy_templates.template(policy.template),
            files=list(matching[: selectors.MATCHING_SHOWN]),
            files_count=matching.count(),
            alerts=selectors.recent_alerts(policy),
            days=days(policy),
        )
        return context


class _Action(TenantView):
    """POST-only changes of one file policy; back to its page (or the policies list)."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_POLICIES

    def post(self, request, *args, file_policy_id, **kwargs):
        policy = _file_policy(file_policy_id)
        self.act(policy)
        if request.POST.get("next") == "list":
            return redirect("policies:list", self.tenant.slug)
        return redirect("file_policies:detail", self.tenant.slug, policy.pk)

    def act(self, policy: Policy) -> None:
        raise NotImplementedError


class FilePolicyEnableView(_Action):
    def act(self, policy):
        services.set_enabled(
            tenant=self.tenant,
            actor=self.request.user,
            policy=policy,
            enabled=True,
            request=self.request,
        )
        messages.success(self.request, f"“{policy.name}” is on.")


class FilePolicyDisableView(_Action):
    def act(self, policy):
        services.set_enabled(
            tenant=self.tenant,
            actor=self.request.user,
            policy=policy,
            enabled=False,
            request=self.request,
        )
        messages.success(
            self.request, f"“{policy.name}” is off; files scanned from now on are not checked."
        )


class FilePolicyDeleteView(TenantView):
    http_method_names = ["post"]
    write_action = Action.MANAGE_POLICIES

    def post(self, request, *args, file_policy_id, **kwargs):
        policy = _file_policy(file_policy_id)
        services.delete_policy(
            tenant=self.tenant, actor=request.user, policy=policy, request=request
        )
        messages.success(
            request, f"File policy “{policy.name}” deleted. Its alerts stay, under its name."
        )
        return redirect("policies:list", self.tenant.slug)
