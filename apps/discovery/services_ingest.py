"""Writes of getting logs in: data sources (change, delete) and custom parsers (CRUD, try it).

Creating snapshots and sources and uploading are in `services`; this module adds what the
ingest pages and API need on top, with the same rules: the caller's tenant scope, an actor for
every change, an audit event per change, `DiscoveryRefused` naming the field at fault, and
nothing half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from . import spool
from .models import CustomParser, DataSource, Receiver, Report, Upload, UploadStatus
from .parsers import CUSTOM, BadLine, formats, make_parser
from .services import DiscoveryRefused, check_format

# Delimiters a custom parser may use: name shown to people -> the character stored.
DELIMITERS = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "pipe": "|",
    "space": " ",
}
EPOCH_FORMATS = ("epoch", "epoch_ms")
PORT_MIN, PORT_MAX = 1, 65535
TRY_MAX_LINES = 20  # lines of a "try it" sample parsed

# The columns of a CustomParser a person fills in (the model's field names).
PARSER_FIELDS = (
    "name",
    "delimiter",
    "has_header",
    "timestamp_column",
    "timestamp_format",
    "src_ip_column",
    "user_column",
    "host_column",
    "dst_ip_column",
    "bytes_up_column",
    "bytes_down_column",
    "bytes_total_column",
    "action_column",
    "blocked_term",
)


# --- data sources -----------------------------------------------------------------------------


def check_receiver(receiver: str, port: int | None, *, exclude: DataSource | None = None) -> None:
    """A syslog source needs a port of its own (in this tenant; the collector refuses clashes
    across tenants when it starts); an API source has none."""
    if receiver not in Receiver.values:
        raise DiscoveryRefused(f"Unknown receiver {receiver!r}.", "receiver")
    if receiver == Receiver.API:
        return
    if not port:
        raise DiscoveryRefused("A syslog data source needs a port.", "port")
    if not PORT_MIN <= int(port) <= PORT_MAX:
        raise DiscoveryRefused(f"The port must be between {PORT_MIN} and {PORT_MAX}.", "port")
    clash = DataSource.objects.filter(port=port).exclude(receiver=Receiver.API)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    other = clash.first()
    if other is not None:
        raise DiscoveryRefused(f"Port {port} is already used by “{other.name}”.", "port")


def update_data_source(
    *,
    data_source: DataSource,
    name: str,
    log_format: str,
    receiver: str,
    anonymize: bool,
    actor,
    request=None,
    port: int | None = None,
    custom_parser: CustomParser | None = None,
) -> DataSource:
    """Change a data source; its report follows (later uploads only: stored data stays)."""
    tenant = current_tenant()
    check_format(log_format, custom_parser)
    name = name.strip()[:100]
    if not name:
        raise DiscoveryRefused("Give the data source a name.", "name")
    if DataSource.objects.filter(name=name).exclude(pk=data_source.pk).exists():
        raise DiscoveryRefused("A data source with this name exists.", "name")
    check_receiver(receiver, port, exclude=data_source)
    before = {
        "name": data_source.name,
        "format": data_source.log_format,
        "receiver": data_source.receiver,
        "port": data_source.port,
        "anonymize": data_source.anonymize,
    }
    data_source.name = name
    data_source.log_format = log_format
    data_source.custom_parser = custom_parser
    data_source.receiver = receiver
    data_source.port = port if receiver != Receiver.API else None
    data_source.anonymize = anonymize
    with transaction.atomic(using=tenant.db_alias):
        data_source.save(
            update_fields=["name", "log_format", "custom_parser", "receiver", "port", "anonymize"]
        )
        Report.objects.filter(data_source=data_source).update(name=name)
        audit.record(
            tenant,
            "discovery.source_updated",
            actor=actor,
            request=request,
            target=data_source,
            details={
                "before": before,
                "after": {
                    "name": name,
                    "format": log_format,
                    "receiver": receiver,
                    "port": data_source.port,
                    "anonymize": anonymize,
                },
            },
        )
    return data_source


def delete_data_source(*, data_source: DataSource, actor, request=None) -> None:
    """Delete a data source with its continuous report, uploads and aggregates (audited)."""
    tenant = current_tenant()
    uploads = list(Upload.objects.filter(report__data_source=data_source))
    with transaction.atomic(using=tenant.db_alias):
        audit.record(
            tenant,
            "discovery.source_deleted",
            actor=actor,
            request=request,
            target=data_source,
            details={"name": data_source.name, "uploads": len(uploads)},
        )
        data_source.delete()  # cascades: report -> uploads and the per-day aggregates

    def drop_spools() -> None:
        for upload in uploads:
            if upload.status in (UploadStatus.QUEUED, UploadStatus.PARSING):
                for item in upload.files:
                    spool.delete(tenant.id, item["spool"])

    transaction.on_commit(drop_spools, using=tenant.db_alias)


# --- custom parsers ---------------------------------------------------------------------------


def check_timestamp_format(fmt: str) -> None:
    """A strptime format that reads back what it writes, or epoch / epoch_ms."""
    fmt = (fmt or "").strip()
    if fmt in EPOCH_FORMATS:
        return
    if "%" not in fmt:
        raise DiscoveryRefused(
            "Enter a strptime format such as %Y-%m-%d %H:%M:%S, or epoch / epoch_ms.",
            "timestamp_format",
        )
    now = datetime.now(UTC).replace(microsecond=123456)
    try:
        back = datetime.strptime(now.strftime(fmt), fmt)  # noqa: DTZ007 (only a round trip)
    except (ValueError, TypeError) as exc:
        raise DiscoveryRefused(
            f"This is not a usable strptime format ({exc}).", "timestamp_format"
        ) from None
    if back.date() != now.date():
        raise DiscoveryRefused(
            "The format does not hold a date (add %Y-%m-%d or similar).", "timestamp_format"
        )


@dataclass(frozen=True)
class ParserDefinition:
    """The cleaned fields of a custom parser (not saved: also what "try it" uses)."""

    values: dict

    def unsaved(self) -> CustomParser:
        return CustomParser(tenant_id=current_tenant().id, **self.values)


def clean_definition(data: dict) -> ParserDefinition:
    """Check a custom parser's fields; `delimiter` may be a name (comma...) or the character."""
    values = {key: data.get(key) for key in PARSER_FIELDS}
    for key, value in values.items():
        if isinstance(value, str) and key != "delimiter":
            values[key] = value.strip()
    values["has_header"] = bool(values["has_header"])
    if not values["name"]:
        raise DiscoveryRefused("Give the parser a name.", "name")
    delimiter = values["delimiter"] or ""
    delimiter = DELIMITERS.get(delimiter, delimiter)
    if delimiter not in DELIMITERS.values():
        raise DiscoveryRefused(
            "Choose the delimiter: comma, semicolon, tab, pipe or space.", "delimiter"
        )
    values["delimiter"] = delimiter
    if not values["timestamp_column"]:
        raise DiscoveryRefused("Name the column of the date and time.", "timestamp_column")
    check_timestamp_format(values["timestamp_format"])
    if not values["src_ip_column"]:
        raise DiscoveryRefused("Name the column of the source IP address.", "src_ip_column")
    if not (values["host_column"] or values["dst_ip_column"]):
        raise DiscoveryRefused(
            "Name the column of the destination host/URL or of the destination IP.", "host_column"
        )
    if values["blocked_term"] and not values["action_column"]:
        raise DiscoveryRefused("A blocked term needs the action column.", "action_column")
    for key in PARSER_FIELDS:
        if values[key] is None:
            values[key] = ""
    return ParserDefinition(values)


