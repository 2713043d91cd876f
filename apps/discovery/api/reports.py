"""Discovery API: the reports, read-only, under /api/v1/discovery/.

- reports/                          the global report, every continuous report and every snapshot,
                                    with the status of its latest upload
- discovered-apps/?report=&period=&<filters>   per-app totals, score and tags (the console's
                                    filter form: category, risk_min/max, tag, factor, min_*, q,
                                    sort), page-number pages
- discovered-apps/<app>/            one app: totals, catalog facts, group scores, domains, daily
                                    traffic, busiest users and addresses (404 when the app has no
                                    traffic in that report and period, or is unknown)
- discovered-apps/categories/       discovered apps per category (spec 5.10), same filters
- discovered-users/, discovered-ips/   per user / source address (q, unsanctioned, sort)

`report` is "global" (default: the union of continuous reports) or a report id (another
tenant's is 404); `period` is 7, 30 or 90 days (default 30; a snapshot is read whole). Every
endpoint needs VIEW. A bad parameter is 400 naming it.
"""

from __future__ import annotations

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.permissions import Action

from .. import reports, selectors
from ..catalog.attributes import CATEGORIES
from ..filters_reports import DiscoveredAppFilterForm, EntityFilterForm, ScopeForm
from ..models import AppDay, Report
from ..views_reports import DETAIL_ROWS, fact_groups


def form_parameters(*form_classes) -> list[OpenApiParameter]:
    """Query parameters documented from the filter forms themselves (one definition)."""
    found = []
    for form_class in form_classes:
        for name, field in form_class.base_fields.items():
            kind, many, enum = OpenApiTypes.STR, False, None
            if isinstance(field, forms.DecimalField):  # before IntegerField: its subclass
                kind = OpenApiTypes.NUMBER
            elif isinstance(field, forms.IntegerField):
                kind = OpenApiTypes.INT
            elif isinstance(field, forms.BooleanField):
                kind = OpenApiTypes.BOOL
            elif isinstance(field, forms.MultipleChoiceField):
                many = True
            elif isinstance(field, forms.TypedChoiceField) and field.coerce is int:
                kind = OpenApiTypes.INT
                enum = [int(value) for value, _ in field.choices if value != ""]
            elif isinstance(field, forms.ChoiceField) and name != "tag":
                enum = [str(value) for value, _ in field.choices if value != ""]
            description = str(field.help_text or field.label or name)
            found.append(
                OpenApiParameter(
                    name,
                    kind,
                    OpenApiParameter.QUERY,
                    description=description,
                    many=many,
                    enum=enum,
                )
            )
    return found


SCOPE_PARAMS = form_parameters(ScopeForm)


def _valid(form: forms.Form) -> dict:
    """The form's cleaned data, or 400 naming each field at fault."""
    if not form.is_valid():
        errors = form.errors.get_json_data()
        raise exceptions.ValidationError(
            {field: [error["message"] for error in found] for field, found in errors.items()}
        )
    return form.cleaned_data


def _scope(request) -> selectors.Scope:
    data = _valid(ScopeForm(request.query_params))
    try:
        return selectors.scope(data.get("report"), data.get("period"))
    except selectors.NoSuchReport:
        raise exceptions.NotFound("No such report.") from None


# --- serializers -------------------------------------------------------------------------------


class DiscoveryReportSerializer(serializers.Serializer):
    """A report a discovery request can read."""

    id = serializers.CharField(help_text='"global" or the report id (the `report` parameter).')
    name = serializers.CharField()
    kind = serializers.CharField(help_text="global, continuous or snapshot.")
    data_source = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    last_data_at = serializers.DateTimeField(allow_null=True)
    last_upload_status = serializers.CharField(
        allow_null=True, help_text="queued, parsing, done or failed; null when never uploaded."
    )
    last_upload_at = serializers.DateTimeField(allow_null=True)


