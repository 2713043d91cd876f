"""The shape every source hands to ingestion: connector adapters and the push API alike.

`apps.activities.ingestion.ingest(tenant=..., app_instance=..., events=..., source=...)` takes
an iterable of `EventIn` and returns an `IngestResult`. Adapters map a vendor's record to an
`EventIn`; the push API validates JSON into one. Enrichment (geo, ISP, IP range category and
tags, user agent) and identity resolution (account, person) happen inside ingestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class EventIn:
    source_event_id: str  # the app's own id of the event; dedupe key with app + time
    occurred_at: datetime  # aware, UTC
    action_type: str  # the app's operation name, e.g. "FileDownloaded"
    activity_type: str  # our category, see apps.activities.categories
    actor: str = ""  # user name / email / UPN as the app sent it
    actor_external_id: str = ""  # the app's id of the acting account, when it has one
    actor_display_name: str = ""
    ip: str | None = None
    user_agent: str = ""
    succeeded: bool | None = None
    is_admin: bool = False
    object_name: str = ""
    object_type: str = ""
    object_id: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class Rejection:
    index: int  # position of the event in the batch (0-based)
    reason: str  # plain words: what is wrong and with which field


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    # Valid events of people outside the tenant's scoped deployment: neither stored nor evaluated.
    out_of_scope: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    newest_event_at: datetime | None = None

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.out_of_scope += other.out_of_scope
        self.rejected.extend(other.rejected)
        if other.newest_event_at and (
            self.newest_event_at is None or other.newest_event_at > self.newest_event_at
        ):
            self.newest_event_at = other.newest_event_at
