"""Parse, match and aggregate one upload: the Cloud Discovery hot path.

`process(upload_id)` runs in a Celery task inside the tenant's scope. It streams every spooled
file (plain, gzip or zip, told by their first bytes, never by their names) line by line through
the report's parser, folds the records into per-day aggregates in memory, and writes them with
the upload's final status in one transaction: an upload applies entirely or not at all. Memory
holds the distinct (day, host, source, user) keys, not lines, and is folded down whenever it
passes `FOLD_AT` keys, so it stays flat whatever the file size.

Refusals (the upload fails with the reason, nothing is applied):
- a file that is not text (binary content), or an archive that cannot be read;
- a file in which none of the first `SNIFF_LINES` lines reads as the declared format ("this is
  not a Squid (native) log");
- an upload with no transaction at all, or larger than DISCOVERY_MAX_UNCOMPRESSED_BYTES.
Lines that cannot be read are skipped, counted per reason, and the first `SAMPLES` are kept
with their file and line number (not their content).

A duplicate delivery of the task is harmless: a run claims the upload first (queued, or parsing
with a heartbeat older than `STALE_AFTER`, i.e. its worker died), keeps the claim alive with a
heartbeat while it parses, and the final transaction locks the upload row and applies nothing
unless the upload is still unfinished. `resume_stalled` (beat) sends again the uploads whose
message was lost or whose worker died.
"""

from __future__ import annotations

import gzip
import io
import logging
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.compliance.inventory import retention_days
from apps.compliance.models import DataKind
from apps.tenants.scoping import current_tenant

from . import spool
from .anonymize import Pseudonymizer
from .catalog import Matcher
from .models import (
    AppDay,
    AppIpDay,
    AppUserDay,
    CustomApp,
    DataSource,
    Report,
    Upload,
    UploadStatus,
)
from .parsers import BadLine, make_parser

log = logging.getLogger(__name__)

SNIFF_LINES = 100  # none of a file's first N record lines parse -> not this format
SAMPLES = 20  # skipped lines kept (file, line number, reason)
FOLD_AT = 250_000  # distinct fine keys before folding into the report aggregates
PROGRESS_EVERY = 1 << 16  # lines between progress writes
DAY = 86400
STALE_AFTER = timedelta(minutes=5)  # no heartbeat for this long: the worker is gone
REDISPATCH_AFTER = timedelta(minutes=10)  # queued this long since its message: send again


class Refused(Exception):
    """The upload cannot be applied; the message is shown to the admin as it is."""


@dataclass
class Tally:
    """Counters of one run (also what the benchmark reads)."""

    lines: int = 0
    parsed: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)

    def skip(self, reason: str, name: str, number: int) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if len(self.samples) < SAMPLES:
            self.samples.append({"file": name, "line": number, "reason": reason})


class Aggregates:
    """Per-day totals keyed three ways, as the report tables store them."""

    def __init__(self, matcher: Matcher, pseudonymizer: Pseudonymizer | None) -> None:
        self.matcher = matcher
        self.pseudonymizer = pseudonymizer
        self.fine: dict[tuple, list[int]] = {}
        self.apps: dict[tuple, list[int]] = {}  # (day, app, domain) -> [tx, up, down, blocked]
        self.users: dict[tuple, list[int]] = {}  # (day, app, user) -> [tx, up, down]
        self.ips: dict[tuple, list[int]] = {}  # (day, app, ip) -> [tx, up, down]
        self._user_names: dict[str, str] = {}

    def _user(self, raw: str) -> str:
        name = self._user_names.get(raw)
        if name is None:
            if self.pseudonymizer is not None:
                name = self.pseudonymizer.pseudonym(raw)
            else:
                name = raw.strip().lower()
            self._user_names[raw] = name
        return name

    def fold(self) -> None:
        """Move the fine (day, host, source, user) totals into the three report shapes."""
        cache, match = self.matcher.cache, self.matcher.match
        names, name_of = self._user_names, self._user
        apps, users, ips = self.apps, self.users, self.ips
        for (day, host, src, user), (tx, up, down, blocked) in self.fine.items():
            found = cache.get(host) or match(host)
            app = found[0]
            key = (day, app, found[1])
            row = apps.get(key)
            if row is None:
                apps[key] = [tx, up, down, int(blocked)]
            else:
                row[0] += tx
                row[1] += up
                row[2] += down
                row[3] += blocked
            key = (day, app, src)
            row = ips.get(key)
            if row is None:
                ips[key] = [tx, up, down]
            else:
                row[0] += tx
                row[1] += up
                row[2] += down
            if user:
                key = (day, app, names.get(user) or name_of(user))
                row = users.get(key)
                if row is None:
                    users[key] = [tx, up, down]
                else:
                    row[0] += tx
                    row[1] += up
                    row[2] += down
        self.fine = {}