def _parser_snapshot(parser: CustomParser) -> dict:
    return {key: getattr(parser, key) for key in PARSER_FIELDS}


def create_custom_parser(*, data: dict, actor, request=None) -> CustomParser:
    tenant = current_tenant()
    definition = clean_definition(data)
    if CustomParser.objects.filter(name=definition.values["name"]).exists():
        raise DiscoveryRefused("A parser with this name exists.", "name")
    with transaction.atomic(using=tenant.db_alias):
        parser = CustomParser.objects.create(**definition.values)
        audit.record(
            tenant,
            "discovery.parser_created",
            actor=actor,
            request=request,
            target=parser,
            details=_parser_snapshot(parser),
        )
    return parser


def update_custom_parser(*, parser: CustomParser, data: dict, actor, request=None) -> CustomParser:
    """Change a parser; sources using it read later uploads with the new definition."""
    tenant = current_tenant()
    definition = clean_definition(data)
    name = definition.values["name"]
    if CustomParser.objects.filter(name=name).exclude(pk=parser.pk).exists():
        raise DiscoveryRefused("A parser with this name exists.", "name")
    before = _parser_snapshot(parser)
    for key, value in definition.values.items():
        setattr(parser, key, value)
    with transaction.atomic(using=tenant.db_alias):
        parser.save(update_fields=list(PARSER_FIELDS))
        audit.record(
            tenant,
            "discovery.parser_updated",
            actor=actor,
            request=request,
            target=parser,
            details={"before": before, "after": _parser_snapshot(parser)},
        )
    return parser


