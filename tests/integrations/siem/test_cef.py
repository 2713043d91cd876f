"""CEF lines: the spec's mapping (6.3), escaping, and byte-for-byte compatibility with the
reference product's sample lines (6.4, copied verbatim into reference_samples.txt)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cefp
import pytest
from syslogcef.validation import validate_extensions

from apps.integrations.siem.cef import (
    CefActivity,
    CefAlert,
    CefFormatter,
    epoch_ms,
    escape_header,
    escape_value,
)
from apps.integrations.siem.syslog import SyslogFormat, TimeFormat

SAMPLES = (Path(__file__).parent / "reference_samples.txt").read_text().splitlines()
WHEN = dt.datetime(2026, 11, 28, 9, 5, 3, 120_000, tzinfo=dt.UTC)


def fatal(line: str) -> list[str]:
    return [str(f) for f in validate_extensions(cefp.parse(line)["extension"]) if f.fatal]


# -- escaping ----------------------------------------------------------------------------------


def test_header_escaping():
    assert escape_header(r"a|b\c") == r"a\|b\\c"
    assert escape_header("two\nlines\r") == "two lines "
    assert escape_header("k=v") == "k=v"


def test_value_escaping():
    assert escape_value("a=b") == r"a\=b"
    assert escape_value("C:\\dir") == r"C:\\dir"
    assert escape_value("one\ntwo\r") == r"one\ntwo\r"
    assert escape_value("a|b") == "a|b"
    assert escape_value("\\=") == r"\\\="


def test_epoch_ms_is_exact_and_needs_a_zone():
    assert epoch_ms(dt.datetime(2017, 7, 15, 20, 42, 30, 531_000, tzinfo=dt.UTC)) == 1500151350531
    with pytest.raises(ValueError, match="time zone"):
        epoch_ms(dt.datetime(2017, 7, 15))  # noqa: DTZ001


# -- the reference product's samples, byte for byte ------------------------------------------


def activity_from_hand() -> CefActivity:
    """The first activity sample's values, typed in from the spec (no parser involved)."""
    return CefActivity(
        id="1511373015679_167ae3eb-ed33-454a-b548-c2ed6cea6ef0",
        timestamp=dt.datetime(2017, 11, 22, 17, 50, 4, tzinfo=dt.UTC),
        category="EVENT_CATEGORY_LOGOUT",
        action="Log out",
        description="Log out",
        user="admin@contoso.com",
        app_name="ServiceNow",
        client_ip="13.82.149.151",
        portal_url="https://contoso.portal.cloudappsecurity.com/#/audits?activity.id="
        "eq(1511373015679_167ae3eb-ed33-454a-b548-c2ed6cea6ef0,)",
        app_ids=["APPID_SERVICENOW"],
        target_objects=["admin@contoso.com"] * 3,
    )


def alert_from_hand() -> CefAlert:
    """The first alert sample's values, typed in from the spec."""
    return CefAlert(
        id="596a7e360c204203a335a3fb",
        timestamp=dt.datetime(2017, 7, 15, 20, 42, 30, 531_000, tzinfo=dt.UTC),
        alert_type="ALERT_CABINET_EVENT_MATCH_AUDIT",
        policy_name="myPolicy",
        description="Activity policy 'myPolicy' was triggered by 'admin@box-contoso.com'",
        user="admin@box-contoso.com",
        app_name="Box",
        portal_url="https://cloud-app-security.com/#/alerts/596a7e360c204203a335a3fb",
        app_ids=["APPID_BOX"],
        related_activities=["1500151288183_acc891bf-33e1-424b-a021-0d4370789660"],
        policy_ids=["59f0ab82f797fa0681e9b1c7"],
    )


def split_sample(line: str) -> tuple[str, str, str]:
    """(timestamp, host name or "", CEF part) of a sample line."""
    head, cef = line.split(" CEF:", 1)
    stamp, _, host = head.partition(" ")
    return stamp, host, "CEF:" + cef


