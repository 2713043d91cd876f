"""The activity filter language: the spec's JSON filters (7.2 operators, 7.4 fields) -> a Q.

`compile_filters({"ip.address": {"startswith": ["10."]}, "date": {"gte_ndays": 7}})` returns a
`Q` for `Activity` or raises `FilterError` naming every unknown field, unknown operator and bad
value at once. The REST API's POST body uses it today; policies and SIEM "apply to" filters are
meant to use it too. The console/GET FilterSet builds its conditions from the same helpers
(`text_q`, `ip_prefix_q`, `ip_tag_q`, ...) so a filter means one thing wherever it is written.

Semantics kept from the reference product (spec 1.3, 7.2):
- Fields are ANDed; the values of one operator are ORed (`"eq": ["a", "b"]`).
- `neq` does not exclude activities that lack the attribute: `{"ip.address": {"neq": [..]}}`
  keeps activities without an IP. Add `"isset": true` to the same field to require one.
- `text` matches whole words: tokens are split on anything that is not a letter or a digit
  (spaces, dots, commas, underscores, hyphens...), so `malware` matches `virus_malware_file.exe`
  but not `malwarevirusfile.exe`. Unquoted terms are ORed; a double-quoted string is a phrase.
- Timestamps are Unix epoch milliseconds (an ISO 8601 string is accepted too).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Q, Value
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from apps.accounts.models import GroupMembership

from .categories import ACTIVITY_TYPES
from .models import ActivitySource, IpCategory

MAX_VALUES = 100  # values per operator: a filter is not a bulk look-up
MAX_TEXT = 200
TEXT_COLUMNS = ("object_name", "actor", "action_type")
IP_PREFIX = re.compile(r"^[0-9A-Fa-f.:]{1,45}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
# A "word" character for whole-word matching: ASCII letters and digits plus Latin letters with
# accents. The class is written so PostgreSQL (ARE) and Python's re (SQLite) read it alike.
_WORD = "0-9A-Za-z\u00c0-\u024f"


class FilterError(ValueError):
    """The filters do not compile; `errors` maps each offending field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class _Bad(ValueError):
    """One bad operand (collected into FilterError by the compiler)."""


# --- Reusable conditions (also used by the FilterSet) -----------------------------------------


def parse_text(value: str) -> list[str]:
    """Terms of a free-text query: double-quoted phrases stay whole, other words split."""
    terms: list[str] = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', value[:MAX_TEXT]):
        term = (phrase if phrase else word).strip().strip('"')
        if term and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return terms[:10]


def word_pattern(term: str) -> str:
    """A regex matching `term` as whole word(s), the same on PostgreSQL and SQLite."""
    body = r"\s+".join(re.escape(part) for part in term.split())
    return rf"(^|[^{_WORD}]){body}($|[^{_WORD}])"


def text_q(value: str, columns: tuple[str, ...] = TEXT_COLUMNS) -> Q:
    """Whole-word match of any term of `value` in any of `columns` (see the module doc)."""
    terms = parse_text(value)
    if not terms:
        return Q()
    condition = Q(pk__in=[])  # OR identity
    for term in terms:
        for column in columns:
            # A cheap substring test first, then the whole-word regex on the few rows that
            # hold the letters. The test is strpos(lower(..)) rather than ILIKE on purpose:
            # PostgreSQL estimates ILIKE and the regex each from the column statistics and
            # multiplies them into "almost nothing matches", which turns the plan into a scan
            # and sort of the whole date range (seconds); strpos() is opaque to the estimator,
            # so the plan stays "walk the time index and stop at the page size" (ms).
            contains = GreaterThan(StrIndex(Lower(column), Lower(Value(term))), 0)
            condition |= Q(contains, **{f"{column}__iregex": word_pattern(term)})
    return condition


