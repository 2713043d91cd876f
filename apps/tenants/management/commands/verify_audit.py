"""`manage.py verify_audit [--tenant SLUG]`: recompute audit hash chains, name the first break.

Exits 1 when any chain is broken (for cron, CI and runbooks), 0 when every chain verifies.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from apps.tenants import audit
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = "Verify each tenant's audit hash chain; report the first broken record."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Verify only this tenant.")

    def handle(self, *args, tenant: str | None = None, **options):
        tenants = Tenant.objects.order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {tenant!r}.")
        broken = checked = 0
        for current in tenants:
            started = time.perf_counter()
            report = audit.verify_chain(current)
            elapsed = time.perf_counter() - started
            checked += 1
            if report.ok:
                self.stdout.write(
                    f"{current.slug}: {report.records} records OK "
                    f"(head #{report.head_seq}, {elapsed:.2f}s)"
                )
            else:
                broken += 1
                self.stdout.write(
                    f"{current.slug}: BROKEN at record #{report.first_broken_seq}: {report.reason}"
                )
        if broken:
            raise CommandError(f"{broken} of {checked} audit chains are broken.", returncode=1)
        self.stdout.write(f"All {checked} audit chains verified.")
