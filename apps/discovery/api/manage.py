"""Discovery API: managing what was found, under /api/v1/discovery/.

- tags/ and tags/<id>/                 list, create, rename (PATCH), delete custom tags;
                                       built-ins (Sanctioned, Unsanctioned, Monitored) are listed
                                       and cannot be renamed or deleted
- app-tags/<app>/                      GET the app's tags; POST {"tag", "action": add|remove}
                                       (tag by name; sanctioning removes "unsanctioned" and back)
- app-tags/bulk/                       POST {"apps": [...], "tag"}: all or none
- overrides/<app>/                     GET, PUT {"score" 0-10, "note"?}, DELETE (back to computed)
- custom-apps/ and custom-apps/<id>/   CRUD of the tenant's custom apps
- block-script/?appliance=<key>        the script as text/plain; unknown appliance -> 400
- settings/                            GET, PATCH the score metric and the anonymisation default
- resolve/                             POST {"direction": from|to, "value", "justification"}

`<app>` is a catalog slug or `custom-<uuid>`; one the tenant does not have is 404. Reads need
VIEW; changes MANAGE_DISCOVERY; resolve DEANONYMIZE (readers get 403). Refusals are 400 naming
the field. Everything that changes is in the audit log (services).
"""

from __future__ import annotations

from django.db.models import Count
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.response import Response

from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict
from apps.tenants.api.fields import StrictCharField
from apps.tenants.permissions import Action

from .. import selectors_manage as selectors
from .. import services_custom_apps as custom_apps
from .. import services_manage as manage
from ..catalog.attributes import CATEGORIES
from ..models import AppOverride, AppTag, CustomApp, TagKind
from ..services import DiscoveryRefused
from .manage_settings import BlockScriptViewSet, ResolveViewSet, SettingsViewSet

APP_PARAM = OpenApiParameter(
    "app",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="A catalog app slug (e.g. `dropbox`) or a custom app's key (`custom-<uuid>`).",
)


def _refused(exc: DiscoveryRefused) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [str(exc)]})


def _app(key: str) -> manage.AppRef:
    ref = manage.app_ref(key)
    if ref is None:
        raise exceptions.NotFound("No such app.")
    return ref


# --- tags --------------------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    builtin = serializers.SerializerMethodField()
    app_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = AppTag
        fields = ["id", "name", "kind", "builtin", "app_count", "created_at"]
        read_only_fields = fields

    def get_builtin(self, tag) -> bool:
        return tag.kind != TagKind.CUSTOM


class TagInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=60)


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="App tags with how many apps carry each"),
    retrieve=extend_schema(summary="One app tag"),
    create=extend_schema(
        summary="Create a custom tag", request=TagInputSerializer, responses={201: TagSerializer}
    ),
    partial_update=extend_schema(
        summary="Rename a custom tag", request=TagInputSerializer, responses={200: TagSerializer}
    ),
    destroy=extend_schema(summary="Delete a custom tag (off every app)", responses={204: None}),
)
class TagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Built-in and custom app tags."""

    model = AppTag
    serializer_class = TagSerializer
    write_action = Action.MANAGE_DISCOVERY
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return AppTag.objects.annotate(app_count=Count("taggings")).order_by("name")

    def list(self, request, *args, **kwargs):
        manage.ensure_builtin_tags()
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        body = TagInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            tag = manage.create_tag(actor=request.auth, request=request, **body.validated_data)
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        tag = self.get_object()
        body = TagInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        if "name" in body.validated_data and body.validated_data["name"] != tag.name:
            try:
                manage.rename_tag(
                    tag=tag, name=body.validated_data["name"], actor=request.auth, request=request
                )
            except DiscoveryRefused as exc:
                raise _refused(exc) from exc
        return Response(TagSerializer(self.get_object()).data)

    def destroy(self, request, *args, **kwargs):
        tag = self.get_object()
        try:
            manage.delete_tag(tag=tag, actor=request.auth, request=request)
        except DiscoveryRefused as exc:  # a built-in tag: the state, not the request, is at fault
            raise Conflict(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tagging apps ------------------------------------------------------------------------------


class TagRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = StrictCharField()
    kind = StrictCharField()


class AppTagsSerializer(serializers.Serializer):
    app = StrictCharField()
    name = StrictCharField()
    tags = TagRefSerializer(many=True)


class AppTagChangeSerializer(serializers.Serializer):
    tag = StrictCharField(
        max_length=60, help_text="A tag name (any case); built-ins also by kind, e.g. `sanctioned`."
    )
    action = serializers.ChoiceField(choices=["add", "remove"], default="add")


class BulkTagSerializer(serializers.Serializer):
    apps = serializers.ListField(
        child=StrictCharField(max_length=64), max_length=manage.MAX_BULK, min_length=1
    )
    tag = StrictCharField(max_length=60)


class BulkTagAnswerSerializer(serializers.Serializer):
    tagged = serializers.IntegerField(help_text="How many apps gained the tag.")


def _app_tags(ref: manage.AppRef) -> dict:
    tags = [{"id": t.pk, "name": t.name, "kind": t.kind} for t in selectors.tags_of(ref.key)]
    return {"app": ref.key, "name": ref.name, "tags": tags}


@extend_schema(tags=["discovery"])
class AppTagViewSet(TenantScopedViewSet):
    """The tags of one app, and tagging one or many apps."""

    model = AppTag
    write_action = Action.MANAGE_DISCOVERY

    @extend_schema(
        summary="The tags of one app", parameters=[APP_PARAM], responses={200: AppTagsSerializer}
    )
    def retrieve(self, request, app: str):
        return Response(_app_tags(_app(app)))

    @extend_schema(
        summary="Add or remove a tag on one app",
        parameters=[APP_PARAM],
        request=AppTagChangeSerializer,
        responses={200: AppTagsSerializer},
    )
    def change(self, request, app: str):
        ref = _app(app)
        body = AppTagChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            tag = manage.tag_by_name(body.validated_data["tag"])
            change = manage.untag_app if body.validated_data["action"] == "remove" else None
            (change or manage.tag_app)(app=ref.key, tag=tag, actor=request.auth, request=request)
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(_app_tags(ref))

    @extend_schema(
        summary="Tag many apps at once (one unknown app refuses them all)",
        request=BulkTagSerializer,
        responses={200: BulkTagAnswerSerializer},
    )
    def bulk(self, request):
        body = BulkTagSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            tag = manage.tag_by_name(body.validated_data["tag"])
            added = manage.tag_apps(
                apps=body.validated_data["apps"], tag=tag, actor=request.auth, request=request
            )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response({"tagged": added})


# --- score overrides ---------------------------------------------------------------------------


class OverrideSerializer(serializers.Serializer):
    app = StrictCharField()
    score = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    note = StrictCharField(allow_blank=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class OverrideInputSerializer(serializers.Serializer):
    score = serializers.DecimalField(max_digits=3, decimal_places=1, min_value=0, max_value=10)
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


def _override(key: str) -> dict:
    found = AppOverride.objects.filter(app=key).first()
    if found is None:
        return {"app": key, "score": None, "note": "", "updated_at": None}
    return {"app": key, "score": found.score, "note": found.note, "updated_at": found.updated_at}


@extend_schema(tags=["discovery"])
class OverrideViewSet(TenantScopedViewSet):
    """The tenant's own score for one app (replacing the computed one)."""

    model = AppOverride
    write_action = Action.MANAGE_DISCOVERY

    @extend_schema(
        summary="One app's score override (score null: none)",
        parameters=[APP_PARAM],
        responses={200: OverrideSerializer},
    )
    def retrieve(self, request, app: str):
        return Response(OverrideSerializer(_override(_app(app).key)).data)

    @extend_schema(
        summary="Set one app's score (0-10, one decimal) and note",
        parameters=[APP_PARAM],
        request=OverrideInputSerializer,
        responses={200: OverrideSerializer},
    )
    def replace(self, request, app: str):
        ref = _app(app)
        body = OverrideInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            manage.set_override(
                app=ref.key, actor=request.auth, request=request, **body.validated_data
            )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(OverrideSerializer(_override(ref.key)).data)

    @extend_schema(
        summary="Clear one app's override (back to the computed score)",
        parameters=[APP_PARAM],
        responses={204: None},
    )
    def remove(self, request, app: str):
        ref = _app(app)
        manage.clear_override(app=ref.key, actor=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- custom apps -------------------------------------------------------------------------------


class CustomAppSerializer(serializers.ModelSerializer):
    key = StrictCharField(read_only=True, help_text="The app key used by reports and tags.")

    class Meta:
        model = CustomApp
        fields = ["id", "key", "name", "category", "domains", "created_at"]
        read_only_fields = fields


class CustomAppInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    category = serializers.ChoiceField(choices=sorted(CATEGORIES), default="unclassified")
    domains = serializers.ListField(
        child=StrictCharField(max_length=253),
        max_length=custom_apps.MAX_DOMAINS,
        help_text="Host names or IP addresses (letters, digits, dots, hyphens); a domain also "
        "matches its subdomains. Unique across your custom apps.",
    )


@extend_schema(tags=["discovery"])
@extend_schema_view(
    list=extend_schema(summary="The tenant's custom apps"),
    retrieve=extend_schema(summary="One custom app"),
    create=extend_schema(
        summary="Add a custom app (matches uploads from now on)",
        request=CustomAppInputSerializer,
        responses={201: CustomAppSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a custom app",
        request=CustomAppInputSerializer(partial=True),
        responses={200: CustomAppSerializer},
    ),
    destroy=extend_schema(summary="Delete a custom app", responses={204: None}),
)
class CustomAppViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Line-of-business apps discovered by their domains."""

    model = CustomApp
    serializer_class = CustomAppSerializer
    write_action = Action.MANAGE_DISCOVERY
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        return CustomApp.objects.order_by("name")

    def create(self, request, *args, **kwargs):
        body = CustomAppInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            app = custom_apps.create_custom_app(
                actor=request.auth, request=request, **body.validated_data
            )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(CustomAppSerializer(app).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        app = self.get_object()
        body = CustomAppInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        try:
            app = custom_apps.update_custom_app(
                app=app, actor=request.auth, request=request, **body.validated_data
            )
        except DiscoveryRefused as exc:
            raise _refused(exc) from exc
        return Response(CustomAppSerializer(app).data)

    def destroy(self, request, *args, **kwargs):
        custom_apps.delete_custom_app(app=self.get_object(), actor=request.auth, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


ROUTES = [
    ("tags", TagViewSet, "api-discovery-tags"),
    ("custom-apps", CustomAppViewSet, "api-discovery-custom-apps"),
]
PATHS = [
    path(
        "discovery/app-tags/bulk/",
        AppTagViewSet.as_view({"post": "bulk"}),
        name="api-discovery-app-tags-bulk",
    ),
    path(
        "discovery/app-tags/<str:app>/",
        AppTagViewSet.as_view({"get": "retrieve", "post": "change"}),
        name="api-discovery-app-tags",
    ),
    path(
        "discovery/overrides/<str:app>/",
        OverrideViewSet.as_view({"get": "retrieve", "put": "replace", "delete": "remove"}),
        name="api-discovery-override",
    ),
    path(
        "discovery/block-script/",
        BlockScriptViewSet.as_view({"get": "script"}),
        name="api-discovery-block-script",
    ),
    path(
        "discovery/settings/",
        SettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-discovery-settings",
    ),
    path(
        "discovery/resolve/",
        ResolveViewSet.as_view({"post": "create"}),
        name="api-discovery-resolve",
    ),
]
