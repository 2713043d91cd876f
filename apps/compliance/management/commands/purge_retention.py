"""`manage.py purge_retention`: run the retention purge now, or show what is due.

The same purge Celery beat runs daily (`compliance.purge_retention`). Safe to interrupt: every
batch commits with its record, and the next run carries on.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Remove what is older than each tenant's retention period (--dry-run: only show it)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the partitions that would be dropped and the rows due per tenant and "
            "kind; change nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        if dry_run:
            from apps.compliance.retention_selectors import due

            for line in due():
                if "partitions" in line:
                    names = line["partitions"]
                    self.stdout.write(
                        f"{line['database']}: drop {len(names)} activity partitions "
                        f"({names[0]} .. {names[-1]})"
                    )
                else:
                    counts = ", ".join(f"{kind} {n}" for kind, n in line["due"].items())
                    self.stdout.write(f"{line['database']} {line['tenant']}: due {counts}")
            return
        from apps.compliance.retention import purge_all

        summary = purge_all()
        self.stdout.write(json.dumps(summary, sort_keys=True))
        if summary["errors"]:
            self.stderr.write(f"{summary['errors']} purge(s) failed: see the log and PurgeRun.")
