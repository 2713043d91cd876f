"""Suspicious inbox forwarding: a new rule or mailbox setting sends a person's mail outside.

What counts (from what the connector adapters store):
- Microsoft 365 (Exchange audit): `New-InboxRule` / `Set-InboxRule` with ForwardTo, RedirectTo
  or ForwardAsAttachmentTo, `Set-Mailbox` with ForwardingSmtpAddress or ForwardingAddress (the
  adapter marks these `mail_forwarding` when such a parameter has a value), and Outlook's
  `UpdateInboxRules` (the rule's actions are in OperationProperties, RuleActions);
- Google Workspace: `email_forwarding_change` / `email_forwarding_out_of_domain` (user_accounts
  report), whose parameters name the forwarding address;
- anything else ingested as `mail_forwarding` (e.g. through the push API): the addresses are
  looked for in its raw record and object name.

A destination is external unless its domain is internal: listed in `internal_domains` (a
subdomain of a listed domain counts too) or, by default, the domain of the person's own
address. It is unusual when this person has not forwarded to it before (the detection
remembers up to 50 destinations per person). One alert per rule (`Finding.key`: the rule's
name when the app gives one, else the mailbox setting or the first new destination).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from apps.activities.categories import ActivityType

from ..models import Severity
from . import register
from .base import Context, Detector, Finding, Option, Row
from .common import line, who

MAIL_FORWARDING = ActivityType.MAIL_FORWARDING.value
ACTIONS = frozenset(
    {
        "new-inboxrule",
        "set-inboxrule",
        "set-mailbox",
        "updateinboxrules",
        "email_forwarding_change",
        "email_forwarding_out_of_domain",
    }
)
EXCHANGE_PARAMETERS = frozenset(
    {
        "forwardto",
        "redirectto",
        "forwardasattachmentto",
        "forwardingsmtpaddress",
        "forwardingaddress",
    }
)
RULE_NAMES = ("name", "identity", "rulename")
MAX_DESTINATIONS = 50
MAX_SCANNED = 200  # string values looked at in a raw record of unknown shape
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


@register
class InboxForwarding(Detector):
    key = "inbox_forwarding"
    name = "Suspicious inbox forwarding"
    description = (
        "A new inbox rule or mailbox setting forwards or redirects a person's mail to an "
        "external address they have not forwarded to before."
    )
    tactic = "Exfiltration"
    severity = Severity.HIGH
    raw_activity_types = frozenset({MAIL_FORWARDING})
    raw_action_types = ACTIONS
    options = (
        Option(
            "internal_domains",
            "Internal mail domains",
            "words",
            [],
            help="Forwarding to these domains (and their subdomains) never alerts.",
        ),
        Option(
            "own_domain_internal",
            "The person's own mail domain is internal",
            "bool",
            True,
        ),
    )

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        candidates = [
            row
            for row in rows
            if (row.activity_type == MAIL_FORWARDING or row.action_type.lower() in ACTIONS)
            and row.succeeded is not False
        ]
        if not candidates:
            return []
        internal = tuple(d.lstrip("@.") for d in ctx.options["internal_domains"])
        own_domain = ctx.options["own_domain_internal"]
        ctx.prefetch({row.subject for row in candidates})
        findings: list[Finding] = []
        for row in candidates:
            domains = internal
            if own_domain and "@" in row.actor:
                domains = (*internal, row.actor.rsplit("@", 1)[1].lower())
            external = [d for d in destinations(row) if not _internal(d, domains)]
            if not external:
                continue
            state = ctx.state(row.subject)
            known: list[str] = state.setdefault("d", [])
            new = [d for d in external if d not in known]
            if not new:
                continue
            known.extend(new)
            del known[:-MAX_DESTINATIONS]
            findings.append(_finding(row, new))
        return findings


def destinations(row: Row) -> list[str]:
    """The forwarding addresses an activity sets, lower-cased, in order, without repeats."""
    raw = row.raw if isinstance(row.raw, dict) else {}
    found: list[str] = []
    for item in _pairs(raw.get("Parameters"), "Name", "Value"):
        if item[0].lower() in EXCHANGE_PARAMETERS:
            found += _emails(item[1])
    for name, value in _pairs(raw.get("OperationProperties"), "Name", "Value"):
        if name.lower() == "ruleactions" or "forward" in name.lower():
            found += _emails(value)
    for event in raw.get("events") or []:
        if not isinstance(event, dict):
            continue
        for parameter in event.get("parameters") or []:
            if not isinstance(parameter, dict):
                continue
            name = str(parameter.get("name") or "").lower()
            if "forward" in name or "destination" in name:
                found += _emails(parameter.get("value") or parameter.get("multiValue"))
    if not found and row.activity_type == MAIL_FORWARDING:
        found = _emails(row.object_name) + _emails(row.object_id) + _scan(raw)
    actor = row.actor.lower()
    return list(dict.fromkeys(a for a in found if a != actor))


def rule_name(row: Row) -> str:
    """The inbox rule's name, when the activity is about a rule and the app gives it."""
    raw = row.raw if isinstance(row.raw, dict) else {}
    if row.action_type.lower() == "set-mailbox":
        return ""  # its Identity is the mailbox, not a rule
    for source in ("Parameters", "OperationProperties"):
        for name, value in _pairs(raw.get(source), "Name", "Value"):
            if name.lower() in RULE_NAMES and isinstance(value, str) and value.strip():
                return value.strip()[:100]
    return ""


def _finding(row: Row, new: list[str]) -> Finding:
    rule = rule_name(row)
    shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
    if rule:
        title = f"Inbox rule '{rule}' forwards mail to {shown}"
        what = f"created or changed the inbox rule '{rule}' ({row.action_type})"
    else:
        title = f"Mail forwarded to external address {shown}"
        what = f"set mail forwarding ({row.action_type})"
    return Finding(
        subject=row.subject,
        key=(rule or row.action_type + ":" + new[0])[:100],
        title=title[:200],
        description=(
            f"{who(row)} {what}, sending mail to {shown} outside the organisation, at "
            f"{row.occurred_at:%Y-%m-%d %H:%M} UTC. They had not forwarded mail to "
            f"{'this address' if len(new) == 1 else 'these addresses'} before."
        ),
        rows=[row],
        evidence=[line(row), *(f"forwards to {address}" for address in new[:5])],
    )


def _internal(address: str, domains: tuple[str, ...]) -> bool:
    domain = address.rsplit("@", 1)[1]
    return any(domain == d or domain.endswith("." + d) for d in domains)


def _pairs(items, key: str, value: str) -> list[tuple[str, object]]:
    """[(name, value)] of a Name/Value list (Exchange audit records), skipping junk."""
    if not isinstance(items, list):
        return []
    return [
        (str(item.get(key) or ""), item.get(value))
        for item in items
        if isinstance(item, dict) and item.get(key)
    ]


def _emails(value) -> list[str]:
    if isinstance(value, list):
        return [address for part in value for address in _emails(part)]
    if not isinstance(value, str) or "@" not in value:
        return []
    if value.strip().lower() in ("$null", "false", ""):
        return []
    return [match.lower() for match in EMAIL.findall(value)]


def _scan(raw: dict) -> list[str]:
    """Addresses anywhere in a raw record of unknown shape (bounded walk)."""
    found: list[str] = []
    stack: list = [raw]
    looked = 0
    while stack and looked < MAX_SCANNED:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            looked += 1
            found += _emails(value)
    return found
