"""Console pages that manage Cloud Discovery: tags and tagging, score overrides, block scripts,
the score metric and custom apps (spec 5.6, 5.7); anonymisation is in `views_anonymization`.

Every member reads these pages; changes need MANAGE_DISCOVERY and resolving a pseudonym needs
DEANONYMIZE. The views only translate: the services check and write (and audit).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView

from . import blockscripts
from . import selectors_manage as selectors
from . import services_custom_apps as custom_apps
from . import services_manage as manage
from .catalog import apps as catalog_apps
from .catalog.attributes import CATEGORIES
from .catalog.scoring import Weights, score
from .forms_manage import (
    AppTagForm,
    BulkTagForm,
    CustomAppForm,
    OverrideForm,
    ScoreMetricForm,
    TagForm,
)
from .models import AppOverride, AppTag, CustomApp
from .services import DiscoveryRefused, settings_for_tenant

# Apps whose scores the score-metric page previews (those the catalog has).
PREVIEW_APPS = ("dropbox", "box", "slack", "salesforce", "mega", "github", "zoom", "wetransfer")


def _back(request, tenant, fallback: str):
    """Where the form was posted from (a page of this tenant), else `fallback`."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if target and safe and target.startswith(f"/t/{tenant.slug}/"):
        return redirect(target)
    return redirect(fallback)


