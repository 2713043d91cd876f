"""The catalog's risk attributes (spec 5.6), their groups and how each scores 0-10.

An app's record in the catalog data holds only the attributes whose value is publicly known;
a missing attribute is "not available" (N/A): left out of the score, or counted as 0 when the
tenant ticks "count N/A as negative".

Kinds and scoring:
- bool: True = 10, False = 0.
- year (founded): 10 for 10+ years old, linear below.
- choice: a mapping value -> score in `scores`.
- date (latest breach, "YYYY-MM-DD"): 0 when in the last year, 10 after 5 years, linear between;
  an app with no known breach has the attribute absent (N/A), as the catalog cannot prove none.
- level (popularity 0-10): the value itself.
- info: shown, never scored (URLs, country codes, names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

GENERAL = "general"
SECURITY = "security"
COMPLIANCE = "compliance"
LEGAL = "legal"
GROUPS = {
    GENERAL: "General",
    SECURITY: "Security",
    COMPLIANCE: "Compliance",
    LEGAL: "Legal",
}

# Importance levels of the score metric (spec 5.6): the weight each level gives.
WEIGHT_LEVELS = {0: "Ignored", 1: "Low", 2: "Medium", 3: "High", 4: "Very high"}
DEFAULT_LEVEL = 2


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    group: str
    kind: str  # bool | year | choice | date | level | info
    scores: dict = field(default_factory=dict)  # choice kind: value -> 0..10

    @property
    def scored(self) -> bool:
        return self.kind != "info"

    def score(self, value, today: date | None = None) -> float | None:
        """0-10 for a known value, None when the value does not score."""
        if value is None or self.kind == "info":
            return None
        if self.kind == "bool":
            return 10.0 if value else 0.0
        if self.kind == "level":
            return max(0.0, min(10.0, float(value)))
        if self.kind == "choice":
            result = self.scores.get(value)
            return None if result is None else float(result)
        today = today or datetime.now(UTC).date()
        if self.kind == "year":
            return max(0.0, min(10.0, float(today.year - int(value))))
        if self.kind == "date":
            age_days = (today - date.fromisoformat(value)).days
            return max(0.0, min(10.0, (age_days - 365) / (4 * 365) * 10))
        raise ValueError(f"unknown attribute kind {self.kind!r}")


def _bool(key: str, label: str, group: str) -> Attribute:
    return Attribute(key, label, group, "bool")


ATTRIBUTES: tuple[Attribute, ...] = (
    # General
    Attribute("headquarters", "Headquarters", GENERAL, "info"),
    Attribute("data_centers", "Data center locations", GENERAL, "info"),
    Attribute("hosting_company", "Hosting company", GENERAL, "info"),
    Attribute("founded", "Founded", GENERAL, "year"),
    Attribute("holding", "Holding", GENERAL, "choice", {"public": 10, "private": 6}),
    Attribute("popularity", "Consumer popularity", GENERAL, "level"),
    Attribute("terms_of_service", "Terms of service", GENERAL, "info"),
    Attribute("privacy_policy", "Privacy policy", GENERAL, "info"),
    _bool("disaster_recovery_plan", "Disaster recovery plan", GENERAL),
    # Security
    Attribute("latest_breach", "Latest breach", SECURITY, "date"),
    Attribute(
        "encryption_at_rest",
        "Data-at-rest encryption method",
        SECURITY,
        "choice",
        {"aes": 10, "bitlocker": 8, "other": 6, "not_supported": 0},
    ),
    _bool("mfa", "Multi-factor authentication", SECURITY),
    _bool("ip_restriction", "IP address restriction", SECURITY),
    _bool("user_audit_trail", "User audit trail", SECURITY),
    _bool("admin_audit_trail", "Admin audit trail", SECURITY),
    _bool("data_audit_trail", "Data audit trail", SECURITY),
    _bool("data_classification", "Data classification", SECURITY),
    _bool("user_roles", "User-roles support", SECURITY),
    _bool("saml", "Supports SAML", SECURITY),
    _bool("pen_testing", "Penetration testing", SECURITY),
    _bool("requires_auth", "Requires user authentication", SECURITY),
    _bool("password_policy", "Password policy", SECURITY),
    _bool("tls", "Encryption in transit (TLS)", SECURITY),
    _bool("http_security_headers", "HTTP security headers", SECURITY),
    # Informational: whether users can upload data and share files changes the exposure, not
    # the vendor's trustworthiness, so they filter but do not score.
    Attribute("user_upload", "User can upload data", SECURITY, "info"),
    Attribute("file_sharing", "File sharing", SECURITY, "info"),
    # Compliance
    _bool("soc1", "SOC 1", COMPLIANCE),
    _bool("soc2", "SOC 2", COMPLIANCE),
    _bool("soc3", "SOC 3", COMPLIANCE),
    _bool("iso27001", "ISO 27001", COMPLIANCE),
    _bool("iso27017", "ISO 27017", COMPLIANCE),
    _bool("iso27018", "ISO 27018", COMPLIANCE),
    _bool("hipaa", "HIPAA", COMPLIANCE),
    Attribute(
        "pci_dss",
        "PCI DSS version",
        COMPLIANCE,
        "choice",
        {"4.0": 10, "3.2.1": 10, "3.2": 9, "3.1": 8, "3": 7, "2": 5, "1": 3, "na": 0},
    ),
    Attribute(
        "fedramp",
        "FedRAMP level",
        COMPLIANCE,
        "choice",
        {"high": 10, "moderate": 9, "low": 8, "li-saas": 7, "na": 0},
    ),
    Attribute(
        "csa_star",
        "CSA STAR level",
        COMPLIANCE,
        "choice",
        {
            "continuous": 10,
            "certification": 9,
            "attestation": 9,
            "c-star": 9,
            "self-assessment": 6,
            "na": 0,
        },
    ),
    _bool("finra", "FINRA", COMPLIANCE),
    _bool("fisma", "FISMA", COMPLIANCE),
    _bool("gaap", "GAAP", COMPLIANCE),
    _bool("isae3402", "ISAE 3402", COMPLIANCE),
    _bool("itar", "ITAR", COMPLIANCE),
    _bool("sox", "SOX", COMPLIANCE),
    _bool("sp800_53", "SP 800-53", COMPLIANCE),
    _bool("ssae16", "SSAE 16", COMPLIANCE),
    _bool("glba", "GLBA", COMPLIANCE),
    _bool("hitrust", "HITRUST CSF", COMPLIANCE),
    _bool("coppa", "COPPA", COMPLIANCE),
    _bool("ferpa", "FERPA", COMPLIANCE),
    # Legal
    Attribute("data_ownership", "Data ownership", LEGAL, "choice", {"customer": 10, "vendor": 0}),
    _bool("dmca", "DMCA", LEGAL),
    _bool("data_retention_policy", "Data retention policy", LEGAL),
    Attribute("gdpr_statement", "GDPR readiness statement", LEGAL, "info"),
    _bool("gdpr_right_to_erasure", "GDPR - Right to erasure", LEGAL),
    _bool("gdpr_breach_report", "GDPR - Report data breaches", LEGAL),
    _bool("gdpr_dpo", "GDPR - Data protection officer", LEGAL),
    _bool("gdpr_right_to_access", "GDPR - Right to access", LEGAL),
    _bool("gdpr_portability", "GDPR - Right to data portability", LEGAL),
    _bool("gdpr_cross_border", "GDPR - Secure cross border data control", LEGAL),
    _bool("gdpr_lawful_basis", "GDPR - Lawful basis for processing", LEGAL),
)

BY_KEY = {attribute.key: attribute for attribute in ATTRIBUTES}
SCORED = tuple(attribute for attribute in ATTRIBUTES if attribute.scored)

CATEGORIES = {
    "accounting_and_finance": "Accounting and finance",
    "advertising": "Advertising",
    "business_intelligence": "Business intelligence",
    "business_management": "Business management",
    "cloud_computing_platform": "Cloud computing platform",
    "cloud_storage": "Cloud storage",
    "code_hosting": "Code hosting",
    "collaboration": "Collaboration",
    "communications": "Communications",
    "consumer": "Consumer",
    "content_management": "Content management",
    "content_sharing": "Content sharing",
    "crm": "CRM",
    "customer_support": "Customer support",
    "data_analytics": "Data analytics",
    "development_tools": "Development tools",
    "ecommerce": "Ecommerce",
    "education": "Education",
    "forums": "Forums",
    "generative_ai": "Generative AI",
    "health": "Health",
    "hosting_services": "Hosting services",
    "human_resource_management": "Human resource management",
    "internet_of_things": "Internet of Things",
    "it_services": "IT services",
    "marketing": "Marketing",
    "media": "Media",
    "news_and_entertainment": "News and entertainment",
    "online_meetings": "Online meetings",
    "operations_management": "Operations management",
    "personal_instant_messaging": "Personal instant messaging",
    "product_design": "Product design",
    "productivity": "Productivity",
    "project_management": "Project management",
    "property_management": "Property management",
    "sales": "Sales",
    "security": "Security",
    "social_network": "Social network",
    "supply_chain_and_logistics": "Supply chain and logistics",
    "time_tracking": "Time tracking",
    "transportation_and_travel": "Transportation and travel",
    "unclassified": "Unclassified",
    "vendor_management_system": "Vendor management system",
    "web_analytics": "Web analytics",
    "webmail": "Webmail",
    "website_monitoring": "Website monitoring",
}
