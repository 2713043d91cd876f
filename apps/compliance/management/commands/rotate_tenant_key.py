"""`manage.py rotate_tenant_key --tenant <slug>`: a new data key, everything re-sealed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.compliance.keys import prune_old_versions, rotate_tenant_key
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Give a tenant a new data-key version, re-seal every sealed value of the tenant under "
        "it and delete the old versions nothing refers to any more (a discovery upload still "
        "waiting to be parsed keeps its version until a later run). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, metavar="SLUG")
        parser.add_argument(
            "--keep-old-versions",
            action="store_true",
            help="Re-seal at once and keep the old versions (no wait for other processes' key "
            "caches); delete them later with --prune-only.",
        )
        parser.add_argument(
            "--prune-only",
            action="store_true",
            help="No new version: only delete old versions nothing refers to any more.",
        )

    def handle(self, *args, **options):
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        if options["prune_only"]:
            deleted, kept = prune_old_versions(tenant=tenant)
            self.stdout.write(
                f"{tenant.slug}: deleted old version(s): {', '.join(map(str, deleted)) or 'none'}"
                f"; still in use: {', '.join(map(str, kept)) or 'none'}."
            )
            return
        result = rotate_tenant_key(
            tenant=tenant,
            actor="manage.py rotate_tenant_key",
            delete_old=not options["keep_old_versions"],
        )
        self.stdout.write(f"{tenant.slug}: new key version {result.version}.")
        for column, count in result.resealed.items():
            self.stdout.write(f"  re-sealed {count} value(s) of {column}")
        if result.deleted_versions:
            versions = ", ".join(map(str, result.deleted_versions))
            self.stdout.write(f"  deleted old version(s): {versions}")
        if result.kept_versions:
            versions = ", ".join(map(str, result.kept_versions))
            self.stdout.write(f"  kept version(s) still in use (run again later): {versions}")
