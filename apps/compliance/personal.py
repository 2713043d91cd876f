"""The registry of personal data: for every tenant model, how a person's rows are found and what
erasing them does, or why the model holds no personal data about monitored people.

`PERSONAL` (label -> `Personal`) and `NOT_PERSONAL` (label -> reason) together must name every
model of `inventory.tenant_models()`; `unregistered()` lists the ones they miss and a test fails
on any, so a model added later cannot slip past data-subject requests unnoticed.

A *subject* (`Subject`) is one person (a `CloudUser`) with their accounts, or accounts that no
person holds (the account cleanup, or an app account never joined to a person). Its `names` are
the lower-cased identifiers that are unique to it (identity, emails, usernames, external ids):
only they select rows to delete, redact or export. Its `display_names` are not unique (two
people may both be "Jo Smith"), so they never select a row; text that is kept because it
mentions the subject by a name (a shared alert's title, a governance action's label) has both
replaced by `REDACTED`.

Decisions:
- Alerts about only this subject are deleted; alerts shared with others keep the others and lose
  the subject's link rows, names and the IP addresses only the subject used.
- Governance actions are *redacted*, not deleted: the governance log is the tenant's record of
  what its admins did to a vendor (accountability), so the row stays with its kind, status and
  times, while the FKs to the person and account are nulled and target label/ref, params,
  comment and vendor text lose the subject's identifiers. A file action (a file policy's
  quarantine) names no person: it is the subject's when its app and file id are those of one of
  the subject's file records. Likewise a file policy's alert is the subject's when it is about
  one of their file records (dedupe key `<policy>:file:<record>:`), even if it links no one (an
  ICAP upload's owner is only a string).
- File records (content inspection) of the subject are deleted with their matches: a record is
  theirs when its owner link is the person or one of their accounts, or its owner string (the
  app's or the proxy's name for the owner) equals one of their names. Only metadata and masked,
  sealed match samples are kept, but name, location and owner describe the person's files.
  The export holds the records' metadata and, per record, the types found and their counts
  (`files`); the sealed samples are never exported (masked context around a match may still name
  other people).
- Activities: a full erase deletes them (by person, by account and by an unresolved actor name,
  in every day partition, in batches); the deleted-account cleanup keeps them for the activity
  log but strips what identifies the account (actor, IP, user agent, raw event, account link,
  the names in object name and id; the person link too when the person goes with it).
  On a full erase, other people's activities about the subject (an admin resetting their
  password: object name or id, or a value of the raw event, equal to one of the `names`) are
  kept for the other person with the subject's names and display names replaced in object name,
  object id and raw event.
- The deleted-account cleanup never deletes what is still inside retention: it strips (see
  above), removes the directory (accounts, memberships) and, for a person left with no
  account, the profile; alerts lose the account's links and names but stay until their own
  retention.
- The audit log (`KEPT`) is neither erased nor redacted: it is append-only and hash-chained
  (a changed row breaks the chain), and it is the tenant's record of what its console users did
  (accountability, the legal basis for keeping it). Events that name the subject (by id, or one
  of the `names` in their details) are counted in the erase receipt as retained and are part
  of the export.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections, models
from django.db.models import Exists, OuterRef
from django.db.models.functions import Cast, Lower

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
    names: frozenset[str]  # unique identifiers: select rows (see the module docstring)
    full: bool = True  # False: the deleted-account cleanup (activities are kept, stripped)
    pseudonyms: frozenset[str] = frozenset()
    only_ips: frozenset[str] = frozenset()  # filled by `prepare()` before an erase
    display_names: frozenset[str] = frozenset()  # not unique: only redacted from kept text
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
        """`value` (text, or JSON of lists/dicts) with the subject's names, display names and
        only-theirs IPs replaced by REDACTED; dict keys are scrubbed too."""
        if self._pattern is None:
            self._pattern = pattern(self.names | self.display_names | self.only_ips)
        return replace(self._pattern, value, REDACTED)


def pattern(words: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive pattern of `words` (longest first; shorter than MIN_NAME left out)."""
    kept = sorted({w for w in words if w and len(w) >= MIN_NAME}, key=len, reverse=True)
    if not kept:
        return None
    return re.compile("|".join(re.escape(w) for w in kept), re.IGNORECASE)


def replace(found: re.Pattern | None, value, by: str):
    """`value` (text, or JSON of lists/dicts, keys included) with `found` replaced by `by`."""
    if found is None:
        return value
    if isinstance(value, str):
        return found.sub(by, value)
    if isinstance(value, list):
        return [replace(found, item, by) for item in value]
    if isinstance(value, dict):
        return {replace(found, k, by): replace(found, v, by) for k, v in value.items()}
    return value


def _lowered(found: set) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in found if n and len(n.strip()) >= MIN_NAME)


def names_of(user: CloudUser | None, accounts: Iterable[Account]) -> frozenset[str]:
    """The identifiers unique to the person and accounts (never display names: not unique)."""
    found = set()
    if user is not None:
        found |= {user.identity, user.email}
    for account in accounts:
        found |= {account.username, account.email, account.external_id}
    return _lowered(found)