def normalise_ip(value: str) -> str:
    """A valid IPv4/IPv6 address in its canonical spelling; raises ValueError otherwise."""
    address = ipaddress.ip_address(value.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def ip_prefix_q(prefix: str) -> Q:
    """Addresses whose text starts with `prefix` (the spec's "starts with": "10.1" also matches
    10.10.x.x; end the prefix with a dot to stay inside 10.1.x.x)."""
    prefix = prefix.strip()
    if not IP_PREFIX.match(prefix):
        raise ValueError("An IP prefix holds only digits, hex letters, dots and colons.")
    return Q(ip__startswith=prefix.lower())


def ip_tag_q(tag: str, *, using: str) -> Q:
    """Activities whose IP tags include `tag`."""
    if connections[using].vendor == "postgresql":
        return Q(ip_tags__contains=[tag])
    # SQLite has no JSON containment; the stored JSON text holds the tag as a quoted string.
    return Q(ip_tags__icontains=f'"{tag}"')


def group_q(group_ids: list[uuid.UUID]) -> Q:
    """Activities of accounts that are members of any of the groups."""
    members = GroupMembership.objects.filter(group_id__in=group_ids).values("account_id")
    return Q(account_id__in=members)


# --- Operands ----------------------------------------------------------------------------------


def _as_list(value: Any) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _Bad("Give at least one value.")
    if len(values) > MAX_VALUES:
        raise _Bad(f"Give at most {MAX_VALUES} values.")
    return values


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 500:
        raise _Bad("Values must be non-empty strings of at most 500 characters.")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; say so instead of failing later
        raise _Bad("Values may not contain NUL characters.")
    return value


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise _Bad(f"{str(value)[:60]!r} is not a valid id.") from exc


def _bool(value: Any) -> bool:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, bool):
        raise _Bad("Give true or false.")
    return value


def _true(value: Any) -> bool:
    if value is not True:
        raise _Bad("This operator takes `true`.")
    return True


def _ip(value: Any) -> str:
    try:
        return normalise_ip(_string(value))
    except ValueError as exc:
        raise _Bad(f"{str(value)[:60]!r} is not an IP address.") from exc


def _country(value: Any) -> str:
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise _Bad("Countries are two-letter ISO codes, e.g. 'FR'.")
    return value.upper()


def _category(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in IpCategory.values:
        raise _Bad(f"IP categories are numbers {min(IpCategory.values)}-{max(IpCategory.values)}.")
    return value


def _activity_type(value: Any) -> str:
    if value not in ACTIVITY_TYPES:
        raise _Bad(f"{str(value)[:60]!r} is not an activity type ({', '.join(ACTIVITY_TYPES)}).")
    return value


def _source(value: Any) -> str:
    if value not in ActivitySource.values:
        raise _Bad(f"Sources are {', '.join(ActivitySource.values)}.")
    return value


_EPOCH_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_MAX = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _timestamp(value: Any) -> dt.datetime:
    """Epoch milliseconds (the spec's timestamp) or an ISO 8601 string; naive means UTC."""
    if isinstance(value, bool):
        raise _Bad("A timestamp is epoch milliseconds or an ISO 8601 string.")
    try:
        if isinstance(value, int | float):
            moment = _EPOCH_MIN + dt.timedelta(milliseconds=value)
        elif isinstance(value, str):
            moment = dt.datetime.fromisoformat(value)
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=dt.UTC)
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Bad("A timestamp is epoch milliseconds or an ISO 8601 string.") from exc
    if not _EPOCH_MIN <= moment < _EPOCH_MAX:
        raise _Bad("The timestamp is out of range.")
    return moment


def _days(value: Any) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise _Bad("Give a whole number of days (0 or more).")
    return timezone.now() - dt.timedelta(days=value)


def _range(value: Any) -> list[tuple[dt.datetime, dt.datetime]]:
    ranges = []
    for item in _as_list(value):
        if not isinstance(item, Mapping) or set(item) != {"start", "end"}:
            raise _Bad('A range is a list of {"start": ..., "end": ...} objects.')
        start, end = _timestamp(item["start"]), _timestamp(item["end"])
        if end < start:
            raise _Bad("A range ends before it starts.")
        ranges.append((start, end))
    return ranges


