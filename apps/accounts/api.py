"""The users-and-accounts API: people with their accounts, and the accounts themselves.

Read-only (the directory is written by connector syncs). Same filters as the console list
(`filtersets.py`); page-number pages like the rest of the API: these lists are the size of a
directory, not of an event log.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers

from apps.activities.api import AppRefSerializer
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.permissions import Action

from . import selectors
from .filtersets import AccountFilterSet, PersonFilterSet
from .models import Account, CloudUser


class GroupRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


_ACCOUNT_FIELDS = [
    "id",
    "app",
    "external_id",
    "username",
    "email",
    "display_name",
    "department",
    "status",
    "is_admin",
    "deleted_seen_at",
    "last_seen",
    "synced_at",
    "created_at",
]


class AccountSerializer(serializers.ModelSerializer):
    app = AppRefSerializer(source="app_instance", read_only=True)
    person = serializers.UUIDField(
        source="user_id", read_only=True, allow_null=True, help_text="Id of the person, if joined."
    )

    class Meta:
        model = Account
        fields = [*_ACCOUNT_FIELDS, "person"]
        read_only_fields = fields


class PersonAccountSerializer(serializers.ModelSerializer):
    app = AppRefSerializer(source="app_instance", read_only=True)
    groups = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [*_ACCOUNT_FIELDS, "groups"]
        read_only_fields = fields

    @extend_schema_field(GroupRefSerializer(many=True))
    def get_groups(self, account: Account) -> list[dict]:
        return [{"id": m.group_id, "name": m.group.name} for m in account.memberships.all()]


class PersonSerializer(serializers.ModelSerializer):
    accounts = PersonAccountSerializer(many=True, read_only=True)
    is_admin = serializers.SerializerMethodField(help_text="Admin in at least one app.")

    class Meta:
        model = CloudUser
        fields = [
            "id",
            "identity",
            "display_name",
            "email",
            "department",
            "job_title",
            "is_external",
            "is_admin",
            "first_seen",
            "last_seen",
            "accounts",
        ]
        read_only_fields = fields

    def get_is_admin(self, person: CloudUser) -> bool:
        return any(account.is_admin for account in person.accounts.all())


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(summary="People, each with their accounts per app and groups"),
    retrieve=extend_schema(summary="One person with their accounts"),
)
class PersonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """The monitored people of the tenant (joined across apps by email / UPN)."""

    model = CloudUser
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    read_action = Action.VIEW

    def scoped_queryset(self):
        return selectors.people().order_by("display_name", "identity", "id")


@extend_schema(tags=["users"])
@extend_schema_view(
    list=extend_schema(summary="Accounts in connected apps"),
    retrieve=extend_schema(summary="One account"),
)
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantScopedViewSet):
    """Per-app accounts, including those not joined to a person (service accounts)."""

    model = Account
    serializer_class = AccountSerializer
    filterset_class = AccountFilterSet
    read_action = Action.VIEW

    def scoped_queryset(self):
        return selectors.accounts().order_by("username", "id")
