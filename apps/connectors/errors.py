"""What can go wrong talking to a vendor, each with the instance status it leads to.

`detail` is plain words for an admin ("the app refused the client secret: AADSTS7000215 ...");
it never holds a credential. The poll service turns these into the instance's status.
"""

from __future__ import annotations

from datetime import datetime

from .models import InstanceStatus


class ConnectorError(Exception):
    """A poll could not go on; `status` says how the instance is doing."""

    status: str = InstanceStatus.ERROR

    def __init__(
        self, detail: str, *, retry_at: datetime | None = None, http_status: int | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.retry_at = retry_at
        self.http_status = http_status


class RateLimited(ConnectorError):
    """HTTP 429 (or a vendor's equivalent): wait until `retry_at`."""

    status = InstanceStatus.RATE_LIMITED


class Unavailable(ConnectorError):
    """5xx, a timeout or a refused connection: retry later with backoff."""

    status = InstanceStatus.UNAVAILABLE


class CredentialsRejected(ConnectorError):
    """401/403 or a refused token request: retrying will not help until an admin acts."""

    status = InstanceStatus.CREDENTIALS_REJECTED


class AuditDisabled(ConnectorError):
    """The app answers, but its audit log is switched off (or not licensed)."""

    status = InstanceStatus.AUDIT_DISABLED


class BadResponse(ConnectorError):
    """The app sent something we cannot read (not JSON, wrong shape, too large)."""

    status = InstanceStatus.ERROR


class TooLarge(BadResponse):
    """The answer was larger than the client reads (a file download with no size listed)."""


class NotSupported(ConnectorError):
    """The vendor has no such governance action (or not for this kind of target)."""

    status = InstanceStatus.ERROR


class TargetNotFound(ConnectorError):
    """The user, file or app a governance action names does not exist in the app (any more)."""

    status = InstanceStatus.ERROR


def clip(text: object, limit: int = 200) -> str:
    """One line of at most `limit` characters: vendor messages go into status words."""
    words = " ".join(str(text or "").split())
    return words if len(words) <= limit else words[: limit - 1] + "…"
