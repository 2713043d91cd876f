"""What a built-in anomaly detection is: a small class that reads a batch and reports findings.

The evaluator (`apps.alerts.evaluation`) hands each enabled detection the batch's activities in
time order (already limited to the policy's scope), with a `Context` that gives the tenant's
tuning of the detection and a per-subject memory (`DetectorState`) it may read and change. What
a detection changes is written in the same transaction as the alerts it raises and the removal
of the batch, so a detection sees every activity exactly once even when a task is retried.

A detection must tolerate activities arriving late and out of order across batches (connector
data can lag hours), and must keep its memory small (bounded lists, a few keys per person).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..models import Category, Severity


@dataclass(slots=True)
class Row:
    """An activity as evaluation sees it (the columns of `apps.activities.models.Activity`)."""

    id: uuid.UUID
    occurred_at: datetime
    app_instance_id: uuid.UUID
    account_id: uuid.UUID | None
    user_id: uuid.UUID | None
    actor: str
    action_type: str
    activity_type: str
    is_admin: bool
    succeeded: bool | None
    ip: str | None
    country: str
    city: str
    isp: str
    ip_category: int | None
    ip_tags: list
    object_name: str
    object_type: str
    object_id: str
    is_private: bool  # a privacy group's activity: its details stay out of the alert (spec 1.6)
    raw: dict  # {} unless a detection asked for it (Detector.raw_activity_types / _action_types)

    # Who did it, as a stable key: the person, else the account, else the actor name.
    # Computed once (every detection and policy groups by it).
    subject: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if self.user_id is not None:
            self.subject = f"u:{self.user_id}"
        elif self.account_id is not None:
            self.subject = f"a:{self.account_id}"
        else:
            self.subject = f"n:{self.actor.lower()}"


ROW_FIELDS = tuple(name for name in Row.__dataclass_fields__ if name != "subject")


@dataclass
class Finding:
    """Something worth an alert. Findings with one `subject` + `key` fold into one open alert."""

    subject: str  # usually `row.subject`
    title: str
    description: str
    rows: list[Row]  # the activities that show it (linked to the alert); may be empty if `at`
    evidence: list[str] = field(default_factory=list)  # short lines, e.g. "FR -> AU in 40 min"
    severity: int | None = None  # None: the policy's severity
    key: str = ""  # extra de-duplication key (e.g. one alert per forwarding rule)
    # A finding that is not about activities (e.g. a scanned file) says when it happened and
    # whom and what to link: people, accounts and apps (ids), besides those of its rows.
    at: datetime | None = None
    user_ids: tuple = ()
    account_ids: tuple = ()
    app_ids: tuple = ()

    def span(self) -> tuple[datetime, datetime]:
        """(first, last) moment of the finding: its activities' and its own `at`."""
        times = [row.occurred_at for row in self.rows]
        if self.at is not None:
            times.append(self.at)
        return min(times), max(times)


@dataclass(frozen=True)
class Option:
    """One tunable of a detection: a bounded integer, a choice, a flag or a list of words."""

    name: str
    label: str
    kind: str  # "int", "choice", "bool", "words"
    default: Any
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""

    def clean(self, value: Any) -> Any:
        """The value to store, or ValueError with the reason in plain words."""
        if self.kind == "int":
            if isinstance(value, bool):
                raise ValueError("must be a whole number")
            try:
                number = int(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's 1e999
                raise ValueError("must be a whole number") from None
            if str(value).strip() != str(number) and not isinstance(value, int):
                raise ValueError("must be a whole number")
            if self.minimum is not None and number < self.minimum:
                raise ValueError(f"must be at least {self.minimum}")
            if self.maximum is not None and number > self.maximum:
                raise ValueError(f"must be at most {self.maximum}")
            return number
        if self.kind == "choice":
            if not isinstance(value, str) or value not in {key for key, _ in self.choices}:
                raise ValueError("must be one of " + ", ".join(key for key, _ in self.choices))
            return value
        if self.kind == "bool":
            if value in (True, "true", "on", "1", 1):
                return True
            if value in (False, "false", "off", "0", 0, "", None):
                return False
            raise ValueError("must be true or false")
        if self.kind == "words":
            if isinstance(value, str):
                value = [part for part in value.replace(",", "\n").splitlines()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("must be a list of words")
            words = [v.strip().lower() for v in value if v.strip()]
            if len(words) > 200 or any(len(w) > 200 for w in words):
                raise ValueError("at most 200 entries of at most 200 characters")
            return words
        raise ValueError(f"unknown option kind {self.kind}")  # pragma: no cover


class Context:
    """What a detection may use while it looks at one batch."""

    def __init__(
        self,
        *,
        tenant,
        detector: str,
        options: dict,
        now: datetime,
        states: dict,
        loader: Callable[[str, list[str]], dict[str, dict]] | None = None,
    ):
        self.tenant = tenant
        self.detector = detector
        self.options = options  # the tenant's tuning merged over the defaults
        self.now = now
        self._states = states  # subject -> data (loaded by `prefetch`)
        self.dirty: set[str] = set()
        self._loader = loader  # (detector, subjects) -> their stored memories

    def prefetch(self, subjects: Iterable[str]) -> None:
        """Load the memory of many subjects in one query (call before `state`)."""
        missing = [s for s in set(subjects) if s not in self._states]
        if missing and self._loader is not None:
            self._states.update(self._loader(self.detector, missing))
        for subject in missing:
            self._states.setdefault(subject, {})

    def state(self, subject: str) -> dict:
        """The memory of `subject`, to read and change in place (saved with the batch)."""
        if subject not in self._states:
            self.prefetch([subject])
        self.dirty.add(subject)
        return self._states[subject]

    def peek(self, subject: str) -> dict:
        """Read the memory of `subject` without marking it changed."""
        if subject not in self._states:
            self.prefetch([subject])
        return self._states[subject]


class Detector:
    """Base of the built-in detections; subclasses set the class attributes and `detect`."""

    key: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    category: ClassVar[str] = Category.THREAT_DETECTION
    tactic: ClassVar[str] = ""  # MITRE ATT&CK tactic, as the spec groups it (2.4)
    severity: ClassVar[int] = Severity.MEDIUM
    options: ClassVar[tuple[Option, ...]] = ()
    # The raw vendor record is loaded only for rows a detection reads it from (it is the
    # costliest column): activity types, and operations (lower case), it needs `row.raw` of.
    raw_activity_types: ClassVar[frozenset[str]] = frozenset()
    raw_action_types: ClassVar[frozenset[str]] = frozenset()

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict:
        return {option.name: option.default for option in cls.options}

    @classmethod
    def clean_options(cls, values: dict) -> tuple[dict, dict[str, str]]:
        """(cleaned options, errors by option name); unknown names are errors."""
        cleaned, errors = {}, {}
        known = {option.name: option for option in cls.options}
        for name in values:
            if name not in known:
                errors[name] = "is not an option of this detection"
        for name, option in known.items():
            try:
                cleaned[name] = option.clean(values.get(name, option.default))
            except ValueError as exc:
                errors[name] = str(exc)
        return cleaned, errors