# --- Fields ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One filterable attribute: its column, how to read a value, and its operators."""

    column: str
    parse: Callable[[Any], Any]
    operators: frozenset[str]
    # How "missing" is stored: NULL (nullable columns) or "" (text columns).
    nullable: bool = False
    iexact: bool = False  # compare strings case-insensitively
    help: str = ""


def _f(column, parse, ops, **kw) -> Field:
    return Field(column, parse, frozenset(ops.split()), **kw)


FIELDS: dict[str, Field] = {
    # Ours: the connected app instance (spec: instance) and its vendor (spec: service).
    "instance": _f("app_instance_id", _uuid, "eq neq", help="connected app id"),
    "service": _f("app_instance__vendor", _string, "eq neq", help="vendor, e.g. office365"),
    # The person (spec: entity) and the per-app account.
    "entity": _f("user_id", _uuid, "eq neq isset isnotset", nullable=True, help="person id"),
    "account": _f("account_id", _uuid, "eq neq isset isnotset", nullable=True),
    "user.username": _f("actor", _string, "eq neq isset isnotset startswith", iexact=True),
    "user.domain": _f("actor", _string, "eq neq isset isnotset", help="domain of the actor"),
    "user.tags": _f("account_id", _uuid, "eq neq", nullable=True, help="group ids"),
    "actionType": _f("action_type", _string, "eq neq contains isset isnotset", iexact=True),
    "activity.eventType": _f("activity_type", _activity_type, "eq neq"),
    "activity.id": _f("id", _uuid, "eq"),
    "activity.type": _f("is_admin", _bool, "eq", help="true: administrative activities"),
    "activity.succeeded": _f("succeeded", _bool, "eq isset isnotset", nullable=True),
    "activityObject": _f("object_id", _string, "eq neq isset isnotset"),
    "device.type": _f("device_type", _string, "eq neq isset isnotset", iexact=True),
    "userAgent.userAgent": _f("user_agent", _string, "contains ncontains"),
    "location.country": _f("country", _country, "eq neq isset isnotset"),
    "location.organizations": _f("isp", _string, "eq neq contains isset isnotset", iexact=True),
    "ip.address": _f("ip", _ip, "eq neq startswith doesnotstartwith isset isnotset", nullable=True),
    "ip.category": _f("ip_category", _category, "eq neq isset isnotset", nullable=True),
    "ip.tags": _f("ip_tags", _string, "eq neq"),
    "source": _f("source", _source, "eq neq"),
    "text": _f("", _string, "eq startswithsingle text", help="object name, actor, action"),
    "date": _f("occurred_at", _timestamp, "gte lte gt lt range gte_ndays lte_ndays"),
    "created": _f("ingested_at", _timestamp, "gte lte gt lt range eq"),
}


def _missing(field: Field) -> Q:
    if field.nullable:
        return Q(**{f"{field.column}__isnull": True})
    if field.column == "ip_tags":
        return Q(ip_tags=[])
    return Q(**{field.column: ""})


def _one_of(field: Field, values: list, *, using: str, name: str) -> Q:
    """The activity has any of `values` (the `eq` of the field)."""
    if name == "ip.tags":
        condition = Q(pk__in=[])
        for value in values:
            condition |= ip_tag_q(value, using=using)
        return condition
    if name == "user.tags":
        return group_q(values)
    if name == "user.domain":
        condition = Q(pk__in=[])
        for value in values:
            condition |= Q(actor__iendswith="@" + value.lstrip("@"))
        return condition
    if field.iexact:
        condition = Q(pk__in=[])
        for value in values:
            condition |= Q(**{f"{field.column}__iexact": value})
        return condition
    return Q(**{f"{field.column}__in": values})


