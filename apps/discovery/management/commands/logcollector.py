"""`manage.py logcollector`: receive syslog for the discovery data sources (see `collector`)."""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from apps.discovery.collector import Collector, CollectorError, load_feeds


class Command(BaseCommand):
    help = (
        "Listen for syslog (UDP and TCP) on the port of every syslog data source of every "
        "tenant and feed what arrives to their continuous reports. Sources are read at start: "
        "restart the collector after adding or changing one. SIGTERM/SIGINT upload what is "
        "buffered, then exit."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--run-for",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Stop (after uploading what is buffered) after this many seconds.",
        )
        parser.add_argument("--bind", default=None, help="Address to listen on (default: setting).")
        parser.add_argument("--batch-lines", type=int, default=None)
        parser.add_argument("--batch-seconds", type=float, default=None)

    def handle(self, *args, **options):
        logging.getLogger("apps.discovery").setLevel(logging.INFO)
        try:
            feeds = load_feeds()
        except CollectorError as exc:
            raise CommandError(str(exc)) from None
        if not feeds:
            self.stderr.write("No syslog data source is configured; nothing to listen for.")
        collector = Collector(
            feeds,
            bind=options["bind"],
            batch_lines=options["batch_lines"],
            batch_seconds=options["batch_seconds"],
        )
        try:
            collector.open()
        except CollectorError as exc:
            raise CommandError(str(exc)) from None
        for feed in feeds:
            self.stdout.write(
                f"listening on {collector.bind}:{feed.port}/{feed.protocol} for {feed.label}"
            )
        self.stdout.write(
            "Data sources added or changed from now on are picked up at the next restart."
        )
        self.stdout.flush()
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        uploads = collector.serve(stop, run_for=options["run_for"])
        self.stdout.write(f"stopped; {len(uploads)} upload(s) handed to the pipeline this run")
