"""Push API: `POST /api/v1/activities/ingest/` — a batch of events from a custom app or script.

Who may push: a token whose role may change operational settings (`Action.MANAGE_SETTINGS`:
security admins and global admins). Pushed activities feed policies and alerts, so a reader's
token must not be able to forge them; readers get 403.

The body is a JSON array of events (`Content-Type: application/json`) or one event per line
(`application/x-ndjson`). Each event names its connected app by the app's UUID or name. The
answer is `{"accepted": n, "duplicates": n, "out_of_scope": n, "rejected": [{"index": i,
"reason": "..."}]}` with 200 whenever the body could be read, even if every event was
rejected; valid events land whatever happens to the others. Sending the same events again is
safe: they come back as duplicates (dedupe by app + event id + time). Valid events of people
outside the tenant's scoped deployment (`apps.compliance.scope`) are counted in
`out_of_scope`: neither stored nor evaluated. A body over `INGEST_MAX_BODY_BYTES` or with more
than `INGEST_MAX_EVENTS` events is refused whole with 413, before anything is written; the size
is checked before the body is read.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import fields
from datetime import datetime

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from apps.connectors.models import AppInstance
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.api.errors import Conflict, ErrorSerializer
from apps.tenants.gate import CollectionStopped, collection_stopped
from apps.tenants.permissions import Action

from .events import EventIn, IngestResult, Rejection
from .ingestion import ingest
from .models import ActivitySource

JSON = "application/json"
NDJSON = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
_READ_BLOCK = 64 * 1024
_FIELDS = {f.name for f in fields(EventIn)}
ALLOWED_FIELDS = frozenset(_FIELDS | {"app"})
_OPTIONAL_TEXT = (
    "actor",
    "actor_external_id",
    "actor_display_name",
    "user_agent",
    "object_name",
    "object_type",
    "object_id",
)


DESCRIPTION = (
    "Needs a token of a security admin or global admin (readers get 403). The body is a JSON "
    "array of events (`application/json`) or one event per line (`application/x-ndjson`); each "
    "event names its connected app by UUID or name. Events are validated one by one: valid "
    "ones are stored even when others are rejected, and each rejection gives the event's index "
    "(0-based) and the reason. Sending the same events again is safe: they are counted as "
    "duplicates (same app, event id and time), never stored twice. Valid events of people "
    "outside the tenant's scoped deployment are counted in `out_of_scope`: neither stored nor "
    "evaluated by policies. 400 only when the body "
    "cannot be read at all; 413 when it is too large or holds too many events (nothing is "
    "stored then). Country, city, ISP, IP range category and tags, device, OS and browser "
    "are added at ingestion."
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


# --- Schema (documentation only: the view reads the body itself) ------------------------------


# The event's fields, documented in prose rather than as a strict item schema on purpose:
# an event that breaks them is rejected *inside* a 200 answer, one reason per index, never by
# refusing the whole batch, so the body schema only says "an array".
EVENT_FIELDS = """
Fields of an event (unknown fields are refused):

- `app` (required): the connected app's UUID or name.
- `source_event_id` (required, up to 200 characters): the app's own id of the event; with the
  app and the time it is the dedupe key.
- `occurred_at` (required): ISO 8601 with an offset, e.g. `2026-03-14T09:26:53Z`; not older than
  the activity retention (180 days) and at most one day ahead.
- `action_type` (required, up to 120): the app's operation, e.g. `FileDownloaded`.
- `activity_type` (required): one of `login`, `failed_login`, `logout`, `download`, `upload`,
  `view`, `edit`, `delete`, `share`, `unshare`, `permission_change`, `create_user`,
  `delete_user`, `admin`, `password_change`, `mail_forwarding`, `other`.
- `actor` (up to 254): user name, email or UPN; `actor_external_id` (up to 200): the app's id of
  the account; `actor_display_name` (up to 200). A new actor becomes an account of the app.
- `ip` (IPv4 or IPv6), `user_agent` (up to 2000), `succeeded` (true, false or null),
  `is_admin` (true or false).
