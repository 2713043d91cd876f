"""`manage.py icapserver`: serve every tenant's ICAP service (see apps/dlp/icap)."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.dlp.icap.server import (
    DEFAULT_MAX_CONNECTIONS,
    IcapServer,
    config_from_settings,
    tls_context,
)


class Command(BaseCommand):
    help = (
        "Run the ICAP server (RFC 3507). Proxies call icap://<host>:<port>/<tenant slug>/reqmod "
        "or /respmod with the tenant's secret in the X-ICAP-Secret header. TLS 1.2+ when "
        "ICAP_TLS_CERT_FILE and ICAP_TLS_KEY_FILE are set. SIGTERM/SIGINT stop it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="Address to listen on (ICAP_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port (ICAP_PORT, 1344).")
        parser.add_argument(
            "--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
            help="Connections served at once; more get ICAP 503.",
        )  # fmt: skip

    def handle(self, *args, **options):
        logging.getLogger("apps.dlp.icap").setLevel(logging.INFO)
        host = options["host"] or settings.ICAP_HOST
        port = settings.ICAP_PORT if options["port"] is None else options["port"]
        cert, key = settings.ICAP_TLS_CERT_FILE, settings.ICAP_TLS_KEY_FILE
        if bool(cert) != bool(key):
            raise CommandError("Set both ICAP_TLS_CERT_FILE and ICAP_TLS_KEY_FILE, or neither.")
        try:
            tls = tls_context(cert, key) if cert else None
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot load the TLS certificate or key: {exc}") from None
        server = IcapServer(
            host, port, config=config_from_settings(options["max_connections"]), tls=tls
        )
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        scheme = "icaps" if tls else "icap"
        self.stdout.write(f"ICAP server listening on {scheme}://{host}:{server.port}/")
        self.stdout.flush()
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        server.serve(stop)
        self.stdout.write("ICAP server stopped")
