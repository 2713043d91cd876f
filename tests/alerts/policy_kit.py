"""Test kit of the policy tests: signed-in clients, API clients and a probe detection.

The probe is a real `Detector` registered for the duration of one test (the built-in detections
are written separately), so detection settings are tested against the contract in
`apps.alerts.detectors.base` and not against any one detection.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.alerts import policy_services
from apps.alerts.detectors import DETECTORS
from apps.alerts.detectors.base import Detector, Option
from apps.alerts.models import Policy, PolicyKind
from apps.tenants.scoping import tenant_context
from tests.role_matrix import token_key


class ProbeDetection(Detector):
    key = "policy_probe"
    name = "Probe detection"
    description = "Finds nothing; exists to be tuned."
    tactic = "Initial access"
    options = (
        Option("threshold", "Threshold", "int", 10, minimum=2, maximum=100),
        Option(
            "sensitivity",
            "Sensitivity",
            "choice",
            "medium",
            choices=(("low", "Low"), ("medium", "Medium"), ("high", "High")),
        ),
        Option("ignore_vpn", "Ignore VPN ranges", "bool", True),
        Option("countries", "Trusted countries", "words", ["fr"]),
    )

    def detect(self, rows, ctx):
        return []


@pytest.fixture
def probe():
    """Register the probe detection for one test."""
    DETECTORS[ProbeDetection.key] = ProbeDetection
    try:
        yield ProbeDetection
    finally:
        DETECTORS.pop(ProbeDetection.key, None)


def probe_row(tenant) -> Policy:
    policy_services.ensure_detections(tenant)
    with tenant_context(tenant):
        return Policy.objects.get(kind=PolicyKind.ANOMALY, detector=ProbeDetection.key)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user, tenant, role) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user, tenant, role)}")
    return client


def make(tenant, **values) -> Policy:
    """An activity policy made through the service (as an admin would)."""
    values.setdefault("name", "Downloads from France")
    values.setdefault("filters", {"location.country": {"eq": ["FR"]}})
    return policy_services.create_policy(tenant=tenant, actor=None, **values)
