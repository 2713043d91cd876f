"""Writes of Cloud Discovery: reports, data sources, uploads and resolving pseudonyms.

Every function takes the tenant's scope from the caller (console view, API viewset, task or
command) and names its actor. Uploads are spooled (encrypted) before their row is written and
parsed by a Celery task enqueued on commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.gate import collection_stopped
from apps.tenants.scoping import current_tenant
from apps.tenants.tasking import enqueue_on_commit

from . import spool
from .anonymize import NotAPseudonym, Pseudonymizer, normalise
from .models import (
    CustomParser,
    DataSource,
    DiscoverySettings,
    Receiver,
    Report,
    ReportKind,
    Upload,
    UploadSource,
)
from .parsers import CUSTOM, formats

MAX_FILES = 20  # per upload (spec 5.1)


class DiscoveryRefused(ValueError):
    """A request that cannot be carried out; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IncomingFile:
    """One uploaded file: its name as sent and its bytes in chunks (any sizes)."""

    name: str
    chunks: Iterable[bytes]


def settings_for_tenant() -> DiscoverySettings:
    """The tenant's discovery settings row (made with the defaults on first use)."""
    found = DiscoverySettings.objects.first()
    if found is None:
        found, _ = DiscoverySettings.objects.get_or_create(tenant_id=current_tenant().id)
    return found


def _actor_fields(actor) -> dict:
    """The creator columns: a person, a token (acting for its creator) or a label."""
    actor_id, label = audit.actor_fields(actor)
    return {"created_by_id": actor_id, "created_by_label": label[:254]}


def check_format(log_format: str, custom_parser: CustomParser | None) -> None:
    if log_format not in formats():
        raise DiscoveryRefused(f"Unknown log format {log_format!r}.", "log_format")
    if log_format == CUSTOM and custom_parser is None:
        raise DiscoveryRefused("The custom format needs a custom parser.", "custom_parser")
    if log_format != CUSTOM and custom_parser is not None:
        raise DiscoveryRefused("A custom parser goes with the custom format only.", "custom_parser")


def _spool_files(files: list[IncomingFile]) -> list[dict]:
    if not files:
        raise DiscoveryRefused("Choose at least one log file.", "files")
    if len(files) > MAX_FILES:
        raise DiscoveryRefused(f"At most {MAX_FILES} files per upload.", "files")
    tenant = current_tenant()
    spooled: list[dict] = []
    try:
        for item in files:
            name = (item.name or "upload.log").replace("/", "_").replace("\\", "_")[:200]
            spool_name, size = spool.write(tenant.id, item.chunks)
            spooled.append({"name": name, "size": size, "spool": spool_name})
    except spool.SpoolTooLarge as exc:
        _unspool(spooled)
        raise DiscoveryRefused(f"{exc}.", "files") from None
    except BaseException:
        _unspool(spooled)
        raise
    if not any(item["size"] for item in spooled):
        _unspool(spooled)
        raise DiscoveryRefused("The files are empty.", "files")
    return spooled


def _unspool(spooled: list[dict]) -> None:
    tenant = current_tenant()
    for item in spooled:
        spool.delete(tenant.id, item["spool"])


def _start(report: Report, spooled: list[dict], *, source: str, actor) -> Upload:
    from .tasks import process_upload

    upload = Upload.objects.create(
        report=report,
        source=source,
        files=spooled,
        anonymize=report.anonymize,
        bytes_total=sum(item["size"] for item in spooled),
        dispatched_at=timezone.now(),
        **_actor_fields(actor),
    )
    tenant = current_tenant()
    # On commit of the tenant's own database: the upload row is written there.
    enqueue_on_commit(process_upload, str(tenant.id), str(upload.pk), using=tenant.db_alias)
    return upload


def _refuse_when_not_collecting(tenant) -> None:
    stopped = collection_stopped(tenant)
    if stopped:
        raise DiscoveryRefused(stopped)


def create_snapshot(
    *,
    name: str,
    log_format: str,
    files: list[IncomingFile],
    actor,
    request=None,
    description: str = "",
    custom_parser: CustomParser | None = None,
    anonymize: bool | None = None,
    source: str = UploadSource.CONSOLE,
) -> Upload:
    """A snapshot report from uploaded files; parsing starts once the transaction commits."""
    tenant = current_tenant()
    _refuse_when_not_collecting(tenant)
    check_format(log_format, custom_parser)
    if not name.strip():
        raise DiscoveryRefused("Give the report a name.", "name")
    if anonymize is None:
        anonymize = settings_for_tenant().anonymize_by_default
    spooled = _spool_files(files)
    try:
        with transaction.atomic(using=tenant.db_alias):
            report = Report.objects.create(
                name=name.strip()[:100],
                description=description,
                kind=ReportKind.SNAPSHOT,
                log_format=log_format,
                custom_parser=custom_parser,
                anonymize=anonymize,
                **_actor_fields(actor),
            )
            upload = _start(report, spooled, source=source, actor=actor)
            audit.record(
                tenant,
                "discovery.snapshot_created",
                actor=actor,
                request=request,
                target=report,
                details={"files": [f["name"] for f in spooled], "format": log_format},
            )
    except BaseException:
        _unspool(spooled)
        raise
    return upload


