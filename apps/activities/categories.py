"""The activity-type vocabulary: our category of an app's operation (spec 1.4).

Connector adapters map each vendor operation (e.g. Microsoft 365 "FileDownloaded") onto one of
these values and put it in `EventIn.activity_type`; the push API takes them as they are.
Ingestion refuses any other value, so filters, policies and the SIEM see one small, stable
vocabulary whatever the app. The raw operation stays in `action_type`.

`GROUPS` are the spec's suggested-query groups ("Sharing activities", "Failed log-in", ...),
for filters that want more than one type at once.
"""

from __future__ import annotations

from django.db import models


class ActivityType(models.TextChoices):
    LOGIN = "login", "Log on"
    FAILED_LOGIN = "failed_login", "Failed log on"
    LOGOUT = "logout", "Log off"
    DOWNLOAD = "download", "Download"
    UPLOAD = "upload", "Upload"
    VIEW = "view", "View"
    EDIT = "edit", "Edit"
    DELETE = "delete", "Delete"
    SHARE = "share", "Share"
    UNSHARE = "unshare", "Remove sharing"
    PERMISSION_CHANGE = "permission_change", "Change permissions"
    CREATE_USER = "create_user", "Create user"
    DELETE_USER = "delete_user", "Delete user"
    ADMIN = "admin", "Administrative"
    PASSWORD_CHANGE = "password_change", "Change or reset password"
    MAIL_FORWARDING = "mail_forwarding", "Set mail forwarding"
    OTHER = "other", "Other"


# Plain list and set for the hot path (validation of every ingested event).
ACTIVITY_TYPES: tuple[str, ...] = tuple(ActivityType.values)
_KNOWN: frozenset[str] = frozenset(ACTIVITY_TYPES)
LABELS: dict[str, str] = dict(ActivityType.choices)

GROUPS: dict[str, tuple[str, ...]] = {
    "Successful log-in": (ActivityType.LOGIN,),
    "Failed log-in": (ActivityType.FAILED_LOGIN,),
    "File and folder activities": (
        ActivityType.DOWNLOAD,
        ActivityType.UPLOAD,
        ActivityType.VIEW,
        ActivityType.EDIT,
        ActivityType.DELETE,
    ),
    "Download activities": (ActivityType.DOWNLOAD,),
    "Sharing activities": (
        ActivityType.SHARE,
        ActivityType.UNSHARE,
        ActivityType.PERMISSION_CHANGE,
    ),
    "Password changes and reset requests": (ActivityType.PASSWORD_CHANGE,),
    "Admin activities": (
        ActivityType.ADMIN,
        ActivityType.CREATE_USER,
        ActivityType.DELETE_USER,
        ActivityType.PERMISSION_CHANGE,
        ActivityType.MAIL_FORWARDING,
    ),
}


class DeviceType(models.TextChoices):
    """What enrichment makes of a user agent (spec 1.3 "Device type")."""

    PC = "pc", "PC"
    MOBILE = "mobile", "Mobile"
    TABLET = "tablet", "Tablet"
    OTHER = "other", "Other"


def is_known(value: str) -> bool:
    return value in _KNOWN


def label(value: str) -> str:
    """The human label of `value` ("download" -> "Download"); unknown values as they are."""
    return LABELS.get(value, value)