def display_names_of(user: CloudUser | None, accounts: Iterable[Account]) -> frozenset[str]:
    """Display names: redacted from text already kept for the subject, never used to find it."""
    found = {user.display_name} if user is not None else set()
    found |= {account.display_name for account in accounts}
    return _lowered(found)


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
            "user_id, account_id, or an unresolved actor name equal to one of the names; "
            "others' activities about the subject (full erase): object name / id or a raw value "
            "equal to one",
            "full erase: deleted in batches per partition, and others' activities about the "
            "subject lose its names in object name / id and raw; cleanup: actor, IP, user agent, "
            "raw and account link cleared, names removed from object name / id",
            "activities",
        ),
        Personal(
            "alerts.Alert",
            "linked through AlertUser / AlertAccount / AlertActivity, or a file policy's alert "
            "about one of the subject's file records",
            "only this subject: deleted (full erase); shared, or the cleanup: names and "
            "only-theirs IPs redacted from title, description, evidence, comment, dedupe key and "
            "IPs; exported without other people's names, addresses, comment or links",
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
            "user / account FK, target label/ref equal to a name, or a file action on one of "
            "the subject's file records (its app and file id)",
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

# Personal data kept on purpose after an erase (label -> legal basis); counted in the receipt.
KEPT: dict[str, str] = {
    "tenants.AuditEvent": "console users' actions, which may name the person (a policy's filter, "
    "a pseudonym look-up's justification, an export's filter): kept unchanged as the tenant's "
    "accountability record (append-only and hash-chained, so never redacted); counted as "
    "retained in the erase receipt and included in the export",
}

NOT_PERSONAL: dict[str, str] = {
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
    """Tenant models that no list names (must be empty; see the module docstring)."""
    labels = {m._meta.label for m in tenant_models()}
    return sorted(labels - set(PERSONAL) - set(KEPT) - set(NOT_PERSONAL))


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

    Activities include private ones: the person is entitled to them. Alerts are exported
    through `subject_export` (without other people's data)."""
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
    if kind == "audit_events":
        return audit_rows(subject).order_by("seq")
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
    "audit_events",
)
KEPT_KINDS = ("audit_events",)  # exported, but an erase keeps them (`KEPT`)


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
    return found | file_alert_ids(subject)


def file_alert_ids(subject: Subject) -> set:
    """File policy alerts about the subject's file records (keyed `<policy>:file:<record>:` by
    `dlp.file_policies`), which may link no one (an ICAP upload's owner is a string). Matched
    by key prefix per record, in chunks: portable (SQLite has no split_part, and stores uuids
    without dashes) and served by the tenant's alert rows of the file policy type only."""
    from apps.alerts.models import Alert, AlertType

    records = [str(pk) for pk in file_rows(subject).values_list("pk", flat=True)]
    found: set = set()
    alerts = Alert.objects.filter(alert_type=AlertType.FILE_POLICY)
    for start in range(0, len(records), FILE_ALERT_CHUNK):
        q = models.Q()
        for pk in records[start : start + FILE_ALERT_CHUNK]:
            q |= models.Q(dedupe_key__contains=f":file:{pk}:")
        found.update(alerts.filter(q).values_list("pk", flat=True))
    return found


FILE_ALERT_CHUNK = 200


def governance_rows(subject: Subject) -> models.QuerySet:
    """By person or account, by a target label/ref equal to a name, or a file action on one of
    the subject's file records (same app and file id)."""
    from apps.governance.models import GovernanceAction, TargetType

    q = models.Q(account_id__in=subject.account_ids)
    if subject.user_id is not None:
        q |= models.Q(user_id=subject.user_id)
    names = list(subject.names)
    q |= models.Q(label_low__in=names) | models.Q(ref_low__in=names)
    their_file = file_rows(subject).filter(
        app_instance_id=OuterRef("app_instance_id"), external_id=OuterRef("target_ref")
    )
    q |= models.Q(target_type=TargetType.FILE, target_ref__gt="") & models.Q(
        Exists(their_file.exclude(external_id=""))
    )
    return GovernanceAction.objects.annotate(
        label_low=Lower("target_label"), ref_low=Lower("target_ref")
    ).filter(q)


def sql_words(words: Iterable[str]) -> str:
    """A PostgreSQL regex alternation of `words`, longest first (a backslash before every
    non-alphanumeric character makes it a literal in PostgreSQL's regex dialect)."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join("".join(c if c.isalnum() else "\\" + c for c in w) for w in ordered)


def _word_regex(names: Iterable[str], vendor: str) -> str:
    """A database regex matching any of `names` as a whole word: PostgreSQL's dialect, or
    Python's elsewhere (Django's regex lookup on SQLite, the demo), which has no POSIX classes."""
    if vendor == "postgresql":
        return "(^|[^[:alnum:]_])(" + sql_words(names) + ")([^[:alnum:]_]|$)"
    return r"(^|\W)(" + sql_words(names) + r")(\W|$)"


def audit_rows(subject: Subject) -> models.QuerySet:
    """Audit events about the subject (`KEPT`): with one of their ids as object, or one of the
    `names` (or their pseudonyms) as a whole word in their details."""
    from apps.tenants.models import AuditEvent

    ids = [str(pk) for pk in subject.account_ids]
    if subject.user_id is not None:
        ids.append(str(subject.user_id))
    q = models.Q(object_id__in=ids)
    if subject.names:
        vendor = connections[subject.tenant.db_alias].vendor
        regex = _word_regex(subject.names | subject.pseudonyms, vendor)
        q |= models.Q(details_text__iregex=regex)
    return AuditEvent.objects.annotate(details_text=Cast("details", models.TextField())).filter(q)


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
