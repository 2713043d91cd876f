"""Console pages of getting logs in: snapshot reports, upload progress, data sources, parsers.

Every member reads; writes need `Action.MANAGE_DISCOVERY`. Thin: the rules are in `services`
and `services_ingest`, whose refusals come back on the form's field (400, the form again).
Uploaded files stream from Django's upload handlers (temp files past 2.5 MB) to the spool.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from apps.tenants.permissions import Action
from apps.tenants.views.base import TenantTemplateView, TenantView

from . import services, services_ingest
from .forms_ingest import CustomParserForm, DataSourceForm, SnapshotForm
from .models import CustomParser, DataSource, Receiver, Report, ReportKind, Upload
from .parsers import format_choices
from .services import DiscoveryRefused, IncomingFile

PAGE_SIZE = 50


def _refused(form, exc: DiscoveryRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


def _labelled(items):
    """Give each source or report a `format_label` (the parser's name, as people know it)."""
    labels = dict(format_choices())
    for item in items:
        item.format_label = labels.get(item.log_format, item.log_format)
    return items


def report_url(tenant, report) -> str:
    """The reports dashboard showing one report."""
    return f"{reverse('discovery:dashboard', args=[tenant.slug])}?report={report.pk}"


class _IngestPage(TenantTemplateView):
    section = "discovery"
    write_action = Action.MANAGE_DISCOVERY


# --- snapshot reports and uploads ------------------------------------------------------------


class SnapshotListView(_IngestPage):
    """Snapshot reports with their upload's status, and the form to create one."""

    template_name = "discovery/ingest/snapshots.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        reports = (
            Report.objects.filter(kind=ReportKind.SNAPSHOT)
            .select_related("custom_parser")
            .prefetch_related(Prefetch("uploads", queryset=Upload.objects.order_by("-created_at")))
        )
        page = Paginator(reports, PAGE_SIZE).get_page(self.request.GET.get("page"))
        reports = _labelled(list(page))
        rows = [{"report": r, "upload": next(iter(r.uploads.all()), None)} for r in reports]
        context.update(page=page, rows=rows)
        if self.may(Action.MANAGE_DISCOVERY):
            default = services.settings_for_tenant().anonymize_by_default
            context.setdefault("form", SnapshotForm(anonymize_default=default))
        return context

    def post(self, request, *args, **kwargs):
        files = request.FILES.getlist("files")
        form = SnapshotForm(request.POST, request.FILES, files_list=files)
        if form.is_valid():
            data = form.cleaned_data
            try:
                upload = services.create_snapshot(
                    name=data["name"],
                    description=data["description"],
                    log_format=data["log_format"],
                    custom_parser=data["custom_parser"],
                    anonymize=data["anonymize"],
                    files=[IncomingFile(f.name, f.chunks()) for f in files],
                    actor=request.user,
                    request=request,
                )
            except DiscoveryRefused as exc:
                _refused(form, exc)
            else:
                messages.success(
                    request, f"Snapshot report “{upload.report.name}” created; parsing starts now."
                )
                return redirect("discovery:upload", self.tenant.slug, upload.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class UploadDetailView(_IngestPage):
    """One upload's status and progress; the page refreshes itself until it is finished."""

    template_name = "discovery/ingest/upload.html"
    write_action = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        upload = (
            Upload.objects.select_related("report", "report__data_source")
            .filter(pk=kwargs["upload_id"])
            .first()
        )
        if upload is None:
            raise Http404("No such upload")
        percent = 100 if upload.finished else 0
        if not upload.finished and upload.bytes_total:
            percent = min(99, int(upload.bytes_done * 100 / upload.bytes_total))
        context.update(
            upload=upload,
            report=upload.report,
            percent=percent,
            report_url=report_url(self.tenant, upload.report),
            refresh_seconds=None if upload.finished else 3,
            reasons=sorted(upload.skip_reasons.items(), key=lambda item: -item[1]),
        )
        return context


# --- data sources ------------------------------------------------------------------------------


def _last_upload(field: str):
    latest = Upload.objects.filter(report__data_source=OuterRef("pk")).order_by("-created_at")
    return Subquery(latest.values(field)[:1])


def _collector_host(request) -> str:
    bind = settings.DISCOVERY_COLLECTOR_BIND
    if bind and bind not in ("0.0.0.0", "::"):  # noqa: S104 (compared, not bound)
        return bind
    return request.get_host().rsplit(":", 1)[0]


class SourceListView(_IngestPage):
    """Data sources (continuous reports) and the form to add one."""

    template_name = "discovery/ingest/sources.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        sources = (
            DataSource.objects.select_related("custom_parser", "report")
            .annotate(
                last_status=_last_upload("status"),
                last_upload_id=_last_upload("id"),
                last_upload_at=_last_upload("created_at"),
            )
            .order_by("name")
        )
        context.update(
            sources=_labelled(list(sources)), collector_host=_collector_host(self.request)
        )
        if self.may(Action.MANAGE_DISCOVERY):
            default = services.settings_for_tenant().anonymize_by_default
            context.setdefault("form", DataSourceForm(initial={"anonymize": default}))
        return context

    def post(self, request, *args, **kwargs):
        form = DataSourceForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services_ingest.check_receiver(data["receiver"], data["port"])
                source = services.create_data_source(
                    name=data["name"],
                    log_format=data["log_format"],
                    custom_parser=data["custom_parser"],
                    receiver=data["receiver"],
                    port=data["port"],
                    anonymize=data["anonymize"],
                    actor=request.user,
                    request=request,
                )
            except DiscoveryRefused as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"Data source “{source.name}” added.")
                return redirect("discovery:source", self.tenant.slug, source.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class _OneSource:
    def load_source(self, source_id) -> DataSource:
        source = DataSource.objects.select_related("custom_parser", "report").filter(pk=source_id)
        found = source.first()
        if found is None:
            raise Http404("No such data source")
        return found


class SourceDetailView(_OneSource, _IngestPage):
    """One data source: how to point a device at it, its recent uploads, and the edit form."""

    template_name = "discovery/ingest/source.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        source = self.source
        uploads = Upload.objects.filter(report__data_source=source).order_by("-created_at")
        _labelled([source])
        context.update(
            source=source,
            uploads=list(uploads[:20]),
            syslog=source.receiver != Receiver.API,
            protocol="TCP" if source.receiver == Receiver.SYSLOG_TCP else "UDP",
            collector_host=_collector_host(self.request),
            report_url=report_url(self.tenant, source.report) if hasattr(source, "report") else "",
        )
        if self.may(Action.MANAGE_DISCOVERY):
            context.setdefault("form", DataSourceForm.for_source(source))
        return context

    def get(self, request, *args, source_id, **kwargs):
        self.source = self.load_source(source_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, source_id, **kwargs):
        self.source = self.load_source(source_id)
        form = DataSourceForm.for_source(self.source, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services_ingest.update_data_source(
                    data_source=self.source,
                    name=data["name"],
                    log_format=data["log_format"],
                    custom_parser=data["custom_parser"],
                    receiver=data["receiver"],
                    port=data["port"],
                    anonymize=data["anonymize"],
                    actor=request.user,
                    request=request,
                )
            except DiscoveryRefused as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"Data source “{self.source.name}” saved.")
                return redirect("discovery:source", self.tenant.slug, self.source.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SourceDeleteView(_OneSource, _IngestPage):
    """GET asks for confirmation; POST deletes the source with its report and data."""

    template_name = "discovery/ingest/source_delete.html"
    read_action = Action.MANAGE_DISCOVERY

    def get(self, request, *args, source_id, **kwargs):
        self.source = self.load_source(source_id)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["source"] = self.source
        context["upload_count"] = Upload.objects.filter(report__data_source=self.source).count()
        return context

    def post(self, request, *args, source_id, **kwargs):
        source = self.load_source(source_id)
        services_ingest.delete_data_source(data_source=source, actor=request.user, request=request)
        messages.success(request, f"Data source “{source.name}” and its report were deleted.")
        return redirect("discovery:sources", self.tenant.slug)


# --- custom parsers ----------------------------------------------------------------------------


class _ParserForm:
    """Save, or (the "try" button) parse the sample with the definition and store nothing."""

    def handle(self, request, parser: CustomParser | None):
        form = (
            CustomParserForm.for_parser(parser, request.POST)
            if parser is not None
            else CustomParserForm(request.POST)
        )
        tried = None
        if form.is_valid():
            try:
                if "try" in request.POST:
                    definition = services_ingest.clean_definition(form.definition_data())
                    tried = services_ingest.try_definition(definition, form.cleaned_data["sample"])
                elif parser is None:
                    parser = services_ingest.create_custom_parser(
                        data=form.definition_data(), actor=request.user, request=request
                    )
                    messages.success(request, f"Custom parser “{parser.name}” added.")
                    return redirect("discovery:parser", self.tenant.slug, parser.pk)
                else:
                    services_ingest.update_custom_parser(
                        parser=parser,
                        data=form.definition_data(),
                        actor=request.user,
                        request=request,
                    )
                    messages.success(request, f"Custom parser “{parser.name}” saved.")
                    return redirect("discovery:parser", self.tenant.slug, parser.pk)
            except DiscoveryRefused as exc:
                _refused(form, exc)
        status = 200 if tried is not None else 400
        return self.render_to_response(self.get_context_data(form=form, tried=tried), status=status)


class ParserListView(_ParserForm, _IngestPage):
    """The tenant's custom parsers and the form (with "try it") to define one."""

    template_name = "discovery/ingest/parsers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["parsers"] = list(CustomParser.objects.order_by("name"))
        if self.may(Action.MANAGE_DISCOVERY):
            context.setdefault("form", CustomParserForm())
        return context

    def post(self, request, *args, **kwargs):
        return self.handle(request, None)


class ParserDetailView(_ParserForm, _IngestPage):
    """One custom parser: its definition, the sources using it, edit and try it."""

    template_name = "discovery/ingest/parser.html"

    def load(self, parser_id) -> CustomParser:
        parser = CustomParser.objects.filter(pk=parser_id).first()
        if parser is None:
            raise Http404("No such parser")
        return parser

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["parser"] = self.parser
        context["sources"] = list(DataSource.objects.filter(custom_parser=self.parser))
        if self.may(Action.MANAGE_DISCOVERY):
            context.setdefault("form", CustomParserForm.for_parser(self.parser))
        return context

    def get(self, request, *args, parser_id, **kwargs):
        self.parser = self.load(parser_id)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, parser_id, **kwargs):
        self.parser = self.load(parser_id)
        return self.handle(request, self.parser)


class ParserDeleteView(TenantView):
    """POST-only: delete a custom parser nothing uses."""

    http_method_names = ["post"]
    write_action = Action.MANAGE_DISCOVERY

    def post(self, request, *args, parser_id, **kwargs):
        parser = CustomParser.objects.filter(pk=parser_id).first()
        if parser is None:
            raise Http404("No such parser")
        try:
            services_ingest.delete_custom_parser(parser=parser, actor=request.user, request=request)
        except DiscoveryRefused as exc:
            messages.error(request, str(exc))
            return redirect("discovery:parser", self.tenant.slug, parser.pk)
        messages.success(request, f"Custom parser “{parser.name}” deleted.")
        return redirect("discovery:parsers", self.tenant.slug)
