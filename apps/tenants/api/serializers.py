"""Serializers of the tenants API: they translate, they never decide or write.

Output serializers are read-only throughout; inputs are separate small serializers that name
the only fields a client may set, so `tenant`, `id`, `seq`, `hash`, `user` and the like can
never be mass-assigned (T8): extra keys in a body are ignored.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework import serializers

from ..models import AuditEvent, Membership, Role, Tenant

User = get_user_model()


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "geo", "status", "require_mfa", "created_at"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "name", "role", "created_at"]
        read_only_fields = fields

    def get_name(self, membership: Membership) -> str:
        return membership.user.get_full_name()


class MemberCreateSerializer(serializers.Serializer):
    user = serializers.CharField(
        max_length=254, help_text="Username or email of an existing, active portal account."
    )
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_user(self, value: str):
        value = value.strip()
        matches = list(User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value))[:2])
        if len(matches) != 1 or not matches[0].is_active:
            # One message for "no such account" and "disabled": no account enumeration here.
            raise serializers.ValidationError(
                "No single active portal account has this username or email."
            )
        return matches[0]


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "created_at",
            "actor",
            "actor_id",
            "ip",
            "action",
            "object_type",
            "object_id",
            "details",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
