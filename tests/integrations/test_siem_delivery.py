"""A SIEM agent end to end: alerts and activities from the outbox reach a real rsyslog over TLS
(RFC 5425) and TCP as CEF lines an independent parser reads back; a stopped receiver leaves the
agent in error with the reason and the backlog waiting, delivered once it is back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cefp import parse as cef_parse
from django.db import transaction

from apps.alerts.models import Alert, Severity
from apps.integrations import outbox, services
from apps.integrations.delivery import push
from apps.integrations.models import DestinationKind, DestinationStatus, EventKind
from apps.integrations.senders import sender_for
from apps.tenants.scoping import tenant_context
from tests.fakes.tls import make_tls

from .siem.rsyslog import Rsyslog, rsyslogd_or_skip

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory):
    binary = rsyslogd_or_skip()
    directory = tmp_path_factory.mktemp("rsyslog-agent")
    receiver = Rsyslog(binary, directory, make_tls(directory / "pki"))
    receiver.start()
    yield receiver
    receiver.stop()


def _agent(tenant, rsyslog, transport: str, **config):
    with tenant_context(tenant):
        agent, _ = services.create_destination(
            kind=DestinationKind.SIEM,
            name=f"SIEM {transport}",
            data_kinds=["alert"],
            config={
                "host": "localhost" if transport == "tls" else "127.0.0.1",
                "port": rsyslog.ports[transport],
                "transport": transport,
                **config,
            },
        )
        agent.backfill_pending = False  # nothing older to send in this test
        agent.save(update_fields=["backfill_pending"])
        return agent


def _alerts(tenant, titles):
    made = []
    with tenant_context(tenant):
        for n, title in enumerate(titles, 1):
            made.append(
                Alert.objects.create(
                    number=n,
                    title=title,
                    alert_type="activity_policy",
                    severity=Severity.HIGH,
                    category="threat_detection",
                    policy_name="Mass download",
                    first_triggered_at=NOW,
                    last_triggered_at=NOW,
                    ips=["198.51.100.7"],
                )
            )
        with transaction.atomic(using=tenant.db_alias):
            outbox.append(EventKind.ALERT, [a.pk for a in made])
    return made


def _push(tenant, agent):
    with tenant_context(tenant):
        sender = sender_for(agent, tenant)
        try:
            return push(agent, sender=sender)
        finally:
            sender.close()


def test_alerts_reach_rsyslog_over_tls_as_cef(tenant_a, rsyslog):
    ca = rsyslog.directory / "pki"
    pem = next(ca.glob("ca*.pem"), None) or next(ca.glob("*.pem"))
    agent = _agent(tenant_a, rsyslog, "tls", ca_pem=pem.read_text())
    alerts = _alerts(tenant_a, ["Mass download | by ann=x", "Second\nline"])
    result = _push(tenant_a, agent)
    assert result.delivered == 2, result.error
    lines = rsyslog.wait_for("tls", 2)[-2:]
    parsed = [cef_parse(line[line.index("CEF:") :])["extension"] for line in lines]
    assert [p["externalId"] for p in parsed] == [str(a.pk) for a in alerts]
    assert parsed[0]["msg"] == "Mass download | by ann=x"
    assert parsed[1]["msg"] == "Second\nline"
    assert parsed[0]["src"] == "198.51.100.7"
    agent.refresh_from_db()
    assert agent.status == DestinationStatus.CONNECTED and agent.cursor == 1


def test_a_stopped_receiver_leaves_the_backlog_waiting(tenant_a, rsyslog):
    agent = _agent(tenant_a, rsyslog, "tcp")
    port = _free_closed_port()
    agent.config["port"] = port
    agent.save(update_fields=["config"])
    [alert] = _alerts(tenant_a, ["While down"])
    result = _push(tenant_a, agent)
    agent.refresh_from_db()
    assert result.delivered == 0 and agent.status == DestinationStatus.ERROR
    assert str(port) in agent.status_reason and agent.cursor == 0
    # The receiver is back (its real port): the waiting alert is delivered.
    agent.config["port"] = rsyslog.ports["tcp"]
    agent.save(update_fields=["config"])
    before = len(rsyslog.read("tcp"))
    assert _push(tenant_a, agent).delivered == 1
    lines = rsyslog.wait_for("tcp", before + 1)
    assert str(alert.pk) in lines[-1]


def _free_closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
