"""What content inspection keeps: file metadata and masked matches, never file content.

- `FileRecord`: one file we inspected, from a connected app (its id in the app), a proxy over
  ICAP, or an upload to the API: name, size, type, SHA-256, owner, app, location, sharing level,
  when it was scanned, the scan status ("not scanned: too large" ...) and the verdict.
- `Match`: one sensitive information type found in one file: how many, the best confidence, and
  a few samples (where in the file, offsets, evidence with digits as `#` and letters as `X`, at
  most 100 characters of digit-masked context) sealed with the tenant key (`SAMPLES_PURPOSE`).
- `CustomSensitiveType`: a tenant's own type (a regex and/or keywords); `DlpSettings`: the
  tenant's thresholds for built-in types.
- `IcapSettings`: the tenant's ICAP service: on/off, the digest of its secret (shown once), and
  whether a policy's "block" verdict blocks or only records (monitor).

File policies are `alerts.Policy` rows of kind `file` (their conditions in `filters`, their
actions in `governance`), so they share alerts, daily limits and the governance log.
"""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel

SAMPLES_PURPOSE = "dlp.match_samples"


class FileSource(models.TextChoices):
    APP = "app", "Connected app"
    ICAP = "icap", "ICAP"
    API = "api", "API upload"


class FileType(models.IntegerChoices):
    """The reference product's file types (spec 7.5, appendix C)."""

    OTHER = 0, "Other"
    DOCUMENT = 1, "Document"
    SPREADSHEET = 2, "Spreadsheet"
    PRESENTATION = 3, "Presentation"
    TEXT = 4, "Text"
    IMAGE = 5, "Image"
    FOLDER = 6, "Folder"


# extract.Extraction.file_type -> FileType
FILE_TYPE_OF = {
    "document": FileType.DOCUMENT,
    "spreadsheet": FileType.SPREADSHEET,
    "presentation": FileType.PRESENTATION,
    "text": FileType.TEXT,
    "image": FileType.IMAGE,
    "folder": FileType.FOLDER,
    "other": FileType.OTHER,
}


class AccessLevel(models.IntegerChoices):
    """Who a file is shared with (spec 3.3 / 7.5); "shared" means anything above private."""

    PRIVATE = 0, "Private"
    INTERNAL = 1, "Internal"
    EXTERNAL = 2, "External"
    PUBLIC = 3, "Public"
    PUBLIC_INTERNET = 4, "Public (Internet)"


class ScanStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SCANNED = "scanned", "Completed"
    NOT_SCANNED = "not_scanned", "Not scanned"


class Verdict(models.TextChoices):
    NONE = "", "—"  # not scanned yet, or not scanned (the status says why)
    CLEAN = "clean", "No matches"
    MATCHED = "matched", "Matches"
    BLOCKED = "blocked", "Blocked"  # a file policy said block (ICAP answered with a block page)


