"""What the vendors' governance modules share: kind names, sending, reading, plain words."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...models import Vendor

# The `apps.governance.models.GovernanceKind` values, spelled here so the connectors package
# does not import the governance models (tests check the two stay equal).
SUSPEND_USER = "suspend_user"
UNSUSPEND_USER = "unsuspend_user"
REQUIRE_SIGN_IN = "require_sign_in"
CONFIRM_COMPROMISED = "confirm_compromised"
NOTIFY_USER = "notify_user"
REMOVE_EXTERNAL_SHARING = "remove_external_sharing"
MAKE_PRIVATE = "make_private"
QUARANTINE_FILE = "quarantine_file"
REVOKE_OAUTH_APP = "revoke_oauth_app"


def segment(value: Any, *, safe: str = "") -> str:
    """`value` as one URL path segment, or TargetNotFound when it is no usable id.

    Percent-encoding leaves "." and ".." as they are, and URL normalisation then climbs a
    level: a client id of ".." would turn `DELETE .../users/{id}/tokens/..` into
    `DELETE .../users/{id}`. No vendor id is empty, a dot segment, or holds control
    characters, so those are refused before anything is sent.
    """
    text = str(value or "").strip()
    if text in ("", ".", "..") or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise errors.TargetNotFound(f"{text[:40]!r} is not a valid id for this app")
    return quote(text, safe=safe)


def vendor_name(adapter) -> str:
    return str(Vendor(adapter.vendor).label)


def vendor_message(body: Any) -> str:
    """The vendor's own words of an error answer (Graph, Google, Okta and GitHub shapes)."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # Microsoft Graph, Google APIs
        code, message = error.get("code"), error.get("message")
        if isinstance(code, str) and code and message:
            return errors.clip(f"{code}: {message}")
        return errors.clip(message or "")
    if body.get("errorSummary"):  # Okta
        causes = [
            str(c.get("errorSummary"))
            for c in body.get("errorCauses") or []
            if isinstance(c, dict) and c.get("errorSummary")
        ]
        return errors.clip(" ".join([str(body["errorSummary"]), *causes]))
    if body.get("message"):  # GitHub
        return errors.clip(body["message"])
    if isinstance(error, str):  # OAuth token endpoints
        return errors.clip(f"{error}: {body.get('error_description', '')}")
    return ""


def send(
    adapter,
    method: str,
    url: str,
    *,
    doing: str,
    missing: str | None = None,
    headers: Callable[[], dict[str, str]] | None = None,
    refresh: Callable[[], bool] | None = None,
    **kwargs,
) -> httpx.Response:
    """One governance request. `doing` completes "<vendor> refused to ..."; `missing` is the
    plain words of a 404 (None: a 404 is an ordinary refusal). 429 and 5xx stay `RateLimited`
    / `Unavailable` (the task retries them); a 401 gets one fresh token, as polls do."""
    name = vendor_name(adapter)
    headers = headers or adapter.auth_headers
    refresh = refresh or adapter.refresh_auth

    def classify(response: httpx.Response, body: Any) -> errors.ConnectorError | None:
        own = adapter.classify(response, body)
        if isinstance(own, errors.RateLimited | errors.Unavailable):
            return own  # e.g. Google's and GitHub's rate limits answered with 403
        status = response.status_code
        if status == 429 or status >= 500:
            return None  # the generic reading: retried with backoff
        if status == 401:
            return own or errors.CredentialsRejected(f"{name} refused the stored credentials")
        if status == 404 and missing is not None:
            return errors.TargetNotFound(missing)
        words = vendor_message(body) or f"HTTP {status}"
        if status == 403:
            return errors.CredentialsRejected(
                f"{name} refused to {doing}: {words} (the connection may lack the permission "
                "this action needs)"
            )
        return errors.ConnectorError(f"{name} refused to {doing}: {words}")

    extra = kwargs.pop("headers_extra", {})
    for attempt in (1, 2):
        try:
            return adapter.client.request(
                method, url, headers={**headers(), **extra}, classify=classify, **kwargs
            )
        except errors.CredentialsRejected as exc:
            if attempt == 1 and exc.http_status == 401 and refresh():
                continue
            raise
    raise AssertionError("unreachable")


def read(response: httpx.Response) -> dict:
    """The JSON object of an answer; {} for an empty one (204) or anything not an object."""
    if not response.content:
        return {}
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BadResponse(
            f"the app sent an answer we could not read (not JSON, HTTP {response.status_code})"
        ) from exc
    return body if isinstance(body, dict) else {}


def gone_ok(call: Callable[[], Any]) -> bool:
    """Run a delete; True if it deleted, False if the thing was already gone (a 404)."""
    try:
        call()
    except errors.TargetNotFound:
        return False
    return True


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() if "@" in (address or "") else ""


def is_internal(address: str, domains: set[str]) -> bool:
    """Whether an email address belongs to one of `domains` (or a subdomain of one)."""
    domain = domain_of(address)
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


def plural(count: int, word: str, words: str = "") -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def listing(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