- `object_name` (up to 500), `object_type` (up to 60), `object_id` (up to 300).
- `raw` (a JSON object up to 64 KB): the original record; by default the event itself.
"""


class RejectedSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the body (0-based).")
    reason = serializers.CharField()


class IngestAnswerSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="New events stored.")
    duplicates = serializers.IntegerField(help_text="Events already stored (a retry is safe).")
    out_of_scope = serializers.IntegerField(
        help_text="Valid events of people outside the scoped deployment: not stored, not "
        "evaluated by policies."
    )
    rejected = RejectedSerializer(many=True)


# --- Reading the body -------------------------------------------------------------------------


def read_body(request, limit: int) -> bytes:
    """The raw body, refusing with 413 as soon as it is known to pass `limit` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise exceptions.ParseError("Content-Length is not a number.") from exc
    if declared > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
    stream = request.stream
    if stream is None:
        return b""
    parts, size = [], 0
    while block := stream.read(_READ_BLOCK):
        size += len(block)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
        parts.append(block)
    return b"".join(parts)


class Unreadable(str):
    """A line of JSON lines that does not parse: the reason it is rejected. (A subclass, so a
    string pushed as an event is never mistaken for one of our reasons.)"""


def parse_events(body: bytes, content_type: str, max_events: int) -> list:
    """The body as a list of pushed items (any JSON value) and `Unreadable` lines."""
    if content_type == JSON:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from exc
        if not isinstance(data, list):
            raise exceptions.ParseError(
                "The body must be a JSON array of events (or JSON lines with "
                "Content-Type: application/x-ndjson)."
            )
        if len(data) > max_events:
            raise PayloadTooLarge(f"At most {max_events} events per request.")
        return data
    # Blank lines are skipped: an event's index counts events, its reason names the real line.
    lines = [(number, line) for number, line in enumerate(body.split(b"\n"), 1) if line.strip()]
    if len(lines) > max_events:
        raise PayloadTooLarge(f"At most {max_events} events per request.")
    items: list = []
    for number, line in lines:
        try:
            items.append(json.loads(line))
        except (ValueError, RecursionError):
            items.append(Unreadable(f"line {number} is not valid JSON"))
    if lines and all(isinstance(item, Unreadable) for item in items):
        raise exceptions.ParseError("No line of the body is valid JSON.")
    return items


def _instance_index() -> tuple[dict[str, AppInstance], dict[str, AppInstance]]:
    by_id, by_name = {}, {}
    for instance in AppInstance.objects.all():
        by_id[str(instance.pk)] = instance
        by_name.setdefault(instance.name.strip().lower(), instance)
    return by_id, by_name


def _uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return ""


def to_event(item, by_id, by_name) -> tuple[AppInstance, EventIn] | str:
    """One pushed item -> (its app, the event), or the reason it is refused."""
    if isinstance(item, Unreadable):
        return str(item)
    if not isinstance(item, dict):
        return "an event must be a JSON object"
    unknown = sorted(set(item) - ALLOWED_FIELDS)
    if unknown:
        return "unknown field(s): " + ", ".join(str(name)[:40] for name in unknown[:5])
    app = item.get("app")
    if not isinstance(app, str) or not app.strip():
        return "app is missing (the connected app's UUID or name)"
    instance = by_id.get(_uuid_text(app)) or by_name.get(app.strip().lower())
    if instance is None:
        return f"app {app[:80]!r} is not a connected app of this tenant"
    when = item.get("occurred_at")
    if when is None:
        return "occurred_at is missing"
    if not isinstance(when, str):
        return "occurred_at must be an ISO 8601 date and time, e.g. 2026-03-14T09:26:53Z"
    try:
        occurred_at = datetime.fromisoformat(when.strip())
    except ValueError:
        return f"occurred_at {when[:40]!r} is not an ISO 8601 date and time"
    values = {name: item[name] for name in _FIELDS if name in item}
    values["occurred_at"] = occurred_at
    for name in ("source_event_id", "action_type", "activity_type"):
        values.setdefault(name, "")
    for name in _OPTIONAL_TEXT:  # null means "not given", as for an absent field
        if name in values and values[name] is None:
            values[name] = ""
    if "raw" not in values:
        values["raw"] = item
    return instance, EventIn(**values)