class ReportTagSerializer(serializers.Serializer):
    """A tag an app carries."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="sanctioned, unsanctioned, monitored or custom.")


class DiscoveredAppSerializer(serializers.Serializer):
    """One discovered app: totals in the report and period, score and tags."""

    app = serializers.CharField(source="key", help_text="Catalog slug or custom-<uuid>.")
    name = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    custom = serializers.BooleanField()
    score = serializers.FloatField(source="score.total", allow_null=True, help_text="0-10.")
    score_overridden = serializers.BooleanField(source="score.overridden")
    risk_level = serializers.CharField(source="score.level")
    tags = ReportTagSerializer(many=True)
    traffic = serializers.IntegerField(help_text="Bytes up and down.")
    bytes_up = serializers.IntegerField()
    bytes_down = serializers.IntegerField()
    transactions = serializers.IntegerField()
    blocked = serializers.IntegerField(help_text="Blocked transactions.")
    users = serializers.IntegerField()
    ips = serializers.IntegerField()
    last_seen = serializers.DateField(allow_null=True)


class DiscoveredDomainSerializer(serializers.Serializer):
    """Traffic to one domain of an app."""

    domain = serializers.CharField()
    traffic = serializers.IntegerField()
    transactions = serializers.IntegerField()
    last_seen = serializers.DateField(allow_null=True)


class DiscoveredDaySerializer(serializers.Serializer):
    """One UTC day of an app's traffic."""

    day = serializers.DateField()
    transactions = serializers.IntegerField(source="tx")
    bytes_up = serializers.IntegerField(source="up")
    bytes_down = serializers.IntegerField(source="down")


class CatalogFactSerializer(serializers.Serializer):
    """One catalog attribute of an app."""

    label = serializers.CharField()
    value = serializers.CharField(help_text='"N/A" when not known.')
    known = serializers.BooleanField()


class CatalogFactGroupSerializer(serializers.Serializer):
    """The catalog attributes of one risk group, with the group's score."""

    key = serializers.CharField()
    label = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    facts = CatalogFactSerializer(many=True)


class DiscoveredEntitySerializer(serializers.Serializer):
    """One user (or pseudonym) or source address."""

    name = serializers.CharField(help_text="Username, pseudonym (anon-...) or address.")
    pseudonymised = serializers.BooleanField()
    apps = serializers.IntegerField(source="app_count")
    transactions = serializers.IntegerField()
    traffic = serializers.IntegerField()
    bytes_up = serializers.IntegerField()
    bytes_down = serializers.IntegerField()
    used_sanctioned_apps = serializers.BooleanField(source="sanctioned")
    used_unsanctioned_apps = serializers.BooleanField(source="unsanctioned")
    last_seen = serializers.DateField(allow_null=True)


class DiscoveredAppDetailSerializer(DiscoveredAppSerializer):
    """One discovered app with its domains, facts, daily traffic, users and addresses."""

    domains = DiscoveredDomainSerializer(many=True, source="totals.domains")
    catalog_domains = serializers.ListField(child=serializers.CharField())
    facts = CatalogFactGroupSerializer(many=True)
    daily = DiscoveredDaySerializer(many=True)
    top_users = DiscoveredEntitySerializer(many=True)
    top_ips = DiscoveredEntitySerializer(many=True)


class DiscoveredCategorySerializer(serializers.Serializer):
    """Discovered apps of one category."""

    id = serializers.CharField(help_text="Category key.")
    label = serializers.CharField()
    total = serializers.IntegerField(help_text="Discovered apps in the category.")
    traffic = serializers.IntegerField()


# --- viewsets ----------------------------------------------------------------------------------


@extend_schema(tags=["discovery"])
@extend_schema_view(list=extend_schema(summary="Discovery reports (global, continuous, snapshots)"))
class ReportViewSet(TenantScopedViewSet):
    """The reports a discovery request can read (the `report` parameter's values)."""

    model = Report
    serializer_class = DiscoveryReportSerializer
    read_action = Action.VIEW
    filter_backends: list = []
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return selectors.reports_with_last_upload()

    def list(self, request, *args, **kwargs):
        found = list(self.get_queryset())
        continuous = [r for r in found if r.kind == "continuous"]
        entries = [
            {
                "id": selectors.GLOBAL,
                "name": "Global report",
                "kind": "global",
                "data_source": None,
                "created_at": None,
                "last_data_at": max(
                    (r.last_data_at for r in continuous if r.last_data_at), default=None
                ),
                "last_upload_status": None,
                "last_upload_at": None,
            },
            *(
                {
                    "id": str(r.pk),
                    "name": r.name,
                    "kind": r.kind,
                    "data_source": r.data_source_id,
                    "created_at": r.created_at,
                    "last_data_at": r.last_data_at,
                    "last_upload_status": r.last_upload_status,
                    "last_upload_at": r.last_upload_at,
                }
                for r in found
            ),
        ]
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(DiscoveryReportSerializer(page, many=True).data)