def _text_op(operator: str, value: Any) -> Q:
    if operator == "text":
        return text_q(_string(value)[:MAX_TEXT])
    values = [_string(v) for v in _as_list(value)]
    lookup = "iexact" if operator == "eq" else "istartswith"
    condition = Q(pk__in=[])
    for value in values:
        for column in TEXT_COLUMNS:
            condition |= Q(**{f"{column}__{lookup}": value})
    return condition


def _condition(name: str, field: Field, operator: str, operand: Any, using: str) -> Q:
    column = field.column
    if name == "text":
        return _text_op(operator, operand)
    if operator == "isset":
        _true(operand)
        return ~_missing(field)
    if operator == "isnotset":
        _true(operand)
        return _missing(field)
    if operator in ("eq", "neq"):
        if field.parse is _bool:
            values = [_bool(operand)]
        else:
            values = [field.parse(v) for v in _as_list(operand)]
        has = _one_of(field, values, using=using, name=name)
        if operator == "eq":
            return has
        # "Does not equal" keeps activities without the attribute (spec 1.3).
        return _missing(field) | ~has
    if operator in ("startswith", "doesnotstartwith"):
        values = [_string(v) for v in _as_list(operand)]
        has = Q(pk__in=[])
        for value in values:
            if column == "ip":
                try:
                    has |= ip_prefix_q(value)
                except ValueError as exc:
                    raise _Bad(str(exc)) from exc
            else:
                has |= Q(**{f"{column}__istartswith": value})
        return has if operator == "startswith" else (_missing(field) | ~has)
    if operator in ("contains", "ncontains"):
        values = [_string(v) for v in _as_list(operand)]
        has = Q(pk__in=[])
        for value in values:
            has |= Q(**{f"{column}__icontains": value})
        return has if operator == "contains" else ~has
    if operator in ("gte", "lte", "gt", "lt"):
        return Q(**{f"{column}__{operator}": field.parse(operand)})
    if operator == "range":
        condition = Q(pk__in=[])
        for start, end in _range(operand):
            condition |= Q(**{f"{column}__gte": start, f"{column}__lte": end})
        return condition
    if operator == "gte_ndays":
        return Q(**{f"{column}__gte": _days(operand)})
    if operator == "lte_ndays":
        return Q(**{f"{column}__lte": _days(operand)})
    raise _Bad(f"Unsupported operator {operator!r}.")  # pragma: no cover (FIELDS lists them)


def compile_filters(filters: Any, *, using: str = "default") -> Q:
    """The spec's filter object -> one Q (ANDed fields); raises FilterError on any problem.

    `using` is the database alias the query will run on (JSON containment differs by vendor).
    """
    if filters is None:
        return Q()
    if not isinstance(filters, Mapping):
        raise FilterError({"filters": ["Filters are an object keyed by field name."]})
    errors: dict[str, list[str]] = {}
    condition = Q()
    for name, operators in filters.items():
        field = FIELDS.get(name)
        if field is None:
            errors[name] = [f"Unknown field. Known fields: {', '.join(sorted(FIELDS))}."]
            continue
        if not isinstance(operators, Mapping) or not operators:
            errors[name] = ['Give an object of operators, e.g. {"eq": ["value"]}.']
            continue
        for operator, operand in operators.items():
            where = f"{name}.{operator}"
            if operator not in field.operators:
                errors[where] = [
                    f"Unknown operator for this field. It takes: "
                    f"{', '.join(sorted(field.operators))}."
                ]
                continue
            try:
                condition &= _condition(name, field, operator, operand, using)
            except _Bad as exc:
                errors[where] = [str(exc)]
    if errors:
        raise FilterError(errors)
    return condition


def describe_fields() -> list[dict[str, Any]]:
    """The filterable fields and their operators (for the API documentation)."""
    return [
        {"field": name, "operators": sorted(field.operators), "help": field.help}
        for name, field in FIELDS.items()
    ]