def _decompressed(raw: io.BufferedIOBase, name: str) -> Iterator[tuple[str, io.BufferedIOBase]]:
    """(label, byte stream) of each log inside one uploaded file, told by its magic bytes."""
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if head[:2] == b"\x1f\x8b":
        yield name, gzip.GzipFile(fileobj=raw, mode="rb")
    elif head == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as exc:
            raise Refused(f"{name} is not a readable zip archive ({exc}).") from None
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = archive.open(info)
            inner = io.BufferedReader(member)
            if inner.peek(2)[:2] == b"\x1f\x8b":
                yield f"{name}/{info.filename}", gzip.GzipFile(fileobj=inner, mode="rb")
            else:
                yield f"{name}/{info.filename}", inner
    else:
        yield name, raw


class _Capped(io.RawIOBase):
    """Counts the uncompressed bytes read through it and refuses past the upload's limit."""

    def __init__(self, inner, budget: list[int]) -> None:
        super().__init__()
        self._inner = inner
        self._budget = budget  # [bytes left], shared by every file of the upload

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        size = len(data)
        self._budget[0] -= size
        if self._budget[0] < 0:
            limit = settings.DISCOVERY_MAX_UNCOMPRESSED_BYTES
            raise Refused(f"The upload expands to more than {limit:,} bytes uncompressed.")
        buffer[:size] = data
        return size


def _text(stream, name: str, budget: list[int]) -> io.TextIOWrapper:
    buffered = io.BufferedReader(_Capped(stream, budget), buffer_size=1 << 18)
    try:
        head = buffered.peek(8192)[:8192]
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise Refused(f"{name} could not be decompressed ({exc}).") from None
    if b"\x00" in head:
        raise Refused(f"{name} is not a text log file (it holds binary data).")
    return io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline=None)


class Run:
    """One upload's processing; `feed` is also what the benchmark drives without a database."""

    def __init__(
        self,
        *,
        parser_factory,
        matcher: Matcher,
        pseudonymizer,
        label: str,
        max_age_days: int | None = None,
    ) -> None:
        self.parser_factory = parser_factory
        self.label = label
        self.tally = Tally()
        self.aggregates = Aggregates(matcher, pseudonymizer)
        now = int(time.time())
        # The tenant's discovery retention: older lines would only be purged the next night.
        self.max_age_days = max_age_days or settings.DISCOVERY_MAX_AGE_DAYS
        self.min_ts = now - self.max_age_days * DAY
        self.max_ts = now + DAY
        self.progress = None  # callable(tally) every PROGRESS_EVERY lines

    def feed(self, lines, name: str) -> None:
        """Parse one file's lines (an iterable of str) into the aggregates."""
        parse = self.parser_factory().parse
        tally = self.tally
        fine = self.aggregates.fine
        min_ts, max_ts = self.min_ts, self.max_ts
        number = 0
        parsed_here = 0
        skipped_here = 0
        for number, line in enumerate(lines, 1):
            try:
                record = parse(line)
            except BadLine as exc:
                tally.skip(str(exc), name, number)
                skipped_here += 1
                if not parsed_here and skipped_here >= SNIFF_LINES:
                    raise Refused(self._not_format(name)) from None
                continue
            if record is None:
                continue
            ts, src, user, host, dst_ip, up, down, blocked = record
            if ts < min_ts or ts > max_ts:
                reason = (
                    f"older than {self.max_age_days} days" if ts < min_ts else "dated in the future"
                )
                tally.skip(reason, name, number)
                skipped_here += 1
                continue
            parsed_here += 1
            key = (ts // DAY, host or dst_ip, src, user)
            row = fine.get(key)
            if row is None:
                fine[key] = [1, up, down, blocked]
                if len(fine) >= FOLD_AT:
                    self.aggregates.fold()
                    fine = self.aggregates.fine
            else:
                row[0] += 1
                row[1] += up
                row[2] += down
                row[3] += blocked
            if not number & (PROGRESS_EVERY - 1) and self.progress is not None:
                self.progress(tally.lines + number, tally.parsed + parsed_here)
        tally.lines += number
        tally.parsed += parsed_here
        if number and not parsed_here and skipped_here:
            raise Refused(self._not_format(name))

    def _not_format(self, name: str) -> str:
        first = self.tally.samples[0]["reason"] if self.tally.samples else "unreadable"
        return (
            f"{name} is not a {self.label} log: none of its lines could be read as one "
            f"(first problem: {first})."
        )

    def finish(self) -> Aggregates:
        self.aggregates.fold()
        if not self.tally.parsed:
            if self.tally.skipped:
                raise Refused(
                    f"No line of the upload could be used: {self.tally.skipped:,} were skipped "
                    f"({_reason_summary(self.tally.reasons)})."
                )
            raise Refused("The upload holds no transactions (the files are empty).")
        return self.aggregates


def _reason_summary(reasons: dict[str, int]) -> str:
    top = sorted(reasons.items(), key=lambda item: -item[1])[:3]
    return "; ".join(f"{count:,} {reason}" for reason, count in top)


# --- writing the aggregates ---------------------------------------------------------------

_TABLES = (
    (AppDay, ("app", "domain"), ("transactions", "bytes_up", "bytes_down", "blocked")),
    (AppUserDay, ("app", "user"), ("transactions", "bytes_up", "bytes_down")),
    (AppIpDay, ("app", "ip"), ("transactions", "bytes_up", "bytes_down")),
)


def _rows(shape: dict, tenant_id, report_id, portable: bool):
    tenant = tenant_id if not portable else tenant_id.hex
    report = report_id if not portable else report_id.hex
    epoch = date(1970, 1, 1)
    days: dict[int, date] = {}
    for (day, first, second), values in shape.items():
        when = days.get(day)
        if when is None:
            when = days[day] = epoch + timedelta(days=day)
        row_id = uuid.uuid4()
        yield (row_id.hex if portable else row_id, tenant, report, when, first, second, *values)


def write_aggregates(report: Report, aggregates: Aggregates) -> int:
    """Add the aggregates to the report's tables (upsert: continuous reports accumulate)."""
    tenant = current_tenant()
    connection = connections[tenant.db_alias]
    shapes = (aggregates.apps, aggregates.users, aggregates.ips)
    written = 0
    for (model, keys, sums), shape in zip(_TABLES, shapes, strict=True):
        if not shape:
            continue
        table = model._meta.db_table
        q = connection.ops.quote_name  # "user" is a reserved word
        columns = ["id", "tenant_id", "report_id", "day", *keys, *sums]
        conflict = ", ".join(q(c) for c in ["report_id", "day", *keys])
        updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in sums)
        names = ", ".join(q(c) for c in columns)
        if connection.vendor == "postgresql":
            staging = f"discovery_staging_{model._meta.model_name}"
            with connection.cursor() as wrapper:
                cursor = wrapper.cursor
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                    f"(LIKE {table}) ON COMMIT DELETE ROWS"
                )
                with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                    for row in _rows(shape, tenant.id, report.pk, portable=False):
                        copy.write_row(row)
                # Identifiers come from model metadata; nothing here is input.
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "  # noqa: S608
                    f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
                )
                cursor.execute(f"TRUNCATE {staging}")
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = (
                f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608 (as above)
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
            )
            with connection.cursor() as cursor:
                cursor.executemany(sql, list(_rows(shape, tenant.id, report.pk, portable=True)))
        written += len(shape)
    return written


