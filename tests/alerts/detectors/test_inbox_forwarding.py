"""Suspicious inbox forwarding: rules and mailbox settings that send mail outside."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from apps.alerts.detectors.inbox_forwarding import MAX_DESTINATIONS, destinations
from apps.connectors.adapters.google_workspace import GoogleWorkspaceAdapter
from apps.connectors.adapters.office365 import Office365Adapter

from . import e2e
from .kit import T0, Run, minutes, row, subject

KEY = "inbox_forwarding"


def exchange(operation: str, **parameters) -> dict:
    """An Exchange audit record as the Office 365 Management Activity API returns it."""
    return {
        "Id": f"rec-{operation}-{len(parameters)}",
        "CreationTime": "2026-03-02T08:00:00",
        "Operation": operation,
        "RecordType": 1,
        "UserId": "ann@a.example",
        "ClientIP": "80.12.0.1",
        "ResultStatus": "True",
        "Parameters": [{"Name": k, "Value": v} for k, v in parameters.items()],
    }


def outlook_rule(name: str, *recipients: str) -> dict:
    """An UpdateInboxRules record: the Outlook client's rule, actions in OperationProperties."""
    actions = [{"ActionType": "Forward", "Recipients": list(recipients)}]
    return {
        "Id": "rec-uir",
        "CreationTime": "2026-03-02T08:00:00",
        "Operation": "UpdateInboxRules",
        "RecordType": 2,
        "UserId": "ann@a.example",
        "OperationProperties": [
            {"Name": "RuleOperation", "Value": "AddMailboxRule"},
            {"Name": "RuleName", "Value": name},
            {"Name": "RuleActions", "Value": json.dumps(actions)},
        ],
    }


def google(name: str, address: str) -> dict:
    return {
        "id": {
            "time": "2026-03-02T08:00:00Z",
            "uniqueQualifier": "77",
            "applicationName": "user_accounts",
        },
        "actor": {"email": "ann@a.example", "profileId": "1"},
        "ipAddress": "80.12.0.1",
        "events": [
            {
                "type": "email_forwarding_settings_change",
                "name": name,
                "parameters": [{"name": "email_forwarding_destination_address", "value": address}],
            }
        ],
    }


def forwarding(raw: dict, when=T0, action: str = "", **fields):
    values = {
        "activity_type": "mail_forwarding",
        "action_type": action or raw.get("Operation", "set"),
        "raw": raw,
    }
    values.update(fields)
    return row(when, **values)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (exchange("New-InboxRule", Name="x", ForwardTo="evil@gmail.com"), ["evil@gmail.com"]),
        (
            exchange("Set-InboxRule", Identity="x", RedirectTo='"Eve" [SMTP:Eve@Proton.me]'),
            ["eve@proton.me"],
        ),
        (
            exchange("Set-Mailbox", Identity="ann", ForwardingSmtpAddress="smtp:drop@x.example"),
            ["drop@x.example"],
        ),
        (
            exchange("New-InboxRule", ForwardAsAttachmentTo="a@x.example;b@y.example"),
            ["a@x.example", "b@y.example"],
        ),
        (exchange("Set-Mailbox", ForwardingSmtpAddress="$null"), []),
        (exchange("New-InboxRule", Name="tidy", MoveToFolder="Archive"), []),
        (outlook_rule("sync", "out@x.example"), ["out@x.example"]),
    ],
)
def test_destinations_of_exchange_records(raw, expected):
    assert destinations(forwarding(raw)) == expected


def test_destinations_of_google_and_unknown_shapes():
    event = forwarding(google("email_forwarding_out_of_domain", "evil@gmail.com"))
    assert destinations(event) == ["evil@gmail.com"]
    pushed = forwarding({"rule": {"to": ["leak@x.example"]}}, action="forward")
    assert destinations(pushed) == ["leak@x.example"]
    assert destinations(forwarding({}, action="forward", object_name="to leak@x.example")) == [
        "leak@x.example"
    ]


def test_a_new_rule_forwarding_outside_alerts_once_per_rule():
    run = Run(KEY)
    rule = forwarding(exchange("New-InboxRule", Name="Invoices", ForwardTo="evil@gmail.com"))
    [finding] = run.batch(rule)
    assert finding.title == "Inbox rule 'Invoices' forwards mail to evil@gmail.com"
    assert finding.key == "Invoices" and finding.subject == subject()
    assert "forwards to evil@gmail.com" in finding.evidence
    assert "had not forwarded mail to this address before" in finding.description
    # The same destination again is not unusual any more.
    again = forwarding(exchange("Set-InboxRule", Identity="Invoices", ForwardTo="evil@gmail.com"))
    assert run.batch(again) == []
    assert run.state(subject())["d"] == ["evil@gmail.com"]