class FileRecord(TenantOwnedModel):
    """One inspected file: metadata, scan status, verdict (see the module docstring)."""

    source = models.CharField(max_length=8, choices=FileSource.choices)
    app_instance = models.ForeignKey(
        "connectors.AppInstance", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The app's id of the file (connected apps); empty for ICAP and API scans.
    external_id = models.CharField(max_length=300, blank=True)
    name = models.CharField(max_length=500)
    extension = models.CharField(max_length=32, blank=True)  # lower case, without the dot
    size = models.BigIntegerField(default=0)
    mime_type = models.CharField(max_length=200, blank=True)
    file_type = models.PositiveSmallIntegerField(choices=FileType.choices, default=FileType.OTHER)
    sha256 = models.CharField(max_length=64, blank=True)
    # The owner as the app (or the proxy's X-Authenticated-User) names them, and our link to
    # the account and the person when we know them.
    owner = models.CharField(max_length=254, blank=True)
    owner_account = models.ForeignKey(
        "accounts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_user = models.ForeignKey(
        "accounts.CloudUser", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    location = models.CharField(max_length=1000, blank=True)  # folder path, or the request URL
    access_level = models.PositiveSmallIntegerField(
        choices=AccessLevel.choices, default=AccessLevel.PRIVATE
    )
    # Domains outside the organisation the file is shared with (the collaborators' domains).
    external_domains = models.JSONField(default=list, blank=True)
    quarantined = models.BooleanField(default=False)
    modified_in_app_at = models.DateTimeField(null=True, blank=True)
    scan_status = models.CharField(
        max_length=12, choices=ScanStatus.choices, default=ScanStatus.PENDING
    )
    scan_reason = models.CharField(max_length=200, blank=True)  # why not scanned, in words
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True, default="")
    match_count = models.PositiveIntegerField(default=0)  # occurrences over all types
    matched_types = models.JSONField(default=list, blank=True)  # type keys, for filtering
    matched_policies = models.JSONField(default=list, blank=True)  # ids of file policies (str)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scanned_at", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "app_instance", "external_id"],
                condition=~models.Q(external_id=""),
                name="one_record_per_app_file",
            )
        ]
        indexes = [
            models.Index(fields=["tenant_id", "-scanned_at"], name="file_recent"),
            models.Index(fields=["tenant_id", "verdict"], name="file_verdict"),
            models.Index(fields=["tenant_id", "sha256"], name="file_sha256"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def status_text(self) -> str:
        """ "Completed", "Pending" or "not scanned: <reason>", as the Files page shows it."""
        if self.scan_status == ScanStatus.NOT_SCANNED:
            return f"not scanned: {self.scan_reason}" if self.scan_reason else "not scanned"
        return self.get_scan_status_display()


class Match(TenantOwnedModel):
    """One sensitive information type found in one file (see the module docstring).

    `samples_sealed` opens (purpose SAMPLES_PURPOSE) to a JSON list of at most
    `detection.engine.MAX_MATCHES` samples: {"part", "start", "end", "evidence", "context",
    "confidence"}; `services.samples(match)` reads it.
    """

    file = models.ForeignKey(FileRecord, on_delete=models.CASCADE, related_name="matches")
    type_key = models.CharField(max_length=64)
    type_label = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    confidence = models.CharField(max_length=8)  # low / medium / high
    samples_sealed = models.BinaryField()

    class Meta:
        ordering = ["-count", "type_key"]
        constraints = [
            models.UniqueConstraint(fields=["file", "type_key"], name="one_match_row_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.type_label} x {self.count}"


class Confidence(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class CustomSensitiveType(TenantOwnedModel):
    """A tenant-defined sensitive information type: a regex and/or a keyword list.

    The regex follows the reference product's limits (case-insensitive, no unbounded
    quantifiers, non-capturing groups only); `detection.engine.CustomType` runs it.
    """

    name = models.CharField(max_length=120)
    key = models.SlugField(max_length=64)  # "custom_<slug>", the type key in matches
    regex = models.CharField(max_length=500, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    keywords_required = models.BooleanField(default=False)
    min_count = models.PositiveIntegerField(default=1)
    min_confidence = models.PositiveSmallIntegerField(
        choices=Confidence.choices, default=Confidence.MEDIUM
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "key"], name="custom_type_unique_key"),
            models.UniqueConstraint(fields=["tenant_id", "name"], name="custom_type_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class DlpSettings(TenantOwnedModel):
    """A tenant's content inspection settings: per built-in type thresholds and switches.

    `thresholds` maps a built-in type key to {"min_count": n, "min_confidence": 1-3, "enabled":
    bool}; a key left out keeps the type's defaults.
    """

    thresholds = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="one_dlp_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"DLP settings of {self.tenant_id}"


class IcapMode(models.TextChoices):
    BLOCK = "block", "Block (a policy's block answers with the block page)"
    MONITOR = "monitor", "Monitor (record and alert, never block)"


class IcapSettings(TenantOwnedModel):
    """The tenant's ICAP service (`manage.py icapserver` serves every tenant's).

    Proxies call `icap://<host>:1344/<tenant slug>/reqmod` (or `/respmod`) and present the
    secret; only its SHA-256 is kept (`secret_prefix` lets an admin tell secrets apart).
    """

    enabled = models.BooleanField(default=False)
    secret_digest = models.CharField(max_length=64, blank=True)
    secret_prefix = models.CharField(max_length=8, blank=True)
    mode = models.CharField(max_length=8, choices=IcapMode.choices, default=IcapMode.BLOCK)
    block_message = models.CharField(
        max_length=500,
        blank=True,
        default="This file was blocked by your organisation's data protection policy.",
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="one_icap_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return f"ICAP settings of {self.tenant_id}"
