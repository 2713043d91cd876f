"""Cloud Discovery: data sources, reports, uploads and the daily aggregates the reports read.

Pipeline (DESIGN.md "Data flow"): an upload's files are spooled encrypted, a Celery task streams
them through the data source's parser (`apps.discovery.parsers`), matches each destination to the
app catalog (`apps.discovery.catalog`), folds the lines into per-day aggregates in memory and
writes them in one transaction with the upload's final status: an upload applies entirely or not
at all. Raw log lines are never stored; the spool is deleted once the upload is done.

Apps are named by a key: a catalog app's slug, `custom-<uuid>` for a tenant's custom app, or ""
for traffic to hosts no app claims ("unrecognised", kept with its domain).
"""

from __future__ import annotations

from django.db import models

from apps.tenants.models import TenantOwnedModel

UNRECOGNISED = ""


class DiscoverySettings(TenantOwnedModel):
    """The tenant's discovery preferences: default anonymisation and the score metric weights."""

    anonymize_by_default = models.BooleanField(
        default=False, help_text="Anonymise usernames in new snapshot reports and data sources."
    )
    na_negative = models.BooleanField(
        default=False,
        help_text="Count attributes whose value is not available as a negative (0) instead of "
        "leaving them out of the score.",
    )
    # {"general": 2, ...} and {"soc2": 3, ...}: weight levels 0 (ignored) .. 4 (very high);
    # a missing entry is the default level (medium).
    group_weights = models.JSONField(default=dict, blank=True)
    attribute_weights = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id"], name="discovery_one_settings_per_tenant")
        ]

    def __str__(self) -> str:
        return "Discovery settings"


class CustomParser(TenantOwnedModel):
    """A log format the tenant defines: a delimiter and which column holds which field.

    Columns are named by the header line's names when `has_header`, else by 1-based position.
    """

    name = models.CharField(max_length=100)
    delimiter = models.CharField(max_length=4, default=",")
    has_header = models.BooleanField(default=True)
    timestamp_column = models.CharField(max_length=100)
    # A Python strptime format ("%d/%m/%Y %I:%M:%S %p"), or "epoch" / "epoch_ms".
    timestamp_format = models.CharField(max_length=100)
    src_ip_column = models.CharField(max_length=100)
    user_column = models.CharField(max_length=100, blank=True)
    host_column = models.CharField(
        max_length=100, blank=True, help_text="Destination host name or URL."
    )
    dst_ip_column = models.CharField(max_length=100, blank=True)
    bytes_up_column = models.CharField(max_length=100, blank=True)
    bytes_down_column = models.CharField(max_length=100, blank=True)
    bytes_total_column = models.CharField(max_length=100, blank=True)
    action_column = models.CharField(max_length=100, blank=True)
    blocked_term = models.CharField(
        max_length=100, blank=True, help_text="The action column's value for a blocked request."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="discovery_parser_name")
        ]

    def __str__(self) -> str:
        return self.name


class Receiver(models.TextChoices):
    API = "api", "API uploads"
    SYSLOG_UDP = "syslog_udp", "Syslog over UDP (log collector)"
    SYSLOG_TCP = "syslog_tcp", "Syslog over TCP (log collector)"


class DataSource(TenantOwnedModel):
    """A named feed of one device's logs; its uploads build one continuous report."""

    name = models.CharField(max_length=100)
    log_format = models.CharField(max_length=40, help_text="A parser key (see parsers.FORMATS).")
    custom_parser = models.ForeignKey(
        CustomParser, null=True, blank=True, on_delete=models.PROTECT, related_name="sources"
    )
    receiver = models.CharField(max_length=16, choices=Receiver.choices, default=Receiver.API)
    port = models.PositiveIntegerField(
        null=True, blank=True, help_text="Syslog port of the log collector for this source."
    )
    # Copied from the tenant default when the source is made unless chosen; changing it applies
    # to later uploads only.
    anonymize = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_data_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="discovery_source_name")
        ]

    def __str__(self) -> str:
        return self.name


class ReportKind(models.TextChoices):
    SNAPSHOT = "snapshot", "Snapshot report"
    CONTINUOUS = "continuous", "Continuous report"


