"""The activities API: list (GET with the console's filters, or POST with the spec's JSON
filters), one activity, and the CSV export.

Paging is keyset on (occurred_at, id), never OFFSET, so rows that arrive while a client pages
neither shift nor repeat a page:
- GET  /api/v1/activities/?<filters>&page_size=N -> {"next", "previous", "results"}; `next`
  and `previous` are URLs carrying an opaque `cursor` (the usual DRF cursor-page shape).
- POST /api/v1/activities/ {"filters": {...}, "limit": N, "sortDirection": "desc"|"asc",
  "cursor": ...} -> {"data": [...], "hasNext": bool, "nextCursor": str|null}: the reference
  product's envelope (spec 7.2). Its `skip` is accepted only as 0: offset paging is what makes
  pages skip or repeat rows while events arrive; pass the previous answer's `nextCursor` instead.
  No `total` is given: counting every match of a filter over millions of rows would cost more
  than the page itself.
POST here is a query that writes nothing, so it needs only the right to read.

Private activities (spec 1.6, `privacy.py`) are left out of every answer and never sent to an
integration, API tokens included: `?include_private=true` is refused with 403 whatever the
token's role (a global admin reveals them in the console, audited). The export never includes
them.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.permissions import Action, may

from . import export, privacy, query, selectors
from .categories import label as type_label
from .filtersets import ActivityFilterSet
from .models import Activity, IpCategory

API_MAX_LIMIT = 100  # items per POST answer (spec 7.2)


# --- Serializers -------------------------------------------------------------------------------


class AppRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    vendor = serializers.CharField()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    identity = serializers.CharField(help_text="Lower-case email / UPN joining the accounts.")
    display_name = serializers.CharField()


class AccountRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    external_id = serializers.CharField()


class ActivitySerializer(serializers.ModelSerializer):
    app = AppRefSerializer(source="app_instance", read_only=True)
    user = PersonRefSerializer(read_only=True, allow_null=True)
    account = AccountRefSerializer(read_only=True, allow_null=True)
    description = serializers.SerializerMethodField()
    activity_type_label = serializers.SerializerMethodField()
    ip_category_label = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "occurred_at",
            "ingested_at",
            "description",
            "app",
            "source",
            "source_event_id",
            "activity_type",
            "activity_type_label",
            "action_type",
            "actor",
            "user",
            "account",
            "is_admin",
            "succeeded",
            "ip",
            "country",
            "city",
            "isp",
            "ip_category",
            "ip_category_label",
            "ip_tags",
            "user_agent",
            "device_type",
            "os",
            "browser",
            "object_name",
            "object_type",
            "object_id",
        ]
        read_only_fields = fields

    def get_description(self, item: Activity) -> str:
        return selectors.describe(item)

    def get_activity_type_label(self, item: Activity) -> str:
        return type_label(item.activity_type)

    def get_ip_category_label(self, item: Activity) -> str:
        return IpCategory(item.ip_category).label if item.ip_category else ""


class ActivityDetailSerializer(ActivitySerializer):
    raw = serializers.JSONField(read_only=True, help_text="The record as the app sent it.")

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "raw"]
        read_only_fields = fields


class ActivityQuerySerializer(serializers.Serializer):
    """The body of POST /activities/ (spec 7.2)."""

    filters = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "Object keyed by field; each field maps operators to operands, e.g. "
            '`{"ip.address": {"startswith": ["10."]}, "date": {"gte_ndays": 7}}`. Fields are '
            "ANDed, the values of one operator ORed. Fields and their operators: "
            + "; ".join(
                f"`{f['field']}` ({', '.join(f['operators'])})" for f in query.describe_fields()
            )
            + ". Timestamps are epoch milliseconds. `neq` keeps activities without the "
            "attribute; `text` matches whole words."
        ),
    )
    skip = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=0,
        help_text="Only 0: page with `cursor` (offset paging would skip or repeat rows).",
        error_messages={
            "max_value": "Offset paging is not offered; pass the previous answer's `nextCursor`."
        },
    )
    limit = serializers.IntegerField(
        required=False, default=API_MAX_LIMIT, min_value=1, max_value=API_MAX_LIMIT
    )
    sortField = serializers.ChoiceField(choices=["date"], required=False, default="date")
    sortDirection = serializers.ChoiceField(choices=["desc", "asc"], required=False, default="desc")
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=400,
        help_text="`nextCursor` of the previous answer, with the same filters and sort.",
    )


class ActivityQueryAnswerSerializer(serializers.Serializer):
    data = ActivitySerializer(many=True)
    hasNext = serializers.BooleanField()
    nextCursor = serializers.CharField(allow_null=True)


# --- Paging and negotiation --------------------------------------------------------------------


def _page_size(request, default: int, maximum: int) -> int:
    raw = request.query_params.get("page_size")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise exceptions.ValidationError({"page_size": ["Give a whole number from 1 upwards."]})
    return min(int(raw), maximum)


class KeysetPagination(BasePagination):
    """Cursor pages in (occurred_at DESC, id DESC) order; see the module doc."""

    page_size = selectors.PAGE_SIZE
    max_page_size = selectors.MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = _page_size(request, self.page_size, self.max_page_size)
        try:
            self.page = selectors.keyset_page(
                queryset, cursor=request.query_params.get("cursor"), size=size
            )
        except selectors.InvalidCursor as exc:
            raise exceptions.ValidationError({"cursor": [str(exc)]}) from exc
        return self.page.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        params = self.request.query_params.copy()
        params["cursor"] = cursor
        return self.request.build_absolute_uri(f"{self.request.path}?{params.urlencode()}")

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next),
                "previous": self._link(self.page.previous),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": (
                    f"Rows per page (default {self.page_size}); values above "
                    f"{self.max_page_size} are capped to {self.max_page_size}."
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class JSONAnswers(DefaultContentNegotiation):
    """Always render with JSON (answers and errors alike), whatever `Accept` says: the export
    streams its own CSV, and a client asking for text/csv must not get a 406 instead."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- The viewset -------------------------------------------------------------------------------


