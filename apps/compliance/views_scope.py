"""Settings > Privacy > Scoped deployment and privacy: include and exclude rules, a plain-language
summary of who is monitored in which app, and the activity-privacy groups (spec 9.1, 1.6).

Every member reads the page; adding, changing and deleting rules and changing the privacy groups
need `Action.MANAGE_SETTINGS` (readers get 403). Thin: the rules are in `scope_services`, the
decision and its summary in `scope`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404, redirect

from apps.tenants.permissions import Action
from apps.tenants.selectors import memberships
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import scope, scope_services
from .forms_scope import PrivacyGroupsForm, ScopeRuleForm
from .models import PrivacySettings, ScopeRule, ScopeRuleKind


def _refused(form: Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class _Choices:
    """The groups and apps of the tenant, read once per request."""

    def choices(self) -> dict:
        if not hasattr(self, "_choices"):
            self._choices = {"groups": scope.group_choices(), "apps": scope.app_choices()}
        return self._choices


class ScopeView(_Choices, TenantTemplateView):
    template_name = "compliance/scope.html"
    section = "settings"
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        choices = self.choices()
        labels = dict(choices["groups"]) | dict(choices["apps"])
        rules = list(ScopeRule.objects.all())
        private = PrivacySettings.objects.values_list("private_groups", flat=True).first() or []
        decision = scope.ScopeDecision.load(self.tenant)
        rows = [
            {
                "rule": rule,
                "groups": [labels.get(g, "a deleted group") for g in rule.groups],
                "apps": [labels.get(a, "a removed app") for a in rule.apps],
            }
            for rule in rules
        ]
        context.update(
            subtab="scope",
            includes=[row for row in rows if row["rule"].kind == ScopeRuleKind.INCLUDE],
            excludes=[row for row in rows if row["rule"].kind == ScopeRuleKind.EXCLUDE],
            summary=scope.summary(decision, choices["apps"], labels),
            private_labels=[labels.get(g, "a deleted group") for g in private],
            has_groups=len(choices["groups"]) > len(scope.BUILTIN_GROUPS),
            private_viewers=[
                m.user.get_username()
                for m in memberships(self.tenant).filter(may_view_private=True)
            ],
        )
        if self.may(Action.MANAGE_SETTINGS):
            context.setdefault("form", ScopeRuleForm(**choices))
            context.setdefault(
                "privacy_form",
                PrivacyGroupsForm(initial={"private_groups": private}, groups=choices["groups"]),
            )
        return context

    def post(self, request, *args, **kwargs):
        form = ScopeRuleForm(request.POST, **self.choices())
        if form.is_valid():
            try:
                rule = scope_services.create_rule(
                    tenant=self.tenant, actor=request.user, request=request, **form.values()
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(
                    request,
                    f"{rule.get_kind_display()} rule “{rule.name}” added. It applies to "
                    "activities ingested from now on.",
                )
                return redirect("compliance:scope", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ScopeRuleEditView(_Choices, TenantTemplateView):
    """A write page: readers get 403."""

    template_name = "compliance/scope.html"  # in edit mode: only the rule's form
    section = "settings"
    read_action = Action.MANAGE_SETTINGS
    write_action = Action.MANAGE_SETTINGS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["editing"] = self.rule
        context["subtab"] = "scope"
        context.setdefault("form", ScopeRuleForm.for_rule(self.rule, **self.choices()))
        return context

    def get(self, request, *args, rule_id, **kwargs):
        self.rule = get_object_or_404(ScopeRule.objects.all(), pk=rule_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, rule_id, **kwargs):
        self.rule = get_object_or_404(ScopeRule.objects.all(), pk=rule_id)
        form = ScopeRuleForm.for_rule(self.rule, request.POST, **self.choices())
        if form.is_valid():
            try:
                scope_services.update_rule(
                    tenant=self.tenant,
                    rule=self.rule,
                    actor=request.user,
                    request=request,
                    **form.values(),
                )
            except ValidationError as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"Rule “{self.rule.name}” saved.")
                return redirect("compliance:scope", self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ScopeRuleDeleteView(TenantView):
    """POST-only: delete one rule of this tenant."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, rule_id, **kwargs):
        rule = get_object_or_404(ScopeRule.objects.all(), pk=rule_id)
        scope_services.delete_rule(
            tenant=self.tenant, rule=rule, actor=request.user, request=request
        )
        messages.success(
            request,
            f"Rule “{rule.name}” deleted. Activities dropped while it applied were never stored "
            "and do not come back.",
        )
        return redirect("compliance:scope", self.tenant.slug)


class PrivacyGroupsView(TenantView):
    """POST-only: replace the activity-privacy groups (none checked: nothing private)."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_SETTINGS

    def post(self, request, *args, **kwargs):
        form = PrivacyGroupsForm(request.POST, groups=scope.group_choices())
        if not form.is_valid():
            messages.error(request, "Unknown group: reload the page and choose again.")
            return redirect("compliance:scope", self.tenant.slug)
        try:
            scope_services.set_private_groups(
                tenant=self.tenant,
                actor=request.user,
                request=request,
                groups=form.cleaned_data["private_groups"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                "Activity privacy saved. It applies to activities ingested from now on; "
                "activities already stored are unchanged.",
            )
        return redirect("compliance:scope", self.tenant.slug)