class Report(TenantOwnedModel):
    """What the discovery pages show: a snapshot (one manual upload) or one data source's
    continuous report. The global report is the union of every continuous report."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    data_source = models.OneToOneField(
        DataSource, null=True, blank=True, on_delete=models.CASCADE, related_name="report"
    )
    log_format = models.CharField(max_length=40)
    custom_parser = models.ForeignKey(
        CustomParser, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    anonymize = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_id = models.IntegerField(null=True, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)
    last_data_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class UploadStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PARSING = "parsing", "Parsing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class UploadSource(models.TextChoices):
    CONSOLE = "console", "Console"
    API = "api", "API"
    COLLECTOR = "collector", "Log collector"


class Upload(TenantOwnedModel):
    """One processing run: one or more log files parsed into a report.

    Progress (`bytes_done`, `lines_done`, `lines_skipped`) is written while parsing, outside the
    transaction that applies the aggregates, so the console can show it live. Skipped lines are
    counted per reason; the first few are kept with their file and line number (never the line
    itself: it holds personal data).
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="uploads")
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.QUEUED, db_index=True
    )
    source = models.CharField(max_length=16, choices=UploadSource.choices)
    error = models.TextField(blank=True)
    files = models.JSONField(default=list, blank=True)  # [{"name", "size", "spool"}]
    anonymize = models.BooleanField(default=False)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    lines_done = models.BigIntegerField(default=0)
    lines_parsed = models.BigIntegerField(default=0)
    lines_skipped = models.BigIntegerField(default=0)
    skip_reasons = models.JSONField(default=dict, blank=True)  # {reason: count}
    skip_samples = models.JSONField(default=list, blank=True)  # [{"file", "line", "reason"}]
    traffic_from = models.DateTimeField(null=True, blank=True)
    traffic_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the task message was last sent, and when the worker parsing it last showed life:
    # the beat sweep sends again an upload whose message was lost or whose worker died.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by_id = models.IntegerField(null=True, blank=True)
    created_by_label = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "dispatched_at"], name="discovery_upload_due")]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (UploadStatus.DONE, UploadStatus.FAILED)


class _Daily(TenantOwnedModel):
    """A per-day aggregate of one report. `day` (UTC) is what the 90-day retention purges by."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE)
    day = models.DateField()
    app = models.CharField(max_length=64)
    transactions = models.BigIntegerField(default=0)
    bytes_up = models.BigIntegerField(default=0)
    bytes_down = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class AppDay(_Daily):
    """Traffic of one app (or one unrecognised domain) on one day, per destination domain."""

    domain = models.CharField(max_length=255)
    blocked = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "day", "app", "domain"], name="discovery_appday_key"
            )
        ]
        indexes = [models.Index(fields=["day"], name="discovery_appday_day")]


class AppUserDay(_Daily):
    """Traffic of one user (a pseudonym when the upload was anonymised) to one app on one day."""

    user = models.CharField(max_length=400)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "day", "app", "user"], name="discovery_appuserday_key"
            )
        ]
        indexes = [models.Index(fields=["day"], name="discovery_appuserday_day")]


class AppIpDay(_Daily):
    """Traffic from one source address to one app on one day."""

    ip = models.CharField(max_length=45)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "day", "app", "ip"], name="discovery_appipday_key"
            )
        ]
        indexes = [models.Index(fields=["day"], name="discovery_appipday_day")]


class CustomApp(TenantOwnedModel):
    """A line-of-business or otherwise uncatalogued app the tenant wants discovered."""

    name = models.CharField(max_length=100)
    category = models.CharField(max_length=40, default="unclassified")
    domains = models.JSONField(default=list)  # ["app.example.com", "example.net"]
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="discovery_custom_app_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return f"custom-{self.pk}"


class TagKind(models.TextChoices):
    SANCTIONED = "sanctioned", "Sanctioned"
    UNSANCTIONED = "unsanctioned", "Unsanctioned"
    MONITORED = "monitored", "Monitored"
    CUSTOM = "custom", "Custom"


class AppTag(TenantOwnedModel):
    """A tag apps can carry: the three built-ins (one each per tenant) or a custom one."""

    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=16, choices=TagKind.choices, default=TagKind.CUSTOM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "name"], name="discovery_tag_name")
        ]

    def __str__(self) -> str:
        return self.name


class AppTagging(TenantOwnedModel):
    """App `app` carries tag `tag`. Sanctioned and unsanctioned exclude each other (services)."""

    app = models.CharField(max_length=64)
    tag = models.ForeignKey(AppTag, on_delete=models.CASCADE, related_name="taggings")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "app", "tag"], name="discovery_tagging")
        ]


class AppOverride(TenantOwnedModel):
    """The tenant's own risk score (and note) for one app, replacing the computed score."""

    app = models.CharField(max_length=64)
    score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "app"], name="discovery_override_app")
        ]


class AnonymizationKey(TenantOwnedModel):
    """The tenant's pseudonymisation key (AES-SIV), stored sealed with the tenant's data key."""

    sealed_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id"], name="discovery_one_anon_key")]