def delete_custom_parser(*, parser: CustomParser, actor, request=None) -> None:
    """Delete a parser no data source or report uses."""
    tenant = current_tenant()
    users = [s.name for s in DataSource.objects.filter(custom_parser=parser)[:3]]
    users += [r.name for r in Report.objects.filter(custom_parser=parser, data_source=None)[:3]]
    if users:
        raise DiscoveryRefused(
            f"“{parser.name}” is in use by {', '.join(users)}; delete or change those first.",
            "parser",
        )
    with transaction.atomic(using=tenant.db_alias):
        audit.record(
            tenant,
            "discovery.parser_deleted",
            actor=actor,
            request=request,
            target=parser,
            details={"name": parser.name},
        )
        parser.delete()


@dataclass(frozen=True)
class TriedLine:
    """One sample line read with a definition: its record, or why it gives none (`ignored`:
    a header or comment, which a log may hold; otherwise the line would be skipped)."""

    number: int
    record: dict | None = None
    reason: str = ""
    ignored: bool = False


def try_definition(definition: ParserDefinition, sample: str) -> list[TriedLine]:
    """Parse the first lines of `sample` with the definition; nothing is stored."""
    if CUSTOM not in formats():
        raise DiscoveryRefused("The custom format is not available in this version.", "sample")
    parser = make_parser(CUSTOM, definition.unsaved())
    results: list[TriedLine] = []
    for number, line in enumerate(sample.splitlines()[:TRY_MAX_LINES], 1):
        try:
            record = parser.parse(line)
        except BadLine as exc:
            results.append(TriedLine(number, reason=str(exc)))
            continue
        except Exception as exc:  # a definition the parser cannot use: say so, never a 500
            results.append(TriedLine(number, reason=f"cannot be read ({type(exc).__name__})"))
            continue
        if record is None:
            results.append(TriedLine(number, reason="header or comment", ignored=True))
            continue
        ts, src, user, host, dst_ip, up, down, blocked = record
        results.append(
            TriedLine(
                number,
                record={
                    "time": datetime.fromtimestamp(ts, UTC),
                    "src_ip": src,
                    "user": user,
                    "host": host,
                    "dst_ip": dst_ip,
                    "bytes_up": up,
                    "bytes_down": down,
                    "blocked": blocked,
                },
            )
        )
    if not results:
        raise DiscoveryRefused("Paste a few lines of the log to try.", "sample")
    return results
