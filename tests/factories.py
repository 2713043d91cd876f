"""factory_boy factories for the control plane; tenant data factories live with their app."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.tenants import services
from apps.tenants.models import Role, Tenant

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda o: o.username)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_tenant(name: str, geo: str = "eu", slug: str | None = None) -> Tenant:
    return services.create_tenant(name=name, slug=slug or name.lower(), geo=geo)


def member(tenant: Tenant, role: str = Role.GLOBAL_ADMIN, **user_kwargs):
    user = UserFactory(**user_kwargs)
    services.set_role(tenant=tenant, user=user, role=role, actor=None)
    return user