def create_data_source(
    *,
    name: str,
    log_format: str,
    actor,
    request=None,
    receiver: str = Receiver.API,
    port: int | None = None,
    custom_parser: CustomParser | None = None,
    anonymize: bool | None = None,
) -> DataSource:
    """A data source and its continuous report."""
    tenant = current_tenant()
    check_format(log_format, custom_parser)
    if not name.strip():
        raise DiscoveryRefused("Give the data source a name.", "name")
    if DataSource.objects.filter(name=name.strip()).exists():
        raise DiscoveryRefused("A data source with this name exists.", "name")
    if receiver != Receiver.API and not port:
        raise DiscoveryRefused("A syslog data source needs a port.", "port")
    if anonymize is None:
        anonymize = settings_for_tenant().anonymize_by_default
    with transaction.atomic(using=tenant.db_alias):
        source = DataSource.objects.create(
            name=name.strip()[:100],
            log_format=log_format,
            custom_parser=custom_parser,
            receiver=receiver,
            port=port if receiver != Receiver.API else None,
            anonymize=anonymize,
        )
        Report.objects.create(
            name=source.name,
            kind=ReportKind.CONTINUOUS,
            data_source=source,
            log_format=log_format,
            custom_parser=custom_parser,
            anonymize=anonymize,
            **_actor_fields(actor),
        )
        audit.record(
            tenant,
            "discovery.source_created",
            actor=actor,
            request=request,
            target=source,
            details={"format": log_format, "receiver": receiver, "anonymize": anonymize},
        )
    return source


def upload_to_source(
    *, data_source: DataSource, files: list[IncomingFile], actor, source: str
) -> Upload:
    """Feed a data source's continuous report with more log files."""
    tenant = current_tenant()
    _refuse_when_not_collecting(tenant)
    report = Report.objects.get(data_source=data_source)
    spooled = _spool_files(files)
    try:
        with transaction.atomic(using=tenant.db_alias):
            # The report follows its source's current settings (anonymisation applies to uploads
            # from now on, never to what is stored).
            Report.objects.filter(pk=report.pk).update(
                anonymize=data_source.anonymize,
                log_format=data_source.log_format,
                custom_parser=data_source.custom_parser,
            )
            report.anonymize = data_source.anonymize
            return _start(report, spooled, source=source, actor=actor)
    except BaseException:
        _unspool(spooled)
        raise


def resolve_pseudonym(*, pseudonym: str, justification: str, actor, request=None) -> str:
    """The username behind a pseudonym; the justification goes to the audit log first."""
    tenant = current_tenant()
    _need_justification(justification)
    try:
        name = Pseudonymizer(tenant).resolve(pseudonym)
    except NotAPseudonym as exc:
        raise DiscoveryRefused(str(exc).capitalize() + ".", "pseudonym") from None
    audit.record(
        tenant,
        "discovery.pseudonym_resolved",
        actor=actor,
        request=request,
        details={"pseudonym": pseudonym.strip().lower(), "justification": justification.strip()},
    )
    return name


def find_pseudonym(*, username: str, justification: str, actor, request=None) -> str:
    """The pseudonym a known user has in this tenant's anonymised reports (audited)."""
    tenant = current_tenant()
    _need_justification(justification)
    if not normalise(username):
        raise DiscoveryRefused("Enter a username.", "username")
    pseudonym = Pseudonymizer(tenant).pseudonym(username)
    audit.record(
        tenant,
        "discovery.pseudonym_looked_up",
        actor=actor,
        request=request,
        details={"pseudonym": pseudonym, "justification": justification.strip()},
    )
    return pseudonym


def resolve(*, direction: str, value: str, justification: str, actor, request=None) -> str:
    """ "from": the username behind pseudonym `value`; "to": the pseudonym of username `value`.
    Refusals name the field `value` (the form's and the API's one input for both)."""
    try:
        if direction == "from":
            return resolve_pseudonym(
                pseudonym=value, justification=justification, actor=actor, request=request
            )
        return find_pseudonym(
            username=value, justification=justification, actor=actor, request=request
        )
    except DiscoveryRefused as exc:
        if exc.field in ("pseudonym", "username"):
            exc.field = "value"
        raise


def _need_justification(text: str) -> None:
    if len((text or "").strip()) < 10:
        raise DiscoveryRefused(
            "Write the business justification (at least 10 characters); it is kept in the "
            "audit log.",
            "justification",
        )