def event_from_sample(line: str) -> tuple[CefActivity | CefAlert, str, str, str]:
    """Reads a sample's values with the independent parser; returns (event, version, host,
    stamp). Only the values come from the line: the bytes are rebuilt by our formatter."""
    stamp, host, cef = split_sample(line)
    parsed = cefp.parse(cef)
    ext = parsed["extension"]
    when = dt.datetime.fromtimestamp(int(ext["start"]) / 1000, tz=dt.UTC)
    common = {
        "id": ext["externalId"],
        "timestamp": when,
        "user": ext["suser"],
        "app_name": ext["destinationServiceName"],
        "portal_url": ext["cs1"],
        "app_ids": ext["cs2"].split(",") if ext["cs2"] else [],
        "policy_ids": ext["cs4"].split(",") if ext["cs4"] else [],
    }
    if ext["cs3Label"] == "targetObjects":
        event = CefActivity(
            **common,
            category=parsed["device"]["event_class_id"],
            action=parsed["name"],
            description=ext["msg"],
            client_ip=ext["dvc"] or ext["c6a1"],
            user_agent=ext["requestClientApplication"],
            target_objects=ext["cs3"].split(","),
        )
    else:
        event = CefAlert(
            **common,
            alert_type=parsed["device"]["event_class_id"],
            policy_name=parsed["name"],
            severity=int(parsed["severity"]),
            description=ext["msg"].replace("''", "'"),
            related_activities=ext["cs3"].split(","),
        )
    return event, parsed["device"]["version"], host, stamp


def test_hand_typed_samples_match_byte_for_byte():
    activity = CefFormatter(version="0.111.85", reference_compat=True).format(activity_from_hand())
    assert f"2017-11-22T17:50:04.000Z {activity}" == SAMPLES[0]
    alert = CefFormatter(version="0.102.17", reference_compat=True).format(alert_from_hand())
    assert f"2017-07-15T20:42:30.531Z {alert}" == SAMPLES[6]


@pytest.mark.parametrize("number", range(len(SAMPLES)))
def test_every_sample_line_matches_byte_for_byte(number):
    line = SAMPLES[number]
    event, version, host, _stamp = event_from_sample(line)
    cef = CefFormatter(version=version, reference_compat=True).format(event)
    framed = SyslogFormat(time_format=TimeFormat.RFC5424, hostname=host).frame(
        cef, timestamp=event.timestamp
    )
    assert framed == line.encode()


def test_there_are_six_activity_and_six_alert_samples():
    kinds = [type(event_from_sample(line)[0]).__name__ for line in SAMPLES]
    assert kinds == ["CefActivity"] * 6 + ["CefAlert"] * 6


def test_reference_samples_fail_strict_validation_as_documented():
    """The reason the default mode differs: the reference lines are not dictionary-valid."""
    problems = fatal(split_sample(SAMPLES[0])[2])
    assert any(p.startswith("externalId: string exceeds maximum length 40") for p in problems)
    assert any(p.startswith("c6a1: expected an IPv6 address") for p in problems)
    assert any(p.startswith("cn1: expected an integer") for p in fatal(split_sample(SAMPLES[6])[2]))


# -- standard mode --------------------------------------------------------------------------


def test_standard_activity_omits_empty_keys_and_is_dictionary_valid():
    event = CefActivity(
        id="0d9c7a4e-6f0e-4a53-9d43-8d0f3c1f2b11",
        timestamp=WHEN,
        category="EVENT_CATEGORY_DOWNLOAD_FILE",
        action="Download file",
        description="Download file: q3=plan.xlsx",
        user="alice@alpha.test",
        app_name="Microsoft 365",
        client_ip="2001:db8::7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        app_ids=["APPID_O365"],
    )
    line = CefFormatter().format(event)
    assert line == (
        "CEF:0|OpenCASB|CASB|0.1.0|EVENT_CATEGORY_DOWNLOAD_FILE|Download file|0|"
        "externalId=0d9c7a4e-6f0e-4a53-9d43-8d0f3c1f2b11 rt=1795856703120 start=1795856703120 "
        "end=1795856703120 msg=Download file: q3\\=plan.xlsx suser=alice@alpha.test "
        "destinationServiceName=Microsoft 365 "
        "requestClientApplication=Mozilla/5.0 (X11; Linux x86_64) "
        "cs2Label=uniqueServiceAppIds cs2=APPID_O365 "
        "c6a1Label=Device IPv6 Address c6a1=2001:db8::7"
    )
    assert fatal(line) == []
    assert cefp.parse(line)["extension"]["msg"] == "Download file: q3=plan.xlsx"


