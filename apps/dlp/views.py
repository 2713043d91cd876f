"""Console pages of the Files list: filters and pages, one file's details (its "drawer"), the
manual governance buttons and the CSV export.

Every member reads; governance needs RUN_GOVERNANCE and export needs EXPORT. Samples shown are
the stored masked values only (digits as `#`, letters as `X`): never file content.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from apps.governance import capabilities
from apps.governance import services as governance
from apps.governance.models import Source
from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView, filtered_page

from . import export, selectors
from .filtersets import FileFilterSet
from .models import FileRecord, FileSource
from .policy_checks import type_choices

PAGE_SIZE = 50


def list_filterset(request) -> FileFilterSet:
    params = request.GET.copy()
    params.pop("page", None)
    return FileFilterSet(params or None, queryset=selectors.files(), request=request)


def policy_url(slug: str, policy_id: str) -> str | None:
    """The file policy's page, when the file policy pages are installed."""
    try:
        return reverse("file_policies:detail", args=[slug, policy_id])
    except NoReverseMatch:
        return None


def governance_kinds(record: FileRecord) -> list[tuple[str, str]]:
    """The manual actions offered on a file: only for a file of a connected app, and only the
    kinds that app's connector can carry out."""
    if record.source != FileSource.APP or record.app_instance is None or not record.external_id:
        return []
    return capabilities.file_kinds(record.app_instance)


class FilesView(TenantTemplateView):
    """Every inspected file, newest scan first, with its verdict and matches in numbers."""

    template_name = "dlp/files.html"
    section = "files"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = list_filterset(self.request).fill_choices()
        context.update(filtered_page(self.request, filterset, PAGE_SIZE))
        labels = dict(type_choices())
        for record in context["rows"]:
            record.matched_labels = [labels.get(key, key) for key in record.matched_types]
        return context


class FileDetailView(TenantTemplateView):
    """One file: metadata, inspection status, matched policies, matches with masked samples."""

    template_name = "dlp/files_detail.html"
    section = "files"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = selectors.file(kwargs["file_id"])
        if record is None:
            raise Http404("No such file")
        policies = selectors.policies_of(record)
        for policy in policies:
            policy["url"] = policy_url(self.tenant.slug, policy["id"]) if policy["exists"] else None
        context.update(
            record=record,
            policies=policies,
            matches=selectors.matches(record),
            governance_kinds=(governance_kinds(record) if self.may(Action.RUN_GOVERNANCE) else []),
        )
        return context


class FileGovernView(TenantView):
    """POST `kind`: request one governance action on the file through its app's connector."""

    write_action = Action.RUN_GOVERNANCE
    http_method_names = ["post"]

    def post(self, request, *args, file_id, **kwargs):
        record = selectors.file(file_id)
        if record is None:
            raise Http404("No such file")
        kind = request.POST.get("kind", "")
        offered = dict(governance_kinds(record))
        if kind not in offered:
            messages.error(
                request,
                "The action was not requested: choose one of the actions offered for this "
                "file (only files of a connected app can be governed, with what its connector "
                "supports).",
            )
            return redirect("dlp:file", self.tenant.slug, record.pk)
        try:
            action = governance.request_action(
                kind=kind,
                source=Source.MANUAL,
                app_instance=record.app_instance,
                file_id=record.external_id,
                target_label=record.name,
                actor=request.user,
                request=request,
            )
        except governance.GovernanceRefused as exc:
            messages.error(request, f"The action was not requested: {exc}")
            return redirect("dlp:file", self.tenant.slug, record.pk)
        messages.success(
            request,
            f"{offered[kind]} on {record.name} was requested; the governance log shows how it "
            "goes.",
        )
        if action is not None:
            return redirect("governance:detail", self.tenant.slug, action.pk)
        return redirect("dlp:file", self.tenant.slug, record.pk)


class FilesExportView(TenantView):
    """CSV of the filtered list (the page's parameters and columns), streamed and audited."""

    read_action = Action.EXPORT

    def get(self, request, *args, **kwargs):
        filterset = list_filterset(request)
        if filterset.is_bound and not filterset.is_valid():
            messages.error(request, "Fix the filters before exporting.")
            url = reverse("dlp:files", args=[self.tenant.slug])
            return redirect(f"{url}?{request.GET.urlencode()}")
        cleaned = filterset.form.cleaned_data if filterset.is_bound else {}
        return export.stream(
            tenant=self.tenant, queryset=filterset.qs, cleaned=cleaned, request=request
        )
