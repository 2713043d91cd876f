"""`manage.py delete_tenant`: delete a tenant's data and keys now, or the due ones."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.compliance.offboarding import delete_due_tenants, delete_tenant
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Delete every row of a tenant in every database and destroy its data keys (nothing "
        "sealed with them can be read afterwards, backups included). --tenant SLUG --yes deletes "
        "that tenant at once, cancelled or not; --due does what the nightly sweep does (tenants "
        "whose grace period is over, and deletions interrupted earlier)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG")
        parser.add_argument("--yes", action="store_true", help="Confirm deleting --tenant now.")
        parser.add_argument("--due", action="store_true")

    def handle(self, *args, **options):
        if options["due"]:
            self.stdout.write(f"Deleted {delete_due_tenants()} tenant(s) whose time had come.")
            return
        if not options["tenant"]:
            raise CommandError("Give --tenant SLUG (with --yes) or --due.")
        tenant = Tenant.objects.using("default").filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        if not options["yes"]:
            raise CommandError(
                f"This deletes everything of {tenant.slug} and cannot be undone: add --yes."
            )
        record = delete_tenant(tenant_id=tenant.pk)
        self.stdout.write(
            f"Deleted {sum(record.counts.values())} row(s) of {record.slug} and destroyed "
            f"{record.keys_destroyed} key(s)."
        )