def _problems(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


class ManageView(TenantTemplateView):
    """Base of the management pages: read by members, changed with MANAGE_DISCOVERY."""

    section = "discovery"
    write_action = Action.MANAGE_DISCOVERY

    def url(self, name: str, *args) -> str:
        return reverse(f"discovery:{name}", args=[self.tenant.slug, *args])


class TagsView(ManageView):
    """The tags with how many apps carry each; create and delete custom tags."""

    template_name = "discovery/manage/tags.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TagForm())
        context["tags"] = selectors.tags_with_counts()
        return context

    def post(self, request, *args, **kwargs):
        form = TagForm(request.POST)
        if form.is_valid():
            try:
                tag = manage.create_tag(
                    name=form.cleaned_data["name"], actor=request.user, request=request
                )
            except DiscoveryRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, f"Tag “{tag.name}” created.")
                return redirect(self.url("tags"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class TagDeleteView(ManageView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        tag = AppTag.objects.filter(pk=kwargs["tag_id"]).first()
        if tag is None:
            raise Http404("No such tag")
        try:
            manage.delete_tag(tag=tag, actor=request.user, request=request)
        except DiscoveryRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Tag “{tag.name}” deleted.")
        return redirect(self.url("tags"))


class TagRenameView(ManageView):
    """POST: a custom tag's new name (built-ins keep theirs)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        tag = AppTag.objects.filter(pk=kwargs["tag_id"]).first()
        if tag is None:
            raise Http404("No such tag")
        form = TagForm(request.POST)
        try:
            if not form.is_valid():
                raise DiscoveryRefused(_problems(form), "name")
            manage.rename_tag(
                tag=tag, name=form.cleaned_data["name"], actor=request.user, request=request
            )
        except DiscoveryRefused as exc:
            messages.error(request, f"The tag was not renamed: {exc}")
        else:
            messages.success(request, f"Tag renamed to “{tag.name}”.")
        return redirect(self.url("tags"))


def _chosen_tag(data) -> AppTag:
    if data.get("kind"):
        return manage.builtin_tag(data["kind"])
    tag = AppTag.objects.filter(pk=data["tag"]).first()
    if tag is None:
        raise DiscoveryRefused("No such tag.", "tag")
    return tag


class AppTagView(ManageView):
    """POST: add or remove one tag on one app (the app actions partial posts here)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        ref = manage.app_ref(kwargs["app"])
        if ref is None:
            raise Http404("No such app")
        fallback = self.url("tags")
        form = AppTagForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Nothing changed. {_problems(form)}")
            return _back(request, self.tenant, fallback)
        try:
            tag = _chosen_tag(form.cleaned_data)
            if form.cleaned_data["op"] == "remove":
                manage.untag_app(app=ref.key, tag=tag, actor=request.user, request=request)
                messages.success(request, f"{ref.name} no longer tagged “{tag.name}”.")
            else:
                manage.tag_app(app=ref.key, tag=tag, actor=request.user, request=request)
                messages.success(request, f"{ref.name} tagged “{tag.name}”.")
        except DiscoveryRefused as exc:
            messages.error(request, f"Nothing changed: {exc}")
        return _back(request, self.tenant, fallback)


class BulkTagView(ManageView):
    """POST: tag many apps at once (the discovered apps table's bulk selection)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        fallback = self.url("tags")
        data = request.POST.copy()
        if "apps" in data and len(data.getlist("apps")) > 1:
            data["apps"] = "\n".join(data.getlist("apps"))
        form = BulkTagForm(data)
        if not form.is_valid():
            messages.error(request, f"Nothing changed. {_problems(form)}")
            return _back(request, self.tenant, fallback)
        try:
            tag = _chosen_tag(form.cleaned_data)
            added = manage.tag_apps(
                apps=form.cleaned_data["app_keys"], tag=tag, actor=request.user, request=request
            )
        except DiscoveryRefused as exc:
            messages.error(request, f"Nothing changed: {exc}")
        else:
            messages.success(request, f"{added} app(s) newly tagged “{tag.name}”.")
        return _back(request, self.tenant, fallback)


class AppOverrideView(ManageView):
    """POST: set (score 0-10 and note) or clear one app's score override."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        ref = manage.app_ref(kwargs["app"])
        if ref is None:
            raise Http404("No such app")
        fallback = self.url("score_metric")
        form = OverrideForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Nothing changed. {_problems(form)}")
            return _back(request, self.tenant, fallback)
        data = form.cleaned_data
        try:
            if data["clear"]:
                manage.clear_override(app=ref.key, actor=request.user, request=request)
                messages.success(request, f"{ref.name} is back to its computed score.")
            else:
                manage.set_override(
                    app=ref.key,
                    score=data["score"],
                    note=data["note"],
                    actor=request.user,
                    request=request,
                )
                messages.success(request, f"{ref.name} now scores {data['score']}.")
        except DiscoveryRefused as exc:
            messages.error(request, f"Nothing changed: {exc}")
        return _back(request, self.tenant, fallback)


class BlockScriptView(ManageView):
    """Choose an appliance, see what would be blocked, download the script."""

    template_name = "discovery/manage/block_script.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            appliances=list(blockscripts.APPLIANCES.values()),
            blocklist=blockscripts.unsanctioned_list(self.request),
            safety_list=blockscripts.SAFETY_LIST,
        )
        return context


class BlockScriptDownloadView(ManageView):
    """GET ?appliance=<key>: the script as a text file (audited)."""

    def get(self, request, *args, **kwargs):
        try:
            name, text, _ = blockscripts.generate(
                appliance=request.GET.get("appliance", ""), actor=request.user, request=request
            )
        except DiscoveryRefused as exc:
            messages.error(request, str(exc))
            return redirect(self.url("block_script"))
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def score_preview(proposed: Weights | None = None) -> list[dict]:
    """A few well-known apps' scores: default metric, the tenant's, and a proposed one."""
    catalog = catalog_apps()
    chosen = [catalog[slug] for slug in PREVIEW_APPS if slug in catalog]
    if len(chosen) < 3:
        chosen = sorted(catalog.values(), key=lambda a: a.name.lower())[:8]
    current = Weights.of(settings_for_tenant())
    overrides = dict(
        AppOverride.objects.filter(app__in=[a.slug for a in chosen]).values_list("app", "score")
    )
    rows = []
    for app in chosen:
        rows.append(
            {
                "app": app,
                "default": score(app.attributes).total,
                "current": score(app.attributes, current).total,
                "proposed": score(app.attributes, proposed).total if proposed else None,
                "override": overrides.get(app.slug),
            }
        )
    return rows


class ScoreMetricView(ManageView):
    """Importance per group and attribute, "count N/A as negative"; preview, then save."""

    template_name = "discovery/manage/score_metric.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = settings_for_tenant()
        if "form" not in context:
            context["form"] = ScoreMetricForm(settings_row=row)
            if not self.may(Action.MANAGE_DISCOVERY):
                for field in context["form"].fields.values():
                    field.disabled = True
        context.setdefault("preview", score_preview())
        context["overrides"] = list(AppOverride.objects.order_by("app"))
        names = {key: app.name for key, app in catalog_apps().items()}
        names.update({app.key: app.name for app in CustomApp.objects.only("id", "name")})
        for override in context["overrides"]:
            override.app_name = names.get(override.app, override.app)
        return context

    def post(self, request, *args, **kwargs):
        form = ScoreMetricForm(request.POST, settings_row=settings_for_tenant())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        weights = form.weights()
        if "preview" in request.POST:
            proposed = Weights(
                groups=weights["group_weights"],
                attributes=weights["attribute_weights"],
                na_negative=weights["na_negative"],
            )
            context = self.get_context_data(form=form, preview=score_preview(proposed))
            context["previewing"] = True
            return self.render_to_response(context)
        try:
            manage.update_score_metric(actor=request.user, request=request, **weights)
        except DiscoveryRefused as exc:
            form.add_error(None, str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, "Score metric saved; scores use it from now on.")
        return redirect(self.url("score_metric"))


def _custom_app_error(form, exc: DiscoveryRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


class CustomAppsView(ManageView):
    """The tenant's custom apps; add one."""

    template_name = "discovery/manage/custom_apps.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", CustomAppForm(initial={"category": "unclassified"}))
        context["custom_apps"] = list(CustomApp.objects.order_by("name"))
        for app in context["custom_apps"]:
            app.category_label = CATEGORIES.get(app.category, app.category)
        return context

    def post(self, request, *args, **kwargs):
        form = CustomAppForm(request.POST)
        if form.is_valid():
            try:
                app = custom_apps.create_custom_app(
                    **form.cleaned_data, actor=request.user, request=request
                )
            except DiscoveryRefused as exc:
                _custom_app_error(form, exc)
            else:
                messages.success(request, f"Custom app “{app.name}” added.")
                return redirect(self.url("custom_apps"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CustomAppEditView(ManageView):
    """Change a custom app (a write page: readers get 403)."""

    template_name = "discovery/manage/custom_app_edit.html"
    read_action = Action.MANAGE_DISCOVERY

    def dispatch(self, request, *args, **kwargs):
        self.app_id = kwargs.pop("custom_app_id")
        return super().dispatch(request, *args, **kwargs)

    def get_object(self) -> CustomApp:
        app = CustomApp.objects.filter(pk=self.app_id).first()
        if app is None:
            raise Http404("No such custom app")
        return app

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        app = kwargs.get("app") or self.get_object()
        initial = {"name": app.name, "category": app.category, "domains": "\n".join(app.domains)}
        context.setdefault("form", CustomAppForm(initial=initial))
        context["app"] = app
        return context

    def post(self, request, *args, **kwargs):
        app = self.get_object()
        form = CustomAppForm(request.POST)
        if form.is_valid():
            try:
                custom_apps.update_custom_app(
                    app=app, actor=request.user, request=request, **form.cleaned_data
                )
            except DiscoveryRefused as exc:
                _custom_app_error(form, exc)
            else:
                messages.success(request, f"Custom app “{app.name}” saved.")
                return redirect(self.url("custom_apps"))
        return self.render_to_response(self.get_context_data(form=form, app=app), status=400)


class CustomAppDeleteView(ManageView):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        app = CustomApp.objects.filter(pk=kwargs["custom_app_id"]).first()
        if app is None:
            raise Http404("No such custom app")
        custom_apps.delete_custom_app(app=app, actor=request.user, request=request)
        messages.success(request, f"Custom app “{app.name}” deleted.")
        return redirect(self.url("custom_apps"))
