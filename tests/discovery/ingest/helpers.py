"""Helpers of the ingest tests: log bodies, uploaded files, rows made through the services."""

from __future__ import annotations

import gzip

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.discovery import services, services_ingest
from apps.discovery.models import Receiver
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import squid_line

CSV_DEFINITION = {
    "name": "Gateway CSV",
    "delimiter": "comma",
    "has_header": True,
    "timestamp_column": "time",
    "timestamp_format": "%Y-%m-%d %H:%M:%S",
    "src_ip_column": "src",
    "user_column": "user",
    "host_column": "url",
    "bytes_down_column": "bytes",
    "action_column": "action",
    "blocked_term": "DENY",
}


def squid_body(count: int = 3, url: str = "https://slack.com/", **kwargs) -> bytes:
    return ("\n".join(squid_line(url=url, **kwargs) for _ in range(count)) + "\n").encode()


def log_file(name: str = "access.log", data: bytes | None = None, gz: bool = False):
    data = squid_body() if data is None else data
    if gz:
        data = gzip.compress(data)
        name += ".gz"
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def make_source(tenant, name: str = "Proxy", **kwargs):
    kwargs.setdefault("log_format", "squid_native")
    with tenant_context(tenant):
        if kwargs.get("receiver", Receiver.API) != Receiver.API:
            services_ingest.check_receiver(kwargs["receiver"], kwargs.get("port"))
        return services.create_data_source(name=name, actor="test", **kwargs)


def make_parser(tenant, **overrides):
    with tenant_context(tenant):
        return services_ingest.create_custom_parser(
            data={**CSV_DEFINITION, **overrides}, actor="test"
        )
