"""File policy templates: a few of the reference product's (spec 3.9), as ready-made fields.

A template only pre-fills the create form; the policy records the template's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.alerts.models import Category, Severity
from apps.governance.models import GovernanceKind

from .models import AccessLevel, FileSource

SHARED_OUTSIDE = [AccessLevel.EXTERNAL, AccessLevel.PUBLIC, AccessLevel.PUBLIC_INTERNET]


@dataclass(frozen=True)
class FileTemplate:
    key: str
    name: str
    logic: str
    severity: int
    category: str
    filters: dict
    governance: list = field(default_factory=list)

    def values(self) -> dict:
        """The fields a policy made from this template starts with."""
        return {
            "name": self.name,
            "description": self.logic,
            "template": self.key,
            "severity": self.severity,
            "category": self.category,
            "filters": dict(self.filters),
            "governance": list(self.governance),
        }


TEMPLATES = (
    FileTemplate(
        key="file_pci_shared_externally",
        name="File shared externally with payment card numbers",
        logic="A file holding payment card numbers is shared outside the organisation; "
        "external sharing is removed.",
        severity=Severity.HIGH,
        category=Category.DLP,
        filters={
            "sensitive_types": ["payment_card"],
            "min_matches": 1,
            "access_levels": [int(level) for level in SHARED_OUTSIDE],
        },
        governance=[GovernanceKind.REMOVE_EXTERNAL_SHARING],
    ),
    FileTemplate(
        key="file_credentials",
        name="Credentials in files",
        logic="A file holds private keys, cloud access keys or API tokens; its owner is told.",
        severity=Severity.HIGH,
        category=Category.DLP,
        filters={
            "sensitive_types": [
                "private_key",
                "aws_access_key",
                "github_token",
                "slack_token",
                "jwt",
            ]
        },
        governance=[GovernanceKind.NOTIFY_USER],
    ),
    FileTemplate(
        key="file_pci_in_cloud",
        name="File containing PCI detected in the cloud",
        logic="A file in a connected app holds payment card or bank account numbers.",
        severity=Severity.MEDIUM,
        category=Category.DLP,
        filters={
            "sensitive_types": ["payment_card", "iban"],
            "sources": [FileSource.APP.value],
        },
    ),
    FileTemplate(
        key="file_pii_in_cloud",
        name="File containing private information detected in the cloud",
        logic="A file in a connected app holds social security, national insurance or "
        "passport numbers.",
        severity=Severity.MEDIUM,
        category=Category.DLP,
        filters={
            "sensitive_types": ["us_ssn", "uk_nino", "us_passport"],
            "sources": [FileSource.APP.value],
        },
    ),
    FileTemplate(
        key="file_shared_certificates",
        name="Shared digital certificates",
        logic="Certificate and key files (.pem, .crt, .cer, .key, .pfx, .p12) shared outside "
        "the organisation.",
        severity=Severity.MEDIUM,
        category=Category.SHARING_CONTROL,
        filters={
            "extensions": ["cer", "crt", "key", "p12", "pem", "pfx"],
            "access_levels": [int(level) for level in SHARED_OUTSIDE],
        },
    ),
)

_BY_KEY = {t.key: t for t in TEMPLATES}


def template(key: str) -> FileTemplate | None:
    return _BY_KEY.get(key)