@extend_schema(tags=["activities"])
@extend_schema_view(
    list=extend_schema(
        summary="Activities, newest first (console filters, cursor pages)",
        parameters=privacy.API_PARAMETERS,
    ),
    retrieve=extend_schema(
        summary="One activity with its raw record (404 for a private one unless asked for)",
        parameters=privacy.API_PARAMETERS,
    ),
    create=extend_schema(
        summary="Query activities with the JSON filter language (spec 7.2)",
        request=ActivityQuerySerializer,
        responses={200: ActivityQueryAnswerSerializer},
        parameters=privacy.API_PARAMETERS,
    ),
    export=extend_schema(
        summary=(
            "CSV export of the filtered activities (streamed; needs the export right; private "
            "activities are never exported)"
        ),
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    ),
)
class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The tenant's activity log. Reading needs VIEW; the export needs EXPORT (not readers)."""

    model = Activity
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilterSet
    pagination_class = KeysetPagination
    content_negotiation_class = JSONAnswers
    read_action = Action.VIEW
    write_action = Action.VIEW  # POST / is a query (writes nothing); see the module doc
    http_method_names = ["get", "post", "head", "options"]

    def scoped_queryset(self):
        # Private activities: never through the API (a token is an integration; asking for
        # them is refused) nor in the export (an outbound copy; `shareable`).
        if self.action == "export":
            return selectors.shareable(selectors.activity_list())
        privacy.refuse_private_ask(self.request)
        # The detail shows the raw record; lists, queries and the export leave it out.
        if self.action == "retrieve":
            return selectors.activities()
        return selectors.activity_list()

    def get_serializer_class(self):
        return ActivityDetailSerializer if self.action == "retrieve" else ActivitySerializer

    def create(self, request, *args, **kwargs):
        body = ActivityQuerySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = body.validated_data
        queryset = self.get_queryset()
        try:
            condition = query.compile_filters(params["filters"], using=queryset.db)
        except query.FilterError as exc:
            raise exceptions.ValidationError({"filters": exc.errors}) from exc
        try:
            page = selectors.keyset_page(
                queryset.filter(condition),
                cursor=params.get("cursor") or None,
                size=params["limit"],
                newest_first=params["sortDirection"] == "desc",
            )
        except selectors.InvalidCursor as exc:
            raise exceptions.ValidationError({"cursor": [str(exc)]}) from exc
        return Response(
            {
                "data": ActivitySerializer(page.rows, many=True).data,
                "hasNext": page.next is not None,
                "nextCursor": page.next,
            }
        )

    @action(detail=False, methods=["get"], url_path="export", pagination_class=None)
    def export(self, request, *args, **kwargs):
        if not may(request.user, Action.EXPORT, request.tenant, token=request.auth):
            raise exceptions.PermissionDenied("Your role does not allow exports.")
        filterset = ActivityFilterSet(
            request.query_params, queryset=self.get_queryset(), request=request
        )
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        return export.stream(
            tenant=request.tenant,
            queryset=filterset.qs,
            filters=export.describe_filters(filterset.form.cleaned_data),
            actor=request.auth,
            request=request,
        )
