"""Writes of outbound integrations: create, change and remove destinations; resend dead letters.

A new destination starts at the tenant's current outbox number: it receives what happens from
now on (a SIEM agent also back-fills the last two days once it first connects). A webhook's
secret is made here, returned once to be shown to the admin, and kept sealed with the tenant key.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import ssl
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.compliance import crypto
from apps.compliance.inventory import max_days
from apps.compliance.models import DataKind
from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from .models import (
    SECRET_PURPOSE,
    DeadLetter,
    Delivery,
    Destination,
    DestinationKind,
    DestinationStatus,
    EventKind,
    OutboxEvent,
    OutboxSequence,
)
from .outbox import current_seq


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _seal(tenant, secret: str) -> bytes:
    return crypto.seal(tenant.id, secret.encode(), SECRET_PURPOSE)


def create_destination(
    *,
    kind: str,
    name: str,
    data_kinds: list[str],
    config: dict,
    filters: dict | None = None,
    actor=None,
    request=None,
) -> tuple[Destination, str]:
    """Create a destination; returns it and its secret (webhooks; "" otherwise), shown once."""
    tenant = current_tenant()
    secret = new_secret() if kind == DestinationKind.WEBHOOK else ""
    with transaction.atomic(using=tenant.db_alias):
        OutboxSequence.objects.get_or_create(tenant_id=tenant.id)
        destination = Destination.objects.create(
            kind=kind,
            name=name,
            data_kinds=sorted(set(data_kinds)),
            config=config,
            filters=filters or {},
            secret_sealed=_seal(tenant, secret) if secret else None,
            cursor=current_seq(),
            backfill_pending=kind == DestinationKind.SIEM,
        )
    audit.record(
        tenant,
        "integration.created",
        actor=actor,
        request=request,
        target=destination,
        details={"kind": kind, "name": name, "data_kinds": destination.data_kinds},
    )
    return destination, secret


def rotate_secret(destination: Destination, *, actor=None, request=None) -> str:
    tenant = current_tenant()
    secret = new_secret()
    destination.secret_sealed = _seal(tenant, secret)
    destination.save(update_fields=["secret_sealed", "updated_at"])
    audit.record(
        tenant, "integration.secret_rotated", actor=actor, request=request, target=destination
    )
    return secret


def set_enabled(destination: Destination, enabled: bool, *, actor=None, request=None) -> None:
    """Turn a destination off, or on again: it then receives what happens from now on (what
    happened while it was off is not sent; a SIEM agent back-fills two days again)."""
    destination.enabled = enabled
    destination.status = DestinationStatus.PENDING if enabled else DestinationStatus.DISCONNECTED
    destination.next_attempt_at = None
    fields = ["enabled", "status", "next_attempt_at", "updated_at"]
    if enabled:
        destination.cursor, destination.cursor_offset, destination.item_attempts = (
            current_seq(),
            0,
            0,
        )
        destination.consecutive_failures = 0
        destination.backfill_pending = destination.kind == DestinationKind.SIEM
        fields += [
            "cursor",
            "cursor_offset",
            "item_attempts",
            "consecutive_failures",
            "backfill_pending",
        ]
    destination.save(update_fields=fields)
    audit.record(
        current_tenant(),
        "integration.enabled" if enabled else "integration.disabled",
        actor=actor,
        request=request,
        target=destination,
    )


def delete_destination(destination: Destination, *, actor=None, request=None) -> None:
    tenant = current_tenant()
    details = {"kind": destination.kind, "name": destination.name}
    audit.record(
        tenant,
        "integration.deleted",
        actor=actor,
        request=request,
        target=destination,
        details=details,
    )
    destination.delete()


def resend_dead_letter(letter: DeadLetter, *, actor=None, request=None) -> None:
    """Queue a dead letter again: a new outbox event with the one item, for that destination's
    kind of data (every destination receiving the kind gets it)."""
    from .outbox import append

    tenant = current_tenant()
    with transaction.atomic(using=tenant.db_alias):
        letter.resent_at = timezone.now()
        letter.save(update_fields=["resent_at"])
        append(letter.kind, [letter.ref])
    audit.record(
        tenant,
        "integration.dead_letter_resent",
        actor=actor,
        request=request,
        target=letter.destination,
        details={"kind": letter.kind, "ref": letter.ref},
    )


# Dead letters and delivery attempts removed per table and call: push_due prunes every minute,
# so a backlog (say, the first run after an upgrade) drains over a few runs, never in one go.
PRUNE_BATCH = 5000


def prune_outbox(*, now=None) -> int:
    """Remove events every enabled destination has received (all of them with none enabled),
    and events, dead letters and delivery attempts older than the retention maximum of what
    they carry, activities or alerts (what they name is gone by then; a webhook also keeps only
    its newest `Delivery.KEEP` attempts). Returns how many rows went."""
    now = now or timezone.now()
    destinations = list(Destination.objects.values_list("pk", "enabled", "cursor"))
    cursors = [cursor for _, enabled, cursor in destinations if enabled]
    done = OutboxEvent.objects.all()
    if cursors:
        done = done.filter(seq__lte=min(cursors))
    removed = done.delete()[0]
    # Each kind as long as what it names is kept: an alert's dead letter may be sent again
    # while the alert exists.
    pks = [pk for pk, _, _ in destinations]
    for kind, data_kind in (
        (EventKind.ACTIVITIES, DataKind.ACTIVITIES),
        (EventKind.ALERT, DataKind.ALERTS),
    ):
        cutoff = now - timedelta(days=max_days(data_kind))
        removed += OutboxEvent.objects.filter(kind=kind, created_at__lt=cutoff).delete()[0]
        # By the tenant's destinations: their indexes find the rows (both tables have one on
        # destination; deliveries on destination and time).
        for model, age in ((DeadLetter, "created_at"), (Delivery, "attempted_at")):
            old = model.objects.filter(destination_id__in=pks, kind=kind, **{f"{age}__lt": cutoff})
            ids = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
            if ids:
                removed += model.objects.filter(pk__in=ids).delete()[0]
    return removed


# --- Checking and changing a destination's settings (console and API alike) -------------------

MAX_NAME = 120
_NAME_TAKEN = "Another integration already has this name."
MAX_URL = 2000
MAX_HOST = 253
MAX_PEM = 20000
TRANSPORTS = ("udp", "tcp", "tls")
TIME_FORMATS = ("rfc3164", "rfc3164_year", "rfc5424")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Keys each kind keeps in `config` (anything else is refused, so nothing is stored unseen).
SIEM_KEYS = (
    "host",
    "port",
    "transport",
    "time_format",
    "include_pri",
    "hostname",
    "ca_pem",
    "reference_compat",
)
WEBHOOK_KEYS = ("url",)
FILTER_KEYS = ("min_severity", "activity_types", "apps")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= MAX_HOST and all(_HOST_LABEL.match(label) for label in labels)


def _clean_url(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["url"] = ["Give the receiver's URL (https://...)."]
        return ""
    value = value.strip()
    if len(value) > MAX_URL:
        errors["url"] = [f"At most {MAX_URL} characters."]
        return ""
    parts = urlsplit(value)
    if parts.scheme.lower() != "https":
        errors["url"] = ["The URL must start with https:// (alerts are never sent unencrypted)."]
    elif not parts.hostname or not _valid_host(parts.hostname):
        errors["url"] = ["The URL has no valid host name."]
    elif parts.username or parts.password:
        errors["url"] = ["Put no user name or password in the URL."]
    else:
        try:
            parts.port  # noqa: B018 (raises on a port out of range)
        except ValueError:
            errors["url"] = ["The port in the URL is not valid (1-65535)."]
        else:
            if _internal_literal(parts.hostname):
                errors["url"] = [
                    "Internal addresses (loopback, private, link-local) are refused for webhooks."
                ]
    return value


def _internal_literal(host: str) -> bool:
    """An IP address written in the URL that is not public. Host names are checked where they
    resolve at each delivery (the guarded transport), since DNS answers change."""
    from apps.connectors.transport import _public, allowed_private_hosts

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return host.lower() not in allowed_private_hosts() and not _public(host)


def _clean_siem(config: dict, errors: dict) -> dict:
    host = config.get("host")
    if not isinstance(host, str) or not host.strip():
        errors["host"] = ["Give the syslog server's host name or IP address."]
    elif not _valid_host(host.strip()):
        errors["host"] = ["Not a valid host name or IP address."]
    port = config.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors["port"] = ["A port number from 1 to 65535."]
    transport = config.get("transport", "tcp")
    if transport not in TRANSPORTS:
        errors["transport"] = ["Choose UDP, TCP or TLS."]
    time_format = config.get("time_format", "rfc5424")
    if time_format not in TIME_FORMATS:
        errors["time_format"] = ["Choose RFC 3164, RFC 3164 with year or RFC 5424."]
    hostname = config.get("hostname", "")
    if not isinstance(hostname, str) or len(hostname) > 255 or any(c.isspace() for c in hostname):
        errors["hostname"] = ["At most 255 characters, without spaces."]
    flags = {}
    for key in ("include_pri", "reference_compat"):
        value = config.get(key, key == "include_pri")
        if not isinstance(value, bool):
            errors[key] = ["Yes or no (true or false)."]
        flags[key] = value
    ca_pem = config.get("ca_pem", "") or ""
    if not isinstance(ca_pem, str):
        errors["ca_pem"] = ["PEM text."]
        ca_pem = ""
    ca_pem = ca_pem.strip()
    if ca_pem:
        if transport != "tls":
            errors["ca_pem"] = ["A CA certificate is used only with TLS."]
        elif len(ca_pem) > MAX_PEM or "-----BEGIN CERTIFICATE-----" not in ca_pem:
            errors["ca_pem"] = ["Paste one or more PEM certificates (-----BEGIN CERTIFICATE-----)."]
        else:
            try:
                ssl.create_default_context(cadata=ca_pem)
            except (ssl.SSLError, ValueError):
                errors["ca_pem"] = ["These certificates could not be read."]
    return {
        "host": host.strip() if isinstance(host, str) else host,
        "port": port,
        "transport": transport,
        "time_format": time_format,
        "include_pri": flags["include_pri"],
        "hostname": hostname.strip() if isinstance(hostname, str) else hostname,
        "ca_pem": ca_pem,
        "reference_compat": flags["reference_compat"],
    }


def _clean_filters(filters: dict, data_kinds: list[str], errors: dict) -> dict:
    from apps.activities.categories import ACTIVITY_TYPES
    from apps.alerts.models import Severity
    from apps.connectors.models import AppInstance

    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        errors["filters"] = [f"Unknown filter “{key[:40]}”." for key in unknown[:5]]
    out: dict = {}
    severity = filters.get("min_severity", Severity.INFORMATIONAL)
    if isinstance(severity, bool) or severity not in Severity.values:
        errors["min_severity"] = ["Choose a severity: 0 informational, 1 low, 2 medium, 3 high."]
    elif EventKind.ALERT in data_kinds and severity:
        out["min_severity"] = int(severity)
    types = filters.get("activity_types") or []
    apps = filters.get("apps") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        errors["activity_types"] = ["Give a list of activity types."]
        types = []
    bad = [t for t in types if t not in ACTIVITY_TYPES]
    if bad:
        errors["activity_types"] = [f"Unknown activity type “{t[:40]}”." for t in bad[:5]]
    if not isinstance(apps, list) or not all(isinstance(a, str) for a in apps):
        errors["apps"] = ["Give a list of app ids."]
        apps = []
    ids = {}
    for app in apps:
        try:
            ids[app] = str(uuid.UUID(app))
        except ValueError:
            ids[app] = None
    known = {
        str(pk)
        for pk in AppInstance.objects.filter(
            pk__in=[pk for pk in ids.values() if pk is not None]
        ).values_list("pk", flat=True)
    }
    missing = [app for app, pk in ids.items() if pk not in known]
    if missing:
        errors["apps"] = [f"Unknown app “{app[:60]}”." for app in missing[:5]]
    if (types or apps) and EventKind.ACTIVITIES not in data_kinds:
        errors.setdefault(
            "activity_types" if types else "apps",
            ["Activity filters apply only to a destination that receives activities."],
        )
    if EventKind.ACTIVITIES in data_kinds:
        if types:
            out["activity_types"] = sorted(set(types))
        if apps:
            out["apps"] = sorted({ids[app] for app in apps})
    return out


def clean_destination(
    *,
    kind: str,
    name,
    data_kinds,
    config,
    filters=None,
    instance: Destination | None = None,
) -> dict:
    """Check a destination's settings for the current tenant; returns them normalised, or
    raises ValidationError naming each field (the form's and the API's names)."""
    errors: dict[str, list[str]] = {}
    if kind not in DestinationKind.values:
        raise ValidationError({"kind": ["Choose siem or webhook."]})
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give it a name."]
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = [f"At most {MAX_NAME} characters."]
    else:
        name = name.strip()
        clash = Destination.objects.filter(name=name)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["name"] = [_NAME_TAKEN]
    if not isinstance(data_kinds, list) or not all(isinstance(k, str) for k in data_kinds):
        errors["data_kinds"] = ["Give a list: alert, activities."]
        data_kinds = []
    data_kinds = sorted(set(data_kinds))
    if not data_kinds:
        errors.setdefault("data_kinds", ["Choose at least one kind of data to send."])
    elif set(data_kinds) - set(EventKind.values):
        errors["data_kinds"] = ["Only alert and activities can be sent."]
    elif kind == DestinationKind.WEBHOOK and data_kinds != [EventKind.ALERT]:
        errors["data_kinds"] = ["A webhook receives alerts only."]
    if not isinstance(config, dict):
        raise ValidationError({"config": ["Give an object of settings."]})
    if not isinstance(filters if filters is not None else {}, dict):
        raise ValidationError({"filters": ["Give an object of filters."]})
    allowed = SIEM_KEYS if kind == DestinationKind.SIEM else WEBHOOK_KEYS
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        errors["config"] = [f"Unknown setting “{key[:40]}” for this kind." for key in unknown[:5]]
    if kind == DestinationKind.WEBHOOK:
        clean_config = {"url": _clean_url(config.get("url"), errors)}
    else:
        clean_config = _clean_siem(config, errors)
    clean_filters = _clean_filters(filters or {}, data_kinds, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "data_kinds": data_kinds,
        "config": clean_config,
        "filters": clean_filters,
    }


def add_destination(
    *, kind: str, name, data_kinds, config, filters=None, actor=None, request=None
) -> tuple[Destination, str]:
    """Check the settings (ValidationError naming the fields), then `create_destination`."""
    clean = clean_destination(
        kind=kind, name=name, data_kinds=data_kinds, config=config, filters=filters
    )
    try:
        return create_destination(kind=kind, actor=actor, request=request, **clean)
    except IntegrityError as exc:  # the same name added at the same moment
        raise ValidationError({"name": [_NAME_TAKEN]}) from exc


def update_destination(
    destination: Destination,
    *,
    name=None,
    data_kinds=None,
    config=None,
    filters=None,
    actor=None,
    request=None,
) -> Destination:
    """Change a destination's name, data kinds, settings or filter (its kind stays). Omitted
    values are kept; `config` is merged key by key. The cursor stays: what is queued still goes.
    Audited with the names of the changed fields (never their values: a URL may carry a key)."""
    clean = clean_destination(
        kind=destination.kind,
        name=destination.name if name is None else name,
        data_kinds=destination.data_kinds if data_kinds is None else data_kinds,
        config={**(destination.config or {}), **(config or {})}
        if isinstance(config, dict) or config is None
        else config,
        filters=destination.filters if filters is None else filters,
        instance=destination,
    )
    changed = [key for key, value in clean.items() if getattr(destination, key) != value]
    if not changed:
        return destination
    for key in changed:
        setattr(destination, key, clean[key])
    try:
        with transaction.atomic(using=current_tenant().db_alias):
            destination.save(update_fields=[*changed, "updated_at"])
    except IntegrityError as exc:  # the same name taken at the same moment
        destination.refresh_from_db()
        raise ValidationError({"name": [_NAME_TAKEN]}) from exc
    audit.record(
        current_tenant(),
        "integration.changed",
        actor=actor,
        request=request,
        target=destination,
        details={"changed": changed},
    )
    return destination