@extend_schema(tags=["activities"])
class IngestViewSet(TenantScopedViewSet):
    """Push activities of a custom app (or any app) in batches."""

    read_action = None
    write_action = Action.MANAGE_SETTINGS
    pagination_class = None
    http_method_names = ["post"]

    @extend_schema(
        summary="Push a batch of activities",
        description=DESCRIPTION + "\n" + EVENT_FIELDS,
        request={
            JSON: {
                "type": "array",
                "items": {"description": "An event (see the operation's description)."},
            },
        },
        responses={
            200: IngestAnswerSerializer,
            413: OpenApiResponse(
                ErrorSerializer,
                description="The body is larger than INGEST_MAX_BODY_BYTES (default 10 MB) or "
                "holds more than INGEST_MAX_EVENTS events (default 10,000). Nothing was stored.",
            ),
        },
        examples=[
            OpenApiExample(
                "Two events",
                request_only=True,
                media_type=JSON,
                value=[
                    {
                        "app": "Contoso HR",
                        "source_event_id": "evt-1001",
                        "occurred_at": "2026-03-14T09:26:53Z",
                        "action_type": "ExportEmployees",
                        "activity_type": "download",
                        "actor": "alice@contoso.com",
                        "ip": "203.0.113.7",
                        "object_name": "employees.csv",
                    },
                    {
                        "app": "Contoso HR",
                        "source_event_id": "evt-1002",
                        "occurred_at": "2026-03-14T09:27:10Z",
                        "action_type": "SignIn",
                        "activity_type": "login",
                        "actor": "bob@contoso.com",
                        "succeeded": False,
                    },
                ],
            ),
            OpenApiExample(
                "Answer",
                response_only=True,
                value={
                    "accepted": 1,
                    "duplicates": 0,
                    "out_of_scope": 0,
                    "rejected": [
                        {"index": 1, "reason": "ip '1.2.3' is not an IPv4 or IPv6 address"}
                    ],
                },
            ),
        ],
    )
    def create(self, request, *args, **kwargs):
        stopped = collection_stopped(request.tenant)
        if stopped:  # cancelled: the grace period keeps what is there, takes nothing new
            raise Conflict(stopped)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != JSON and content_type not in NDJSON:
            raise exceptions.UnsupportedMediaType(
                content_type or "(none)",
                detail="Send application/json (an array of events) or application/x-ndjson "
                "(one event per line).",
            )
        body = read_body(request, settings.INGEST_MAX_BODY_BYTES)
        if not body.strip():
            raise exceptions.ParseError("The body is empty.")
        items = parse_events(body, content_type, settings.INGEST_MAX_EVENTS)
        by_id, by_name = _instance_index()
        result = IngestResult()
        batches: dict = {}
        for index, item in enumerate(items):
            outcome = to_event(item, by_id, by_name)
            if isinstance(outcome, str):
                result.rejected.append(Rejection(index, outcome))
                continue
            instance, event = outcome
            batch = batches.setdefault(instance.pk, (instance, [], []))
            batch[1].append(index)
            batch[2].append(event)
        for instance, indexes, events in batches.values():
            try:
                outcome = ingest(
                    tenant=request.tenant,
                    app_instance=instance,
                    events=events,
                    source=ActivitySource.PUSH,
                )
            except CollectionStopped as exc:  # cancelled while this request ran
                raise Conflict(str(exc)) from exc
            result.accepted += outcome.accepted
            result.duplicates += outcome.duplicates
            result.out_of_scope += outcome.out_of_scope
            result.rejected.extend(Rejection(indexes[r.index], r.reason) for r in outcome.rejected)
        result.rejected.sort(key=lambda r: r.index)
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "out_of_scope": result.out_of_scope,
                "rejected": [{"index": r.index, "reason": r.reason} for r in result.rejected],
            }
        )
