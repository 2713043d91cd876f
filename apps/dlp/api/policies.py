"""File policies API: /api/v1/file-policies/ (list, create) and /api/v1/file-policies/<id>/
(read, change, delete).

Reads for every token; writes need `Action.MANAGE_POLICIES`. The serializers only check JSON
types; the rules (known types, this tenant's apps and groups, bounds) are
`apps.dlp.policy_checks`, whose refusals come back as 400 naming the field
(`filters.sensitive_types`, ...). A tenant's 51st file policy is a 409.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.alerts.models import Policy
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from apps.tenants.permissions import Action

from .. import policy_selectors as selectors
from .. import policy_services as services
from ..policy_checks import GOVERNANCE_KINDS, MAX_ITEMS


class _Closed(serializers.Serializer):
    """An object whose unknown keys are an error (a typo must not silently widen a policy)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: ["Unknown key; known: " + ", ".join(self.fields) + "."]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


def _list(child, help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=child, required=False, max_length=MAX_ITEMS, help_text=help_text
    )


class FileConditionsSerializer(_Closed):
    """A file policy's conditions, all ANDed; a missing or empty one is no condition."""

    sensitive_types = _list(
        StrictCharField(max_length=64),
        "Type keys: built-in (payment_card, us_ssn, iban, aws_access_key, ...) or the tenant's "
        "custom types (custom_...).",
    )
    min_matches = StrictIntegerField(
        required=False, help_text="Occurrences of those types together, 1-100,000 (default 1)."
    )
    file_types = _list(
        StrictIntegerField(),
        "0 Other, 1 Document, 2 Spreadsheet, 3 Presentation, 4 Text, 5 Image, 6 Folder.",
    )
    extensions = _list(StrictCharField(max_length=32), "Lower case, without the dot.")
    apps = _list(StrictCharField(max_length=64), "AppInstance ids of this tenant.")
    access_levels = _list(
        StrictIntegerField(),
        "0 Private, 1 Internal, 2 External, 3 Public, 4 Public (Internet).",
    )
    sources = _list(StrictCharField(max_length=8), "app, icap or api.")
    name_contains = StrictCharField(
        required=False, allow_blank=True, max_length=200, help_text="Any case."
    )


class FilePolicyActionsSerializer(_Closed):
    alert = StrictBooleanField(required=False, help_text="Raise an alert (default true).")
    block = StrictBooleanField(
        required=False,
        help_text="Files seen through ICAP: answer with the block page (default false).",
    )


class FilePolicySerializer(serializers.ModelSerializer):
    severity_name = serializers.CharField(source="get_severity_display", read_only=True)
    filters = FileConditionsSerializer(read_only=True)
    tuning = FilePolicyActionsSerializer(read_only=True)
    governance = serializers.ListField(child=serializers.CharField(), read_only=True)
    include_groups = serializers.ListField(child=serializers.CharField(), read_only=True)
    exclude_groups = serializers.ListField(child=serializers.CharField(), read_only=True)
    alerts_last_7_days = serializers.IntegerField(source="alerts_7d", read_only=True, default=0)

    class Meta:
        model = Policy
        fields = [
            "id",
            "name",
            "description",
            "template",
            "enabled",
            "severity",
            "severity_name",
            "category",
            "filters",
            "tuning",
            "daily_alert_limit",
            "dedupe_minutes",
            "include_groups",
            "exclude_groups",
            "governance",
            "alerts_last_7_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FilePolicyInputSerializer(_Closed):
    """What a client may send (JSON types only; `policy_checks` checks the values)."""

    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    template = StrictCharField(max_length=60, required=False, allow_blank=True)
    enabled = StrictBooleanField(required=False)
    severity = StrictIntegerField(required=False, help_text="0 Informational … 3 High.")
    category = StrictCharField(
        max_length=24, required=False, help_text="dlp (default), sharing_control, compliance, …"
    )
    filters = FileConditionsSerializer(required=False)
    tuning = FilePolicyActionsSerializer(required=False)
    daily_alert_limit = StrictIntegerField(required=False, help_text="1-1,000.")
    dedupe_minutes = StrictIntegerField(required=False, help_text="1-10,080.")
    include_groups = _list(StrictCharField(max_length=64), "Owners in these user groups only.")
    exclude_groups = _list(StrictCharField(max_length=64), "Never owners in these groups.")
    governance = _list(StrictCharField(max_length=40), "Any of: " + ", ".join(GOVERNANCE_KINDS))


def _refused(exc: services.PolicyRefused) -> serializers.ValidationError:
    return serializers.ValidationError(exc.problems)


@extend_schema(tags=["file policies"])
@extend_schema_view(
    list=extend_schema(summary="List file policies"),
    retrieve=extend_schema(summary="One file policy"),
    create=extend_schema(
        summary="Create a file policy (409 beyond 50 per tenant)",
        request=FilePolicyInputSerializer,
        responses={201: FilePolicySerializer},
    ),
    partial_update=extend_schema(
        summary="Change a file policy (`filters` and `tuning` are replaced as a whole)",
        request=FilePolicyInputSerializer,
        responses={200: FilePolicySerializer},
    ),
    destroy=extend_schema(summary="Delete a file policy (its alerts stay)", responses={204: None}),
)
class FilePolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The token's tenant's file policies; writes need the right to manage policies."""

    model = Policy
    serializer_class = FilePolicySerializer
    read_action = Action.VIEW
    write_action = Action.MANAGE_POLICIES
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return selectors.file_policies()

    def _input(self, request) -> dict:
        data = FilePolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        for key in ("filters", "tuning"):
            if key in values:
                values[key] = dict(values[key])
        return values

    def _answer(self, policy: Policy, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.file_policies().get(pk=policy.pk)
        return Response(FilePolicySerializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        values = self._input(request)
        try:
            policy = services.create_policy(
                tenant=request.tenant, actor=request.auth, request=request, **values
            )
        except services.TooManyPolicies as exc:
            raise Conflict(exc.problems["non_field_errors"][0]) from exc
        except services.PolicyRefused as exc:
            raise _refused(exc) from exc
        return self._answer(policy, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        values = self._input(request)
        try:
            policy = services.update_policy(
                tenant=request.tenant, actor=request.auth, policy=policy, request=request, **values
            )
        except services.PolicyRefused as exc:
            raise _refused(exc) from exc
        return self._answer(policy)

    def destroy(self, request, *args, **kwargs):
        policy = self.get_object()
        services.delete_policy(
            tenant=request.tenant, actor=request.auth, policy=policy, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


ROUTES: list = [("file-policies", FilePolicyViewSet, "api-file-policies")]
PATHS: list = []  # extra url patterns, with their full path under /api/v1/
