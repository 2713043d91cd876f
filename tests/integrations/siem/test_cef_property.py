"""T23, CEF conformance: random alerts and activities, full of ``|``, ``\\``, ``=``, line breaks
and Unicode, go through our formatter and come back out of an independent parser (`cefp`)
unchanged; the ArcSight dictionary check (`syslog2cef`) finds nothing fatal in standard mode."""

from __future__ import annotations

import datetime as dt

import cefp
from hypothesis import given, settings
from hypothesis import strategies as st
from syslogcef.validation import validate_extensions

from apps.integrations.siem.cef import CefActivity, CefAlert, CefFormatter

EXAMPLES = 400

# Text that is mostly the dangerous characters, plus any Unicode (no surrogates).
nasty = st.lists(
    st.one_of(
        st.sampled_from([*"|\\=\n\r '\"", "\\n", "\\=", "\u2028", "\x85", "\t", "\x00"]),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
).map("".join)
words = st.lists(nasty, max_size=4)
moments = st.datetimes(
    min_value=dt.datetime(2001, 9, 10),  # noqa: DTZ001 - 13-digit epoch milliseconds from here
    max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
addresses = st.one_of(st.just(""), nasty, st.ip_addresses().map(str))
ids = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), max_size=40)
extras = st.lists(st.tuples(nasty, nasty), max_size=2)

common = {
    "id": ids,
    "timestamp": moments,
    "description": nasty,
    "user": nasty,
    "app_name": nasty,
    "app_ids": words,
    "client_ip": addresses,
    "portal_url": nasty,
    "policy_ids": words,
    "extra": extras,
}
activities = st.builds(
    CefActivity,
    **common,
    category=nasty,
    action=nasty,
    user_agent=nasty,
    target_objects=words,
)
alerts = st.builds(
    CefAlert,
    **common,
    alert_type=nasty,
    policy_name=nasty,
    severity=st.integers(0, 10),
    risk_score=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    related_activities=words,
)
events = st.one_of(activities, alerts)


def header_text(value: str) -> str:
    return value[:255].replace("\n", " ").replace("\r", " ")


def check_round_trip(formatter: CefFormatter, event) -> dict[str, str]:
    line = formatter.format(event)
    assert "\n" not in line and "\r" not in line
    parsed = cefp.parse(line)
    signature, name, severity = formatter.header(event)
    assert parsed["device"]["event_class_id"] == header_text(signature)
    assert parsed["name"] == header_text(name)
    assert parsed["severity"] == str(severity)
    assert parsed["extension"] == dict(formatter.fields(event))
    return parsed["extension"]


@settings(max_examples=EXAMPLES, deadline=None)
@given(event=events, vendor=nasty.filter(bool), product=nasty.filter(bool), version=nasty)
def test_standard_lines_round_trip_and_are_dictionary_valid(event, vendor, product, version):
    formatter = CefFormatter(vendor=vendor, product=product, version=version)
    extension = check_round_trip(formatter, event)
    parsed = cefp.parse(formatter.format(event))
    assert parsed["device"]["vendor"] == header_text(vendor)
    assert parsed["device"]["product"] == header_text(product)
    assert parsed["device"]["version"] == header_text(version)
    fatal = [str(f) for f in validate_extensions(extension) if f.fatal]
    assert fatal == []


@settings(max_examples=EXAMPLES, deadline=None)
@given(event=events)
def test_reference_compatible_lines_round_trip(event):
    check_round_trip(CefFormatter(version="0.111.85", reference_compat=True), event)
