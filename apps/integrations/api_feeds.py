"""Alert feeds of the API (see `apps.integrations.feeds`).

- GET /api/v1/alerts/feed/?since=&top=&skiptoken=        Graph security alerts (spec 12.2):
      {"value": [...], "@odata.nextLink": "<next page>", "@casb.resumeToken": "<token>"}
- GET /api/v1/alerts/feed/jsonl/?since=&top=&skiptoken=  the same alerts, one JSON per line
      (application/x-ndjson); headers `X-Resume-Token` and, when more follow, `Link: rel=next`.

Reading needs VIEW, like the alert queue. Keep the resume token and pass it as `skiptoken` next
time to get every alert changed since, once per change.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.alerts.models import Alert
from apps.tenants.api.base import TenantScopedViewSet

from . import feeds

_PARAMETERS = [
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        description="Alerts changed at or after this moment (ISO 8601 with a time zone).",
    ),
    OpenApiParameter(
        "top", OpenApiTypes.INT, description=f"Alerts per page, 1-{feeds.MAX_TOP} (100)."
    ),
    OpenApiParameter(
        "skiptoken",
        OpenApiTypes.STR,
        description="A continuation or resume token from an earlier answer (wins over since).",
    ),
]


class FeedQuery(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    # Query strings are text: plain fields parse them (the Strict* fields are for JSON bodies).
    top = serializers.IntegerField(
        required=False, min_value=1, max_value=feeds.MAX_TOP, default=feeds.DEFAULT_TOP
    )
    skiptoken = serializers.CharField(required=False, max_length=400)

    def validate_since(self, value):
        raw = parse_datetime(str(self.initial_data.get("since", "")))
        if raw is None or timezone.is_naive(raw):
            raise serializers.ValidationError("Give a time zone, e.g. 2026-11-20T12:00:00Z.")
        return value

    def validate_skiptoken(self, value):
        try:
            return feeds.Position.parse(value)
        except feeds.BadToken as exc:
            raise serializers.ValidationError(str(exc)) from exc


class AlertFeedViewSet(TenantScopedViewSet):
    """Alerts for tools that pull: Microsoft Graph's shape, or JSON lines."""

    model = Alert
    pagination_class = None  # pages by `top` and `skiptoken`, as Microsoft Graph does

    def scoped_queryset(self):
        return Alert.objects.all()

    def _page(self, request) -> tuple[feeds.Page, int]:
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        return feeds.page(
            since=values.get("since"),
            after=values.get("skiptoken"),
            top=values["top"],
            now=timezone.now(),
        ), values["top"]

    def _next_url(self, request, page: feeds.Page, top: int, path: str) -> str | None:
        if not page.more or page.resume is None:
            return None
        return request.build_absolute_uri(
            f"{path}?{urlencode({'top': top, 'skiptoken': page.resume.token()})}"
        )

    @extend_schema(
        summary="Alerts as Microsoft Graph security alerts",
        parameters=_PARAMETERS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="A page of alerts.")},
    )
    def list(self, request):
        page, top = self._page(request)
        body = {
            "@odata.context": "alerts_v2",
            "value": [feeds.graph_alert(alert, request.tenant) for alert in page.alerts],
        }
        following = self._next_url(request, page, top, request.path)
        if following:
            body["@odata.nextLink"] = following
        if page.resume is not None:
            body["@casb.resumeToken"] = page.resume.token()
        return Response(body)

    @extend_schema(
        summary="Alerts as JSON lines (one Graph security alert per line)",
        parameters=_PARAMETERS,
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description="One JSON object per line."
            )
        },
    )
    @action(detail=False, methods=["get"], url_path="jsonl")
    def jsonl(self, request):
        page, top = self._page(request)
        response = HttpResponse(
            feeds.jsonl(page.alerts, request.tenant), content_type="application/x-ndjson"
        )
        if page.resume is not None:
            response["X-Resume-Token"] = page.resume.token()
        following = self._next_url(request, page, top, request.path)
        if following:
            response["Link"] = f'<{following}>; rel="next"'
        response["Cache-Control"] = "no-store"
        return response