# --- the task body -------------------------------------------------------------------------


def _custom_domains() -> dict[str, str]:
    index: dict[str, str] = {}
    for app in CustomApp.objects.all():
        for domain in app.domains:
            index[str(domain).lower()] = app.key
    return index


def matcher_for_tenant() -> Matcher:
    return Matcher(_custom_domains())


def _day_bounds(aggregates: Aggregates) -> tuple[datetime | None, datetime | None]:
    days = {key[0] for key in aggregates.apps}
    if not days:
        return None, None
    start = datetime.fromtimestamp(min(days) * DAY, tz=UTC)
    end = datetime.fromtimestamp((max(days) + 1) * DAY - 1, tz=UTC)
    return start, end


def process(upload_id) -> str:
    """Process one upload (idempotent). Returns its final status."""
    tenant = current_tenant()
    upload = Upload.objects.select_related("report", "report__custom_parser").filter(pk=upload_id)
    upload = upload.first()
    if upload is None or upload.finished:
        return upload.status if upload else "missing"
    now = timezone.now()
    claimed = (
        Upload.objects.filter(pk=upload.pk)
        .filter(
            Q(status=UploadStatus.QUEUED)
            | Q(status=UploadStatus.PARSING, heartbeat_at__lt=now - STALE_AFTER)
            | Q(status=UploadStatus.PARSING, heartbeat_at__isnull=True)
        )
        .update(status=UploadStatus.PARSING, started_at=now, heartbeat_at=now)
    )
    if not claimed:  # another worker is parsing it right now
        return "busy"
    report = upload.report
    run = Run(
        parser_factory=lambda: make_parser(report.log_format, report.custom_parser),
        matcher=matcher_for_tenant(),
        pseudonymizer=Pseudonymizer(tenant) if upload.anonymize else None,
        label=_format_label(report.log_format, report.custom_parser),
        max_age_days=retention_days(DataKind.DISCOVERY),
    )
    try:
        aggregates, done_bytes = _parse_files(upload, run)
    except Refused as exc:
        return _fail(upload, str(exc), run.tally)
    except Exception as exc:
        log.exception("discovery upload %s failed", upload.pk)
        _fail(upload, f"Processing failed unexpectedly ({type(exc).__name__}); try again.")
        raise
    start, end = _day_bounds(aggregates)
    now = timezone.now()
    with transaction.atomic(using=tenant.db_alias):
        locked = Upload.objects.select_for_update().filter(pk=upload.pk).first()
        if locked is None or locked.finished:  # a duplicate delivery finished it first
            return locked.status if locked else "missing"
        write_aggregates(report, aggregates)
        Upload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.DONE,
            finished_at=now,
            bytes_done=done_bytes,
            lines_done=run.tally.lines,
            lines_parsed=run.tally.parsed,
            lines_skipped=run.tally.skipped,
            skip_reasons=run.tally.reasons,
            skip_samples=run.tally.samples,
            traffic_from=start,
            traffic_until=end,
        )
        Report.objects.filter(pk=report.pk).update(last_data_at=now)
        if report.data_source_id:
            DataSource.objects.filter(pk=report.data_source_id).update(last_data_at=now)
    transaction.on_commit(lambda: _drop_spool(upload), using=tenant.db_alias)
    return UploadStatus.DONE


