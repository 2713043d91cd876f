"""File policies applied to one scanned file.

`apply(record, results, now=...)` runs inside the scan's transaction (`services.scan_file`): it
reads the enabled file policies (`alerts.Policy`, kind `file`) in one query and the owner
groups they name in one more, checks each policy's conditions (`policy_checks` documents the
vocabulary) against the file's metadata and what the engine found, and for each match:

- raises an alert of type "file policy" (unless the policy's `tuning.alert` is off) through
  `alerts.raising.raise_alerts`, one per policy and file: the file matching again while that
  alert is open (within the policy's fold window) updates it instead of raising another, and
  the daily alert limit holds new ones back. Evidence lines name the file, the types and their
  counts, never a matched value; the alert links the owner (person, account) and the app;
- requests the policy's governance actions through `governance.services.request_action`:
  file actions only for a file of a connected app (its app and id), "notify user" only when
  the owner's account is known; each once per policy, file and alert (idempotency key). A
  match without an alert (the policy's alerts are off, or the daily limit held it back) still
  gets its actions, once per file content and sharing level;
- says block when a matching policy's `tuning.block` is on (the ICAP server answers with its
  block page).

It returns the matching policies' ids and the block flag (`Decision`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from apps.accounts.models import GroupMembership
from apps.alerts.detectors.base import Finding
from apps.alerts.models import AlertType, Policy, PolicyKind
from apps.alerts.raising import Ledger, dedupe_key, raise_alerts
from apps.governance.models import FILE_ACTIONS, GovernanceKind, Source
from apps.governance.services import GovernanceRefused, request_action

from .models import AccessLevel, FileRecord

MAX_EVIDENCE_TYPES = 10


@dataclass
class Decision:
    """What the file policies decided for one file."""

    policy_ids: list = field(default_factory=list)
    block: bool = False
    alert_ids: list = field(default_factory=list)  # raised or folded (for the outbox)


class _Owners:
    """Members (accounts, people) of the groups the policies name, read in one query."""

    def __init__(self, policies: list[Policy]):
        wanted = {str(g) for p in policies for g in [*p.include_groups, *p.exclude_groups]}
        self.members: dict[str, tuple[set, set]] = defaultdict(lambda: (set(), set()))
        if wanted:
            for group_id, account_id, user_id in GroupMembership.objects.filter(
                group_id__in=wanted
            ).values_list("group_id", "account_id", "account__user_id"):
                accounts, users = self.members[str(group_id)]
                accounts.add(account_id)
                if user_id:
                    users.add(user_id)

    def _in(self, groups, record: FileRecord) -> bool:
        for group in groups:
            accounts, users = self.members[str(group)]
            if record.owner_account_id is not None and record.owner_account_id in accounts:
                return True
            if record.owner_user_id is not None and record.owner_user_id in users:
                return True
        return False

    def allows(self, policy: Policy, record: FileRecord) -> bool:
        include, exclude = policy.include_groups or [], policy.exclude_groups or []
        if include and not self._in(include, record):
            return False
        return not (exclude and self._in(exclude, record))


def matched_types(policy: Policy, results: dict) -> list[str] | None:
    """The policy's types found in the file (every found type when it names none), or None
    when the content condition fails."""
    wanted = (policy.filters or {}).get("sensitive_types") or []
    if not wanted:
        return sorted(results)
    found = [key for key in wanted if key in results]
    total = sum(results[key].count for key in found)
    if not found or total < int((policy.filters or {}).get("min_matches") or 1):
        return None
    return found


def metadata_matches(policy: Policy, record: FileRecord) -> bool:
    """The policy's conditions on the file's metadata (empty ones always hold)."""
    f = policy.filters or {}
    if f.get("file_types") and record.file_type not in f["file_types"]:
        return False
    if f.get("extensions") and record.extension.lower() not in f["extensions"]:
        return False
    if f.get("apps") and str(record.app_instance_id) not in f["apps"]:
        return False
    if f.get("access_levels") and record.access_level not in f["access_levels"]:
        return False
    if f.get("sources") and record.source not in f["sources"]:
        return False
    needle = f.get("name_contains")
    return not (needle and needle.lower() not in record.name.lower())


def _evidence(record: FileRecord, results: dict, types: list[str]) -> list[str]:
    lines = [
        f"{record.name}: {results[key].label} × {results[key].count}"  # noqa: RUF001
        for key in types[:MAX_EVIDENCE_TYPES]
    ]
    if record.access_level != AccessLevel.PRIVATE:
        shared = f"{record.name}: shared {AccessLevel(record.access_level).label.lower()}"
        if record.external_domains:
            shared += f" ({len(record.external_domains)} external domain(s))"
        lines.append(shared)
    return lines or [f"{record.name}: matched the policy's conditions"]


def _finding(policy: Policy, record: FileRecord, results: dict, types, now) -> Finding:
    where = record.app_instance.name if record.app_instance is not None else record.source
    owner = record.owner or "an unknown owner"
    return Finding(
        subject=f"file:{record.pk}",
        title=f"{policy.name}: {record.name}",
        description=f"The file “{record.name}” ({where}) owned by {owner} matches the file "
        f"policy “{policy.name}”.",
        rows=[],
        evidence=_evidence(record, results, types),
        at=now,
        user_ids=(record.owner_user_id,) if record.owner_user_id else (),
        account_ids=(record.owner_account_id,) if record.owner_account_id else (),
        app_ids=(record.app_instance_id,) if record.app_instance_id else (),
    )


def _govern(policy: Policy, record: FileRecord, alert) -> None:
    """Request the policy's actions that this file allows (see the module docstring)."""
    for kind in policy.governance or []:
        target: dict = {}
        if kind in FILE_ACTIONS:
            if record.app_instance_id is None or not record.external_id:
                continue  # an ICAP or API file: no app to act in
            target = {
                "app_instance": record.app_instance,
                "file_id": record.external_id,
                "target_label": record.name,
            }
            if "@" in record.owner:  # Google acts as the file's owner
                target["params"] = {"owner": record.owner}
        elif kind == GovernanceKind.NOTIFY_USER:
            if record.owner_account_id is None:
                continue
            target = {
                "account": record.owner_account,
                "params": {
                    "message": f"Your file “{record.name}” matches the data protection policy "
                    f"“{policy.name}”: it may hold sensitive information. Please check who it "
                    "is shared with and remove what does not belong in it."
                },
            }
        else:
            continue
        # Once per policy, file and alert; without an alert, once per content and sharing.
        moment = alert.pk if alert is not None else f"{record.sha256[:16]}:{record.access_level}"
        try:
            request_action(
                kind=kind,
                source=Source.POLICY,
                policy=policy,
                alert=alert,
                idempotency_key=f"{policy.pk}:{kind}:{record.pk}:{moment}"[:200],
                **target,
            )
        except GovernanceRefused:
            continue