def test_standard_alert_maps_every_field():
    event = CefAlert(
        id="5e3c1b7a-2a8f-4c1e-9a63-0f5b0c2f7e01",
        timestamp=WHEN,
        alert_type="ALERT_IMPOSSIBLE_TRAVEL",
        policy_name="Impossible travel | EU",
        severity=8,
        risk_score=7,
        description="Impossible travel by 'alice'",
        user="alice@alpha.test",
        app_name="Box",
        client_ip="::ffff:198.51.100.4",
        portal_url="https://casb.example/t/alpha/alerts/5e3c1b7a",
        app_ids=["APPID_BOX", "APPID_O365"],
        related_activities=["a1", "a2"],
        policy_ids=["p1"],
        extra=[("country", "FR")],
    )
    line = CefFormatter(vendor="Acme", product="CASB", version="2.0").format(event)
    parsed = cefp.parse(line)
    assert parsed["device"] == {
        "vendor": "Acme",
        "product": "CASB",
        "version": "2.0",
        "event_class_id": "ALERT_IMPOSSIBLE_TRAVEL",
    }
    assert parsed["name"] == "Impossible travel | EU"
    assert parsed["severity"] == "8"
    assert parsed["extension"] == {
        "externalId": "5e3c1b7a-2a8f-4c1e-9a63-0f5b0c2f7e01",
        "rt": "1795856703120",
        "start": "1795856703120",
        "end": "1795856703120",
        "msg": "Impossible travel by 'alice'",
        "suser": "alice@alpha.test",
        "destinationServiceName": "Box",
        "cn1Label": "riskScore",
        "cn1": "7",
        "cs1Label": "portalURL",
        "cs1": "https://casb.example/t/alpha/alerts/5e3c1b7a",
        "cs2Label": "uniqueServiceAppIds",
        "cs2": "APPID_BOX,APPID_O365",
        "cs3Label": "relatedAudits",
        "cs3": "a1,a2",
        "cs4Label": "policyIDs",
        "cs4": "p1",
        "cs5Label": "country",
        "cs5": "FR",
        "src": "198.51.100.4",
    }
    assert fatal(line) == []


def test_standard_mode_cuts_long_strings_and_refuses_a_long_external_id():
    long = CefActivity(
        id="x" * 40,
        timestamp=WHEN,
        category="EVENT_CATEGORY_X",
        action="X",
        description="d" * 5000,
        client_ip="not an address",
    )
    ext = cefp.parse(CefFormatter().format(long))["extension"]
    assert len(ext["msg"]) == 1023
    assert "dvc" not in ext and "c6a1" not in ext
    too_long = CefActivity(id="x" * 41, timestamp=WHEN, category="C", action="A", description="d")
    with pytest.raises(ValueError, match="externalId is 41 characters"):
        CefFormatter().format(too_long)
    # The reference mode keeps it, as the reference product does.
    assert "x" * 41 in CefFormatter(reference_compat=True).format(too_long)


def test_bad_records_are_refused_in_plain_words():
    with pytest.raises(ValueError, match="severity must be 0 to 10"):
        CefAlert(
            id="a", timestamp=WHEN, alert_type="T", policy_name="P", description="d", severity=11
        )
    with pytest.raises(ValueError, match="time zone"):
        CefActivity(
            id="a",
            timestamp=dt.datetime(2026, 1, 1),  # noqa: DTZ001
            category="C",
            action="A",
            description="d",
        )
    with pytest.raises(ValueError, match="two extra custom strings"):
        CefActivity(
            id="a",
            timestamp=WHEN,
            category="C",
            action="A",
            description="d",
            extra=[("a", "1"), ("b", "2"), ("c", "3")],
        )
    with pytest.raises(TypeError, match="not a CEF event"):
        CefFormatter().format(object())  # type: ignore[arg-type]


def test_line_breaks_never_reach_the_line():
    event = CefAlert(
        id="a",
        timestamp=WHEN,
        alert_type="T\nINJECTED",
        policy_name="evil\r\nCEF:0|fake|",
        description="one\ntwo\rthree",
        user="u\n",
    )
    line = CefFormatter().format(event)
    assert "\n" not in line and "\r" not in line
    parsed = cefp.parse(line)
    assert parsed["name"] == "evil  CEF:0|fake|"
    assert parsed["extension"]["msg"] == "one\ntwo\rthree"