class _ReadOnlyReport(TenantScopedViewSet):
    """Base of the per-scope endpoints: rows come from the selectors, not a queryset."""

    model = AppDay
    read_action = Action.VIEW
    filter_backends: list = []
    http_method_names = ["get", "head", "options"]

    def scoped_queryset(self):
        return AppDay.objects.all()


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(
        summary="Discovered apps with totals, score and tags",
        parameters=[*SCOPE_PARAMS, *form_parameters(DiscoveredAppFilterForm)],
    ),
    retrieve=extend_schema(
        summary="One discovered app",
        parameters=[
            *SCOPE_PARAMS,
            OpenApiParameter(
                "app",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="A catalog app slug (e.g. `dropbox`) or `custom-<uuid>`.",
            ),
        ],
        responses=DiscoveredAppDetailSerializer,
    ),
    categories=extend_schema(
        summary="Discovered apps per category",
        parameters=[*SCOPE_PARAMS, *form_parameters(DiscoveredAppFilterForm)],
        responses=DiscoveredCategorySerializer(many=True),
    ),
)
class DiscoveredAppViewSet(_ReadOnlyReport):
    """Apps seen in a report and period (the console's discovered apps table)."""

    serializer_class = DiscoveredAppSerializer
    lookup_field = "app"
    lookup_value_converter = "str"

    def _rows(self, request):
        scope = _scope(request)
        known = reports.knowledge()
        form = DiscoveredAppFilterForm(request.query_params, tags=known.all_tags)
        _valid(form)
        return form.apply(reports.app_rows(selectors.app_totals(scope), known), known)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self._rows(request))
        return self.get_paginated_response(DiscoveredAppSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        key = kwargs["app"]
        scope = _scope(request)
        known = reports.knowledge()
        app = known.app(key)
        totals = selectors.app_totals_for(scope, key) if app is not None else None
        if totals is None:
            raise exceptions.NotFound("No such app in this report and period.")
        row = reports.app_row(key, totals, known)
        users = reports.entity_rows(selectors.user_totals(scope, app=key), known)
        ips = reports.entity_rows(selectors.ip_totals(scope, app=key), known)
        row.facts = fact_groups(app.attributes, row.score)
        row.daily = selectors.app_daily(scope, key)
        row.top_users = users[:DETAIL_ROWS]
        row.top_ips = ips[:DETAIL_ROWS]
        return Response(DiscoveredAppDetailSerializer(row).data)

    @action(detail=False, methods=["get"], pagination_class=None)
    def categories(self, request, *args, **kwargs):
        counts: dict[str, dict] = {}
        for row in self._rows(request):
            entry = counts.setdefault(
                row.category,
                {
                    "id": row.category,
                    "label": CATEGORIES.get(row.category, row.category),
                    "total": 0,
                    "traffic": 0,
                },
            )
            entry["total"] += 1
            entry["traffic"] += row.traffic
        ordered = sorted(counts.values(), key=lambda e: (-e["total"], e["label"]))
        return Response(DiscoveredCategorySerializer(ordered, many=True).data)


class _EntityViewSet(_ReadOnlyReport):
    """Base of the users and addresses endpoints."""

    serializer_class = DiscoveredEntitySerializer
    kind = "user"

    def list(self, request, *args, **kwargs):
        scope = _scope(request)
        form = EntityFilterForm(request.query_params)
        _valid(form)
        load = selectors.user_totals if self.kind == "user" else selectors.ip_totals
        rows = form.apply(reports.entity_rows(load(scope), reports.knowledge()))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DiscoveredEntitySerializer(page, many=True).data)


_ENTITY_PARAMS = [*SCOPE_PARAMS, *form_parameters(EntityFilterForm)]


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="Users seen in a discovery report", parameters=_ENTITY_PARAMS)
)
class DiscoveredUserViewSet(_EntityViewSet):
    """Per user or pseudonym: apps used, traffic, sanctioned/unsanctioned use."""

    kind = "user"


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(
        summary="Source addresses seen in a discovery report", parameters=_ENTITY_PARAMS
    )
)
class DiscoveredIpViewSet(_EntityViewSet):
    """Per source address: apps used, traffic, sanctioned/unsanctioned use."""

    kind = "ip"


ROUTES = [
    ("reports", ReportViewSet, "api-discovery-reports"),
    ("discovered-apps", DiscoveredAppViewSet, "api-discovery-apps"),
    ("discovered-users", DiscoveredUserViewSet, "api-discovery-users"),
    ("discovered-ips", DiscoveredIpViewSet, "api-discovery-ips"),
]
PATHS: list = []
