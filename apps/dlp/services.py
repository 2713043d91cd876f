"""Scanning a file: extract its text, find sensitive types, keep metadata and masked matches,
and apply the tenant's file policies, in one transaction.

`scan_file(name=..., data=..., source=..., meta=FileMeta(...))` is the one entry point of the
connectors' file scan, the ICAP server and the API upload. The content (`data`) lives only in
this call's memory: extraction never writes it anywhere, and what is stored is the file's
metadata (`FileRecord`) and one `Match` per type found, whose samples (evidence with digits as
`#` and letters as `X`, digit-masked context of at most 100 characters, offsets) are sealed with
the tenant key. A file seen before (same app and app id) is updated and its matches replaced.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from apps.compliance import crypto
from apps.integrations import outbox
from apps.integrations.models import EventKind
from apps.tenants.gate import refuse_when_collection_stopped
from apps.tenants.scoping import current_tenant

from . import file_policies
from .detection.engine import CustomType, Engine, TypeResult
from .detection.types import BUILTIN_TYPES
from .extract import Extraction, extract
from .extract.base import Limits
from .extract.detect import extension
from .models import (
    FILE_TYPE_OF,
    SAMPLES_PURPOSE,
    AccessLevel,
    CustomSensitiveType,
    DlpSettings,
    FileRecord,
    FileSource,
    Match,
    ScanStatus,
    Verdict,
)


@dataclass
class FileMeta:
    """What the caller knows about a file besides its bytes (all optional)."""

    app_instance: object | None = None
    external_id: str = ""
    owner: str = ""
    owner_account: object | None = None
    owner_user: object | None = None
    location: str = ""
    access_level: int = AccessLevel.PRIVATE
    external_domains: list[str] = field(default_factory=list)
    mime_type: str = ""  # the app's or the proxy's; ours (from the content) wins when known
    modified_in_app_at: datetime | None = None


@dataclass
class ScanResult:
    record: FileRecord
    extraction: Extraction
    results: dict[str, TypeResult]
    decision: file_policies.Decision


# --- The tenant's engine --------------------------------------------------------------------

_engines: dict = {}
_engines_lock = threading.Lock()


def _engine_version(settings: DlpSettings | None) -> tuple:
    custom = CustomSensitiveType.objects.aggregate(n=Count("id"), newest=Max("updated_at"))
    return (settings.updated_at if settings else None, custom["n"], custom["newest"])


def engine_for_tenant() -> Engine:
    """The current tenant's compiled engine (built-in types with its thresholds, its own
    types), rebuilt when its settings or custom types change."""
    tenant = current_tenant()
    settings = DlpSettings.objects.first()
    version = _engine_version(settings)
    cached = _engines.get(tenant.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    thresholds = settings.thresholds if settings else {}
    types = [t for t in BUILTIN_TYPES if thresholds.get(t.key, {}).get("enabled", True)]
    overrides = {
        key: (int(value.get("min_count", 1)), int(value.get("min_confidence", 2)))
        for key, value in thresholds.items()
        if isinstance(value, dict) and ("min_count" in value or "min_confidence" in value)
    }
    custom = [
        CustomType(
            key=c.key,
            label=c.name,
            regex=c.regex or None,
            keywords=tuple(c.keywords or ()),
            keywords_required=c.keywords_required,
            min_count=c.min_count,
            min_confidence=c.min_confidence,
        )
        for c in CustomSensitiveType.objects.filter(enabled=True)
    ]
    engine = Engine(types=types, custom=custom, overrides=overrides)
    with _engines_lock:
        _engines[tenant.id] = (version, engine)
    return engine


# --- Scanning -------------------------------------------------------------------------------


def _samples(extraction: Extraction, result: TypeResult) -> list[dict]:
    """The result's matches with their part and offsets within that part."""
    starts, offset = [], 0
    for part in extraction.parts:
        starts.append(offset)
        offset += len(part.text) + 1  # the "\n" Extraction.text joins with
    samples = []
    for match in result.matches:
        index = max(bisect.bisect_right(starts, match.start) - 1, 0)
        base = starts[index] if starts else 0
        samples.append(
            {
                "part": extraction.parts[index].name if extraction.parts else "",
                "start": match.start - base,
                "end": match.end - base,
                "evidence": match.evidence,
                "context": match.context,
                "confidence": match.confidence,
            }
        )
    return samples


def detect(extraction: Extraction) -> dict[str, TypeResult]:
    """What the tenant's engine finds in an extraction ({} when it was not scanned)."""
    if not extraction.scanned or not extraction.parts:
        return {}
    return engine_for_tenant().scan(extraction.text)


def scan_file(
    *,
    name: str,
    data: bytes,
    source: str,
    meta: FileMeta | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> ScanResult:
    """Scan one file and record it (see the module docstring). Raises `CollectionStopped`
    (nothing recorded) when the tenant's subscription does not run."""
    refuse_when_collection_stopped(current_tenant())
    meta = meta or FileMeta()
    now = now or timezone.now()
    digest = hashlib.sha256(data).hexdigest()
    extraction = extract(name, data, limits=limits)
    results = detect(extraction)
    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        record = None
        if meta.app_instance is not None and meta.external_id:
            record = (
                FileRecord.objects.select_for_update()
                .filter(app_instance=meta.app_instance, external_id=meta.external_id)
                .first()
            )
        if record is None:
            record = FileRecord(source=source)
        record.app_instance = meta.app_instance
        record.external_id = meta.external_id[:300]
        record.name = name[:500]
        record.extension = extension(name)[:32]
        record.size = extraction.size
        record.mime_type = (extraction.mime if extraction.kind != "binary" else "") or (
            meta.mime_type[:200]
        )
        record.file_type = FILE_TYPE_OF.get(extraction.file_type, 0)
        record.sha256 = digest
        record.owner = meta.owner[:254]
        record.owner_account = meta.owner_account
        record.owner_user = meta.owner_user
        record.location = meta.location[:1000]
        record.access_level = meta.access_level
        record.external_domains = sorted(set(meta.external_domains))[:50]
        record.modified_in_app_at = meta.modified_in_app_at
        record.scanned_at = now
        if extraction.scanned:
            record.scan_status, record.scan_reason = ScanStatus.SCANNED, ""
            record.verdict = Verdict.MATCHED if results else Verdict.CLEAN
        else:
            record.scan_status = ScanStatus.NOT_SCANNED
            record.scan_reason = extraction.reason[:200]
            record.verdict = Verdict.NONE
        record.match_count = sum(r.count for r in results.values())
        record.matched_types = sorted(results)
        record.save()
        Match.objects.filter(file=record).delete()
        Match.objects.bulk_create(
            [
                Match(
                    tenant_id=tenant.id,
                    file=record,
                    type_key=key,
                    type_label=result.label[:200],
                    count=result.count,
                    confidence=result.confidence,
                    samples_sealed=crypto.seal(
                        tenant.id,
                        json.dumps(_samples(extraction, result)).encode(),
                        SAMPLES_PURPOSE,
                    ),
                )
                for key, result in results.items()
            ]
        )
        decision = file_policies.apply(record, results, now=now)
        record.matched_policies = [str(pk) for pk in decision.policy_ids]
        if decision.block and source == FileSource.ICAP:
            # Only a proxy's file can be blocked; a file in an app is acted on by governance.
            record.verdict = Verdict.BLOCKED
        record.save(update_fields=["matched_policies", "verdict"])
        # Last statement: the outbox numbers its event under a lock held until this commits.
        outbox.append(EventKind.ALERT, decision.alert_ids)
    return ScanResult(record=record, extraction=extraction, results=results, decision=decision)
