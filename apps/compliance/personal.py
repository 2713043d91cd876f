"""The registry of personal data: for every tenant model, how a person's rows are found and what
erasing them does, or why the model holds no personal data about monitored people.

`PERSONAL` (label -> `Personal`) and `NOT_PERSONAL` (label -> reason) together must name every
model of `inventory.tenant_models()`; `unregistered()` lists the ones they miss and a test fails
on any, so a model added later cannot slip past data-subject requests unnoticed.

A *subject* (`Subject`) is one person (a `CloudUser`) with their accounts, or accounts that no
person holds (the account cleanup, or an app account never joined to a person). Its `names` are
the lower-cased strings that identify it (identity, emails, usernames, display names, external
ids); text that is kept but mentions them (a shared alert's title, a governance action's label)
has them replaced by `REDACTED`.

Decisions:
- Alerts about only this subject are deleted; alerts shared with others keep the others and lose
  the subject's link rows, names and the IP addresses only the subject used.
- Governance actions are *redacted*, not deleted: the governance log is the tenant's record of
  what its admins did to a vendor (accountability), so the row stays with its kind, status and
  times, while the FKs to the person and account are nulled and target label/ref, params,
  comment and vendor text lose the subject's identifiers.
- File records (content inspection) of the subject are deleted with their matches: a record is
  theirs when its owner link is the person or one of their accounts, or its owner string (the
  app's or the proxy's name for the owner) equals one of their names. Only metadata and masked,
  sealed match samples are kept, but name, location and owner describe the person's files.
  The export holds the records' metadata and, per record, the types found and their counts
  (`files`); the sealed samples are never exported (masked context around a match may still name
  other people).
- Activities: a full erase deletes them (by person, by account and by an unresolved actor name,
  in every day partition, in batches); the deleted-account cleanup keeps them for the activity
  log but strips what identifies the account (actor, IP, user agent, raw event, account link).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models
from django.db.models.functions import Lower

from apps.accounts.models import Account, CloudUser
from apps.tenants.models import Tenant

from .inventory import tenant_models

REDACTED = "[erased]"
MIN_NAME = 3  # shorter strings are not redacted from text (they would hit unrelated words)


@dataclass
class Subject:
    """Who a request or cleanup is about (see the module docstring)."""

    tenant: Tenant
    user: CloudUser | None
    accounts: list[Account]
    names: frozenset[str]
    full: bool = True  # False: the deleted-account cleanup (activities are kept, stripped)
    pseudonyms: frozenset[str] = frozenset()
    only_ips: frozenset[str] = frozenset()  # filled by `prepare()` before an erase
    _pattern: re.Pattern | None = field(default=None, repr=False)

    @property
    def user_id(self):
        return self.user.pk if self.user is not None else None

    @property
    def account_ids(self) -> list:
        return [a.pk for a in self.accounts]

    @property
    def detector_keys(self) -> set[str]:
        """The keys the alert evaluator groups this subject's activities under (Row.subject)."""
        keys = {f"a:{pk}" for pk in self.account_ids} | {f"n:{name}" for name in self.names}
        if self.user_id is not None:
            keys.add(f"u:{self.user_id}")
        return keys

    def scrub(self, value):
        """`value` (text, or JSON of lists/dicts) with the subject's names and only-theirs IPs
        replaced by REDACTED; dict keys are scrubbed too."""
        if self._pattern is None:
            words = [w for w in self.names | self.only_ips if len(w) >= MIN_NAME]
            if not words:
                return value
            words.sort(key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
        if isinstance(value, str):
            return self._pattern.sub(REDACTED, value)
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        return value


def names_of(user: CloudUser | None, accounts: Iterable[Account]) -> frozenset[str]:
    found = set()
    if user is not None:
        found |= {user.identity, user.email, user.display_name}
    for account in accounts:
        found |= {account.username, account.email, account.display_name, account.external_id}
    return frozenset(n.strip().lower() for n in found if n and len(n.strip()) >= MIN_NAME)


@dataclass(frozen=True)
class Personal:
    """How one model's rows about a subject are found and erased."""

    label: str
    found_by: str
    erase: str  # what erasing does, in words (the code: `erasure.STEPS`)
    export_kind: str | None = None  # the export file the rows go to (None: not exported)


PERSONAL: dict[str, Personal] = {
    p.label: p
    for p in [
        Personal("accounts.CloudUser", "the person itself", "deleted (full erase only)", "profile"),
        Personal(
            "accounts.Account",
            "the person's accounts (or the accounts asked about)",
            "deleted",
            "accounts",
        ),
        Personal(
            "accounts.GroupMembership",
            "memberships of the subject's accounts",
            "deleted",
            "memberships",
        ),
        Personal(
            "activities.Activity",
            "user_id, account_id, or an unresolved actor name equal to one of the names",
            "full erase: deleted in batches per partition; cleanup: actor, IP, user agent, raw "
            "and account link cleared",
            "activities",
        ),
        Personal(
            "alerts.Alert",
            "linked through AlertUser / AlertAccount / AlertActivity",
            "only this subject: deleted; shared: names and only-theirs IPs redacted from title, "
            "description, evidence, comment, dedupe key and IPs",
            "alerts",
        ),
        Personal("alerts.AlertUser", "user = the person", "deleted"),
        Personal("alerts.AlertAccount", "account in the subject's accounts", "deleted"),
        Personal("alerts.AlertActivity", "links to the subject's activities", "deleted with them"),
        Personal(
            "alerts.DetectorState",
            "subject key u:<person>, a:<account> or n:<name>",
            "deleted",
            "detector_state",
        ),
        Personal(
            "alerts.MatchWindow",
            "its `times` keys (subject keys, optionally @app)",
            "the subject's keys removed",
        ),
        Personal(
            "alerts.Policy",
            "filters or description naming the subject (scanned: a tenant has few policies)",
            "names redacted (a filter on an erased person then matches nobody)",
        ),
        Personal(
            "governance.GovernanceAction",
            "user / account FK, or target label/ref equal to a name",
            "redacted: FKs nulled, target label/ref, params, comment, result, error scrubbed",
            "governance",
        ),
        Personal(
            "discovery.AppUserDay",
            "user = one of the names or its pseudonym (anonymised reports)",
            "deleted",
            "discovery_usage",
        ),
        Personal(
            "discovery.AppIpDay",
            "ip = an address only this subject used (by their activities)",
            "deleted (full erase only)",
        ),
        Personal(
            "discovery.Upload",
            "skipped-line samples and errors naming the subject (raw log lines)",
            "names redacted",
        ),
        Personal(
            "dlp.FileRecord",
            "owner_user = the person, owner_account in the subject's accounts, or owner equal to "
            "one of the names",
            "deleted (with its matches)",
            "files",
        ),
        Personal("dlp.Match", "the matches of the subject's file records", "deleted with them"),
        Personal(
            "compliance.SubjectRequest",
            "earlier requests about the same person (digest)",
            "reference text scrubbed; export archives deleted",
        ),
    ]
}

NOT_PERSONAL: dict[str, str] = {
    "tenants.AuditEvent": "console users' actions; by rule never a monitored person's identity "
    "(request ids and masked labels only); append-only and hash-chained",
    "connectors.AppInstance": "a connected app and its sealed credentials",
    "connectors.PollCursor": "a connector's position in a vendor's event stream",
    "connectors.StatusChange": "a connector's health history",
    "accounts.UserGroup": "a group's name and id as the app defines it (not a person)",
    "activities.IpRange": "the tenant's named network ranges",
    "alerts.AlertApp": "links an alert to an app; goes with a deleted alert",
    "integrations.Destination": "a receiver's address, filter and sealed secret",
    "integrations.OutboxSequence": "the tenant's outbox counter",
    "integrations.OutboxEvent": "ids of activities and alerts waiting to be sent (no content; "
    "ids of erased rows send nothing)",
    "integrations.DeadLetter": "the id of an item a receiver refused, and its error",
    "integrations.Delivery": "webhook delivery history: ids, status codes and times",
    "alerts.AlertSequence": "the tenant's alert number counter",
    "alerts.EvaluationBatch": "ids of activities waiting for evaluation (no content; ids of "
    "deleted activities are skipped by the evaluator)",
    "alerts.PolicyDay": "per-policy daily counters",
    "discovery.DiscoverySettings": "score weights",
    "discovery.CustomParser": "column names of a log format",
    "discovery.DataSource": "a log source's name and format",
    "discovery.Report": "a report's name and settings (created_by is a console user)",
    "discovery.AppDay": "per-app daily totals, no user or address",
    "discovery.CustomApp": "the tenant's own app definitions",
    "discovery.AppTag": "tag names",
    "discovery.AppTagging": "app-to-tag links",
    "discovery.AppOverride": "an admin's score override of an app",
    "discovery.AnonymizationKey": "the tenant's sealed pseudonymisation key",
    "compliance.RetentionSettings": "retention periods",
    "compliance.PurgeRun": "counts of what a purge removed (no row content)",
    "compliance.ScopeRule": "group ids and app keys of scoped deployment",
    "compliance.PrivacySettings": "group ids of activity privacy",
    "dlp.CustomSensitiveType": "a tenant's own sensitive information type (regex, keywords)",
    "dlp.DlpSettings": "per-type detection thresholds",
    "dlp.IcapSettings": "the ICAP service's switch, mode, block message and secret digest",
}


def unregistered() -> list[str]:
    """Tenant models neither list names (must be empty; see the module docstring)."""
    labels = {m._meta.label for m in tenant_models()}
    return sorted(labels - set(PERSONAL) - set(NOT_PERSONAL))


def model(label: str) -> type[models.Model]:
    return next(m for m in tenant_models() if m._meta.label == label)


# --- Finding ------------------------------------------------------------------------------------


def activities_q(subject: Subject) -> models.Q:
    """By person, by account, and by an unresolved actor name of theirs."""
    q = models.Q(account_id__in=subject.account_ids)
    if subject.user_id is not None:
        q |= models.Q(user_id=subject.user_id)
    if subject.names:
        by_name = models.Q()
        for name in subject.names:
            by_name |= models.Q(actor__iexact=name)
        q |= models.Q(user_id=None, account_id=None) & by_name
    return q


def rows(subject: Subject, kind: str) -> models.QuerySet:
    """The subject's rows of one export kind (scoped: call inside the tenant's context).

    Activities include private ones: the person is entitled to them."""
    from apps.accounts.models import GroupMembership
    from apps.activities.models import Activity
    from apps.alerts.models import Alert, DetectorState
    from apps.discovery.models import AppUserDay

    ids = subject.account_ids
    if kind == "profile":
        return CloudUser.objects.filter(pk=subject.user_id)
    if kind == "accounts":
        return Account.objects.filter(pk__in=ids).order_by("username")
    if kind == "memberships":
        return GroupMembership.objects.filter(account_id__in=ids).select_related("group")
    if kind == "activities":
        return Activity.objects.filter(activities_q(subject))
    if kind == "alerts":
        q = models.Q(pk__in=alert_ids(subject))
        return Alert.objects.filter(q).order_by("-last_triggered_at")
    if kind == "governance":
        return governance_rows(subject)
    if kind == "detector_state":
        return DetectorState.objects.filter(subject__in=subject.detector_keys)
    if kind == "discovery_usage":
        return AppUserDay.objects.annotate(low=Lower("user")).filter(
            low__in=subject.names | subject.pseudonyms
        )
    if kind == "files":
        return file_rows(subject)
    raise ValueError(kind)


EXPORT_KINDS = (
    "profile",
    "accounts",
    "memberships",
    "activities",
    "alerts",
    "governance",
    "detector_state",
    "discovery_usage",
    "files",
)


def alert_ids(subject: Subject) -> set:
    from apps.activities.models import Activity
    from apps.alerts.models import AlertAccount, AlertActivity, AlertUser

    found = set(
        AlertAccount.objects.filter(account_id__in=subject.account_ids).values_list(
            "alert_id", flat=True
        )
    )
    if subject.user_id is not None:
        found |= set(
            AlertUser.objects.filter(user_id=subject.user_id).values_list("alert_id", flat=True)
        )
    theirs = Activity.objects.filter(activities_q(subject)).values("id")
    found |= set(
        AlertActivity.objects.filter(activity_id__in=theirs).values_list("alert_id", flat=True)
    )
    return found


def governance_rows(subject: Subject) -> models.QuerySet:
    from apps.governance.models import GovernanceAction

    q = models.Q(account_id__in=subject.account_ids)
    if subject.user_id is not None:
        q |= models.Q(user_id=subject.user_id)
    names = list(subject.names)
    q |= models.Q(label_low__in=names) | models.Q(ref_low__in=names)
    return GovernanceAction.objects.annotate(
        label_low=Lower("target_label"), ref_low=Lower("target_ref")
    ).filter(q)


def file_rows(subject: Subject) -> models.QuerySet:
    """The subject's file records: by owner link (person or account) or owner name."""
    from apps.dlp.models import FileRecord

    q = models.Q(owner_account_id__in=subject.account_ids)
    if subject.user_id is not None:
        q |= models.Q(owner_user_id=subject.user_id)
    names = list(subject.names)
    if names:
        q |= models.Q(owner_low__in=names)
    return FileRecord.objects.annotate(owner_low=Lower("owner")).filter(q)
