"""Policies: activity policies, built-in detections and the template catalogue.

Thin: reads through `policy_selectors`, writes through `policy_services`. Every member may look
(readers see everything read-only, with no forms); creating, changing, switching and deleting
need `Action.MANAGE_POLICIES` (the base view answers 403 otherwise). The create and edit pages
are write pages. Their "Preview" button counts the activities of the last 7 days the filters
match without saving anything.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect

from apps.activities.query import describe_fields
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import policy_selectors as selectors
from . import policy_services as services
from . import policy_templates
from .models import Policy, PolicyKind
from .policy_forms import DetectionForm, PolicyForm


class _PolicyPage(TenantTemplateView):
    section = "policies"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = self.may(Action.MANAGE_POLICIES)
        return context

    def activity_policy(self, policy_id) -> Policy:
        return get_object_or_404(Policy.objects.filter(kind=PolicyKind.ACTIVITY), pk=policy_id)


def _row(policy: Policy) -> dict:
    return {"policy": policy, "match": selectors.match_words(policy)}


class PolicyListView(_PolicyPage):
    template_name = "policies/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [_row(p) for p in selectors.activity_policies()]
        context["tab"] = "activity"
        from apps.dlp import policy_selectors as file_selectors  # file policies' own pages

        context["file_rows"] = [
            {"policy": p, "actions": file_selectors.action_words(p)}
            for p in file_selectors.file_policies()
        ]
        return context


class DetectionListView(_PolicyPage):
    template_name = "policies/detections.html"

    def get_context_data(self, **kwargs):
        services.ensure_detections(self.tenant)
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            {"policy": p, "detector": selectors.detector_of(p)} for p in selectors.detections()
        ]
        context["tab"] = "detections"
        return context


class TemplateCatalogView(_PolicyPage):
    template_name = "policies/templates.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["templates"] = policy_templates.TEMPLATES
        context["tab"] = "templates"
        return context


class _PolicyFormPage(_PolicyPage):
    """Create and edit: the form, the filter field list, and the preview."""

    template_name = "policies/form.html"
    read_action = Action.MANAGE_POLICIES
    write_action = Action.MANAGE_POLICIES

    def form(self, data=None, initial=None) -> PolicyForm:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.form())
        context["fields"] = describe_fields()
        return context

    def preview(self, request):
        """Re-show the posted values (nothing saved) with the count of matching activities."""
        form = self.form(initial=_posted(request.POST))
        result = {"errors": [], "count": None}
        text = (request.POST.get("filters") or "").strip()
        try:
            filters = json.loads(text) if text else {}
        except ValueError as exc:
            result["errors"] = [f"Not valid JSON: {exc}."]
        except RecursionError:
            result["errors"] = ["Not valid JSON: nested too deeply."]
        else:
            result["errors"] = services.check_filters(filters, using=self.tenant.db_alias)
            if not result["errors"]:
                count, more = selectors.preview_count(filters, using=self.tenant.db_alias)
                result.update(count=count, more=more)
        status = 400 if result["errors"] else 200
        return self.render_to_response(
            self.get_context_data(form=form, preview=result), status=status
        )

    def post(self, request, *args, **kwargs):
        if "preview" in request.POST:
            return self.preview(request)
        form = self.form(data=request.POST)
        if form.is_valid():
            try:
                policy = self.save(form)
            except services.PolicyRefused as exc:
                form.add_problems(exc.problems)
            else:
                return redirect("policies:detail", self.tenant.slug, policy.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


def _posted(data) -> dict:
    """A bound form's data as an unbound form's initial values (for the preview)."""
    initial = {key: data.get(key) for key in data}
    for key in ("include_groups", "exclude_groups", "governance"):
        initial[key] = data.getlist(key)
    for key in ("repeat_per_user", "repeat_per_app"):
        initial[key] = key in data
    return initial


class PolicyCreateView(_PolicyFormPage):
    """Blank, or pre-filled from a template (`?template=<key>`); the policy records it."""

    def _template(self, *, strict: bool):
        key = self.request.GET.get("template") or self.request.POST.get("template") or ""
        found = policy_templates.template(key) if key else None
        if found is not None and found.available:
            return found
        if key and strict:
            raise Http404("No such template")
        return None

    def form(self, data=None, initial=None) -> PolicyForm:
        if initial is None and data is None:
            found = self._template(strict=True)
            if found is not None:
                values = found.values()
                values["name"] = services.free_name(values["name"])
                initial = PolicyForm.initial_from(values)
        return PolicyForm(data, initial=initial, groups=selectors.group_choices())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["template"] = self._template(strict=False)
        return context

    def save(self, form: PolicyForm) -> Policy:
        policy = services.create_policy(
            tenant=self.tenant, actor=self.request.user, request=self.request, **form.values()
        )
        messages.success(self.request, f"Policy “{policy.name}” created and on.")
        return policy


class PolicyEditView(_PolicyFormPage):
    def get(self, request, *args, policy_id, **kwargs):
        self.policy = self.activity_policy(policy_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, policy_id, **kwargs):
        self.policy = self.activity_policy(policy_id)
        return super().post(request, *args, **kwargs)

    def form(self, data=None, initial=None) -> PolicyForm:
        groups = selectors.group_choices()
        if initial is not None:
            return PolicyForm(initial=initial, groups=groups)
        return PolicyForm.for_policy(self.policy, data, groups=groups)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["policy"] = self.policy
        return context

    def save(self, form: PolicyForm) -> Policy:
        policy = services.update_policy(
            tenant=self.tenant,
            actor=self.request.user,
            policy=self.policy,
            request=self.request,
            **form.values(),
        )
        messages.success(self.request, f"Policy “{policy.name}” saved.")
        return policy


class PolicyDetailView(_PolicyPage):
    template_name = "policies/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = self.activity_policy(self.kwargs["policy_id"])
        context.update(
            policy=policy,
            match=selectors.match_words(policy),
            filters=json.dumps(policy.filters, indent=2),
            include=selectors.group_labels(policy.include_groups),
            exclude=selectors.group_labels(policy.exclude_groups),
            governance=selectors.governance_labels(policy.governance),
            template=policy_templates.template(policy.template),
            alerts=selectors.recent_alerts(policy),
            days=selectors.days(policy),
        )
        return context


class DetectionView(_PolicyPage):
    """A built-in detection: what it does, and its settings (a form for admins)."""

    template_name = "policies/detection.html"
    write_action = Action.MANAGE_POLICIES

    def detection(self, policy_id) -> Policy:
        return get_object_or_404(Policy.objects.filter(kind=PolicyKind.ANOMALY), pk=policy_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = kwargs.get("policy") or self.detection(self.kwargs["policy_id"])
        detector = selectors.detector_of(policy)
        context.update(
            policy=policy,
            detector=detector,
            include=selectors.group_labels(policy.include_groups),
            exclude=selectors.group_labels(policy.exclude_groups),
            governance=selectors.governance_labels(policy.governance),
            options=_option_rows(detector, policy),
            days=selectors.days(policy),
        )
        if context["can_manage"] and "form" not in context:
            context["form"] = DetectionForm.for_policy(
                policy, detector, groups=selectors.group_choices()
            )
        return context

    def post(self, request, *args, policy_id, **kwargs):
        policy = self.detection(policy_id)
        detector = selectors.detector_of(policy)
        form = DetectionForm.for_policy(
            policy, detector, request.POST, groups=selectors.group_choices()
        )
        if form.is_valid():
            try:
                services.update_detection(
                    tenant=self.tenant,
                    actor=request.user,
                    policy=policy,
                    request=request,
                    **form.values(),
                )
            except services.PolicyRefused as exc:
                form.add_problems(exc.problems)
            else:
                messages.success(request, f"Settings of “{policy.name}” saved.")
                return redirect("policies:detection", self.tenant.slug, policy.pk)
        context = self.get_context_data(policy=policy, form=form)
        return self.render_to_response(context, status=400)


def _option_rows(detector, policy: Policy) -> list[dict]:
    if detector is None:
        return []
    tuning = {**detector.defaults(), **(policy.tuning or {})}
    rows = []
    for option in detector.options:
        value = tuning.get(option.name, option.default)
        if option.kind == "choice":
            value = dict(option.choices).get(value, value)
        elif option.kind == "words":
            value = ", ".join(value) if value else "none"
        elif option.kind == "bool":
            value = "yes" if value else "no"
        rows.append({"option": option, "value": value})
    return rows


class _PolicyAction(TenantView):
    """POST-only actions on one policy or detection; back to where the admin came from."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_POLICIES
    kinds = (PolicyKind.ACTIVITY, PolicyKind.ANOMALY)

    def post(self, request, *args, policy_id, **kwargs):
        policy = get_object_or_404(Policy.objects.filter(kind__in=self.kinds), pk=policy_id)
        try:
            self.act(policy)
        except services.PolicyRefused as exc:
            messages.error(request, str(exc))
        back = request.POST.get("next")
        if back in ("list", "detections"):
            return redirect(f"policies:{back}", self.tenant.slug)
        if policy.kind == PolicyKind.ANOMALY:
            return redirect("policies:detection", self.tenant.slug, policy.pk)
        return redirect("policies:detail", self.tenant.slug, policy.pk)

    def act(self, policy: Policy) -> None:
        raise NotImplementedError


class PolicyEnableView(_PolicyAction):
    def act(self, policy):
        services.set_enabled(
            tenant=self.tenant,
            actor=self.request.user,
            policy=policy,
            enabled=True,
            request=self.request,
        )
        messages.success(self.request, f"“{policy.name}” is on.")


class PolicyDisableView(_PolicyAction):
    def act(self, policy):
        services.set_enabled(
            tenant=self.tenant,
            actor=self.request.user,
            policy=policy,
            enabled=False,
            request=self.request,
        )
        messages.success(
            self.request, f"“{policy.name}” is off; it raises no alerts until switched on."
        )


class PolicyDeleteView(_PolicyAction):
    kinds = (PolicyKind.ACTIVITY,)

    def post(self, request, *args, policy_id, **kwargs):
        policy = get_object_or_404(Policy.objects.filter(kind=PolicyKind.ACTIVITY), pk=policy_id)
        services.delete_policy(
            tenant=self.tenant, actor=request.user, policy=policy, request=request
        )
        messages.success(
            request, f"Policy “{policy.name}” deleted. Its alerts stay, under its name."
        )
        return redirect("policies:list", self.tenant.slug)