def test_mailbox_forwarding_has_its_own_title():
    raw = exchange("Set-Mailbox", Identity="ann", ForwardingSmtpAddress="smtp:drop@x.example")
    [finding] = Run(KEY).batch(forwarding(raw))
    assert finding.title == "Mail forwarded to external address drop@x.example"
    assert finding.key == "Set-Mailbox:drop@x.example"


def test_internal_destinations_do_not_alert():
    own = forwarding(exchange("New-InboxRule", Name="x", ForwardTo="bob@a.example"))
    sub = forwarding(exchange("New-InboxRule", Name="y", ForwardTo="bob@eu.a.example"))
    assert Run(KEY).batch(own, sub) == []
    partner = forwarding(exchange("New-InboxRule", Name="z", ForwardTo="ops@partner.example"))
    assert Run(KEY, internal_domains=["partner.example"]).batch(partner) == []
    assert len(Run(KEY, own_domain_internal=False).batch(own)) == 1


def test_failed_and_unrelated_activities_do_not_alert():
    rule = exchange("New-InboxRule", Name="x", ForwardTo="evil@gmail.com")
    assert Run(KEY).batch(forwarding(rule, succeeded=False)) == []
    assert Run(KEY).batch(row(T0, raw=rule)) == []  # a sign-in carrying an address


def test_an_exchange_rule_counts_even_when_ingested_as_admin_activity():
    rule = exchange("New-InboxRule", Name="x", ForwardTo="evil@gmail.com")
    assert len(Run(KEY).batch(forwarding(rule, activity_type="admin"))) == 1


def test_memory_of_destinations_is_bounded():
    run = Run(KEY)
    for n in range(MAX_DESTINATIONS + 5):
        run.batch(
            forwarding(
                exchange("New-InboxRule", Name=f"r{n}", ForwardTo=f"x{n}@out.example"),
                when=T0 + minutes(n),
            )
        )
    assert len(run.state(subject())["d"]) == MAX_DESTINATIONS


@pytest.mark.django_db(databases="__all__")
def test_end_to_end_through_the_office365_and_google_adapters(tenant_a):
    app = e2e.setup(tenant_a)
    start = e2e.base()
    o365 = Office365Adapter(base_url="", credentials={}, client=None)
    gws = GoogleWorkspaceAdapter(base_url="", credentials={}, client=None)
    rule = exchange("New-InboxRule", Name="Invoices", ForwardTo="evil@gmail.com")
    rule["CreationTime"] = start.strftime("%Y-%m-%dT%H:%M:%S")
    rule["UserId"] = "ann@a.example"
    tidy = exchange("New-InboxRule", Name="Tidy", MoveToFolder="Archive")
    tidy["Id"], tidy["CreationTime"] = "rec-tidy", rule["CreationTime"]
    setting = google("email_forwarding_out_of_domain", "drop@proton.me")
    setting["id"]["time"] = (start + dt.timedelta(minutes=5)).isoformat()
    events = [o365.event(rule), o365.event(tidy), *gws.events(setting)]
    e2e.feed(tenant_a, app, events)
    titles = sorted(a.title for a in e2e.alerts_of(tenant_a, KEY))
    assert titles == [
        "Inbox rule 'Invoices' forwards mail to evil@gmail.com",
        "Mail forwarded to external address drop@proton.me",
    ]
    with e2e.detection(tenant_a, KEY) as policy:
        policy.tuning = {**policy.tuning, "internal_domains": ["partner.example"]}
    internal = exchange("New-InboxRule", Name="P", ForwardTo="ops@partner.example")
    internal["Id"], internal["CreationTime"] = "rec-p", rule["CreationTime"]
    e2e.feed(tenant_a, app, [o365.event(internal)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 2
    with e2e.detection(tenant_a, KEY) as policy:
        policy.enabled = False
    other = exchange("New-InboxRule", Name="Q", ForwardTo="q@elsewhere.example")
    other["Id"], other["CreationTime"] = "rec-q", rule["CreationTime"]
    e2e.feed(tenant_a, app, [o365.event(other)])
    assert len(e2e.alerts_of(tenant_a, KEY)) == 2
