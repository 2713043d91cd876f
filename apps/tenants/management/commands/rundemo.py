"""`make demo`: migrate, seed, then run the console and a Celery worker with beat together.

The worker and the web server run as child processes, each in its own process group, so one
signal to the group stops a process and everything it started (pool children, embedded beat,
the autoreloader's server). Ctrl-C or SIGTERM on this command stops both groups; if either child
dies, the other is stopped too and the command exits non-zero: nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from .seed_demo import DEMO_USERS

STOP_TIMEOUT = 15  # seconds a child gets to shut down warmly before SIGKILL


class _Stop(Exception):
    """Raised by the SIGINT/SIGTERM/SIGHUP handler to leave the wait loop."""


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _group_alive(proc: subprocess.Popen) -> bool:
    try:
        os.killpg(proc.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_all(procs: list[subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every group, wait for all of them to go, SIGKILL what is left.

    A second Ctrl-C (or SIGTERM) while waiting skips the wait: straight to SIGKILL.
    """
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for proc in procs:
                proc.poll()  # reap the leader so its group can empty
            if not any(_group_alive(proc) for proc in procs):
                return
            time.sleep(0.2)
    except (KeyboardInterrupt, _Stop):
        pass
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # nothing may interrupt the last step
    for proc in procs:
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, seed_demo, then the web console and a Celery worker with beat. "
        "Ctrl-C stops everything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="Run the web console only.")

    def handle(self, *args, host: str, port: int, no_worker: bool, **options):
        if not settings.DEBUG:
            raise CommandError("rundemo is the local demo: run it with DEBUG=1 (make demo does).")
        if not _port_is_free(host, port):
            raise CommandError(
                f"{host}:{port} is already in use. Stop what runs there, or pick another port: "
                "make demo PORT=8001"
            )

        self.stdout.write("Migrating the database…")
        self.stdout.flush()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", verbosity=1, stdout=self.stdout)
        for conn in connections.all():
            conn.close()  # the children open their own

        self._print_banner(host, port)

        procs: list[subprocess.Popen] = []
        # SIGINT too: a shell may start us with it ignored (e.g. `make demo &`).
        previous = {
            sig: signal.signal(sig, self._raise_stop)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        code = 0
        try:
            if not no_worker:
                procs.append(self._start(self._worker_command(), "Celery worker + beat"))
            procs.append(
                self._start(
                    [
                        sys.executable,
                        str(settings.BASE_DIR / "manage.py"),
                        "runserver",
                        f"{host}:{port}",
                    ],
                    "Web console",
                )
            )
            code = self._wait(procs)
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("\nStopping the demo…")
            self.stdout.flush()
        finally:
            stop_all(procs)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Demo stopped.")
        if code:
            raise CommandError("A demo process stopped on its own; everything is stopped now.")

    def _raise_stop(self, signum, frame):
        raise _Stop(signum)

    def _worker_command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "casb",
            "worker",
            "-B",
            "--loglevel=INFO",
            "--hostname=demo@%h",
        ]
        if connections["default"].vendor == "sqlite":
            # SQLite takes one writer at a time: one task at a time avoids "database is locked".
            command.append("--pool=solo")
        else:
            command.append("--concurrency=2")
        return command

    def _start(self, command: list[str], name: str) -> subprocess.Popen:
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=settings.BASE_DIR, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.stdout.write(f"{name} started (pid {proc.pid}).")
        self.stdout.flush()
        return proc

    def _wait(self, procs: list[subprocess.Popen]) -> int:
        while True:
            for proc in procs:
                code = proc.poll()
                if code is not None:
                    self.stderr.write(f"Process {proc.pid} exited with code {code}.")
                    return code or 1
            time.sleep(0.5)

    def _print_banner(self, host: str, port: int) -> None:
        url = f"http://{host}:{port}/"
        width = max(len(u.username) for u in DEMO_USERS)
        lines = [
            "",
            "=" * 72,
            f"  CASB demo console: {url}",
            "",
            "  Sign in with one of these demo accounts:",
        ]
        for user in DEMO_USERS:
            lines.append(
                f"    {user.username:<{width}}  password: {user.password:<24} ({user.label})"
            )
        lines += [
            "",
            "  Broker: "
            + settings.CELERY_BROKER_URL
            + "   Database: "
            + str(settings.DATABASES["default"]["NAME"]),
            "  Press Ctrl-C to stop the console and the worker.",
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