def apply(record: FileRecord, results: dict, *, now: datetime) -> Decision:
    decision = Decision()
    policies = list(Policy.objects.filter(kind=PolicyKind.FILE, enabled=True).order_by("name"))
    if not policies:
        return decision
    owners = _Owners(policies)
    matching = []
    for policy in policies:
        if not metadata_matches(policy, record) or not owners.allows(policy, record):
            continue
        types = matched_types(policy, results)
        if types is None:
            continue
        matching.append((policy, types))
    if not matching:
        return decision
    alerting = [policy for policy, _ in matching if (policy.tuning or {}).get("alert", True)]
    ledger = Ledger(alerting, now, now) if alerting else None
    for policy, types in matching:
        decision.policy_ids.append(policy.pk)
        tuning = policy.tuning or {}
        decision.block = decision.block or bool(tuning.get("block"))
        alert = None
        if tuning.get("alert", True):
            finding = _finding(policy, record, results, types, now)
            raised = raise_alerts(
                policy=policy,
                findings=[finding],
                alert_type=AlertType.FILE_POLICY,
                now=now,
                ledger=ledger,
            )
            if raised.created:
                alert = raised.created[0][0]
            elif raised.updated:
                alert = ledger.open[policy.pk].get(dedupe_key(policy, finding))
            if alert is not None:
                decision.alert_ids.append(alert.pk)
        _govern(policy, record, alert)
    if ledger is not None:
        ledger.write()
    return decision
