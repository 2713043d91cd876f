"""What every vendor adapter is: credentials in, pages of events and a directory out.

An adapter is built for one poll with the instance's base URL, its opened credentials and a
`VendorClient`. `activities(stream, cursor)` is a generator of `Page`s: each carries the events
of one vendor page and the cursor to store *once those events are stored*. The poll service
ingests a page, then saves its cursor; a crash in between replays the page next time, which
ingestion's dedupe (app + source event id) absorbs. Time cursors are read back with an overlap
(`Adapter.overlap`), so late-arriving or mis-paginated events are fetched again rather than
skipped: a duplicate is free, a gap is not.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
from django.conf import settings
from django.utils import timezone

from apps.accounts.directory import AccountIn, GroupIn
from apps.activities.events import EventIn

from .. import errors
from ..client import VendorClient, body_json, parse_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CredentialField:
    """One field an admin fills in for a vendor. Secret ones are never shown back."""

    name: str
    label: str
    secret: bool = False
    help: str = ""
    required: bool = True


@dataclass
class Page:
    """The events of one vendor page and the stream position after them."""

    events: list[EventIn]
    cursor: dict
    skipped: int = 0  # vendor records we could not read (logged, counted)


@dataclass
class Directory:
    """A listing of the app's accounts and groups (`complete`: every account is in it)."""

    accounts: list[AccountIn] = field(default_factory=list)
    groups: list[GroupIn] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class ActionTarget:
    """What a governance action acts on, in the vendor's own ids (see `Adapter.govern`).

    `kind` is an `apps.governance.models.GovernanceKind` value. Accounts: `account_id` is the
    vendor's id of the account and `username` its sign-in name. Files: `file_id`. OAuth apps:
    `client_id` (and the account whose grant is revoked, when the vendor revokes per user).
    """

    kind: str
    account_id: str = ""
    username: str = ""
    file_id: str = ""
    client_id: str = ""
    params: dict = field(default_factory=dict)


class Adapter:
    """Base of the vendor adapters (one small module each, registered by vendor)."""

    vendor: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    base_url_help: ClassVar[str] = ""
    base_url_required: ClassVar[bool] = False
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    streams: ClassVar[tuple[str, ...]] = ("activities",)
    overlap: ClassVar[timedelta] = timedelta(minutes=5)

    def __init__(
        self,
        *,
        base_url: str,
        credentials: dict,
        client: VendorClient,
        now: datetime | None = None,
    ):
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.credentials = credentials
        self.client = client
        self.started_at = now or timezone.now()
        self.initial_lookback = timedelta(hours=settings.CONNECTOR_INITIAL_LOOKBACK_HOURS)

    # --- What vendors implement ----------------------------------------------------------

    def directory(self) -> Directory:
        raise NotImplementedError

    def activities(self, stream: str, cursor: dict) -> Iterator[Page]:
        raise NotImplementedError

    @classmethod
    def validate_credentials(cls, credentials: dict) -> dict[str, str]:
        """Field name -> what is wrong with it (empty when fine). Shape only, no network."""
        return {}

    def auth_headers(self) -> dict[str, str]:
        return {}

    # Governance: the `GovernanceKind` values this vendor can carry out, and how.
    governance: ClassVar[frozenset[str]] = frozenset()

    def govern(self, target: ActionTarget) -> str:
        """Carry out one governance action; return what was done, in plain words.

        Must be idempotent (the task runs again after a crash: suspending a suspended account
        succeeds). Raises a `ConnectorError`: `Unavailable`/`RateLimited` are retried, the
        others fail the action with their `detail` shown in the governance log.
        """
        raise errors.NotSupported(f"{self.vendor} cannot {target.kind.replace('_', ' ')}")

    def refresh_auth(self) -> bool:
        """Get a fresh access token after a 401; False when there is nothing to refresh."""
        return False

    def classify(self, response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        """A vendor's own reading of an error answer (None: the generic one)."""
        return None

    # --- Helpers --------------------------------------------------------------------------

    def send(self, method: str, url: str, *, auth: bool = True, **kwargs) -> httpx.Response:
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {**(self.auth_headers() if auth else {}), **extra}
            try:
                return self.client.request(
                    method, url, headers=headers, classify=self.classify, **kwargs
                )
            except errors.CredentialsRejected as exc:
                # Access tokens expire (often after an hour, sometimes mid-poll): get one new
                # token and try once more; a second refusal is the credentials' fault.
                if attempt == 1 and auth and exc.http_status == 401 and self.refresh_auth():
                    continue
                raise
        raise AssertionError("unreachable")

    def get_json(self, url: str, **kwargs) -> tuple[Any, httpx.Response]:
        response = self.send("GET", url, **kwargs)
        return body_json(response), response

    def follow(self, url: str | None, origin: str) -> str | None:
        """A next-page URL from the vendor, allowed only on the origin it came from."""
        if not url:
            return None
        try:
            target, expected = httpx.URL(url), httpx.URL(origin)
        except (httpx.InvalidURL, TypeError) as exc:
            raise errors.BadResponse("the app sent a next-page link we could not read") from exc
        if (target.scheme, target.host, target.port) != (
            expected.scheme,
            expected.host,
            expected.port,
        ):
            raise errors.BadResponse(
                f"the app sent a next-page link to another host ({target.host}); not followed"
            )
        return url

    def window_start(self, cursor: dict) -> datetime:
        """Where a time-window stream resumes: the cursor minus the overlap."""
        since = parse_time(cursor.get("since"))
        if since is None:
            return self.started_at - self.initial_lookback
        return since - self.overlap

    def require_list(self, value: Any, what: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise errors.BadResponse(f"the app sent {what} that is not a list")
        return value

    def require_dict(self, value: Any, what: str) -> dict:
        if not isinstance(value, dict):
            raise errors.BadResponse(f"the app sent {what} that is not an object")
        return value


def link_next(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of an RFC 8288 `Link` header (Okta, GitHub)."""
    for value in response.headers.get_list("link"):
        for part in value.split(","):
            section = part.split(";")
            if len(section) < 2:
                continue
            url = section[0].strip()
            params = {p.strip().lower().replace(" ", "") for p in section[1:]}
            if ('rel="next"' in params or "rel=next" in params) and url.startswith("<"):
                return url.strip("<>")
    return None


def clean_ip(value: Any) -> str | None:
    """An IP address without port or brackets ("1.2.3.4:5678", "[::1]:443"), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    candidates = [text]
    if text.startswith("[") and "]" in text:
        candidates.insert(0, text[1 : text.index("]")])
    elif text.count(":") == 1:
        candidates.insert(0, text.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def text(value: Any, limit: int = 500) -> str:
    return str(value)[:limit] if value not in (None, "") else ""


def skip(vendor: str, record: Any, why: str) -> None:
    """Log a vendor record we could not read (never the record itself: it is personal data)."""
    log.warning("%s: skipped a record: %s", vendor, why)