def _format_label(key: str, custom) -> str:
    from .parsers import formats

    if custom is not None:
        return f"custom format '{custom.name}'"
    cls = formats().get(key)
    return cls.label if cls else key


def _parse_files(upload: Upload, run: Run) -> tuple[Aggregates, int]:
    tenant = current_tenant()
    budget = [settings.DISCOVERY_MAX_UNCOMPRESSED_BYTES]
    done_before = 0
    state = {"reader": None, "last": 0.0}

    def progress(lines: int, parsed: int) -> None:
        now = time.monotonic()
        if now - state["last"] < 1.0:
            return
        state["last"] = now
        reader = state["reader"]
        Upload.objects.filter(pk=upload.pk).update(
            heartbeat_at=timezone.now(),
            bytes_done=done_before + (reader.tell() if reader else 0),
            lines_done=lines,
            lines_parsed=parsed,
            lines_skipped=run.tally.skipped,
        )

    run.progress = progress
    for item in upload.files:
        if not spool.exists(tenant.id, item["spool"]):
            raise Refused(f"{item['name']} is no longer in the spool; upload it again.")
        reader = spool.SpoolReader(tenant.id, item["spool"], item["size"])
        state["reader"] = reader
        try:
            buffered = io.BufferedReader(reader, buffer_size=1 << 18)
            for label, stream in _decompressed(buffered, item["name"]):
                try:
                    run.feed(_text(stream, label, budget), label)
                except (OSError, EOFError, zipfile.BadZipFile) as exc:
                    raise Refused(f"{label} could not be read to its end ({exc}).") from None
        finally:
            reader.close()
        done_before += item["size"]
    return run.finish(), done_before


def _fail(upload: Upload, reason: str, tally: Tally | None = None) -> str:
    counters = {}
    if tally is not None:
        counters = dict(
            lines_done=tally.lines,
            lines_parsed=tally.parsed,
            lines_skipped=tally.skipped,
            skip_reasons=tally.reasons,
            skip_samples=tally.samples,
        )
    Upload.objects.filter(pk=upload.pk).exclude(status=UploadStatus.DONE).update(
        status=UploadStatus.FAILED, error=reason, finished_at=timezone.now(), **counters
    )
    _drop_spool(upload)
    return UploadStatus.FAILED


def _drop_spool(upload: Upload) -> None:
    for item in upload.files:
        spool.delete(upload.tenant_id, item["spool"])


def resume_stalled(now: datetime | None = None) -> int:
    """Beat, every geo database: send again each upload still queued long after its message
    was sent (the message was lost) or parsing with no heartbeat (the worker died). A
    conditional update marks it first, so two sweeps never both send it."""
    from apps.tenants.routing import geo_aliases

    from .tasks import process_upload

    now = now or timezone.now()
    sent = 0
    for alias in sorted(geo_aliases() | {"default"}):
        rows = Upload.unscoped_objects.using(alias)
        due = rows.filter(
            Q(status=UploadStatus.QUEUED, dispatched_at__lt=now - REDISPATCH_AFTER)
            | Q(status=UploadStatus.QUEUED, dispatched_at__isnull=True)
            | Q(status=UploadStatus.PARSING, heartbeat_at__lt=now - STALE_AFTER)
        ).filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - STALE_AFTER))
        for pk, tenant_id, dispatched_at in due.values_list("pk", "tenant_id", "dispatched_at")[
            :200
        ]:
            same = rows.filter(pk=pk)
            same = (
                same.filter(dispatched_at__isnull=True)
                if dispatched_at is None
                else same.filter(dispatched_at=dispatched_at)
            )
            if same.update(dispatched_at=now):
                process_upload.delay(str(tenant_id), str(pk))
                sent += 1
    return sent
