"""Shared helpers of the discovery tests: log lines, uploads run through the real pipeline."""

from __future__ import annotations

import time

from apps.discovery import pipeline, services
from apps.discovery.models import Upload
from apps.tenants.scoping import tenant_context

DAY = 86400


def now_ts(days_ago: float = 1.0) -> int:
    """A Unix time `days_ago` days back (inside the 90-day window)."""
    return int(time.time() - days_ago * DAY)


def squid_line(
    *,
    ts: int | None = None,
    src: str = "10.0.0.5",
    user: str = "-",
    url: str = "https://www.dropbox.com/upload",
    size: int = 1000,
    result: str = "TCP_MISS/200",
    method: str = "GET",
) -> str:
    """One Squid native access.log line."""
    ts = now_ts() if ts is None else ts
    return f"{ts}.123 42 {src} {result} {size} {method} {url} {user} DIRECT/1.2.3.4 text/html"


def run_snapshot(
    tenant,
    content: bytes | str | list[tuple[str, bytes]],
    *,
    log_format: str = "squid_native",
    name: str = "Snapshot",
    actor=None,
    anonymize: bool | None = None,
    custom_parser=None,
) -> Upload:
    """Create a snapshot report through the service and process it as the worker would."""
    if isinstance(content, str):
        content = content.encode()
    files = content if isinstance(content, list) else [("access.log", content)]
    with tenant_context(tenant):
        upload = services.create_snapshot(
            name=name,
            log_format=log_format,
            files=[services.IncomingFile(n, [data]) for n, data in files],
            actor=actor or "test",
            anonymize=anonymize,
            custom_parser=custom_parser,
        )
        pipeline.process(upload.pk)
        return Upload.objects.select_related("report").get(pk=upload.pk)
