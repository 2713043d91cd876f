"""Policy templates: the reference product's catalogue (spec 3.9), in our filter language.

The five Threat detection templates are activity policies and can be created today; "Create
from template" pre-fills the policy form with them and the policy keeps the template's key in
`Policy.template`. The other rows of the catalogue need data we do not collect yet (Cloud
Discovery traffic, file monitoring and content inspection); they are listed, marked with what
they arrive with, so the catalogue says honestly what exists.

Thresholds are the documented ones. "More than N within T" is a repeated-activity policy that
triggers at N + 1 matches within T minutes: "> 50 downloads within 1 minute" is 51 in 1 minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.activities.categories import ActivityType
from apps.activities.models import IpCategory

from .models import Category, MatchMode, Severity

# Known ransomware file extensions, as whole words of the object name (the `text` operator
# splits names on dots, so "budget.xlsx.locky" holds the word "locky"). The filter language
# takes at most ten terms per text filter: these are the most widespread families' extensions
# that are not also ordinary words or names.
RANSOMWARE_EXTENSIONS = (
    "wncry",
    "wnry",
    "wcry",
    "locky",
    "zepto",
    "cerber",
    "cerber3",
    "crypz",
    "cryp1",
    "lockbit",
)


@dataclass(frozen=True)
class PolicyTemplate:
    """One catalogue entry; `needs` is empty for templates that can be created now."""

    key: str
    name: str
    category: str
    logic: str  # the documented logic and threshold, in words
    description: str = ""
    severity: int = Severity.MEDIUM
    filters: dict = field(default_factory=dict)
    mode: str = MatchMode.SINGLE
    repeat_count: int = 1
    repeat_window_minutes: int = 60
    repeat_per_user: bool = True
    repeat_per_app: bool = False
    needs: str = ""  # what it arrives with, when it cannot be created yet

    @property
    def available(self) -> bool:
        return not self.needs

    @property
    def category_label(self) -> str:
        return Category(self.category).label

    def values(self) -> dict:
        """The policy fields this template fills in (the form's initial values)."""
        return {
            "name": self.name,
            "description": self.description,
            "template": self.key,
            "severity": self.severity,
            "category": self.category,
            "filters": self.filters,
            "mode": self.mode,
            "repeat_count": self.repeat_count,
            "repeat_window_minutes": self.repeat_window_minutes,
            "repeat_per_user": self.repeat_per_user,
            "repeat_per_app": self.repeat_per_app,
        }


T = ActivityType
DISCOVERY = "Cloud Discovery"
FILES = "file monitoring and content inspection"

TEMPLATES: tuple[PolicyTemplate, ...] = (
    # --- Threat detection: activity policies, creatable -------------------------------------
    PolicyTemplate(
        key="admin_activity_non_corporate_ip",
        name="Administrative activity from a non-corporate IP address",
        category=Category.THREAT_DETECTION,
        logic="Administrative activity from an IP address that is not in the Corporate category.",
        description=(
            "Alerts when an administrative activity comes from an address outside your "
            "Corporate IP ranges (Settings > IP ranges)."
        ),
        filters={
            "activity.type": {"eq": True},
            "ip.address": {"isset": True},
            # `neq` keeps addresses in no range at all: they are not corporate either.
            "ip.category": {"neq": [IpCategory.CORPORATE.value]},
        },
    ),
    PolicyTemplate(
        key="logon_risky_ip",
        name="Log on from a risky IP address",
        category=Category.THREAT_DETECTION,
        logic="Sign-in from an IP address in the Risky category (e.g. Tor, anonymous proxies).",
        description=(
            "Alerts when someone signs in to a connected app from an address in one of your "
            "Risky IP ranges (Settings > IP ranges)."
        ),
        severity=Severity.HIGH,
        filters={
            "activity.eventType": {"eq": [T.LOGIN.value]},
            "ip.category": {"eq": [IpCategory.RISKY.value]},
        },
    ),
    PolicyTemplate(
        key="mass_download_single_user",
        name="Mass download by a single user",
        category=Category.THREAT_DETECTION,
        logic="More than 50 downloads by one user within 1 minute.",
        description="Alerts when one user downloads more than 50 files within a minute.",
        filters={"activity.eventType": {"eq": [T.DOWNLOAD.value]}},
        mode=MatchMode.REPEATED,
        repeat_count=51,
        repeat_window_minutes=1,
    ),
    PolicyTemplate(
        key="multiple_failed_signins",
        name="Multiple failed user sign-in attempts to an app",
        category=Category.THREAT_DETECTION,
        logic="More than 10 failed sign-ins by one user to one app within 5 minutes.",
        description=(
            "Alerts when one user fails to sign in to the same app more than 10 times within "
            "5 minutes."
        ),
        filters={"activity.eventType": {"eq": [T.FAILED_LOGIN.value]}},
        mode=MatchMode.REPEATED,
        repeat_count=11,
        repeat_window_minutes=5,
        repeat_per_app=True,
    ),
    PolicyTemplate(
        key="potential_ransomware",
        name="Potential ransomware activity",
        category=Category.THREAT_DETECTION,
        logic="Uploads of files with a known ransomware extension.",
        description=(
            "Alerts when a file whose name ends in a known ransomware extension ("
            + ", ".join(f".{ext}" for ext in RANSOMWARE_EXTENSIONS)
            + ") is uploaded."
        ),
        severity=Severity.HIGH,
        filters={
            "activity.eventType": {"eq": [T.UPLOAD.value]},
            "text": {"text": " ".join(RANSOMWARE_EXTENSIONS)},
        },
    ),
    # --- Catalogue rows that need data we do not collect yet --------------------------------
    *(
        PolicyTemplate(
            key=key, name=name, category=Category.DISCOVERY, logic=logic, needs=DISCOVERY
        )
        for key, name, logic in (
            (
                "discovery_anomalous_users",
                "Anomalous behavior in discovered users",
                "Large uploads compared to other users; large transactions compared to the "
                "user's history.",
            ),
            (
                "discovery_anomalous_ips",
                "Anomalous behavior of discovered IP addresses",
                "The same, per IP address.",
            ),
            (
                "discovery_collaboration_compliance",
                "Collaboration app compliance check",
                "New collaboration apps without SOC 2 and SSAE 16, more than 50 users and more "
                "than 50 MB a day.",
            ),
            (
                "discovery_storage_compliance",
                "Cloud storage app compliance check",
                "Without SOC 2, SSAE 16, ISAE 3402 or PCI DSS; more than 50 users and 50 MB a day.",
            ),
            (
                "discovery_crm_compliance",
                "CRM app compliance check",
                "Without SOC 2, SSAE 16, ISAE 3402, ISO 27001 or HIPAA; more than 50 users and "
                "50 MB a day.",
            ),
            (
                "discovery_new_app_of_category",
                "New app of a category (cloud storage, code hosting, collaboration, CRM, HR, "
                "online meeting, sales, vendor management)",
                "A new app of that category with more than 50 users and 50 MB a day.",
            ),
            ("discovery_high_volume", "New high volume app", "More than 500 MB of daily traffic."),
            (
                "discovery_high_upload",
                "New high upload volume app",
                "More than 500 MB uploaded a day.",
            ),
            ("discovery_popular", "New popular app", "More than 500 users."),
            (
                "discovery_risky",
                "New risky app",
                "Risk score below 6, more than 50 users and 50 MB a day.",
            ),
        )
    ),
    *(
        PolicyTemplate(key=key, name=name, category=category, logic=logic, needs=FILES)
        for key, name, category, logic in (
            (
                "dlp_shared_source_code",
                "Externally shared source code",
                Category.DLP,
                "A file containing source code shared outside the organisation.",
            ),
            (
                "dlp_sensitive_data",
                "File containing PCI, PHI or private information detected in the cloud",
                Category.DLP,
                "Found by the built-in content inspection in a sanctioned app.",
            ),
            (
                "sharing_personal_email",
                "File shared with personal email addresses",
                Category.SHARING_CONTROL,
                "A file shared with an address of a personal email service.",
            ),
            (
                "sharing_unauthorized_domain",
                "File shared with unauthorized domain",
                Category.SHARING_CONTROL,
                "A file shared with a domain you name, e.g. a competitor's.",
            ),
            (
                "sharing_certificates",
                "Shared digital certificates (file extensions)",
                Category.SHARING_CONTROL,
                "Public sharing of certificate files.",
            ),
            (
                "sharing_public_s3",
                "Publicly accessible S3 buckets (AWS)",
                Category.SHARING_CONTROL,
                "An S3 bucket anyone on the internet can read.",
            ),
        )
    ),
)

BY_KEY: dict[str, PolicyTemplate] = {t.key: t for t in TEMPLATES}


def template(key: str) -> PolicyTemplate | None:
    """The template of `key`, or None."""
    return BY_KEY.get(key)


def creatable() -> list[PolicyTemplate]:
    return [t for t in TEMPLATES if t.available]
