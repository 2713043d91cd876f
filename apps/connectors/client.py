"""The HTTP client adapters use: guarded transport, timeouts, bounded bodies, plain errors.

`VendorClient.request` returns the response of a 2xx answer and raises a `ConnectorError` for
everything else, after asking the adapter's `classify` hook (vendors word "audit log disabled"
differently). Transport failures become `Unavailable` (timeouts, refused connections) or a
plain `ConnectorError` (TLS refused, internal address).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from . import errors
from .transport import DestinationRefused, GuardedTransport

MAX_BODY_BYTES = 64 * 1024 * 1024  # an audit content blob is at most a few MB
DEFAULT_RETRY_AFTER = timedelta(seconds=60)
MAX_RETRY_AFTER = timedelta(days=1)
USER_AGENT = "casb-connector/1.0"

Classifier = Callable[[httpx.Response, Any], "errors.ConnectorError | None"]


def retry_at_from(response: httpx.Response, now: datetime | None = None) -> datetime:
    """When to come back: `Retry-After` (seconds or an HTTP date), Okta's/GitHub's reset
    headers (epoch seconds), else a minute. Clamped to [1 s, 1 day]."""
    now = now or timezone.now()
    wait: timedelta | None = None
    value = response.headers.get("Retry-After", "").strip()
    if value:
        if value.isdigit():
            wait = timedelta(seconds=int(value))
        else:
            try:
                wait = parsedate_to_datetime(value).astimezone(UTC) - now
            except (TypeError, ValueError, IndexError, OverflowError):
                wait = None
    if wait is None:
        reset = response.headers.get("X-Rate-Limit-Reset") or response.headers.get(
            "X-RateLimit-Reset"
        )
        if reset and reset.strip().isdigit():
            try:
                wait = datetime.fromtimestamp(int(reset), tz=UTC) - now
            except (OverflowError, OSError, ValueError):
                wait = None
    if wait is None:
        wait = DEFAULT_RETRY_AFTER
    wait = min(max(wait, timedelta(seconds=1)), MAX_RETRY_AFTER)
    return now + wait


def body_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadResponse(
            f"the app sent a page we could not read (not JSON, HTTP {response.status_code})"
        ) from exc


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def default_classify(response: httpx.Response, body: Any) -> errors.ConnectorError:
    code = response.status_code
    if code == 429:
        return errors.RateLimited("rate limited", retry_at=retry_at_from(response))
    if code >= 500:
        return errors.Unavailable(f"the app is unavailable (HTTP {code})")
    if code in (401, 403):
        return errors.CredentialsRejected(f"the app answered HTTP {code}")
    if code == 404:
        return errors.ConnectorError(f"not found (HTTP 404) at {response.request.url.path}")
    return errors.ConnectorError(f"the app answered HTTP {code}")


class VendorClient:
    """One poll's HTTP session with a vendor."""

    def __init__(self, *, timeout: float | None = None, max_body: int = MAX_BODY_BYTES):
        seconds = timeout if timeout is not None else settings.CONNECTOR_HTTP_TIMEOUT
        self.max_body = max_body
        self._http = httpx.Client(
            transport=GuardedTransport(),
            timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
            follow_redirects=False,  # a redirect could point anywhere; vendors do not need it
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        classify: Classifier | None = None,
        **kwargs,
    ) -> httpx.Response:
        """Send; return a 2xx response with its body read; raise a `ConnectorError` else."""
        try:
            with self._http.stream(method, url, **kwargs) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_body:
                        raise errors.TooLarge(
                            f"the app sent more than {self.max_body // (1024 * 1024)} MB in "
                            "one answer"
                        )
                    chunks.append(chunk)
                # The body is already decoded: drop the headers that would decode it again.
                headers = [
                    (k, v)
                    for k, v in response.headers.multi_items()
                    if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
                ]
                response = httpx.Response(
                    response.status_code,
                    headers=headers,
                    content=b"".join(chunks),
                    request=response.request,
                )
        except DestinationRefused as exc:
            raise errors.ConnectorError(f"refused to connect: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise errors.Unavailable(f"the app did not answer in time ({_host(url)})") from exc
        except httpx.ConnectError as exc:
            tls = _tls_reason(exc)
            if tls:
                raise errors.ConnectorError(
                    f"TLS connection to {_host(url)} refused: {tls}"
                ) from exc
            raise errors.Unavailable(f"could not connect to {_host(url)}") from exc
        except (httpx.TransportError, ssl.SSLError) as exc:
            raise errors.Unavailable(f"the connection to {_host(url)} failed") from exc
        if 200 <= response.status_code < 300:
            return response
        body = _json_or_none(response)
        error = classify(response, body) if classify is not None else None
        error = error or default_classify(response, body)
        error.http_status = response.status_code
        raise error


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or "the app"
    except (httpx.InvalidURL, TypeError):
        return "the app"


def _tls_reason(exc: BaseException) -> str:
    """The TLS failure behind a connect error, in short words ("" if it was not TLS)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    text = str(exc)
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLError):
            text = str(cause)
            break
        cause = cause.__cause__ or cause.__context__
    lowered = text.lower()
    if "certificate verify failed" in lowered:
        return "the certificate could not be verified"
    if any(
        marker in lowered
        for marker in ("unsupported protocol", "unsupported_protocol", "protocol version")
    ):
        return "the app offers only TLS older than 1.2"
    if "ssl" in lowered or "tls" in lowered or isinstance(cause, ssl.SSLError):
        return errors.clip(text, 120)
    return ""


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (with or without Z/offset, naive meaning UTC) or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC, second precision, with Z: the format every vendor here accepts."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
