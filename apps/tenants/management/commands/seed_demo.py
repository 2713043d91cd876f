"""Fill the console with a small demo data set; running it again changes nothing.

The control plane comes first (tenants, portal users, their roles), then every app under
`apps/` that has a `demo` module gets its turn, in INSTALLED_APPS order. To add demo data for an
app, write `apps/<app>/demo.py` with::

    def seed(demo: Demo) -> None:
        contoso = demo.tenants["contoso"]
        with tenant_context(contoso):
            ...  # get_or_create on a natural key: never a blind insert

`demo.tenants` is keyed by slug, `demo.users` by the keys of DEMO_USERS ("admin", ...), and
`demo.log(text)` prints one line. A step must be idempotent, like this command.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.tenants import services
from apps.tenants.models import Role, Tenant


@dataclass(frozen=True)
class DemoTenant:
    name: str
    slug: str
    geo: str


@dataclass(frozen=True)
class DemoUser:
    key: str
    username: str
    password: str
    first_name: str
    last_name: str
    roles: dict[str, str]  # tenant slug -> role

    @property
    def label(self) -> str:
        return ", ".join(
            f"{Role(role).label} of {slug.capitalize()}" for slug, role in self.roles.items()
        )


DEMO_TENANTS = [
    DemoTenant("Contoso", "contoso", "eu"),
    DemoTenant("Fabrikam", "fabrikam", "us"),
]

# Well-known passwords: this is why the command refuses to run with DEBUG off.
DEMO_USERS = [
    DemoUser(
        "admin",
        "admin@contoso.test",
        "admin-demo-password",
        "Adele",
        "Vance",
        {"contoso": Role.GLOBAL_ADMIN, "fabrikam": Role.GLOBAL_ADMIN},
    ),
    DemoUser(
        "secadmin",
        "secadmin@contoso.test",
        "secadmin-demo-password",
        "Megan",
        "Bowen",
        {"contoso": Role.SECURITY_ADMIN},
    ),
    DemoUser(
        "reader",
        "reader@contoso.test",
        "reader-demo-password",
        "Lee",
        "Gu",
        {"contoso": Role.SECURITY_READER},
    ),
]


@dataclass
class Demo:
    """What each app's `seed(demo)` step receives."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, object] = field(default_factory=dict)
    log: Callable[[str], None] = print


def app_steps() -> list[tuple[str, Callable[[Demo], None]]]:
    """(app label, seed function) of every app that ships a `demo` module."""
    steps = []
    for config in apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        module_name = f"{config.name}.demo"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is broken
                raise
            continue
        steps.append((config.label, module.seed))
    return steps


def seed_control_plane(demo: Demo) -> None:
    """Tenants, portal users and roles, through the same services the console uses."""
    User = get_user_model()
    for spec in DEMO_TENANTS:
        tenant = Tenant.objects.filter(slug=spec.slug).first()
        if tenant is None:
            tenant = services.create_tenant(name=spec.name, slug=spec.slug, geo=spec.geo)
            demo.log(f"Created tenant {spec.name} (geo {spec.geo}).")
        demo.tenants[spec.slug] = tenant

    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "email": spec.username,
                "first_name": spec.first_name,
                "last_name": spec.last_name,
            },
        )
        # Reset a changed password, but leave a matching one alone: a new hash (new salt)
        # on every run would make the command not idempotent.
        if created or not user.check_password(spec.password):
            user.set_password(spec.password)
            user.save(update_fields=["password"])
        if created:
            demo.log(f"Created user {spec.username}.")
        demo.users[spec.key] = user

    # Admins first: the first global admin is added by the system, the others by that admin,
    # so the audit log reads like a real start.
    admin = demo.users["admin"]
    for spec in sorted(DEMO_USERS, key=lambda s: s.key != "admin"):
        for slug, role in spec.roles.items():
            services.set_role(
                tenant=demo.tenants[slug],
                user=demo.users[spec.key],
                role=role,
                actor=None if spec.key == "admin" else admin,
            )


class Command(BaseCommand):
    help = "Create the demo tenants and users (idempotent). Refuses with DEBUG off."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (it creates accounts with well-known passwords).",
        )

    def handle(self, *args, force: bool = False, verbosity: int = 1, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with well-known passwords, so it runs only with "
                "DEBUG=1. Use --force to run it anyway (never on a real deployment)."
            )
        demo = Demo(log=self.stdout.write if verbosity >= 1 else (lambda _text: None))
        seed_control_plane(demo)
        for label, step in app_steps():
            step(demo)
            if verbosity >= 2:
                self.stdout.write(f"Seeded {label}.")
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS("Demo data is in place."))
