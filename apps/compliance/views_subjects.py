"""Console pages of data-subject requests (settings > privacy > Data subject requests).

Everything here needs the tenant-lifecycle right (global admins): the page reveals whether a
person was the subject of a request. Export and erase (after a confirmation showing what will be
removed) run in the background (`subjects.submit`); the request's page shows its status, then
the receipt and an export's archive.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView

from . import subject_export, subjects
from .forms_subjects import CheckForm, EraseConfirmForm, SubjectRequestForm
from .models import SubjectRequest, SubjectRequestKind

LIST_SIZE = 50


class SubjectsBase(TenantTemplateView):
    section = "settings"
    read_action = Action.MANAGE_LIFECYCLE
    write_action = Action.MANAGE_LIFECYCLE

    def url(self, name: str, *args) -> str:
        return reverse(f"compliance:{name}", args=[self.tenant.slug, *args])


@method_decorator(never_cache, name="dispatch")
class SubjectsView(SubjectsBase):
    """The request form, the "was X handled?" check and the past requests with receipts.

    Every member may open the page (it is a tab of the settings) and reads what it is for;
    only those with the lifecycle right see the form, the check and the requests."""

    template_name = "compliance/subjects.html"
    read_action = Action.VIEW

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = self.may(Action.MANAGE_LIFECYCLE)
        if not context["can_manage"]:
            return context
        context.setdefault("form", SubjectRequestForm())
        rows = list(SubjectRequest.objects.all()[:LIST_SIZE])
        for row in rows:
            row.total = sum(v for v in row.counts.values() if isinstance(v, int))
        context["requests"] = rows
        check = CheckForm(self.request.GET or None)
        context["check_form"] = check
        if self.request.GET and check.is_valid():
            context["checked"] = subjects.check(
                tenant=self.tenant, query=check.cleaned_data["check"]
            )
        return context

    def post(self, request, *args, **kwargs):
        form = SubjectRequestForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        try:
            if data["kind"] == "erase":
                subject = subjects.find_subject(tenant=self.tenant, query=data["subject"])
                confirm = EraseConfirmForm(initial=data)
                counts = subjects.preview(subject)
                kept = {k: n for k, n in counts.items() if k.endswith("_retained")}
                return self.render_to_response(
                    {
                        **self.get_context_data(form=form),
                        "confirm_form": confirm,
                        "preview": subjects.labelled(
                            {k: n for k, n in counts.items() if k not in kept}
                        ),
                        "kept": subjects.labelled(kept),
                        "label": subjects.mask(data["subject"]),
                    }
                )
            row = subjects.submit(
                tenant=self.tenant,
                kind=SubjectRequestKind.EXPORT,
                actor=request.user,
                query=data["subject"],
                reference=data["reference"],
                request=request,
            )
        except subjects.SubjectRefused as exc:
            form.add_error("subject", str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(
            request, "Export requested: it runs in the background; its archive appears below."
        )
        return redirect(self.url("subject-detail", row.pk))


class EraseView(SubjectsView):
    """POST: the confirmed erase."""

    read_action = Action.MANAGE_LIFECYCLE
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        confirm = EraseConfirmForm(request.POST)
        if not confirm.is_valid():
            form = SubjectRequestForm(request.POST)
            context = self.get_context_data(form=form, confirm_form=confirm)
            return self.render_to_response(context, status=400)
        data = confirm.cleaned_data
        try:
            row = subjects.submit(
                tenant=self.tenant,
                kind=SubjectRequestKind.ERASE,
                actor=request.user,
                query=data["subject"],
                reference=data["reference"],
                request=request,
            )
        except subjects.SubjectRefused as exc:
            form = SubjectRequestForm(request.POST)
            form.add_error(None, str(exc))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(
            request,
            "Erasure requested: it runs in the background; the receipt below counts what was "
            "removed when it is done.",
        )
        return redirect(self.url("subject-detail", row.pk))


class DetailView(SubjectsBase):
    """One request: who (masked), why, by whom, and its receipt; an export's archive."""

    template_name = "compliance/subjects_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        row = get_object_or_404(SubjectRequest, pk=self.kwargs["request_id"])
        context["row"] = row
        context["counts"] = subjects.labelled(row.counts)
        context["archive"] = subject_export.available(self.tenant, row)
        context["keep_days"] = subject_export.KEEP_DAYS
        return context


class DownloadView(SubjectsBase):
    """GET: the export's archive (audited); gone or not an export: back with a message."""

    def get(self, request, *args, **kwargs):
        row = get_object_or_404(SubjectRequest, pk=self.kwargs["request_id"])
        try:
            stream = subjects.open_export(
                tenant=self.tenant, actor=request.user, row=row, request=request
            )
        except subject_export.ExportGone as exc:
            messages.error(request, str(exc))
            return redirect(self.url("subject-detail", row.pk))
        response = StreamingHttpResponse(stream, content_type="application/zip")
        name = f"subject-export-{row.pk}.zip"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response
