"""`manage.py rotate_master_key`: re-wrap every tenant key with the current master key."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.compliance.keys import rotate_master_key


class Command(BaseCommand):
    help = (
        "Re-wrap every tenant data key with the current master key (the first of "
        "CASB_MASTER_KEYS), one key per transaction. Keep the old key ids configured (after the "
        "new one) until this has finished; it is safe to run again and to interrupt. When it "
        "reports that no key uses an old id any more, that id can be removed from the settings."
    )

    def handle(self, *args, **options):
        current = settings.CASB_CURRENT_MASTER_KEY_ID
        result = rotate_master_key()
        self.stdout.write(f"Re-wrapped {result.rewrapped} tenant key(s) with {current!r}.")
        unused = sorted(set(settings.CASB_MASTER_KEYS) - set(result.in_use) - {current})
        if unused:
            self.stdout.write(
                "No tenant key uses these master key ids any more (they may be removed): "
                + ", ".join(unused)
            )
        if result.failed:
            for line in result.failed:
                self.stderr.write(f"not re-wrapped: {line}")
            raise CommandError(
                f"{len(result.failed)} key(s) could not be unwrapped: is their master key "
                "still in CASB_MASTER_KEYS?"
            )
